// The SLA watch on one ticket: scheduling the checks of its current target, and one check
// (a job) acting at most once. Each raise and each breach is one conditional update whose
// filter says it has not happened yet (`escalations` has no entry for this target, stage and
// round; `breaches` none for this target), so a check run twice, late, on two instances or
// after a restart changes the ticket once and tells the supervisors once.
import { tellTeam } from "../tenant-admin/seller-alerts.ts";
import { SLA_STAGES, type SlaTarget } from "./contract.ts";
import { escalationAt, SLA_SUPERVISORS, stageTime, type SlaCheck, type SlaCheckOutcome } from "./sla.ts";
import { LIVE_STATUSES, Ticket, type TicketRecord } from "./ticket-model.ts";
import { breachedAlert, escalatedAlert } from "./ticket-notices.ts";
import { auditTicket, emit, SLA_ACTOR, tenantObjectId, toTicketView, type TicketingContext } from "./ticket-records.ts";

/** The target a live ticket is measured against now, and when it falls due. */
export function currentTarget(ticket: Pick<TicketRecord, "status" | "firstResponseAt" | "sla">): { target: SlaTarget; from: Date; due: Date } | undefined {
  if (!(LIVE_STATUSES as readonly string[]).includes(ticket.status) || !ticket.sla?.from) return undefined;
  if (!ticket.firstResponseAt && ticket.sla.firstResponseDueAt) return { target: "first-response", from: ticket.sla.from, due: ticket.sla.firstResponseDueAt };
  if (ticket.sla.resolutionDueAt) return { target: "resolution", from: ticket.sla.from, due: ticket.sla.resolutionDueAt };
  return undefined;
}

/** Schedules the 80/90/100 % checks of the ticket's current target (replacing earlier ones for it). */
export async function scheduleCurrentTarget(ctx: TicketingContext, ticket: TicketRecord): Promise<void> {
  const scheduler = ctx.options.sla;
  const current = currentTarget(ticket);
  if (!scheduler || !current) return;
  try {
    await scheduler.schedule({
      tenantId: String(ticket.tenantId),
      ticketId: String(ticket._id),
      round: ticket.sla?.round ?? 0,
      target: current.target,
      stages: SLA_STAGES.map((stage) => ({ stage, at: stageTime(current.from, current.due, stage) })),
    });
  } catch (error) {
    // The ticket stands; only its watch is missing, and the log says which.
    ctx.log.error("ticket SLA checks not scheduled", { ticket: ticket.number, error: (error as Error).message });
  }
}

export async function checkSla(ctx: TicketingContext, check: SlaCheck): Promise<SlaCheckOutcome> {
  const tenant = tenantObjectId(check.tenantId);
  if (!tenant || !tenantObjectId(check.ticketId)) return "stale";
  const ticket = await Ticket.findOne({ tenantId: tenant, _id: check.ticketId }).lean<TicketRecord>().exec();
  if (!ticket) return "stale";
  const current = currentTarget(ticket);
  if (!current) return "done";
  if ((ticket.sla?.round ?? 0) !== check.round || current.target !== check.target) return "stale";
  const now = ctx.now();
  if (now < stageTime(current.from, current.due, check.stage)) return "not_yet";
  // Still measured against this target: unanswered for a first response, live for both.
  const stillDue = {
    tenantId: tenant,
    _id: ticket._id,
    status: { $in: [...LIVE_STATUSES] },
    "sla.round": check.round,
    ...(check.target === "first-response" ? { firstResponseAt: null } : {}),
  };

  if (check.stage === 100) {
    const breach = { target: check.target, at: now };
    const doc = await Ticket.findOneAndUpdate({ ...stillDue, "breaches.target": { $ne: check.target } }, { $push: { breaches: breach } }, { returnDocument: "after" })
      .lean<TicketRecord>()
      .exec();
    if (!doc) return "done";
    await auditTicket(tenant, SLA_ACTOR, "breach", doc.number, { after: { target: check.target } });
    await tellSupervisors(ctx, doc, "breached", (store) => breachedAlert({ store: store.name, locale: store.locale, timeZone: store.timezone, number: doc.number, target: check.target, due: current.due }));
    emit(ctx, { type: "breached", tenantId: check.tenantId, ticket: toTicketView(doc), breach });
    return "breached";
  }

  const stage = check.stage;
  const to = escalationAt(stage, ticket.priority);
  if (!to) return "unchanged";
  const escalation = { target: check.target, stage, from: ticket.priority, to, at: now };
  const doc = await Ticket.findOneAndUpdate(
    { ...stillDue, priority: ticket.priority, escalations: { $not: { $elemMatch: { target: check.target, stage: check.stage, round: check.round } } } },
    { $set: { priority: to }, $push: { escalations: { ...escalation, round: check.round } } },
    { returnDocument: "after" },
  )
    .lean<TicketRecord>()
    .exec();
  if (!doc) return "done";
  await auditTicket(tenant, SLA_ACTOR, "escalate", doc.number, { before: { priority: escalation.from }, after: { priority: to, target: check.target, stage: check.stage } });
  await tellSupervisors(ctx, doc, "escalated", (store) =>
    escalatedAlert({ store: store.name, locale: store.locale, timeZone: store.timezone, number: doc.number, target: check.target, stage, from: escalation.from, to, due: current.due }),
  );
  emit(ctx, { type: "escalated", tenantId: check.tenantId, ticket: toTicketView(doc), escalation });
  return "escalated";
}

async function tellSupervisors(ctx: TicketingContext, ticket: TicketRecord, what: string, message: Parameters<typeof tellTeam>[2]): Promise<void> {
  try {
    await tellTeam(String(ticket.tenantId), SLA_SUPERVISORS, message, ctx.options.outbox, ctx.log, what);
  } catch (error) {
    ctx.log.warn("supervisors not told about a ticket", { ticket: ticket.number, alert: what, error: (error as Error).message });
  }
}
