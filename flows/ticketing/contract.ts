/**
 * The seams of ticketing, so its parts can be read (and built) apart:
 *
 * | part | file(s) | what it does |
 * |---|---|---|
 * | the domain | `flows/ticketing/tickets.ts`, `ticket-model.ts` | tickets and their messages in MongoDB (`tickets`, `ticket_messages`), numbered per store; open, reply, assign, re-prioritise, merge, close, rate; every change audited; replies reach the customer through the outbox |
 * | the SLA | `flows/ticketing/sla.ts`, `sla-jobs.ts` | first-response and resolution targets per priority and store; Agenda jobs at 80 % and 90 % of a target raise the priority (normal → high → critical) and tell the store's owners and admins; a missed target is recorded as a breach |
 * | the flows | `flows/ticketing/ticket-flows.ts` | customers: `/bantuan` (contact the store: category, order, message), answering a ticket, rating it; staff: `/tiket` (list, open one, reply, assign, priority, merge, close) on every channel with the engine |
 * | the desk | `TicketDesk` below, implemented by the Discord channel | each ticket as a thread in the store's Discord staff channel: staff write there, customers' answers come back there |
 *
 * A claim in the SNK window opens a ticket by itself (`source: "claim"`), once per order.
 * Statuses: `open` (the store owes an answer) → `answered` (the customer's turn) → `open`
 * again when the customer writes … → `closed` (with a resolution), or `merged` into another
 * ticket. Domain services never know which channel asked.
 */
import { commandChoiceId } from "../engine/command-choice.ts";
import type { Locale } from "../engine/message.ts";

export const TICKET_PRIORITIES = ["normal", "high", "critical"] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

export const TICKET_STATUSES = ["open", "answered", "closed", "merged"] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** What a ticket is about; the customer picks one (a claim is `goods`). */
export const TICKET_CATEGORIES = ["order", "payment", "goods", "other"] as const;
export type TicketCategory = (typeof TICKET_CATEGORIES)[number];

/** The SLA targets a ticket is measured against. */
export const SLA_TARGETS = ["first-response", "resolution"] as const;
export type SlaTarget = (typeof SLA_TARGETS)[number];

/** The points of a target at which the SLA watch acts: raise the priority at 80 and 90, record a breach at 100. */
export const SLA_STAGES = [80, 90, 100] as const;
export type SlaStage = (typeof SLA_STAGES)[number];

/** Minutes per priority, per target; a store's own (`settings.tickets.sla`) or these defaults. */
export type SlaTargets = Record<TicketPriority, { firstResponseMinutes: number; resolutionMinutes: number }>;

export const DEFAULT_SLA: SlaTargets = {
  normal: { firstResponseMinutes: 240, resolutionMinutes: 2880 },
  high: { firstResponseMinutes: 60, resolutionMinutes: 1440 },
  critical: { firstResponseMinutes: 15, resolutionMinutes: 240 },
};

/** The customer a ticket belongs to: where the outbox reaches them. */
export interface TicketCustomer {
  channel: string;
  chatId: string;
  userId: string;
  name?: string;
  locale?: Locale;
}

/** A store member (or the platform owner) acting on a ticket, as the audit log records them. */
export interface TicketActor {
  channel: string;
  userId: string;
  name?: string;
}

export interface TicketEscalation {
  target: SlaTarget;
  stage: 80 | 90;
  from: TicketPriority;
  to: TicketPriority;
  at: Date;
}

export interface TicketBreach {
  target: SlaTarget;
  at: Date;
}

export interface TicketView {
  id: string;
  tenantId: string;
  /** Per store, from 1 (`#12`). */
  number: number;
  status: TicketStatus;
  priority: TicketPriority;
  category: TicketCategory;
  orderCode?: string;
  /** The customer's first message, shortened: what lists show. */
  subject: string;
  source: "customer" | "claim";
  customer: TicketCustomer;
  assignee?: TicketActor;
  openedAt: Date;
  firstResponseAt?: Date;
  closedAt?: Date;
  resolution?: string;
  rating?: number;
  ratingComment?: string;
  /** With `merged`: the ticket it continues in. */
  mergedInto?: number;
  /** When the current targets fall due (`firstResponseDueAt` unset once answered; both unset once closed). */
  firstResponseDueAt?: Date;
  resolutionDueAt?: Date;
  escalations: TicketEscalation[];
  breaches: TicketBreach[];
  /** Where staff see the ticket outside the engine (a Discord thread): the desk's own reference. */
  desk?: { channel: string; ref: string };
}

export interface TicketMessageView {
  ticketNumber: number;
  from: "customer" | "staff" | "system";
  author?: TicketActor;
  text: string;
  at: Date;
  /** A file the writer sent with it, by the channel's reference. */
  media?: { channel: string; fileRef: string; type: "photo" | "document" };
}

export type TicketResult<T = TicketView> =
  | { ok: true; ticket: T }
  | { ok: false; reason: "not_found" | "closed" | "merged" | "not_yours" | "invalid" | "already_rated" | "same_ticket" };

/** What happened to a ticket: the desk and the team alerts hear every one. */
export type TicketEvent =
  | { type: "opened"; tenantId: string; ticket: TicketView }
  | { type: "message"; tenantId: string; ticket: TicketView; message: TicketMessageView }
  | { type: "assigned" | "reprioritised" | "closed" | "reopened" | "rated"; tenantId: string; ticket: TicketView; by?: TicketActor }
  | { type: "merged"; tenantId: string; ticket: TicketView; into: TicketView; by?: TicketActor }
  | { type: "escalated"; tenantId: string; ticket: TicketView; escalation: TicketEscalation }
  | { type: "breached"; tenantId: string; ticket: TicketView; breach: TicketBreach };

/**
 * The ticketing domain. Every method is safe to call twice with the same input where the
 * comment says so, never needs a transaction, and never throws for what a user did (the
 * result says why not); it throws only when the database does.
 */
export interface TicketService {
  /**
   * Opens a ticket. With `source: "claim"` and an `orderCode`, at most one open ticket per
   * order exists: a second call returns the first.
   */
  open(input: {
    tenantId: string;
    customer: TicketCustomer;
    category: TicketCategory;
    orderCode?: string;
    text: string;
    media?: TicketMessageView["media"];
    source?: "customer" | "claim";
    priority?: TicketPriority;
  }): Promise<TicketView>;
  /** The customer writes on their ticket (their answer to staff); reopens an `answered` one. */
  customerWrote(tenantId: string, number: number, from: { channel: string; chatId: string }, text: string, media?: TicketMessageView["media"]): Promise<TicketResult>;
  /** A member answers: the text reaches the customer in their own channel through the outbox; the first answer stops the first-response clock. */
  staffReply(tenantId: string, number: number, actor: TicketActor, text: string): Promise<TicketResult>;
  assign(tenantId: string, number: number, actor: TicketActor, assignee: TicketActor): Promise<TicketResult>;
  setPriority(tenantId: string, number: number, actor: TicketActor, priority: TicketPriority): Promise<TicketResult>;
  /** Closes `duplicate` as merged into `into` (its messages stay readable from `into`). */
  merge(tenantId: string, duplicate: number, into: number, actor: TicketActor): Promise<TicketResult>;
  /** Closes with a resolution; the customer is told and asked for a 1–5 rating and a comment. */
  close(tenantId: string, number: number, actor: TicketActor, resolution: string): Promise<TicketResult>;
  /** The customer's rating (1–5) of a closed ticket, once. */
  rate(tenantId: string, number: number, from: { channel: string; chatId: string }, rating: number, comment?: string): Promise<TicketResult>;
  get(tenantId: string, number: number): Promise<TicketView | undefined>;
  /** By the desk's reference (a Discord thread id). */
  byDeskRef(tenantId: string, desk: { channel: string; ref: string }): Promise<TicketView | undefined>;
  /** Records where the desk shows the ticket. */
  setDeskRef(tenantId: string, number: number, desk: { channel: string; ref: string }): Promise<void>;
  list(tenantId: string, filter?: { status?: TicketStatus[]; assigneeUserId?: string; limit?: number; before?: number }): Promise<TicketView[]>;
  /** A customer's tickets not closed yet, newest first. */
  openOf(tenantId: string, customer: { channel: string; chatId: string }): Promise<TicketView[]>;
  messages(tenantId: string, number: number, options?: { limit?: number }): Promise<TicketMessageView[]>;
}

/**
 * Where staff work tickets outside the engine's chats: the Discord channel implements it
 * (a thread per ticket in the store's staff channel). Hears every `TicketEvent`; never
 * throws (a desk that cannot show an event logs it; the ticket stands).
 */
export interface TicketDesk {
  ticketEvent(event: TicketEvent): Promise<void>;
}

/**
 * The commands the ticket flows answer (`flows/ticketing/ticket-flows.ts`). Customers:
 * `/bantuan` opens a ticket, `/tiketsaya` lists theirs, `/balas 12` answers ticket 12,
 * `/nilai 12` (or `/nilai 12 4`) rates it. Staff: `/tiket` (list), `/tiket 12` (one).
 */
export const TICKET_COMMANDS = { open: "bantuan", mine: "tiketsaya", answer: "balas", rate: "nilai", desk: "tiket" } as const;

/** What the rating button "skip" carries instead of 1–5. */
export const SKIP_RATING = "lewati";

/**
 * The ids of the buttons under the customer's notices, as the ticket flows answer them:
 * command choices (`commandChoiceId`), which every channel carries (a Telegram or Discord
 * button, a numbered line on WhatsApp and the console) and the engine runs as the command.
 * Pressing "answer" under a store's reply asks for the customer's text (`customerWrote`);
 * pressing a rating under the closing notice asks for an optional comment, then `rate`.
 *
 * ```ts
 * TICKET_NOTICE_CHOICES.answer(12);   // → "cmd:balas:12"   (as typed: /balas 12)
 * TICKET_NOTICE_CHOICES.rate(12, 4);  // → "cmd:nilai:12:4" (as typed: /nilai 12 4)
 * ```
 */
export const TICKET_NOTICE_CHOICES = {
  answer: (number: number): string => commandChoiceId(TICKET_COMMANDS.answer, number),
  rate: (number: number, rating: number | "skip"): string => commandChoiceId(TICKET_COMMANDS.rate, number, rating === "skip" ? SKIP_RATING : rating),
};
