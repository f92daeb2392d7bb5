// The SLA: how long a store gives itself to answer a ticket first (first response) and to
// close it (resolution), per priority. A store's own targets (`settings.tickets.sla`, set
// with `setSlaTargets`) fill in over `DEFAULT_SLA`, field by field.
//
// A ticket is measured against the target of its current phase: first response until the
// first staff reply, then resolution until it is closed. Both are counted from `sla.from`:
// the opening, or the moment staff last changed the priority (a ticket a member raised to
// critical gets the critical targets from then on, not an instant breach). The watch acts
// at three points of the current target:
//
// - 80 %: a `normal` ticket becomes `high`. A ticket already high or critical keeps its
//   priority, and nobody is told (the 90 % point follows soon after).
// - 90 %: a ticket below `critical` becomes `critical`.
// - 100 %: the target is recorded as breached, once per target for the ticket's life.
//
// Each raise and each breach tells the store's owners and admins. The priority a watch
// raises does not move the due times: the ticket was promised the target it started with.
import { Types } from "mongoose";
import { z } from "zod";
import { recordAudit, Tenant } from "../../storage/models/index.ts";
import { DEFAULT_SLA, TICKET_PRIORITIES, type SlaStage, type SlaTarget, type SlaTargets, type TicketActor, type TicketPriority } from "./contract.ts";

/** Who hears about raised priorities and breaches: the people who supervise the store's staff. */
export const SLA_SUPERVISORS = ["owner", "admin"] as const;

/** Where the SLA jobs go: `slaJobTimers(agenda)` in sla-jobs.ts, or nothing (tests of the domain alone). */
export interface SlaScheduler {
  /**
   * Schedules (or moves) the checks of one target of a ticket, one per stage. Scheduling
   * the same ticket, target and stage again replaces the earlier check.
   */
  schedule(check: { tenantId: string; ticketId: string; round: number; target: SlaTarget; stages: { stage: SlaStage; at: Date }[] }): Promise<void>;
  /** Drops a ticket's pending checks (all of them, or one target's). A check that runs anyway finds nothing to do. */
  cancel(ticketId: string, target?: SlaTarget): Promise<void>;
}

/** One stage check, as a job carries it. */
export interface SlaCheck {
  tenantId: string;
  ticketId: string;
  target: SlaTarget;
  stage: SlaStage;
  round: number;
}

/** What a stage check did. */
export type SlaCheckOutcome = "escalated" | "breached" | "unchanged" | "not_yet" | "stale" | "done";

const minutes = z.number().int().min(1).max(43_200);
const perPriority = z.object({ firstResponseMinutes: minutes, resolutionMinutes: minutes }).strict();
const targetsSchema = z
  .object({ normal: perPriority, high: perPriority, critical: perPriority })
  .strict()
  .refine((t) => t.normal.firstResponseMinutes <= t.normal.resolutionMinutes && t.high.firstResponseMinutes <= t.high.resolutionMinutes && t.critical.firstResponseMinutes <= t.critical.resolutionMinutes, {
    message: "a first response cannot be due after the resolution",
  });

type StoredSla = Partial<Record<TicketPriority, { firstResponseMinutes?: unknown; resolutionMinutes?: unknown }>>;

/** Stored values where they are whole minutes in range, the defaults elsewhere. */
export function slaTargetsFrom(stored: StoredSla | undefined | null): SlaTargets {
  const pick = (value: unknown, fallback: number) => (minutes.safeParse(value).success ? (value as number) : fallback);
  return Object.fromEntries(
    TICKET_PRIORITIES.map((p) => [
      p,
      { firstResponseMinutes: pick(stored?.[p]?.firstResponseMinutes, DEFAULT_SLA[p].firstResponseMinutes), resolutionMinutes: pick(stored?.[p]?.resolutionMinutes, DEFAULT_SLA[p].resolutionMinutes) },
    ]),
  ) as SlaTargets;
}

/** The store's SLA targets (defaults for what it has not set). */
export async function storeSlaTargets(tenantId: string | Types.ObjectId): Promise<SlaTargets> {
  if (!Types.ObjectId.isValid(tenantId)) return slaTargetsFrom(undefined);
  const tenant = await Tenant.findById(tenantId, { "settings.tickets.sla": 1 }).lean<{ settings?: { tickets?: { sla?: StoredSla } } }>().exec();
  return slaTargetsFrom(tenant?.settings?.tickets?.sla);
}

export type SetSlaResult = { ok: true; targets: SlaTargets } | { ok: false; reason: "not_found" | "invalid"; detail?: string };

/**
 * Replaces a store's SLA targets (all three priorities at once, in whole minutes), audited
 * (`where`: the chat it came from, as admin changes are; the actor's channel by default).
 * Tickets already open keep the due times they were given; new ones and re-prioritised
 * ones use the new targets.
 */
export async function setSlaTargets(tenantId: string, targets: unknown, actor: TicketActor, where: string = actor.channel): Promise<SetSlaResult> {
  const parsed = targetsSchema.safeParse(targets);
  if (!parsed.success) return { ok: false, reason: "invalid", detail: parsed.error.issues.map((i) => `${i.path.join(".") || "targets"}: ${i.message}`).join("; ") };
  if (!Types.ObjectId.isValid(tenantId)) return { ok: false, reason: "not_found" };
  const before = await Tenant.findOneAndUpdate({ _id: tenantId }, { $set: { "settings.tickets.sla": parsed.data } }, { returnDocument: "before", projection: { "settings.tickets.sla": 1 } })
    .lean<{ _id: Types.ObjectId; settings?: { tickets?: { sla?: StoredSla } } }>()
    .exec();
  if (!before) return { ok: false, reason: "not_found" };
  await recordAudit({
    tenantId: before._id,
    actor: { channel: actor.channel, userId: actor.userId, ...(actor.name ? { name: actor.name } : {}) },
    action: ["settings", "sla"].join("."),
    target: { type: "tenant", id: tenantId },
    before: slaTargetsFrom(before.settings?.tickets?.sla),
    after: parsed.data,
    where: where.slice(0, 64),
  });
  return { ok: true, targets: parsed.data };
}

/** When the targets of a ticket of `priority` measured from `from` fall due. */
export function dueTimes(targets: SlaTargets, priority: TicketPriority, from: Date): { firstResponseDueAt: Date; resolutionDueAt: Date } {
  const t = targets[priority];
  return { firstResponseDueAt: new Date(from.getTime() + t.firstResponseMinutes * 60_000), resolutionDueAt: new Date(from.getTime() + t.resolutionMinutes * 60_000) };
}

/** The moment `stage` % of the way from `from` to `due`. */
export function stageTime(from: Date, due: Date, stage: SlaStage): Date {
  return new Date(from.getTime() + Math.round(((due.getTime() - from.getTime()) * stage) / 100));
}

/** What the watch raises a ticket to at `stage`, or `undefined` when it leaves it be (see the top of this file). */
export function escalationAt(stage: 80 | 90, priority: TicketPriority): TicketPriority | undefined {
  if (stage === 80) return priority === "normal" ? "high" : undefined;
  return priority === "critical" ? undefined : "critical";
}
