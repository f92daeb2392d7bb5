// A ticket as people read it in a chat: its number, status, priority, age and subject in a
// list line or a button, and the whole of it (customer, order, SLA due times, messages) for
// the member who opens it. Texts are `support.*` keys in the reader's language.
import { t } from "../../locales/i18n.ts";
import { formatWhen } from "../../locales/format-when.ts";
import type { Locale } from "../engine/message.ts";
import type { TicketMessageView, TicketPriority, TicketView } from "./contract.ts";
import { priorityName } from "./ticket-notices.ts";

const PRIORITY_ICON: Record<TicketPriority, string> = { normal: "⚪", high: "🟠", critical: "🔴" };
const PRIORITY_RANK: Record<TicketPriority, number> = { critical: 0, high: 1, normal: 2 };
/** What fits on a button beside the number and the age. */
const SUBJECT_IN_BUTTON = 40;

/** "12" or "#12" → 12; anything else `undefined`. */
export function ticketNumberOf(typed: unknown): number | undefined {
  if (typeof typed === "number") return Number.isSafeInteger(typed) && typed > 0 ? typed : undefined;
  if (typeof typed !== "string") return undefined;
  const match = /^#?(\d{1,9})$/.exec(typed.trim());
  const number = match ? Number(match[1]) : NaN;
  return number > 0 ? number : undefined;
}

/** A ticket's choice id in a menu ("t12"): a bare number would be read as the choice's position when typed. */
export function ticketChoiceId(number: number): string {
  return `t${number}`;
}

export function ticketOfChoice(choiceId: unknown): number | undefined {
  return typeof choiceId === "string" && choiceId.startsWith("t") ? ticketNumberOf(choiceId.slice(1)) : undefined;
}

/** How long ago, roughly: "15 mnt", "3 jam", "2 hari". */
export function ageText(since: Date, now: Date, locale: Locale): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - since.getTime()) / 60_000));
  if (minutes < 60) return t(locale, "support.age.minutes", { count: minutes });
  if (minutes < 48 * 60) return t(locale, "support.age.hours", { count: Math.floor(minutes / 60) });
  return t(locale, "support.age.days", { count: Math.floor(minutes / 1440) });
}

export function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Most urgent first, then the longest waiting. */
export function byUrgency(a: TicketView, b: TicketView): number {
  return PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || a.openedAt.getTime() - b.openedAt.getTime();
}

export function statusName(locale: Locale, ticket: TicketView): string {
  return t(locale, `support.status.${ticket.status}`);
}

export function categoryName(locale: Locale, ticket: Pick<TicketView, "category">): string {
  return t(locale, `support.category.${ticket.category}`);
}

/** A ticket as a staff member's button: "🔴 #12 · 3 jam · Akun tidak bisa login". */
export function deskChoiceLabel(ticket: TicketView, now: Date, locale: Locale): string {
  return t(locale, "support.desk.ticket_choice", {
    icon: PRIORITY_ICON[ticket.priority],
    number: ticket.number,
    age: ageText(ticket.openedAt, now, locale),
    subject: shorten(ticket.subject, SUBJECT_IN_BUTTON),
  });
}

/** A customer's own ticket as a list line. */
export function customerLine(ticket: TicketView, now: Date, locale: Locale): string {
  return t(locale, "support.mine.line", {
    number: ticket.number,
    status: statusName(locale, ticket),
    category: categoryName(locale, ticket),
    age: ageText(ticket.openedAt, now, locale),
    subject: shorten(ticket.subject, 80),
  });
}

/** Everything a member needs to act on a ticket, in one message. */
export function ticketDetail(ticket: TicketView, messages: readonly TicketMessageView[], ctx: { now: Date; locale: Locale; timeZone: string }): string {
  const { locale } = ctx;
  const when = (at: Date) => formatWhen(at, { locale, timeZone: ctx.timeZone, style: "compact" });
  const due = [
    ticket.firstResponseDueAt && t(locale, "support.desk.first_response_due", { at: when(ticket.firstResponseDueAt) }),
    ticket.resolutionDueAt && t(locale, "support.desk.resolution_due", { at: when(ticket.resolutionDueAt) }),
  ].filter(Boolean);
  const rating =
    ticket.rating !== undefined ? t(locale, "support.desk.rating_part", { rating: ticket.rating, comment: ticket.ratingComment ?? "" }).trimEnd() : "";
  const closing = [
    ticket.resolution !== undefined ? t(locale, "support.desk.closing_part", { resolution: ticket.resolution, rating }) : "",
    ticket.mergedInto !== undefined ? t(locale, "support.desk.merged_part", { into: ticket.mergedInto }) : "",
  ].join("");
  const lines = messages.map((message) =>
    t(locale, "support.desk.message_line", {
      at: when(message.at),
      who:
        message.from === "customer"
          ? t(locale, "support.desk.from_customer")
          : message.from === "system"
            ? t(locale, "support.desk.from_system")
            : (message.author?.name ?? message.author?.userId ?? ""),
      text: `${message.media ? `${t(locale, "support.desk.photo")} ` : ""}${shorten(message.text, 500)}`,
    }),
  );
  return t(locale, "support.desk.detail", {
    number: ticket.number,
    status: statusName(locale, ticket),
    priority: `${PRIORITY_ICON[ticket.priority]} ${priorityName(locale, ticket.priority)}`,
    category: categoryName(locale, ticket),
    order: ticket.orderCode ? t(locale, "support.desk.order_part", { code: ticket.orderCode }) : "",
    customer: ticket.customer.name ?? ticket.customer.userId,
    channel: ticket.customer.channel,
    assignee: ticket.assignee ? (ticket.assignee.name ?? ticket.assignee.userId) : t(locale, "support.desk.nobody"),
    openedAt: when(ticket.openedAt),
    age: ageText(ticket.openedAt, ctx.now, locale),
    due: due.join(""),
    closing,
    messages: lines.join("\n"),
  });
}
