// What the runner does with a channel's answer, and the events that follow from the ledger:
// a recipient's outcome, a 429's hold and slow-down, a restriction's pause, the end of a
// broadcast and its progress. Each is a conditional update, so two instances hearing the
// same thing act once.
import { NOT_COMMITTED, type SendReport } from "../engine/index.ts";
import { Customer } from "../../storage/models/index.ts";
import { Broadcast, BroadcastRecipient, type BroadcastRecord, type RecipientRecord } from "./broadcast-model.ts";
import { auditBroadcast, emit, ledgerCounts, RUNNER_ACTOR, toBroadcastView, WITHOUT_IMAGE, type BroadcastContext } from "./broadcast-records.ts";
import type { RecipientState } from "./contract.ts";
import type { Lane, LaneView } from "./lane.ts";
import { storeOffChannel } from "./store-availability.ts";

/** A flood wait longer than this is the channel restricting the store, not pacing it: the broadcast pauses. */
const RESTRICTION_WAIT_SEC = 300;
/** After a 429 the lane goes this much slower, down to one a second. */
const SLOWER = 0.7;
const MIN_PACE_AFTER_429 = 1;
/** What the Telegram adapter writes on a customer it cannot reach, so their next message clears it. */
const UNREACHABLE_MARK: Record<string, string> = { blocked: "blocked-bot", unreachable: "deactivated-account" };

/** The states in which a recipient is still its holder's. */
export const HELD: RecipientState[] = ["claimed", "sending"];

/**
 * Records what the channel answered for one recipient, only while this instance still holds
 * them: sent; failed (a customer who blocked the bot is marked unreachable); queued again
 * after a 429 (the broadcast held and slowed), a restriction (paused) or a shutdown.
 */
export async function recordOutcome(ctx: BroadcastContext, lane: Lane, recipient: RecipientRecord, report: SendReport, stepAside: (detail: string) => void): Promise<void> {
  const mine = { tenantId: recipient.tenantId, _id: recipient._id, claimedBy: ctx.token, state: { $in: HELD } };
  const unclaim = { claimedBy: 1, claimedUntil: 1 };
  const requeue = () => BroadcastRecipient.updateOne(mine, { $set: { state: "queued" }, $unset: unclaim }).exec();
  if (report.ok) {
    const messageIds = report.messages.flatMap((m) => m.messageIds);
    await BroadcastRecipient.updateOne(mine, { $set: { state: "sent", messageIds, sentAt: ctx.now() }, $unset: unclaim }).exec();
    return;
  }
  const reason = report.reason ?? "failed";
  const detail = (report.detail ?? "").slice(0, 300);
  if (reason === "failed" && detail === NOT_COMMITTED) return;
  if (reason === "shutting-down") {
    await requeue();
    return;
  }
  if (reason === "rate-limited") {
    await requeue();
    const wait = report.retryAfterSec ?? 5;
    if (wait > RESTRICTION_WAIT_SEC) await restrict(ctx, lane, `flood wait of ${wait} s`);
    else await holdAndSlow(ctx, lane, wait);
    return;
  }
  if (reason === "store-unavailable") {
    await requeue();
    if (await storeOffChannel(lane.tenantId, lane.channel)) await restrict(ctx, lane, detail || reason);
    else stepAside(detail);
    return;
  }
  await BroadcastRecipient.updateOne(mine, { $set: { state: "failed", reason, ...(detail && { detail }) }, $unset: unclaim }).exec();
  if (reason === "blocked" || reason === "unreachable") {
    await Customer.updateOne(
      { tenantId: recipient.tenantId, _id: recipient.customerId, blocked: { $ne: true } },
      { $set: { blocked: true, blockedReason: UNREACHABLE_MARK[reason] } },
    ).exec();
  }
}

/** A 429: nobody sends for `retryAfterSec` (every instance reads `holdUntil`), then slower. */
async function holdAndSlow(ctx: BroadcastContext, lane: Lane, retryAfterSec: number): Promise<void> {
  const until = new Date(ctx.now().getTime() + Math.ceil(retryAfterSec * 1000));
  const alreadyHeld = lane.held();
  lane.view = { ...lane.view, holdUntil: until };
  const { tenantId, broadcastId } = lane;
  await Broadcast.updateOne(
    { tenantId, _id: broadcastId, $or: [{ holdUntil: null }, { holdUntil: { $lt: until } }] },
    { $set: { holdUntil: until } },
  ).exec();
  await ctx.options.sharedPace?.hold(lane.key, retryAfterSec * 1000);
  // Several sends in flight may all hear the same 429: the lane slows once per hold.
  if (alreadyHeld) return;
  const slower = Math.max(MIN_PACE_AFTER_429, Math.round(lane.pace * SLOWER * 100) / 100);
  if (slower >= lane.pace) return;
  lane.pace = slower;
  const path = `pace.${lane.channel}`;
  await Broadcast.updateOne({ tenantId, _id: broadcastId, $or: [{ [path]: { $exists: false } }, { [path]: { $gt: slower } }] }, { $set: { [path]: slower } }).exec();
  ctx.log.warn("broadcast slowed after a rate limit", { tenantId: String(tenantId), number: lane.view.number, channel: lane.channel, retryAfterSec, pace: slower });
}

/** The channel restricted the store: the broadcast pauses (once, whoever hears it first) and the owner is told. */
async function restrict(ctx: BroadcastContext, lane: Lane, detail: string): Promise<void> {
  const doc = await Broadcast.findOneAndUpdate(
    { tenantId: lane.tenantId, _id: lane.broadcastId, status: "sending" },
    { $set: { status: "paused", pausedReason: "restricted" } },
    { returnDocument: "after", projection: WITHOUT_IMAGE },
  ).lean<BroadcastRecord>().exec();
  lane.view = { ...lane.view, status: "paused" };
  if (!doc) return;
  await auditBroadcast(lane.tenantId, RUNNER_ACTOR, "pause", doc.number, { before: { status: "sending" }, after: { status: "paused", reason: "restricted", channel: lane.channel, detail } });
  ctx.log.warn("broadcast paused: the channel restricted the store", { tenantId: String(lane.tenantId), number: doc.number, channel: lane.channel, detail });
  emit(ctx, { type: "restricted", tenantId: String(lane.tenantId), broadcast: toBroadcastView(doc), channel: lane.channel, detail });
}

/** `done` once nobody is left to send to; the `finished` event goes out once, from whoever moved it. */
export async function finishIfDone(ctx: BroadcastContext, view: LaneView): Promise<void> {
  const { tenantId, _id } = view;
  const left = await BroadcastRecipient.countDocuments({ tenantId, broadcastId: _id, state: { $in: ["queued", "claimed", "sending"] } }).exec();
  if (left > 0) return;
  const now = ctx.now();
  const doc = await Broadcast.findOneAndUpdate(
    { tenantId, _id, status: "sending" },
    { $set: { status: "done", finishedAt: now }, $unset: { holdUntil: 1 } },
    { returnDocument: "after", projection: WITHOUT_IMAGE },
  ).lean<BroadcastRecord>().exec();
  if (!doc) return;
  const counts = await ledgerCounts(tenantId, _id);
  await auditBroadcast(tenantId, RUNNER_ACTOR, "finish", doc.number, { after: { status: "done", sent: counts.sent, failed: counts.failed, skipped: counts.skipped } });
  ctx.log.info("broadcast finished", { tenantId: String(tenantId), number: doc.number, sent: counts.sent, failed: counts.failed, skipped: counts.skipped });
  emit(ctx, { type: "finished", tenantId: String(tenantId), broadcast: toBroadcastView(doc, counts), counts });
}

/** Tells progress if this instance is the first to move `lastProgressAt` past the interval. */
export async function electProgress(ctx: BroadcastContext, lane: Lane, every: number): Promise<void> {
  const now = ctx.now();
  const doc = await Broadcast.findOneAndUpdate(
    { tenantId: lane.tenantId, _id: lane.broadcastId, status: "sending", $or: [{ lastProgressAt: null }, { lastProgressAt: { $lte: new Date(now.getTime() - every) } }] },
    { $set: { lastProgressAt: now } },
    { returnDocument: "after", projection: WITHOUT_IMAGE },
  ).lean<BroadcastRecord>().exec();
  if (!doc) return;
  const counts = await ledgerCounts(lane.tenantId, lane.broadcastId);
  const done = counts.sent + counts.failed + counts.skipped;
  const elapsedSec = doc.startedAt ? (now.getTime() - doc.startedAt.getTime()) / 1000 : 0;
  const rate = elapsedSec > 0 && done > 0 ? done / elapsedSec : lane.pace;
  const etaSec = counts.queued > 0 ? Math.ceil(counts.queued / rate) : 0;
  emit(ctx, { type: "progress", tenantId: String(lane.tenantId), broadcast: toBroadcastView(doc, counts), counts, etaSec });
}
