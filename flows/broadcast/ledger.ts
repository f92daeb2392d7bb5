// Fixing a broadcast's recipients when it starts, and keeping the ledger honest after a crash.
//
//   scheduled ──(due: claim the preparation)──► preparing ──(ledger written)──► sending
//                                                   └──(nobody in the audience)──► done
//
// The preparation is held under a lease (`preparingUntil`), so one instance writes the
// ledger and another takes over if it dies. Recipients go in by slices with
// `insertMany(ordered: false)`: a re-run after a crash adds only the ones still missing
// (the unique index turns the others into duplicate-key errors, which are expected).
import type { Types } from "mongoose";
import { storeSettings } from "../ordering/store-settings.ts";
import { audienceMembers, type AudienceMember } from "./audiences.ts";
import { Broadcast, BroadcastRecipient, type BroadcastRecord } from "./broadcast-model.ts";
import { auditBroadcast, emit, emptyCounts, RUNNER_ACTOR, toBroadcastView, WITHOUT_IMAGE, type BroadcastContext } from "./broadcast-records.ts";
import { storeLimits } from "./limits.ts";

const SLICE = 500;
const DUPLICATE_KEY = 11000;

/** What a start came to. */
export type StartOutcome = "started" | "done" | "too_many_recipients" | "not_due" | "cancelled";

async function insertSlice(members: AudienceMember[], broadcast: BroadcastRecord): Promise<void> {
  const docs = members.map((m) => ({ tenantId: broadcast.tenantId, broadcastId: broadcast._id, ...m, state: "queued", attempts: 0 }));
  try {
    await BroadcastRecipient.insertMany(docs, { ordered: false, lean: true });
  } catch (error) {
    const writeErrors = (error as { writeErrors?: { code?: number; err?: { code?: number } }[] }).writeErrors;
    const duplicatesOnly = Array.isArray(writeErrors) && writeErrors.length > 0 && writeErrors.every((e) => (e.code ?? e.err?.code) === DUPLICATE_KEY);
    if (!duplicatesOnly && (error as { code?: number }).code !== DUPLICATE_KEY) throw error;
  }
}

/** Takes the preparation of a due broadcast (or one whose preparer's lease ran out); `undefined` when another has it. */
async function claimPreparation(ctx: BroadcastContext, tenantId: Types.ObjectId, broadcastId: Types.ObjectId): Promise<BroadcastRecord | undefined> {
  const now = ctx.now();
  const until = new Date(now.getTime() + ctx.leaseMs);
  const doc = await Broadcast.findOneAndUpdate(
    {
      tenantId,
      _id: broadcastId,
      $or: [
        { status: "scheduled", scheduledAt: { $lte: now } },
        { status: "preparing", preparingUntil: { $lt: now } },
      ],
    },
    { $set: { status: "preparing", preparingUntil: until } },
    { returnDocument: "after", projection: WITHOUT_IMAGE },
  ).lean<BroadcastRecord>().exec();
  return doc ?? undefined;
}

/**
 * Fixes the ledger of a due broadcast and moves it to `sending` (or `done` when nobody is
 * in the audience). Safe to run twice, at once on two instances, or after a crash mid-way.
 */
export async function startBroadcast(ctx: BroadcastContext, tenantId: Types.ObjectId, broadcastId: Types.ObjectId): Promise<StartOutcome> {
  const broadcast = await claimPreparation(ctx, tenantId, broadcastId);
  if (!broadcast) return "not_due";
  const settings = await storeSettings(tenantId);
  const limits = await storeLimits(ctx, tenantId);
  let count = 0;
  let slice: AudienceMember[] = [];
  const renew = async () => {
    await Broadcast.updateOne({ tenantId, _id: broadcastId, status: "preparing" }, { $set: { preparingUntil: new Date(ctx.now().getTime() + ctx.leaseMs) } }).exec();
  };
  for await (const member of audienceMembers(String(tenantId), broadcast.audience, settings?.timezone ?? "Asia/Jakarta", ctx.now())) {
    if (++count > limits.maxRecipients) break;
    slice.push(member);
    if (slice.length >= SLICE) {
      await insertSlice(slice, broadcast);
      await renew();
      slice = [];
    }
  }
  if (count > limits.maxRecipients) return refuseTooMany(ctx, broadcast, limits.maxRecipients);
  if (slice.length > 0) await insertSlice(slice, broadcast);
  const total = await BroadcastRecipient.countDocuments({ tenantId, broadcastId }).exec();
  const now = ctx.now();
  const empty = total === 0;
  const moved = await Broadcast.findOneAndUpdate(
    { tenantId, _id: broadcastId, status: "preparing" },
    { $set: { status: empty ? "done" : "sending", total, startedAt: now, ...(empty && { finishedAt: now }) }, $unset: { preparingUntil: 1 } },
    { returnDocument: "after", projection: WITHOUT_IMAGE },
  ).lean<BroadcastRecord>().exec();
  if (!moved) {
    // Cancelled while the ledger was written: whoever was added after the cancel is skipped too.
    await skipUnsent(tenantId, broadcastId);
    return "cancelled";
  }
  const view = toBroadcastView(moved);
  await auditBroadcast(tenantId, RUNNER_ACTOR, "start", moved.number, { before: { status: "preparing" }, after: { status: moved.status, total } });
  if (empty) {
    emit(ctx, { type: "finished", tenantId: String(tenantId), broadcast: view, counts: emptyCounts() });
    return "done";
  }
  ctx.log.info("broadcast started", { tenantId: String(tenantId), number: moved.number, total });
  emit(ctx, { type: "started", tenantId: String(tenantId), broadcast: view });
  return "started";
}

async function refuseTooMany(ctx: BroadcastContext, broadcast: BroadcastRecord, limit: number): Promise<StartOutcome> {
  const { tenantId, _id } = broadcast;
  await skipUnsent(tenantId, _id);
  const now = ctx.now();
  const moved = await Broadcast.findOneAndUpdate(
    { tenantId, _id, status: "preparing" },
    { $set: { status: "cancelled", cancelledAt: now, stopReason: "too_many_recipients" }, $unset: { preparingUntil: 1 } },
    { returnDocument: "after", projection: WITHOUT_IMAGE },
  ).lean<BroadcastRecord>().exec();
  if (!moved) return "cancelled";
  await auditBroadcast(tenantId, RUNNER_ACTOR, "cancel", moved.number, { before: { status: "preparing" }, after: { status: "cancelled", reason: "too_many_recipients", limit } });
  ctx.log.warn("broadcast not started: the audience outgrew the store's limit", { tenantId: String(tenantId), number: moved.number, limit });
  emit(ctx, { type: "cancelled", tenantId: String(tenantId), broadcast: toBroadcastView(moved) });
  return "too_many_recipients";
}

/** Everyone not yet on the wire is skipped (a cancelled broadcast): a runner holding a claim finds it gone at its turn. */
export async function skipUnsent(tenantId: Types.ObjectId, broadcastId: Types.ObjectId): Promise<void> {
  await BroadcastRecipient.updateMany(
    { tenantId, broadcastId, state: { $in: ["queued", "claimed"] } },
    { $set: { state: "skipped", reason: "cancelled" }, $unset: { claimedBy: 1, claimedUntil: 1 } },
  ).exec();
}

/**
 * After a crash: recipients whose message was on the wire when their holder's lease ran out
 * are recorded sent, in doubt (most likely delivered), and never sent again.
 */
export async function settleInDoubt(ctx: BroadcastContext, tenantId: Types.ObjectId, broadcastId: Types.ObjectId): Promise<number> {
  const now = ctx.now();
  const result = await BroadcastRecipient.updateMany(
    { tenantId, broadcastId, state: "sending", claimedUntil: { $lt: now } },
    { $set: { state: "sent", inDoubt: true, sentAt: now }, $unset: { claimedBy: 1, claimedUntil: 1 } },
  ).exec();
  return result.modifiedCount;
}
