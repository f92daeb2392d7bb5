// The pieces every ticketing verb shares: what the platform plugs in, the view of a stored
// ticket, the audit record, events that never break the service, and the customer's notices.
import { Types } from "mongoose";
import type { Outbound, Outbox } from "../engine/index.ts";
import { tellListener } from "../engine/listeners.ts";
import { recordAudit } from "../../storage/models/index.ts";
import type { TicketActor, TicketEvent, TicketMessageView, TicketView } from "./contract.ts";
import type { SlaScheduler } from "./sla.ts";
import type { TicketMessageRecord, TicketRecord } from "./ticket-model.ts";
import type { TicketNoticeChoices } from "./ticket-notices.ts";

export interface TicketingLog {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface TicketingOptions {
  /** Reaches customers' chats and members' chats (the platform's `Outbox`, with a timeout). */
  outbox: Pick<Outbox, "send">;
  log?: TicketingLog;
  /** Hears every `TicketEvent` (the desk, team alerts). A listener that throws or rejects is logged, never felt. */
  onEvent?: (event: TicketEvent) => void | Promise<void>;
  /** The time the service and its SLA watch go by; tests move it. */
  clock?: () => Date;
  /** Where the SLA checks are scheduled (`slaJobTimers(agenda)`); without it no ticket is watched. */
  sla?: SlaScheduler;
  /** The ids of the buttons under customers' notices; the ticket flows' command choices unless given. */
  choices?: TicketNoticeChoices;
}

export interface TicketingContext {
  options: TicketingOptions;
  log: TicketingLog;
  now(): Date;
}

const silent: TicketingLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export function contextOf(options: TicketingOptions): TicketingContext {
  return { options, log: options.log ?? silent, now: options.clock ?? (() => new Date()) };
}

/** Passes an event on; a failing listener is logged and the ticket's change stands. */
export function emit(ctx: TicketingContext, event: TicketEvent): void {
  tellListener(ctx.options.onEvent, event, ctx.log, "ticket event listener failed");
}

/** The audit action for a ticket verb (built so it is not read as a text key). */
export function ticketAction(verb: string): string {
  return `ticket.${verb}`;
}

export async function auditTicket(
  tenantId: Types.ObjectId,
  actor: TicketActor,
  verb: string,
  number: number,
  change: { before?: unknown; after?: unknown },
): Promise<void> {
  await recordAudit({
    tenantId,
    actor: { channel: actor.channel, userId: actor.userId, ...(actor.name ? { name: actor.name } : {}) },
    action: ticketAction(verb),
    target: { type: "ticket", id: String(number) },
    ...change,
    where: actor.channel.slice(0, 64),
  });
}

/** The platform itself (the SLA watch), as the audit log records it. */
export const SLA_ACTOR: TicketActor = { channel: "system", userId: "sla" };

/** Sends a customer a notice about their ticket; a notice that cannot be sent is logged, not thrown. */
export async function notifyTicketCustomer(ctx: TicketingContext, ticket: TicketRecord, message: Outbound, what: string): Promise<boolean> {
  const report = await ctx.options.outbox.send(
    { tenantId: String(ticket.tenantId), channel: ticket.customer.channel, chatId: ticket.customer.chatId },
    [message],
    { locale: ticket.customer.locale === "en" ? "en" : "id" },
  );
  if (!report.ok) ctx.log.warn("ticket notice not sent", { notice: what, channel: ticket.customer.channel, reason: report.reason ?? "failed" });
  return report.ok;
}

function actorView(actor: { channel: string; userId: string; name?: string | null } | null | undefined): TicketActor | undefined {
  if (!actor) return undefined;
  return { channel: actor.channel, userId: actor.userId, ...(actor.name ? { name: actor.name } : {}) };
}

export function toTicketView(doc: TicketRecord): TicketView {
  const c = doc.customer;
  return {
    id: String(doc._id),
    tenantId: String(doc.tenantId),
    number: doc.number,
    status: doc.status,
    priority: doc.priority,
    category: doc.category,
    ...(doc.orderCode ? { orderCode: doc.orderCode } : {}),
    subject: doc.subject,
    source: doc.source,
    customer: { channel: c.channel, chatId: c.chatId, userId: c.userId, ...(c.name ? { name: c.name } : {}), locale: c.locale === "en" ? "en" : "id" },
    ...(doc.assignee ? { assignee: actorView(doc.assignee) } : {}),
    openedAt: doc.openedAt,
    ...(doc.firstResponseAt ? { firstResponseAt: doc.firstResponseAt } : {}),
    ...(doc.closedAt ? { closedAt: doc.closedAt } : {}),
    ...(doc.resolution ? { resolution: doc.resolution } : {}),
    ...(doc.rating != null ? { rating: doc.rating } : {}),
    ...(doc.ratingComment ? { ratingComment: doc.ratingComment } : {}),
    ...(doc.mergedInto != null ? { mergedInto: doc.mergedInto } : {}),
    ...(doc.sla?.firstResponseDueAt ? { firstResponseDueAt: doc.sla.firstResponseDueAt } : {}),
    ...(doc.sla?.resolutionDueAt ? { resolutionDueAt: doc.sla.resolutionDueAt } : {}),
    escalations: (doc.escalations ?? []).map((e) => ({ target: e.target, stage: e.stage as 80 | 90, from: e.from, to: e.to, at: e.at })),
    breaches: (doc.breaches ?? []).map((b) => ({ target: b.target, at: b.at })),
    ...(doc.desk?.channel && doc.desk.ref ? { desk: { channel: doc.desk.channel, ref: doc.desk.ref } } : {}),
  };
}

export function toMessageView(doc: TicketMessageRecord): TicketMessageView {
  return {
    ticketNumber: doc.ticketNumber,
    from: doc.from,
    ...(doc.author ? { author: actorView(doc.author) } : {}),
    text: doc.text,
    at: doc.at,
    ...(doc.media ? { media: { channel: doc.media.channel, fileRef: doc.media.fileRef, type: doc.media.type } } : {}),
  };
}

export function tenantObjectId(tenantId: string): Types.ObjectId | undefined {
  return Types.ObjectId.isValid(tenantId) ? new Types.ObjectId(tenantId) : undefined;
}
