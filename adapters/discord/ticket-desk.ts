/**
 * The staff desk on Discord: each ticket of a store as a thread in the store's staff channel.
 *
 * - A ticket opens: a card in the staff channel (number, priority, status, category, order,
 *   customer, first message) with a button that opens the ticket in `/tiket` (reply, take,
 *   priority, close…) as the person who presses it, and a thread started from the card,
 *   saved as the ticket's desk reference (`tickets.setDeskRef`). The card is the "new
 *   ticket" alert in the staff channel: nobody needs a second one there.
 * - What the customer writes, and what staff answer from elsewhere (Telegram's `/tiket`),
 *   is posted in the thread, so the thread reads as the whole conversation. Staff answers
 *   written in the thread itself are already there and are not posted again.
 * - Assigning, re-prioritising, SLA escalations and breaches, closing, merging, reopening and
 *   the rating: a line in the thread and the card brought up to date. An escalation or a
 *   breach is also said in the staff channel itself, with the ticket's button. A closed or
 *   merged ticket's card loses its buttons and its thread is archived.
 *
 * ```ts
 * const desk = new DiscordTicketDesk({ tickets, channel: discordChannel, rest: () => discordChannel.rest, ticketCommand: "tiket", log });
 * commerce.tickets.listen((event) => desk.ticketEvent(event));
 * ```
 *
 * A store without a linked staff channel: nothing happens (logged at debug). The desk never
 * throws; a step Discord refuses is logged and the ticket stands. Events of one ticket are
 * handled in order, so a customer's first answer cannot overtake the thread's creation; a
 * restart does not start a second thread, because the reference is read back before one is.
 *
 * This file cannot import the ticketing domain (adapters use no flow directly): `DeskTicket`
 * and `DeskTicketEvent` are the parts of `TicketView` and `TicketEvent` it reads, and the
 * composition root hands it the domain's events, which fit them.
 */
import { Routes, type REST, type RESTPatchAPIChannelJSONBody, type RESTPatchAPIChannelMessageJSONBody, type RESTPostAPIChannelMessagesThreadsJSONBody } from "discord.js";
import { commandChoiceId, type Channel, type ChoiceView, type EngineLog, type Locale, type Outbound } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";
import { Tenant } from "../../storage/models/index.ts";
import { channelChatId, DISCORD_CHANNEL } from "./contract.ts";

type Priority = "normal" | "high" | "critical";
type Status = "open" | "answered" | "closed" | "merged";
interface Actor {
  channel: string;
  userId: string;
  name?: string;
}

/** What the desk reads of a ticket (`TicketView` fits it). */
export interface DeskTicket {
  number: number;
  status: Status;
  priority: Priority;
  category: string;
  orderCode?: string;
  subject: string;
  customer: { channel: string; chatId: string; userId: string; name?: string };
  assignee?: Actor;
  resolution?: string;
  rating?: number;
  ratingComment?: string;
  mergedInto?: number;
  desk?: { channel: string; ref: string };
}

/** The ticket events the desk shows (`TicketEvent` fits it). */
export type DeskTicketEvent =
  | { type: "opened"; tenantId: string; ticket: DeskTicket }
  | { type: "message"; tenantId: string; ticket: DeskTicket; message: { from: "customer" | "staff" | "system"; author?: Actor; text: string; media?: { type: string } } }
  | { type: "assigned" | "reprioritised" | "closed" | "reopened" | "rated"; tenantId: string; ticket: DeskTicket; by?: Actor }
  | { type: "merged"; tenantId: string; ticket: DeskTicket; into: { number: number }; by?: Actor }
  | { type: "escalated"; tenantId: string; ticket: DeskTicket; escalation: { target: string; stage: number; from: Priority; to: Priority } }
  | { type: "breached"; tenantId: string; ticket: DeskTicket; breach: { target: string } };

/** The ticketing domain's part the desk uses (`TicketService` fits it). */
export interface DeskTickets {
  get(tenantId: string, number: number): Promise<DeskTicket | undefined>;
  setDeskRef(tenantId: string, number: number, desk: { channel: string; ref: string }): Promise<void>;
}

/** Where a store's desk is: its Discord staff channel, and the language its staff read. */
export interface DeskRoom {
  channelId: string;
  locale: Locale;
}

export interface DiscordTicketDeskOptions {
  tickets: DeskTickets;
  /** The running Discord channel: posts to `#<channel id>` chats, rendering choices as buttons that run command shortcuts. */
  channel: Pick<Channel, "send">;
  /** The running client's REST (threads, edits, archiving); undefined while the channel is not started. Calls time out per the REST's `timeout`. */
  rest: () => REST | undefined;
  /** The staff's ticket command (`TICKET_COMMANDS.desk`): the card's button runs `/<it> <number>`. */
  ticketCommand: string;
  /** The store's staff channel; by default read from the store's Discord link. */
  roomOf?: (tenantId: string) => Promise<DeskRoom | undefined>;
  log: EngineLog & { debug?(message: string, meta?: Record<string, unknown>): unknown };
}

/** Discord's longest thread name. */
const THREAD_NAME_MAX = 100;
/** A week: a quiet ticket's thread stays in the channel's list while the store works on it. */
const AUTO_ARCHIVE_MINUTES = 10080;
/** Discord refuses a message over 2000 characters; a customer's long text is cut in the card. */
const CARD_SUBJECT_MAX = 300;
const NO_MENTIONS = { parse: [] as never[] };

export class DiscordTicketDesk {
  readonly #opts: DiscordTicketDeskOptions;
  /** The tail of each ticket's event queue, so its events are shown in order. */
  readonly #queues = new Map<string, Promise<void>>();
  /** Thread ids this process started or read, while the ticket is not closed. */
  readonly #threads = new Map<string, string>();

  constructor(options: DiscordTicketDeskOptions) {
    this.#opts = options;
  }

  /** Shows one ticket event; never throws. Resolves when it has been shown (or given up). */
  ticketEvent(event: DeskTicketEvent): Promise<void> {
    const key = `${event.tenantId}:${event.ticket.number}`;
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.#show(event)).catch((error: unknown) => {
      this.#opts.log.warn("the Discord desk could not show a ticket event", { event: event.type, ticket: event.ticket.number, error: (error as Error).message });
    });
    this.#queues.set(key, next);
    void next.then(() => {
      if (this.#queues.get(key) === next) this.#queues.delete(key);
    });
    return next;
  }

  async #show(event: DeskTicketEvent): Promise<void> {
    const room = await this.#roomOf(event.tenantId);
    if (!room) {
      this.#opts.log.debug?.("no Discord staff channel for the store: the ticket is not shown there", { event: event.type, ticket: event.ticket.number });
      return;
    }
    const finished = event.ticket.status === "closed" || event.ticket.status === "merged";
    const threadId = (await this.#knownThread(event)) ?? (finished ? undefined : await this.#startThread(event, room));
    if (!threadId) return;
    const line = lineFor(event, room.locale);
    if (line) await this.#post(event.tenantId, threadId, line, room.locale);
    if (event.type !== "message") await this.#updateCard(event.ticket, room, threadId);
    if (event.type === "escalated" || event.type === "breached") await this.#raise(event, room);
    const key = `${event.tenantId}:${event.ticket.number}`;
    if (finished) {
      this.#threads.delete(key);
      await this.#archive(threadId);
    }
  }

  /** The ticket's thread, if it has one: from the event, this process's memory, or the saved reference. */
  async #knownThread(event: DeskTicketEvent): Promise<string | undefined> {
    const key = `${event.tenantId}:${event.ticket.number}`;
    const known = deskRef(event.ticket) ?? this.#threads.get(key);
    if (known) return known;
    const saved = await this.#opts.tickets.get(event.tenantId, event.ticket.number);
    const ref = saved && deskRef(saved);
    if (ref) this.#threads.set(key, ref);
    return ref;
  }

  /** Posts the card in the staff channel, starts its thread and saves it as the ticket's desk. */
  async #startThread(event: DeskTicketEvent, room: DeskRoom): Promise<string | undefined> {
    const rest = this.#opts.rest();
    if (!rest) {
      this.#opts.log.warn("the Discord channel is not running: the ticket gets no thread", { ticket: event.ticket.number });
      return undefined;
    }
    const { ticket, tenantId } = event;
    const report = await this.#opts.channel.send({ tenantId, channel: DISCORD_CHANNEL, chatId: channelChatId(room.channelId) }, [card(ticket, room.locale, this.#opts.ticketCommand)], { locale: room.locale });
    const cardId = report.messages[0]?.messageIds[0];
    if (!report.ok || !cardId) {
      this.#opts.log.warn("the ticket's card was not posted in the staff channel", { ticket: ticket.number, reason: report.reason ?? "no message id" });
      return undefined;
    }
    const body: RESTPostAPIChannelMessagesThreadsJSONBody = { name: threadName(ticket, room.locale), auto_archive_duration: AUTO_ARCHIVE_MINUTES };
    const thread = (await rest.post(Routes.threads(room.channelId, cardId), { body })) as { id: string };
    await this.#opts.tickets.setDeskRef(tenantId, ticket.number, { channel: DISCORD_CHANNEL, ref: thread.id });
    this.#threads.set(`${tenantId}:${ticket.number}`, thread.id);
    // The thread opens with the customer's words; on `opened` the line below is that too.
    if (event.type !== "opened") await this.#post(tenantId, thread.id, { key: "desk.thread.first", params: { name: customerName(ticket), text: ticket.subject } }, room.locale);
    return thread.id;
  }

  /** An escalation or a breach is also said in the staff channel itself, where people look, with the ticket's button. */
  async #raise(event: Extract<DeskTicketEvent, { type: "escalated" | "breached" }>, room: DeskRoom): Promise<void> {
    const { ticket, tenantId } = event;
    const text: Outbound["text"] =
      event.type === "escalated"
        ? { key: "desk.alert.escalated", params: { number: ticket.number, to: label(room.locale, "priority", event.escalation.to), target: label(room.locale, "target", event.escalation.target), subject: ticket.subject } }
        : { key: "desk.alert.breached", params: { number: ticket.number, target: label(room.locale, "target", event.breach.target), subject: ticket.subject } };
    const report = await this.#opts.channel.send({ tenantId, channel: DISCORD_CHANNEL, chatId: channelChatId(room.channelId) }, [{ text, choices: cardActions(ticket, this.#opts.ticketCommand) }], { locale: room.locale });
    if (!report.ok) this.#opts.log.warn("a ticket alert was not posted in the staff channel", { ticket: ticket.number, reason: report.reason ?? "failed" });
  }

  async #post(tenantId: string, threadId: string, text: Outbound["text"], locale: Locale): Promise<void> {
    const report = await this.#opts.channel.send({ tenantId, channel: DISCORD_CHANNEL, chatId: channelChatId(threadId) }, [{ text }], { locale });
    if (!report.ok) this.#opts.log.warn("a line was not posted in the ticket's thread", { reason: report.reason ?? "failed", ...(report.detail !== undefined && { detail: report.detail }) });
  }

  /** Rewrites the card: a thread's id is its starter message's id. A finished ticket's card loses its buttons. */
  async #updateCard(ticket: DeskTicket, room: DeskRoom, threadId: string): Promise<void> {
    const rest = this.#opts.rest();
    if (!rest) return;
    const finished = ticket.status === "closed" || ticket.status === "merged";
    const body: RESTPatchAPIChannelMessageJSONBody = {
      content: t(room.locale, "desk.ticket.card", cardParams(ticket, room.locale)),
      allowed_mentions: NO_MENTIONS,
      ...(finished && { components: [] }),
    };
    await rest.patch(Routes.channelMessage(room.channelId, threadId), { body }).catch((error: unknown) => {
      this.#opts.log.warn("the ticket's card could not be updated", { ticket: ticket.number, error: (error as Error).message });
    });
  }

  async #archive(threadId: string): Promise<void> {
    const body: RESTPatchAPIChannelJSONBody = { archived: true };
    await this.#opts.rest()?.patch(Routes.channel(threadId), { body }).catch((error: unknown) => {
      this.#opts.log.warn("the ticket's thread could not be archived", { error: (error as Error).message });
    });
  }

  async #roomOf(tenantId: string): Promise<DeskRoom | undefined> {
    if (this.#opts.roomOf) return this.#opts.roomOf(tenantId);
    return staffRoomOf(tenantId);
  }
}

/** The store's Discord staff channel from its link, if it has one. */
export async function staffRoomOf(tenantId: string): Promise<DeskRoom | undefined> {
  const tenant = await Tenant.findById(tenantId, { locale: 1, status: 1, "channels.discord": 1 })
    .lean<{ locale?: Locale; status?: string; channels?: { discord?: { guildId?: string; staffChannelId?: string } } }>()
    .exec();
  const link = tenant?.channels?.discord;
  if (!tenant || tenant.status === "suspended" || !link?.guildId || !link.staffChannelId) return undefined;
  return { channelId: link.staffChannelId, locale: tenant.locale ?? "id" };
}

function deskRef(ticket: DeskTicket): string | undefined {
  return ticket.desk?.channel === DISCORD_CHANNEL ? ticket.desk.ref : undefined;
}

function customerName(ticket: DeskTicket): string {
  return ticket.customer.name || ticket.customer.userId;
}

function label(locale: Locale, group: string, value: string): string {
  return t(locale, `desk.${group}.${value}`);
}

function cardParams(ticket: DeskTicket, locale: Locale): Record<string, string | number> {
  const subject = ticket.subject.length > CARD_SUBJECT_MAX ? `${ticket.subject.slice(0, CARD_SUBJECT_MAX - 1)}…` : ticket.subject;
  return {
    number: ticket.number,
    priority: label(locale, "priority", ticket.priority),
    status: label(locale, "status", ticket.status),
    category: label(locale, "category", ticket.category),
    order: ticket.orderCode ?? "-",
    customer: customerName(ticket),
    channel: label(locale, "channel", ticket.customer.channel),
    assignee: ticket.assignee ? ticket.assignee.name || ticket.assignee.userId : t(locale, "desk.ticket.nobody"),
    subject,
  };
}

/** The card's button: opens the ticket in `/tiket` (reply, take, hand over, priority, merge, close) for whoever presses it, with their permissions. */
function cardActions(ticket: Pick<DeskTicket, "number">, ticketCommand: string): ChoiceView[] {
  return [{ id: commandChoiceId(ticketCommand, ticket.number), label: { key: "desk.action.open" } }];
}

function card(ticket: DeskTicket, locale: Locale, ticketCommand: string): Outbound {
  return { text: { key: "desk.ticket.card", params: cardParams(ticket, locale) }, choices: cardActions(ticket, ticketCommand) };
}

function threadName(ticket: DeskTicket, locale: Locale): string {
  const name = t(locale, "desk.thread.name", { number: ticket.number, subject: ticket.subject.replace(/\s+/g, " ") });
  return name.length > THREAD_NAME_MAX ? `${name.slice(0, THREAD_NAME_MAX - 1)}…` : name;
}

function actorName(actor: Actor | undefined, locale: Locale): string {
  return actor ? actor.name || actor.userId : t(locale, "desk.line.system");
}

/** The line an event adds to the thread; none for a staff answer written in the thread itself. */
function lineFor(event: DeskTicketEvent, locale: Locale): Outbound["text"] | undefined {
  const { ticket } = event;
  switch (event.type) {
    case "opened":
      return { key: "desk.thread.first", params: { name: customerName(ticket), text: ticket.subject } };
    case "message": {
      const { message } = event;
      const text = message.media ? `${message.text}\n${t(locale, "desk.line.attachment")}`.trim() : message.text;
      if (message.from === "customer") return { key: "desk.line.customer", params: { name: customerName(ticket), text } };
      if (message.from === "system") return { key: "desk.line.note", params: { text } };
      if (message.author?.channel === DISCORD_CHANNEL) return undefined;
      return { key: "desk.line.staff", params: { name: actorName(message.author, locale), channel: label(locale, "channel", message.author?.channel ?? "console"), text } };
    }
    case "assigned":
      return { key: "desk.line.assigned", params: { by: actorName(event.by, locale), assignee: actorName(ticket.assignee, locale) } };
    case "reprioritised":
      return { key: "desk.line.reprioritised", params: { by: actorName(event.by, locale), priority: label(locale, "priority", ticket.priority) } };
    case "escalated":
      return {
        key: "desk.line.escalated",
        params: { stage: event.escalation.stage, target: label(locale, "target", event.escalation.target), from: label(locale, "priority", event.escalation.from), to: label(locale, "priority", event.escalation.to) },
      };
    case "breached":
      return { key: "desk.line.breached", params: { target: label(locale, "target", event.breach.target) } };
    case "closed":
      return { key: "desk.line.closed", params: { by: actorName(event.by, locale), resolution: ticket.resolution ?? "-" } };
    case "reopened":
      return { key: "desk.line.reopened", params: {} };
    case "merged":
      return { key: "desk.line.merged", params: { by: actorName(event.by, locale), into: event.into.number } };
    case "rated":
      return { key: "desk.line.rated", params: { stars: "★".repeat(ticket.rating ?? 0) + "☆".repeat(5 - (ticket.rating ?? 0)), rating: ticket.rating ?? 0, comment: ticket.ratingComment ? `\n“${ticket.ratingComment}”` : "" } };
  }
}
