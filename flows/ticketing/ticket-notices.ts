// What ticketing sends on its own, outside a conversation turn: a staff reply and the
// closing (with the rating question) to the customer, a merge notice, and the SLA alerts to
// the store's supervisors. Texts are keys in `locales/<locale>/tickets.json`.
//
// How the customer answers is the ticket flows' business: the buttons' ids are their command
// choices (`TICKET_NOTICE_CHOICES` in contract.ts: "answer" runs `/balas 12`, a rating
// `/nilai 12 4`), which every channel carries and the engine runs as the command.
import { t } from "../../locales/i18n.ts";
import { commandChoice } from "../engine/command-choice.ts";
import type { ChoiceView, Locale, Outbound } from "../engine/message.ts";
import { TICKET_COMMANDS, TICKET_NOTICE_CHOICES, type SlaTarget, type TicketPriority } from "./contract.ts";

/** The ids of the buttons under customers' notices (the ticket flows' command choices, unless a test says otherwise). */
export type TicketNoticeChoices = typeof TICKET_NOTICE_CHOICES;

const RATINGS = [1, 2, 3, 4, 5] as const;

export function staffReplyNotice(p: { store: string; number: number; text: string }, choices: TicketNoticeChoices = TICKET_NOTICE_CHOICES): Outbound {
  return {
    text: { key: "tickets.notice.reply", params: p },
    choices: [{ id: choices.answer(p.number), label: { key: "tickets.notice.answer", params: { number: p.number } } }],
  };
}

/** The rating buttons: 1 to 5 and "skip". */
export function ratingChoices(number: number, choices: TicketNoticeChoices = TICKET_NOTICE_CHOICES): ChoiceView[] {
  return [
    ...RATINGS.map((rating) => ({ id: choices.rate(number, rating), label: { key: "tickets.notice.rating_choice", params: { rating, stars: "⭐".repeat(rating) } } })),
    { id: choices.rate(number, "skip"), label: { key: "tickets.notice.rating_skip" } },
  ];
}

export function closedNotice(p: { store: string; number: number; resolution: string }, choices: TicketNoticeChoices = TICKET_NOTICE_CHOICES): Outbound {
  return { text: { key: "tickets.notice.closed", params: p }, choices: ratingChoices(p.number, choices) };
}

export function mergedNotice(p: { store: string; number: number; into: number }): Outbound {
  return { text: { key: "tickets.notice.merged", params: p } };
}

export function priorityName(locale: Locale, priority: TicketPriority): string {
  return t(locale, `tickets.priority.${priority}`);
}

export function targetName(locale: Locale, target: SlaTarget): string {
  return t(locale, `tickets.target.${target}`);
}

function when(at: Date, timeZone: string, locale: Locale): string {
  return new Intl.DateTimeFormat(locale === "id" ? "id-ID" : "en-GB", { timeZone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }).format(at);
}

/** The button under a supervisor's alert: runs `/tiket 12`. */
function openTicketChoice(number: number): ChoiceView[] {
  return [commandChoice({ key: "tickets.alert.open", params: { number } }, TICKET_COMMANDS.desk, number)];
}

/** To the store's supervisors: the watch raised a ticket's priority. */
export function escalatedAlert(
  p: { store: string; locale: Locale; timeZone: string; number: number; target: SlaTarget; stage: 80 | 90; from: TicketPriority; to: TicketPriority; due: Date },
): Outbound {
  return {
    text: {
      key: "tickets.alert.escalated",
      params: { store: p.store, number: p.number, stage: p.stage, target: targetName(p.locale, p.target), from: priorityName(p.locale, p.from), to: priorityName(p.locale, p.to), due: when(p.due, p.timeZone, p.locale) },
    },
    choices: openTicketChoice(p.number),
  };
}

/** To the store's supervisors: a ticket missed a target. */
export function breachedAlert(p: { store: string; locale: Locale; timeZone: string; number: number; target: SlaTarget; due: Date }): Outbound {
  return {
    text: { key: "tickets.alert.breached", params: { store: p.store, number: p.number, target: targetName(p.locale, p.target), due: when(p.due, p.timeZone, p.locale) } },
    choices: openTicketChoice(p.number),
  };
}
