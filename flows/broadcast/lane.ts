// One channel of one broadcast as an instance works it (a lane): its view of the broadcast
// (paused? held? slowed?), its claims on recipients, and its pace.
import type { Types } from "mongoose";
import { Broadcast, BroadcastRecipient, type BroadcastRecord, type RecipientRecord } from "./broadcast-model.ts";
import type { BroadcastContext } from "./broadcast-records.ts";

/** How far a lane may run ahead of its spacing to make up a pause of its own. */
const CATCH_UP_MS = 250;
/** How stale a lane's view of its broadcast (paused? held?) may get between sends. */
const REFRESH_MS = 250;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export type LaneView = Pick<BroadcastRecord, "_id" | "tenantId" | "number" | "status" | "holdUntil" | "pace" | "startedAt">;

export const LANE_FIELDS = { _id: 1, tenantId: 1, number: 1, status: 1, holdUntil: 1, pace: 1, startedAt: 1 } as const;

/** One channel of one broadcast, as this instance works it. */
export class Lane {
  view: LaneView;
  readAt = 0;
  pace: number;
  nextSlotAt = 0;
  /** This instance stepped aside from the lane (it does not serve the store on the channel now). */
  aside = false;
  readonly key: string;

  constructor(
    readonly ctx: BroadcastContext,
    view: LaneView,
    readonly channel: string,
  ) {
    this.view = view;
    this.pace = Math.min(ctx.pace(channel), view.pace?.[channel] ?? Number.POSITIVE_INFINITY);
    this.key = `bc:${String(view.tenantId)}:${channel}`;
  }

  get tenantId(): Types.ObjectId {
    return this.view.tenantId;
  }

  get broadcastId(): Types.ObjectId {
    return this.view._id;
  }

  held(): boolean {
    return this.view.holdUntil != null && this.view.holdUntil.getTime() > this.ctx.now().getTime();
  }

  async refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.readAt < REFRESH_MS) return;
    const doc = await Broadcast.findOne({ tenantId: this.tenantId, _id: this.broadcastId }, LANE_FIELDS).lean<LaneView>().exec();
    this.readAt = Date.now();
    if (!doc) {
      this.view = { ...this.view, status: "cancelled" };
      return;
    }
    this.view = doc;
    const stored = doc.pace?.[this.channel];
    if (stored !== undefined && stored < this.pace) this.pace = stored;
  }
}

/**
 * Up to `n` recipients of the lane, in ledger order: picks candidates, claims them with a
 * conditional update per document (still queued, or still under a lapsed lease), then
 * reads back the ones this instance got. Another instance racing for the same ones gets
 * the rest; nobody is held by two.
 */
export async function claimRecipients(ctx: BroadcastContext, lane: Lane, n: number): Promise<RecipientRecord[]> {
  const now = ctx.now();
  const until = new Date(now.getTime() + ctx.leaseMs);
  const claim = { $set: { state: "claimed", claimedBy: ctx.token, claimedUntil: until }, $inc: { attempts: 1 } };
  const { tenantId, broadcastId, channel } = lane;
  const pick = (filter: Record<string, unknown>, limit: number) =>
    BroadcastRecipient.find({ tenantId, broadcastId, channel, ...filter }, { _id: 1 }).sort({ _id: 1 }).limit(limit).lean<{ _id: Types.ObjectId }[]>().exec();
  const lapsed = { state: "claimed" as const, claimedUntil: { $lt: now } };
  for (let round = 0; round < 3; round++) {
    const queued = await pick({ state: "queued" }, n);
    const expired = queued.length < n ? await pick(lapsed, n - queued.length) : [];
    if (queued.length + expired.length === 0) return [];
    const ids = (rows: { _id: Types.ObjectId }[]) => ({ $in: rows.map((r) => r._id) });
    if (queued.length > 0) await BroadcastRecipient.updateMany({ tenantId, _id: ids(queued), state: "queued" }, claim).exec();
    if (expired.length > 0) await BroadcastRecipient.updateMany({ tenantId, _id: ids(expired), ...lapsed }, claim).exec();
    const got = await BroadcastRecipient.find({ tenantId, _id: ids([...queued, ...expired]), state: "claimed", claimedBy: ctx.token, claimedUntil: until })
      .sort({ _id: 1 })
      .lean<RecipientRecord[]>()
      .exec();
    // All taken by another instance in the meantime: look again, past them.
    if (got.length > 0) return got;
  }
  return [];
}

/** Gives claims not yet on the wire back to the queue. */
export async function releaseClaims(ctx: BroadcastContext, recipients: RecipientRecord[]): Promise<void> {
  if (recipients.length === 0) return;
  await BroadcastRecipient.updateMany(
    { tenantId: recipients[0].tenantId, _id: { $in: recipients.map((r) => r._id) }, claimedBy: ctx.token, state: "claimed" },
    { $set: { state: "queued" }, $unset: { claimedBy: 1, claimedUntil: 1 } },
  ).exec();
}

/** Waits for the lane's next slot: this instance's spacing, then the instances' shared window. */
export async function takeSlot(ctx: BroadcastContext, lane: Lane): Promise<void> {
  const gap = 1000 / lane.pace;
  const wait = lane.nextSlotAt - Date.now();
  if (wait > 0) await sleep(wait);
  // A quarter second of credit: time lost claiming the next batch is made up, not lost to the pace.
  lane.nextSlotAt = Math.max(Date.now() - CATCH_UP_MS, lane.nextSlotAt) + gap;
  const shared = ctx.options.sharedPace;
  if (!shared) return;
  const limit = Math.max(1, Math.floor(lane.pace));
  const windowMs = lane.pace >= 1 ? 1000 : Math.round(1000 / lane.pace);
  for (;;) {
    const { waitMs } = await shared.take(lane.key, limit, windowMs);
    if (waitMs === 0) return;
    await sleep(waitMs);
  }
}
