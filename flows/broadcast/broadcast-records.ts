// What every part of broadcasting shares: the options the platform plugs in, the view of a
// stored broadcast, the audit record, the counts from the ledger, and events that never
// break the service.
import { randomBytes } from "node:crypto";
import { Types } from "mongoose";
import type { Agenda } from "agenda";
import type { Outbox } from "../engine/index.ts";
import { tellListener } from "../engine/listeners.ts";
import { recordAudit } from "../../storage/models/index.ts";
import type { SharedPace } from "../../storage/shared-pace.ts";
import type { BroadcastActor, BroadcastCounts, BroadcastEvent, BroadcastLimits, BroadcastView } from "./contract.ts";
import { DEFAULT_BROADCAST_LIMITS, DEFAULT_BROADCAST_PACE } from "./contract.ts";
import { BroadcastRecipient, type BroadcastRecord } from "./broadcast-model.ts";

export interface BroadcastLog {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface BroadcastingOptions {
  /** Reaches customers' chats (the platform's `Outbox`, with its timeout). */
  outbox: Pick<Outbox, "send">;
  log?: BroadcastLog;
  /** Hears every `BroadcastEvent` (the progress message, the owner bot). Never awaited for correctness; a failing listener is logged. */
  onEvent?: (event: BroadcastEvent) => void | Promise<void>;
  /** Scheduled starts (`broadcast-start`, one per broadcast); without it the runner's poll starts due ones. */
  agenda?: Agenda;
  /** The per-store, per-channel broadcast pace shared by instances; without it each instance paces alone. */
  sharedPace?: SharedPace;
  /** Messages per second per channel, over `DEFAULT_BROADCAST_PACE`. */
  pace?: Partial<Record<string, number>>;
  /** The platform's limits per store, over `DEFAULT_BROADCAST_LIMITS`; a store's own replace them. */
  defaults?: BroadcastLimits;
  clock?: () => Date;
  /** How often the runner looks for work. Default 5 s. */
  pollMs?: number;
  /** How long a claim on a recipient holds without its holder. Default 60 s. */
  leaseMs?: number;
  /** The least time between two `progress` events of one broadcast, across instances. Default 10 s. */
  progressEveryMs?: number;
  /** Names this instance's claims (with a random part, so a restarted instance is a new holder). */
  instanceId?: string;
}

export interface BroadcastContext {
  options: BroadcastingOptions;
  log: BroadcastLog;
  now(): Date;
  limits: BroadcastLimits;
  pace(channel: string): number;
  leaseMs: number;
  /** This instance's claim token. */
  token: string;
}

const silent: BroadcastLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export function contextOf(options: BroadcastingOptions): BroadcastContext {
  const pace = { ...DEFAULT_BROADCAST_PACE, ...options.pace };
  return {
    options,
    log: options.log ?? silent,
    now: options.clock ?? (() => new Date()),
    limits: { ...DEFAULT_BROADCAST_LIMITS, ...options.defaults },
    pace: (channel) => Math.max(0.1, pace[channel] ?? 1),
    leaseMs: options.leaseMs ?? 60_000,
    token: `${options.instanceId ?? "niaga"}:${randomBytes(4).toString("hex")}`,
  };
}

/** Passes an event on; a failing listener is logged and the broadcast's change stands. */
export function emit(ctx: BroadcastContext, event: BroadcastEvent): void {
  tellListener(ctx.options.onEvent, event, ctx.log, "broadcast event listener failed");
}

/** The audit action for a broadcast verb (built so it is not read as a text key). */
export function broadcastAction(verb: string): string {
  return `broadcast.${verb}`;
}

/** The platform itself (the runner, a scheduled start), as the audit log records it. */
export const RUNNER_ACTOR: BroadcastActor = { channel: "system", userId: "broadcast-runner" };

/** Records a broadcast verb; `number` names the broadcast, or a customer's own opting out or in is the target. */
export async function auditBroadcast(
  tenantId: Types.ObjectId,
  actor: BroadcastActor,
  verb: string,
  number: number | "customer",
  change: { before?: unknown; after?: unknown } = {},
): Promise<void> {
  await recordAudit({
    tenantId,
    actor: { channel: actor.channel, userId: actor.userId, ...(actor.name ? { name: actor.name } : {}) },
    action: broadcastAction(verb),
    target: number === "customer" ? { type: "customer", id: `${actor.channel}:${actor.userId}`.slice(0, 128) } : { type: "broadcast", id: String(number) },
    ...change,
    where: actor.channel.slice(0, 64),
  });
}

export function tenantObjectId(tenantId: string): Types.ObjectId | undefined {
  return Types.ObjectId.isValid(tenantId) ? new Types.ObjectId(tenantId) : undefined;
}

export function emptyCounts(): BroadcastCounts {
  return { total: 0, queued: 0, sent: 0, failed: 0, skipped: 0, inDoubt: 0, failedBy: {}, skippedBy: {} };
}

/** The ledger's counts: `queued` holds everyone not settled yet (claimed and on the wire too). */
export async function ledgerCounts(tenantId: Types.ObjectId, broadcastId: Types.ObjectId): Promise<BroadcastCounts> {
  const groups = await BroadcastRecipient.aggregate<{ _id: { state: string; reason?: string | null }; n: number; inDoubt: number }>([
    { $match: { tenantId, broadcastId } },
    { $group: { _id: { state: "$state", reason: "$reason" }, n: { $sum: 1 }, inDoubt: { $sum: { $cond: [{ $eq: ["$inDoubt", true] }, 1, 0] } } } },
  ]).exec();
  const counts = emptyCounts();
  for (const { _id, n, inDoubt } of groups) {
    counts.total += n;
    if (_id.state === "sent") {
      counts.sent += n;
      counts.inDoubt += inDoubt;
    } else if (_id.state === "failed") {
      counts.failed += n;
      const reason = _id.reason ?? "failed";
      counts.failedBy[reason] = (counts.failedBy[reason] ?? 0) + n;
    } else if (_id.state === "skipped") {
      counts.skipped += n;
      const reason = _id.reason ?? "cancelled";
      counts.skippedBy[reason] = (counts.skippedBy[reason] ?? 0) + n;
    } else {
      counts.queued += n;
    }
  }
  return counts;
}

export function toBroadcastView(doc: BroadcastRecord, counts?: BroadcastCounts): BroadcastView {
  const chat = doc.progressChat;
  return {
    id: String(doc._id),
    tenantId: String(doc.tenantId),
    number: doc.number,
    status: doc.status,
    content: { text: doc.content.text, hasImage: Boolean(doc.content.image), buttons: doc.content.buttons ?? [] },
    audience: doc.audience,
    createdBy: { channel: doc.createdBy.channel, userId: doc.createdBy.userId, ...(doc.createdBy.name ? { name: doc.createdBy.name } : {}) },
    createdAt: doc.createdAt,
    ...(doc.scheduledAt ? { scheduledAt: doc.scheduledAt } : {}),
    ...(doc.startedAt ? { startedAt: doc.startedAt } : {}),
    ...(doc.finishedAt ? { finishedAt: doc.finishedAt } : {}),
    ...(doc.pausedReason ? { pausedReason: doc.pausedReason } : {}),
    ...(doc.holdUntil ? { holdUntil: doc.holdUntil } : {}),
    ...(doc.pace && Object.keys(doc.pace).length > 0 ? { pace: { ...doc.pace } } : {}),
    ...(chat
      ? {
          progressChat: {
            channel: chat.channel,
            chatId: chat.chatId,
            ...(chat.locale ? { locale: chat.locale } : {}),
            ...(chat.messageId ? { messageId: chat.messageId } : {}),
          },
        }
      : {}),
    ...(counts ? { counts, optedOutSince: counts.skippedBy["opted-out"] ?? 0 } : {}),
  };
}

/** A view with its ledger's counts once the ledger is fixed. */
export async function viewWithCounts(doc: BroadcastRecord): Promise<BroadcastView> {
  const fixed = doc.total != null && doc.status !== "preparing";
  return toBroadcastView(doc, fixed ? await ledgerCounts(doc.tenantId, doc._id) : undefined);
}

/** The fields of a broadcast a view or the runner needs: everything but the image's bytes. */
export const WITHOUT_IMAGE = { "content.image.data": 0 } as const;
