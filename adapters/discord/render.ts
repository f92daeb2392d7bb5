/**
 * The engine's `Outbound`s as Discord messages.
 *
 * - Text goes out as the message's content, split at 2000 characters on paragraph, line or
 *   word boundaries, in order; mentions in it never ping anyone (`allowedMentions` is empty
 *   where it is sent).
 * - Choices become buttons, five to a row, with "‹ previous" and "next ›" in a row of their
 *   own; past what five rows hold (or 25 choices) they become string select menus of up to
 *   25 options each. They go on the last part of a split text.
 * - A question (an `Outbound` with a prompt and no choices) gets an "Answer" button that
 *   opens a modal: in a guild a person cannot type to the bot, only press.
 * - Media goes as an attachment (the flow's bytes, or the file fetched from its URL); when
 *   it cannot be fetched, its link is added to the text.
 */
import { ButtonStyle, ComponentType } from "discord.js";
import type { APIActionRowComponent, APIComponentInMessageActionRow, APIButtonComponent, APISelectMenuOption } from "discord.js";
import type { Locale, Outbound, OutboundMedia } from "../../flows/engine/index.ts";
import { i18nTexts, PAGE_NEXT, PAGE_PREV, renderText, splitMessage } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";
import { answerId, buttonId, selectId } from "./custom-ids.ts";

export const MAX_CONTENT = 2000;
const MAX_ROWS = 5;
const BUTTONS_PER_ROW = 5;
const MAX_BUTTON_LABEL = 80;
const MAX_SELECT_OPTIONS = 25;
const MAX_OPTION_LABEL = 100;

export type ActionRow = APIActionRowComponent<APIComponentInMessageActionRow>;

/** One Discord message, as `channel.send`, `editReply` and `followUp` take it. */
export interface DiscordMessage {
  content: string;
  components: ActionRow[];
  files: { attachment: Buffer; name: string }[];
}

/** An outbound file, ready to attach; or its link when it could not be fetched. */
export type ResolvedMedia = { bytes: Buffer; name: string } | { link: string };

/** The messages one `Outbound` becomes, in order. */
export function renderOutbound(outbound: Outbound, locale: Locale, media?: ResolvedMedia): DiscordMessage[] {
  let text = renderText(outbound.text, locale, i18nTexts);
  if (media && "link" in media) text = text.trim() === "" ? media.link : `${text}\n${media.link}`;
  const components = componentsOf(outbound, locale);
  const parts = splitMessage(text, MAX_CONTENT);
  if (parts.length === 0 && (components.length > 0 || (media && "bytes" in media))) parts.push(components.length > 0 ? t(locale, "discord.choose_below") : "");
  const messages: DiscordMessage[] = parts.map((content) => ({ content, components: [], files: [] }));
  if (messages.length === 0) return [];
  if (media && "bytes" in media) messages[0]!.files.push({ attachment: media.bytes, name: media.name });
  messages.at(-1)!.components = components;
  return messages;
}

/** The components of an `Outbound`: its choices, or an "Answer" button under a question. */
export function componentsOf(outbound: Outbound, locale: Locale): ActionRow[] {
  const choices = outbound.choices ?? [];
  if (choices.length === 0) {
    if (!outbound.prompt) return [];
    return [row([{ type: ComponentType.Button, style: ButtonStyle.Primary, custom_id: answerId(outbound.prompt), label: t(locale, "discord.answer") }])];
  }
  const labelled = choices.map((choice) => ({ id: choice.id, label: renderText(choice.label, locale, i18nTexts).replace(/\s+/g, " ").trim() || choice.id }));
  const pager = labelled.filter((c) => c.id === PAGE_PREV || c.id === PAGE_NEXT);
  const picks = labelled.filter((c) => c.id !== PAGE_PREV && c.id !== PAGE_NEXT);
  const pagerRows = pager.length > 0 ? 1 : 0;
  const buttonRows = Math.ceil(picks.length / BUTTONS_PER_ROW);
  const asButtons = picks.length <= MAX_SELECT_OPTIONS && buttonRows + pagerRows <= MAX_ROWS && picks.every((c) => buttonId(outbound.prompt, c.id));
  const rows: ActionRow[] = [];
  if (asButtons) {
    for (let i = 0; i < picks.length; i += BUTTONS_PER_ROW) rows.push(row(picks.slice(i, i + BUTTONS_PER_ROW).map((c) => button(outbound, c, ButtonStyle.Primary))));
  } else {
    const options: APISelectMenuOption[] = picks.filter((c) => c.id.length <= 100).map((c) => ({ label: clip(c.label, MAX_OPTION_LABEL), value: c.id }));
    const menus = Math.min(MAX_ROWS - pagerRows, Math.ceil(options.length / MAX_SELECT_OPTIONS));
    for (let i = 0; i < menus; i++) {
      const slice = options.slice(i * MAX_SELECT_OPTIONS, (i + 1) * MAX_SELECT_OPTIONS);
      rows.push(row([{ type: ComponentType.StringSelect, custom_id: selectId(outbound.prompt, i), placeholder: t(locale, "discord.choose_placeholder"), options: slice, min_values: 1, max_values: 1 }]));
    }
  }
  if (pager.length > 0) rows.push(row(pager.map((c) => button(outbound, c, ButtonStyle.Secondary))));
  return rows;
}

function button(outbound: Outbound, choice: { id: string; label: string }, style: ButtonStyle.Primary | ButtonStyle.Secondary): APIButtonComponent {
  return { type: ComponentType.Button, style, custom_id: buttonId(outbound.prompt, choice.id)!, label: clip(choice.label, MAX_BUTTON_LABEL) };
}

function row(components: APIComponentInMessageActionRow[]): ActionRow {
  return { type: ComponentType.ActionRow, components };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * An outbound file as an attachment: its bytes when the flow made them, else fetched from
 * its URL within `timeoutMs` and `maxBytes`; a reference that is no URL (another channel's
 * file id) or a fetch that fails becomes a link, or nothing.
 */
export async function resolveMedia(media: OutboundMedia | undefined, options: { timeoutMs: number; maxBytes: number }): Promise<ResolvedMedia | undefined> {
  if (!media) return undefined;
  const name = media.fileName ?? (media.type === "photo" ? "foto.png" : "dokumen");
  if (media.data) return { bytes: Buffer.from(media.data), name };
  if (!/^https?:\/\//.test(media.ref)) return undefined;
  try {
    const response = await fetch(media.ref, { signal: AbortSignal.timeout(options.timeoutMs) });
    const declared = Number(response.headers.get("content-length") ?? 0);
    if (!response.ok || declared > options.maxBytes) return { link: media.ref };
    const bytes = Buffer.from(await response.arrayBuffer());
    if (bytes.length > options.maxBytes) return { link: media.ref };
    return { bytes, name: media.fileName ?? fileNameOf(media.ref) ?? name };
  } catch {
    return { link: media.ref };
  }
}

function fileNameOf(url: string): string | undefined {
  try {
    const last = new URL(url).pathname.split("/").at(-1);
    return last && /\.[A-Za-z0-9]{1,5}$/.test(last) ? decodeURIComponent(last) : undefined;
  } catch {
    return undefined;
  }
}
