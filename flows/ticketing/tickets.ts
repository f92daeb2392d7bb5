/**
 * The ticketing domain (`TicketService` in contract.ts), on MongoDB.
 *
 * ```ts
 * const tickets = createTicketing({ outbox, log, onEvent: (e) => desk.ticketEvent(e), sla: slaJobTimers(scheduler.agenda) });
 * defineTicketJobs(scheduler.agenda, tickets);         // before scheduler.start()
 * const ticket = await tickets.open({ tenantId, customer, category: "order", orderCode, text });
 * await tickets.staffReply(tenantId, ticket.number, member, "Sudah kami cek, …");
 * ```
 *
 * Every verb is one conditional update of one ticket (its status in the filter), so two
 * members acting at once agree without a transaction: the second close finds the ticket
 * closed and says so. Messages are their own documents (`ticket_messages`).
 */
import type { Types } from "mongoose";
import { nextSequence } from "../../storage/models/index.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import type { TicketActor, TicketMessageView, TicketResult, TicketService, TicketView } from "./contract.ts";
import { TICKET_NOTICE_CHOICES, TICKET_PRIORITIES } from "./contract.ts";
import { dueTimes, storeSlaTargets, type SlaCheck, type SlaCheckOutcome } from "./sla.ts";
import { checkSla, scheduleCurrentTarget } from "./sla-watch.ts";
import { DESK_CHANNEL_PATH, DESK_REF_PATH, LIVE_STATUSES, Ticket, TicketMessage, type TicketMessageRecord, type TicketRecord } from "./ticket-model.ts";
import { closedNotice, mergedNotice, staffReplyNotice } from "./ticket-notices.ts";
import {
  auditTicket,
  contextOf,
  emit,
  notifyTicketCustomer,
  tenantObjectId,
  toMessageView,
  toTicketView,
  type TicketingContext,
  type TicketingOptions,
} from "./ticket-records.ts";

/** The domain and what the platform drives it with (the SLA jobs). */
export interface Ticketing extends TicketService {
  /** One SLA stage check (what a job runs); safe to run twice, late, or after a restart. */
  checkSla(check: SlaCheck): Promise<SlaCheckOutcome>;
}

const SUBJECT_LENGTH = 80;
const MAX_TEXT = 4000;
const CLAIM_RACE = 11000;

function subjectOf(text: string): string {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > SUBJECT_LENGTH ? `${line.slice(0, SUBJECT_LENGTH - 1)}…` : line || "-";
}

function actorRecord(actor: TicketActor): { channel: string; userId: string; name?: string } {
  return { channel: actor.channel, userId: actor.userId, ...(actor.name ? { name: actor.name.slice(0, 128) } : {}) };
}

/** Why a conditional update on a ticket matched nothing. */
async function whyNot(tenant: Types.ObjectId, number: number, from?: { channel: string; chatId: string }): Promise<Exclude<TicketResult, { ok: true }>> {
  const doc = await Ticket.findOne({ tenantId: tenant, number }, { status: 1, customer: 1, rating: 1 }).lean<TicketRecord>().exec();
  if (!doc) return { ok: false, reason: "not_found" };
  if (from && (doc.customer.channel !== from.channel || doc.customer.chatId !== from.chatId)) return { ok: false, reason: "not_yours" };
  if (doc.status === "merged") return { ok: false, reason: "merged" };
  if (doc.status === "closed") return { ok: false, reason: doc.rating != null ? "already_rated" : "closed" };
  return { ok: false, reason: "invalid" };
}

const NOT_FOUND = { ok: false, reason: "not_found" } as const;

export function createTicketing(options: TicketingOptions): Ticketing {
  const ctx = contextOf(options);
  const choices = options.choices ?? TICKET_NOTICE_CHOICES;

  const addMessage = async (ticket: TicketRecord, message: Omit<TicketMessageView, "ticketNumber">): Promise<TicketMessageView> => {
    const doc = await TicketMessage.create({
      tenantId: ticket.tenantId,
      ticketId: ticket._id,
      ticketNumber: ticket.number,
      from: message.from,
      ...(message.author ? { author: actorRecord(message.author) } : {}),
      text: message.text.slice(0, MAX_TEXT),
      at: message.at,
      ...(message.media ? { media: message.media } : {}),
    });
    return toMessageView(doc.toObject() as TicketMessageRecord);
  };

  const storeName = async (tenant: Types.ObjectId) => (await storeSettings(tenant))?.name ?? "";

  /** Ends a ticket's SLA watch (closed or merged). */
  const stopWatch = async (ticket: TicketRecord) => {
    try {
      await options.sla?.cancel(String(ticket._id));
    } catch (error) {
      // The jobs find the ticket closed and do nothing; dropping them is only tidiness.
      ctx.log.warn("ticket SLA checks not cancelled", { ticket: ticket.number, error: (error as Error).message });
    }
  };

  const live = { $in: [...LIVE_STATUSES] };

  const service: Ticketing = {
    async open(input) {
      const tenant = tenantObjectId(input.tenantId);
      if (!tenant) throw new Error("open: not a tenant id");
      const source = input.source ?? "customer";
      const claimKey = source === "claim" && input.orderCode ? input.orderCode : undefined;
      if (claimKey) {
        const existing = await Ticket.findOne({ tenantId: tenant, liveClaim: claimKey }).lean<TicketRecord>().exec();
        if (existing) return toTicketView(existing);
      }
      const now = ctx.now();
      const priority = input.priority && TICKET_PRIORITIES.includes(input.priority) ? input.priority : "normal";
      const targets = await storeSlaTargets(tenant);
      const due = dueTimes(targets, priority, now);
      const number = await nextSequence(tenant, "ticket");
      let doc: TicketRecord;
      try {
        const created = await Ticket.create({
          tenantId: tenant,
          number,
          status: "open",
          priority,
          category: input.category,
          ...(input.orderCode ? { orderCode: input.orderCode } : {}),
          subject: subjectOf(input.text),
          source,
          ...(claimKey ? { liveClaim: claimKey } : {}),
          customer: { ...input.customer, locale: input.customer.locale === "en" ? "en" : "id" },
          openedAt: now,
          lastCustomerAt: now,
          sla: { from: now, ...due, round: 0 },
        });
        doc = created.toObject() as TicketRecord;
      } catch (error) {
        // Another process opened this order's claim ticket first: that one is the ticket.
        if (claimKey && (error as { code?: number }).code === CLAIM_RACE) {
          const first = await Ticket.findOne({ tenantId: tenant, liveClaim: claimKey }).lean<TicketRecord>().exec();
          if (first) return toTicketView(first);
        }
        throw error;
      }
      await addMessage(doc, { from: "customer", text: input.text, at: now, ...(input.media ? { media: input.media } : {}) });
      const customerActor = { channel: input.customer.channel, userId: input.customer.userId, ...(input.customer.name ? { name: input.customer.name } : {}) };
      await auditTicket(tenant, customerActor, "open", number, { after: { status: "open", priority, category: input.category, source, ...(input.orderCode ? { orderCode: input.orderCode } : {}) } });
      await scheduleCurrentTarget(ctx, doc);
      const view = toTicketView(doc);
      emit(ctx, { type: "opened", tenantId: input.tenantId, ticket: view });
      return view;
    },

    async customerWrote(tenantId, number, from, text, media) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return NOT_FOUND;
      if (!text.trim() && !media) return { ok: false, reason: "invalid" };
      const now = ctx.now();
      const doc = await Ticket.findOneAndUpdate(
        { tenantId: tenant, number, status: live, "customer.channel": from.channel, "customer.chatId": from.chatId },
        { $set: { status: "open", lastCustomerAt: now } },
        { returnDocument: "after" },
      )
        .lean<TicketRecord>()
        .exec();
      if (!doc) return whyNot(tenant, number, from);
      const message = await addMessage(doc, { from: "customer", text: text.trim() || "-", at: now, ...(media ? { media } : {}) });
      const view = toTicketView(doc);
      emit(ctx, { type: "message", tenantId, ticket: view, message });
      return { ok: true, ticket: view };
    },

    async staffReply(tenantId, number, actor, text) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return NOT_FOUND;
      const body = text.trim();
      if (!body) return { ok: false, reason: "invalid" };
      const now = ctx.now();
      const set = { status: "answered", lastStaffAt: now };
      // The first answer stops the first-response clock; a second member answering at the
      // same moment falls through to the plain update.
      let doc = await Ticket.findOneAndUpdate(
        { tenantId: tenant, number, status: live, firstResponseAt: null },
        { $set: { ...set, firstResponseAt: now }, $unset: { "sla.firstResponseDueAt": 1 } },
        { returnDocument: "after" },
      )
        .lean<TicketRecord>()
        .exec();
      const first = doc !== null;
      doc ??= await Ticket.findOneAndUpdate({ tenantId: tenant, number, status: live }, { $set: set }, { returnDocument: "after" }).lean<TicketRecord>().exec();
      if (!doc) return whyNot(tenant, number);
      const message = await addMessage(doc, { from: "staff", author: actor, text: body, at: now });
      if (first) {
        await options.sla?.cancel(String(doc._id), "first-response").catch((error: Error) => ctx.log.warn("first-response checks not cancelled", { error: error.message }));
        await scheduleCurrentTarget(ctx, doc);
      }
      await auditTicket(tenant, actor, "reply", number, { after: { status: "answered", ...(first ? { firstResponse: true } : {}) } });
      await notifyTicketCustomer(ctx, doc, staffReplyNotice({ store: await storeName(tenant), number, text: body }, choices), "reply");
      const view = toTicketView(doc);
      emit(ctx, { type: "message", tenantId, ticket: view, message });
      return { ok: true, ticket: view };
    },

    async assign(tenantId, number, actor, assignee) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return NOT_FOUND;
      const before = await Ticket.findOneAndUpdate({ tenantId: tenant, number, status: live }, { $set: { assignee: actorRecord(assignee) } }, { returnDocument: "before" })
        .lean<TicketRecord>()
        .exec();
      if (!before) return whyNot(tenant, number);
      await auditTicket(tenant, actor, "assign", number, { before: { assignee: before.assignee?.userId ?? null }, after: { assignee: assignee.userId } });
      const view = { ...toTicketView(before), assignee: actorRecord(assignee) };
      emit(ctx, { type: "assigned", tenantId, ticket: view, by: actor });
      return { ok: true, ticket: view };
    },

    async setPriority(tenantId, number, actor, priority) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return NOT_FOUND;
      if (!TICKET_PRIORITIES.includes(priority)) return { ok: false, reason: "invalid" };
      const targets = await storeSlaTargets(tenant);
      // Optimistic: the SLA round in the filter means a watch or another member that changed
      // the ticket in between makes this try again with what they left.
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = await Ticket.findOne({ tenantId: tenant, number }).lean<TicketRecord>().exec();
        if (!current) return NOT_FOUND;
        if (!(LIVE_STATUSES as readonly string[]).includes(current.status)) return whyNot(tenant, number);
        if (current.priority === priority) return { ok: true, ticket: toTicketView(current) };
        const now = ctx.now();
        const due = dueTimes(targets, priority, now);
        const round = (current.sla?.round ?? 0) + 1;
        const doc = await Ticket.findOneAndUpdate(
          { tenantId: tenant, number, status: live, priority: current.priority, "sla.round": current.sla?.round ?? 0 },
          {
            $set: {
              priority,
              "sla.from": now,
              "sla.round": round,
              "sla.resolutionDueAt": due.resolutionDueAt,
              ...(current.firstResponseAt ? {} : { "sla.firstResponseDueAt": due.firstResponseDueAt }),
            },
          },
          { returnDocument: "after" },
        )
          .lean<TicketRecord>()
          .exec();
        if (!doc) continue;
        await auditTicket(tenant, actor, "priority", number, { before: { priority: current.priority }, after: { priority } });
        await scheduleCurrentTarget(ctx, doc);
        const view = toTicketView(doc);
        emit(ctx, { type: "reprioritised", tenantId, ticket: view, by: actor });
        return { ok: true, ticket: view };
      }
      return whyNot(tenant, number);
    },

    async merge(tenantId, duplicate, into, actor) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return NOT_FOUND;
      if (duplicate === into) return { ok: false, reason: "same_ticket" };
      const target = await Ticket.findOne({ tenantId: tenant, number: into }).lean<TicketRecord>().exec();
      if (!target) return NOT_FOUND;
      if (!(LIVE_STATUSES as readonly string[]).includes(target.status)) return whyNot(tenant, into);
      const now = ctx.now();
      const doc = await Ticket.findOneAndUpdate(
        { tenantId: tenant, number: duplicate, status: live },
        { $set: { status: "merged", mergedInto: into, closedAt: now, closedBy: actorRecord(actor) }, $unset: { liveClaim: 1, "sla.firstResponseDueAt": 1, "sla.resolutionDueAt": 1 } },
        { returnDocument: "after" },
      )
        .lean<TicketRecord>()
        .exec();
      if (!doc) return whyNot(tenant, duplicate);
      await stopWatch(doc);
      await auditTicket(tenant, actor, "merge", duplicate, { before: { status: "open" }, after: { status: "merged", into } });
      await addMessage(target, { from: "system", author: actor, text: `#${duplicate} → #${into}`, at: now });
      await notifyTicketCustomer(ctx, doc, mergedNotice({ store: await storeName(tenant), number: duplicate, into }), "merged");
      const view = toTicketView(doc);
      emit(ctx, { type: "merged", tenantId, ticket: view, into: toTicketView(target), by: actor });
      return { ok: true, ticket: view };
    },

    async close(tenantId, number, actor, resolution) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return NOT_FOUND;
      const text = resolution.trim().slice(0, 2000);
      if (!text) return { ok: false, reason: "invalid" };
      const now = ctx.now();
      const doc = await Ticket.findOneAndUpdate(
        { tenantId: tenant, number, status: live },
        { $set: { status: "closed", closedAt: now, closedBy: actorRecord(actor), resolution: text }, $unset: { liveClaim: 1, "sla.firstResponseDueAt": 1, "sla.resolutionDueAt": 1 } },
        { returnDocument: "after" },
      )
        .lean<TicketRecord>()
        .exec();
      if (!doc) return whyNot(tenant, number);
      await stopWatch(doc);
      await auditTicket(tenant, actor, "close", number, { after: { status: "closed", resolution: text } });
      await notifyTicketCustomer(ctx, doc, closedNotice({ store: await storeName(tenant), number, resolution: text }, choices), "closed");
      const view = toTicketView(doc);
      emit(ctx, { type: "closed", tenantId, ticket: view, by: actor });
      return { ok: true, ticket: view };
    },

    async rate(tenantId, number, from, rating, comment) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return NOT_FOUND;
      if (!Number.isInteger(rating) || rating < 1 || rating > 5) return { ok: false, reason: "invalid" };
      const note = comment?.trim().slice(0, 1000);
      const doc = await Ticket.findOneAndUpdate(
        { tenantId: tenant, number, status: "closed", rating: null, "customer.channel": from.channel, "customer.chatId": from.chatId },
        { $set: { rating, ratedAt: ctx.now(), ...(note ? { ratingComment: note } : {}) } },
        { returnDocument: "after" },
      )
        .lean<TicketRecord>()
        .exec();
      if (!doc) return whyNot(tenant, number, from);
      await auditTicket(tenant, { channel: from.channel, userId: doc.customer.userId }, "rate", number, { after: { rating, ...(note ? { comment: note } : {}) } });
      const view = toTicketView(doc);
      emit(ctx, { type: "rated", tenantId, ticket: view });
      return { ok: true, ticket: view };
    },

    async get(tenantId, number) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant || !Number.isInteger(number)) return undefined;
      const doc = await Ticket.findOne({ tenantId: tenant, number }).lean<TicketRecord>().exec();
      return doc ? toTicketView(doc) : undefined;
    },

    async byDeskRef(tenantId, desk) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return undefined;
      const doc = await Ticket.findOne({ tenantId: tenant, [DESK_CHANNEL_PATH]: desk.channel, [DESK_REF_PATH]: desk.ref }).lean<TicketRecord>().exec();
      return doc ? toTicketView(doc) : undefined;
    },

    async setDeskRef(tenantId, number, desk) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return;
      await Ticket.updateOne({ tenantId: tenant, number }, { $set: { desk: { channel: desk.channel, ref: desk.ref } } }).exec();
    },

    async list(tenantId, filter = {}) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return [];
      const query: Record<string, unknown> = { tenantId: tenant };
      if (filter.status?.length) query.status = { $in: filter.status };
      if (filter.assigneeUserId) query["assignee.userId"] = filter.assigneeUserId;
      if (filter.before != null) query.number = { $lt: filter.before };
      const docs = await Ticket.find(query).sort({ number: -1 }).limit(Math.min(Math.max(filter.limit ?? 20, 1), 100)).lean<TicketRecord[]>().exec();
      return docs.map(toTicketView);
    },

    async openOf(tenantId, customer) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return [];
      const docs = await Ticket.find({ tenantId: tenant, "customer.channel": customer.channel, "customer.chatId": customer.chatId, status: live })
        .sort({ number: -1 })
        .limit(20)
        .lean<TicketRecord[]>()
        .exec();
      return docs.map(toTicketView);
    },

    async messages(tenantId, number, opts = {}) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return [];
      // A ticket's conversation includes the tickets merged into it.
      const merged = await Ticket.find({ tenantId: tenant, mergedInto: number }, { number: 1 }).lean<{ number: number }[]>().exec();
      const numbers = [number, ...merged.map((m) => m.number)];
      const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
      // The latest `limit`, oldest first.
      const docs = await TicketMessage.find({ tenantId: tenant, ticketNumber: { $in: numbers } }).sort({ at: -1, _id: -1 }).limit(limit).lean().exec();
      return (docs as TicketMessageRecord[]).reverse().map(toMessageView);
    },

    checkSla: (check) => checkSla(ctx, check),
  };
  return service;
}

export type { TicketingContext, TicketingOptions };
export type { TicketView };
