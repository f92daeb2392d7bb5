// A choose step's menu: its choices, the page shown, and which choice a reply picks — a
// pressed button, a number, a label typed whole, or the unambiguous start of one.
import type { ChoiceView, InboundMessage, Text } from "./message.ts";
import { normaliseForMatch } from "./texts.ts";

export const PAGE_NEXT = "page:next";
export const PAGE_PREV = "page:prev";
/** Typed text this long or longer may pick the one choice whose label starts with it. */
const MIN_PREFIX_MATCH = 3;
/** A typed choice number: 1 to 999, as shown beside the choices. */
const CHOICE_NUMBER = /^\d{1,3}$/;

export interface ChoiceOption extends ChoiceView {
  /** The step this choice leads to; the step's `next` when absent. */
  next?: string;
  /** The flow this choice starts instead. */
  flow?: string;
}

export interface ChoiceMenu {
  /** All choices the step offers, produced and fixed. */
  all: ChoiceOption[];
  /** What this page shows, in order, navigation included. */
  shown: ChoiceOption[];
  page: number;
  pages: number;
}

/** Pages `pageable` (`alwaysShown` follow on every page) and adds the page buttons. */
export function pageMenu(pageable: ChoiceOption[], alwaysShown: ChoiceOption[], pageSize: number, wantedPage: number): ChoiceMenu {
  const pages = Math.max(1, Math.ceil(pageable.length / pageSize));
  const page = Math.min(wantedPage, pages - 1);
  const shown = pageable.slice(page * pageSize, (page + 1) * pageSize);
  const params = { page: page + 1, pages };
  if (page > 0) shown.push({ id: PAGE_PREV, label: { key: "engine.page.previous", params } });
  if (page < pages - 1) shown.push({ id: PAGE_NEXT, label: { key: "engine.page.next", params } });
  shown.push(...alwaysShown);
  return { all: [...pageable, ...alwaysShown], shown, page, pages };
}

/** What the channel shows: ids and labels only. */
export function menuViews(menu: ChoiceMenu): ChoiceView[] {
  return menu.shown.map(({ id, label }) => ({ id, label }));
}

/** The choice a reply picks, if exactly one; `render` turns a label into what the user reads. */
export function matchChoice(menu: ChoiceMenu, message: InboundMessage, render: (label: Text) => string): ChoiceOption | undefined {
  if (message.kind === "choice") {
    return menu.all.find((c) => c.id === message.choiceId) ?? menu.shown.find((c) => c.id === message.choiceId);
  }
  if (message.kind !== "text") return undefined;
  const typed = normaliseForMatch(message.text);
  const labels = new Map<ChoiceOption, string>();
  const labelOf = (c: ChoiceOption) => labels.get(c) ?? labels.set(c, normaliseForMatch(render(c.label))).get(c)!;
  const shown = matchTypedChoice(menu.shown, typed, labelOf);
  if (shown || CHOICE_NUMBER.test(typed)) return shown;
  const exact = menu.all.find((c) => labelOf(c) === typed) ?? menu.all.find((c) => c.id.toLowerCase() === typed);
  if (exact || typed.length < MIN_PREFIX_MATCH) return exact;
  // People type the start of a label ("spotify premium" for "Spotify Premium 1 Bulan — Rp25.000"); only an unambiguous start counts.
  const starting = menu.all.filter((c) => labelOf(c).startsWith(typed));
  return starting.length === 1 ? starting[0] : undefined;
}

/**
 * The choice a typed reply names among the choices shown, in their order: its number (from
 * 1) or its whole label. `labelOf` gives a choice's label as `normaliseForMatch` leaves it.
 *
 * ```ts
 * matchTypedChoice(shown, " 2 ", labelOf); // → shown[1]
 * ```
 */
export function matchTypedChoice<C extends ChoiceView>(shown: readonly C[], typed: string, labelOf: (choice: C) => string): C | undefined {
  const wanted = normaliseForMatch(typed);
  if (CHOICE_NUMBER.test(wanted)) return shown[Number(wanted) - 1];
  return shown.find((choice) => labelOf(choice) === wanted);
}
