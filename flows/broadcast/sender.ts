// This instance's runner: it looks for `sending` broadcasts every `pollMs` and works each
// channel of each one (a lane), as every other instance does at the same time.
//
// A lane claims a few queued recipients at a time, each with one conditional update
// (`queued`, or `claimed` under a lease that ran out → `claimed` by this instance's token),
// so two instances never hold the same recipient. At a recipient's turn it re-reads the
// customer (opted out or unreachable since: skipped), takes a slot of the channel's pace
// (shared with the other instances through `SharedPace`), and hands ONE message to the
// outbox as bulk; the channel asks `committing` right before the wire, which moves the
// recipient `claimed → sending` only if this instance still holds it. The outcome is
// recorded on the recipient, again only if this instance still holds it. A crash leaves
// `claimed` recipients (queued again once their lease runs out) and at most the few
// `sending` ones in flight (recorded sent, in doubt: never sent twice).
import type { Types } from "mongoose";
import { NOT_COMMITTED, type Outbound, type SendReport } from "../engine/index.ts";
import { Customer } from "../../storage/models/index.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { Broadcast, BroadcastRecipient, type BroadcastRecord, type RecipientRecord } from "./broadcast-model.ts";
import type { RecipientState } from "./contract.ts";
import { auditBroadcast, emit, ledgerCounts, RUNNER_ACTOR, toBroadcastView, WITHOUT_IMAGE, type BroadcastContext } from "./broadcast-records.ts";
import { settleInDoubt, startBroadcast } from "./ledger.ts";
import { storeOffChannel } from "./store-availability.ts";
import { broadcastOutbound, productNames } from "./message.ts";

/** A flood wait longer than this is the channel restricting the store, not pacing it: the broadcast pauses. */
const RESTRICTION_WAIT_SEC = 300;
/** After a 429 the lane goes this much slower, down to one a second. */
const SLOWER = 0.7;
const MIN_PACE_AFTER_429 = 1;
/** How long an instance that cannot reach a store on a channel leaves its lanes to the others. */
const ASIDE_MS = 30_000;
/** How far a lane may run ahead of its spacing to make up a pause of its own. */
const CATCH_UP_MS = 250;
/** How stale a lane's view of its broadcast (paused? held?) may get between sends. */
const REFRESH_MS = 250;
/** What the Telegram adapter writes on a customer it cannot reach, so their next message clears it. */
const UNREACHABLE_MARK: Record<string, string> = { blocked: "blocked-bot", unreachable: "deactivated-account" };

/** The states in which a recipient is still its holder's. */
const HELD: RecipientState[] = ["claimed", "sending"];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

type CustomerFlags = { broadcastOptOut?: boolean; blocked?: boolean };

type LaneView = Pick<BroadcastRecord, "_id" | "tenantId" | "number" | "status" | "holdUntil" | "pace" | "startedAt">;

/** One channel of one broadcast, as this instance works it. */
class Lane {
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

const LANE_FIELDS = { _id: 1, tenantId: 1, number: 1, status: 1, holdUntil: 1, pace: 1, startedAt: 1 } as const;

export class BroadcastRunner {
  readonly #ctx: BroadcastContext;
  readonly #lanes = new Map<string, Promise<void>>();
  readonly #progressCheckedAt = new Map<string, number>();
  /** Store and channel pairs this instance does not serve for now (another instance holds the session): until when. */
  readonly #aside = new Map<string, number>();
  #running = false;
  /** Recipients claimed since `runOnce` last looked. */
  #claimed = 0;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(ctx: BroadcastContext) {
    this.#ctx = ctx;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const pollMs = this.#ctx.options.pollMs ?? 5000;
    this.#loop = (async () => {
      while (this.#running) {
        try {
          await this.#pass();
        } catch (error) {
          this.#ctx.log.error("broadcast runner pass failed", { error: (error as Error).message });
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    })();
  }

  /** Looks for work at once (a broadcast just started or resumed). */
  wake(): void {
    this.#wake?.();
  }

  async stop(graceMs: number): Promise<void> {
    this.#running = false;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([this.#loop, ...this.#lanes.values()]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    // Whatever this instance still holds and has not put on the wire goes back to the queue.
    await BroadcastRecipient.updateMany(
      { claimedBy: this.#ctx.token, state: "claimed" },
      { $set: { state: "queued" }, $unset: { claimedBy: 1, claimedUntil: 1 } },
    ).setOptions({ crossTenant: true }).exec();
  }

  async runOnce(until?: () => boolean): Promise<void> {
    for (;;) {
      this.#claimed = 0;
      await this.#pass(until, true);
      await Promise.all(this.#lanes.values());
      // Nothing claimable is left: done, held by another instance, or held back by the channel.
      if (this.#claimed === 0 || until?.()) return;
    }
  }

  /** Starts due broadcasts, settles crashed sends, and opens a lane for every channel with work. */
  async #pass(until?: () => boolean, once = false): Promise<void> {
    const ctx = this.#ctx;
    const now = ctx.now();
    const due = await Broadcast.find(
      { $or: [{ status: "scheduled", scheduledAt: { $lte: now } }, { status: "preparing", preparingUntil: { $lt: now } }] },
      { _id: 1, tenantId: 1 },
    ).setOptions({ crossTenant: true }).lean<{ _id: Types.ObjectId; tenantId: Types.ObjectId }[]>().exec();
    for (const b of due) await startBroadcast(ctx, b.tenantId, b._id);

    // A paused broadcast's sends cut short by a crash are settled too: its counts stay true while it waits.
    const paused = await Broadcast.find({ status: "paused" }, { _id: 1, tenantId: 1 }).setOptions({ crossTenant: true }).lean<{ _id: Types.ObjectId; tenantId: Types.ObjectId }[]>().exec();
    for (const b of paused) await settleInDoubt(ctx, b.tenantId, b._id);

    const sending = await Broadcast.find({ status: "sending" }, LANE_FIELDS).setOptions({ crossTenant: true }).lean<LaneView[]>().exec();
    for (const view of sending) {
      if (!once && !this.#running) break;
      if (view.holdUntil && view.holdUntil.getTime() > ctx.now().getTime()) continue;
      await settleInDoubt(ctx, view.tenantId, view._id);
      const channels = await BroadcastRecipient.distinct("channel", { tenantId: view.tenantId, broadcastId: view._id, state: { $in: ["queued", "claimed"] } }).exec();
      if (channels.length === 0) await this.#finishIfDone(view);
      for (const channel of channels as string[]) {
        const key = `${String(view._id)}:${channel}`;
        if (this.#lanes.has(key) || (this.#aside.get(`${String(view.tenantId)}:${channel}`) ?? 0) > Date.now()) continue;
        const lane = new Lane(ctx, view, channel);
        const work = this.#work(lane, until, once)
          .catch((error: unknown) => {
            ctx.log.error("broadcast lane failed", { tenantId: String(view.tenantId), number: view.number, channel, error: (error as Error).message });
          })
          .finally(() => this.#lanes.delete(key));
        this.#lanes.set(key, work);
      }
    }
  }

  #keepsGoing(once: boolean, until?: () => boolean): boolean {
    return (once || this.#running) && !until?.();
  }

  async #work(lane: Lane, until: (() => boolean) | undefined, once: boolean): Promise<void> {
    const outbound = await this.#outboundOf(lane);
    const locale = (await storeSettings(lane.tenantId))?.locale ?? "id";
    const inFlight = new Set<Promise<void>>();
    const maxInFlight = Math.min(16, Math.max(2, Math.ceil(lane.pace / 2)));
    try {
      for (;;) {
        await lane.refresh(true);
        if (lane.view.status !== "sending" || lane.held() || lane.aside || !this.#keepsGoing(once, until)) break;
        const batch = await this.#claim(lane, Math.min(20, Math.max(1, Math.ceil(lane.pace * 2))));
        if (batch.length === 0) break;
        // Read right before the batch's turn (a couple of seconds of sends at most): who opted out or became unreachable since the start.
        const flags = await this.#customerFlags(batch);
        let i = 0;
        for (; i < batch.length; i++) {
          await lane.refresh();
          if (lane.view.status !== "sending" || lane.held() || lane.aside || !this.#keepsGoing(once, until)) break;
          await this.#slot(lane);
          while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
          if (lane.held() || lane.aside) break;
          const recipient = batch[i];
          const send: Promise<void> = this.#sendOne(lane, recipient, flags.get(String(recipient.customerId)), outbound, recipient.locale ?? locale)
            .catch((error: unknown) => {
              this.#ctx.log.error("broadcast send not recorded", { number: lane.view.number, error: (error as Error).message });
            })
            .finally(() => inFlight.delete(send));
          inFlight.add(send);
        }
        if (i < batch.length) {
          await this.#release(batch.slice(i));
          break;
        }
      }
    } finally {
      await Promise.all(inFlight);
    }
    await this.#finishIfDone(lane.view);
  }

  async #outboundOf(lane: Lane): Promise<Outbound> {
    const doc = await Broadcast.findOne({ tenantId: lane.tenantId, _id: lane.broadcastId }, { content: 1 }).lean<BroadcastRecord>().exec();
    if (!doc) throw new Error("the broadcast is gone");
    return broadcastOutbound(doc.content, await productNames(lane.tenantId, doc.content.buttons ?? []));
  }

  /**
   * Up to `n` recipients of the lane, in ledger order: picks candidates, claims them with a
   * conditional update per document (still queued, or still under a lapsed lease), then
   * reads back the ones this instance got. Another instance racing for the same ones gets
   * the rest; nobody is held by two.
   */
  async #claim(lane: Lane, n: number): Promise<RecipientRecord[]> {
    const now = this.#ctx.now();
    const until = new Date(now.getTime() + this.#ctx.leaseMs);
    const claim = { $set: { state: "claimed", claimedBy: this.#ctx.token, claimedUntil: until }, $inc: { attempts: 1 } };
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
      const got = await BroadcastRecipient.find({ tenantId, _id: ids([...queued, ...expired]), state: "claimed", claimedBy: this.#ctx.token, claimedUntil: until })
        .sort({ _id: 1 })
        .lean<RecipientRecord[]>()
        .exec();
      this.#claimed += got.length;
      // All taken by another instance in the meantime: look again, past them.
      if (got.length > 0) return got;
    }
    return [];
  }

  async #release(recipients: RecipientRecord[]): Promise<void> {
    if (recipients.length === 0) return;
    await BroadcastRecipient.updateMany(
      { tenantId: recipients[0].tenantId, _id: { $in: recipients.map((r) => r._id) }, claimedBy: this.#ctx.token, state: "claimed" },
      { $set: { state: "queued" }, $unset: { claimedBy: 1, claimedUntil: 1 } },
    ).exec();
  }

  /** Waits for the lane's next slot: this instance's spacing, then the instances' shared window. */
  async #slot(lane: Lane): Promise<void> {
    const gap = 1000 / lane.pace;
    const wait = lane.nextSlotAt - Date.now();
    if (wait > 0) await sleep(wait);
    // A quarter second of credit: time lost claiming the next batch is made up, not lost to the pace.
    lane.nextSlotAt = Math.max(Date.now() - CATCH_UP_MS, lane.nextSlotAt) + gap;
    const shared = this.#ctx.options.sharedPace;
    if (!shared) return;
    const limit = Math.max(1, Math.floor(lane.pace));
    const windowMs = lane.pace >= 1 ? 1000 : Math.round(1000 / lane.pace);
    for (;;) {
      const { waitMs } = await shared.take(lane.key, limit, windowMs);
      if (waitMs === 0) return;
      await sleep(waitMs);
    }
  }

  async #customerFlags(batch: RecipientRecord[]): Promise<Map<string, CustomerFlags>> {
    const found = await Customer.find({ tenantId: batch[0].tenantId, _id: { $in: batch.map((r) => r.customerId) } }, { _id: 1, broadcastOptOut: 1, blocked: 1 })
      .lean<(CustomerFlags & { _id: Types.ObjectId })[]>()
      .exec();
    return new Map(found.map((c) => [String(c._id), c]));
  }

  async #sendOne(lane: Lane, recipient: RecipientRecord, customer: CustomerFlags | undefined, outbound: Outbound, locale: "id" | "en"): Promise<void> {
    const ctx = this.#ctx;
    const mine = { tenantId: recipient.tenantId, _id: recipient._id, claimedBy: ctx.token };
    if (!customer || customer.blocked || customer.broadcastOptOut) {
      const reason = customer?.broadcastOptOut ? "opted-out" : "unreachable";
      await BroadcastRecipient.updateOne({ ...mine, state: "claimed" }, { $set: { state: "skipped", reason }, $unset: { claimedBy: 1, claimedUntil: 1 } }).exec();
      this.#progress(lane);
      return;
    }
    const leaseUntil = () => new Date(ctx.now().getTime() + ctx.leaseMs);
    const committing = async () =>
      (await BroadcastRecipient.updateOne({ ...mine, state: "claimed" }, { $set: { state: "sending", claimedUntil: leaseUntil() } }).exec()).modifiedCount === 1;
    // The lease is renewed while the channel has the message (its pacer may hold a bulk send behind replies).
    const renewal = setInterval(() => {
      BroadcastRecipient.updateOne({ ...mine, state: { $in: HELD } }, { $set: { claimedUntil: leaseUntil() } }).exec().catch(() => undefined);
    }, Math.max(1000, ctx.leaseMs / 3));
    let report: SendReport;
    try {
      report = await ctx.options.outbox.send({ tenantId: String(recipient.tenantId), channel: recipient.channel, chatId: recipient.chatId }, [outbound], { bulk: true, locale, committing });
      if (report.late) report = await report.late;
    } finally {
      clearInterval(renewal);
    }
    await this.#record(lane, recipient, report);
    this.#progress(lane);
  }

  async #record(lane: Lane, recipient: RecipientRecord, report: SendReport): Promise<void> {
    const mine = { tenantId: recipient.tenantId, _id: recipient._id, claimedBy: this.#ctx.token, state: { $in: HELD } };
    const unclaim = { claimedBy: 1, claimedUntil: 1 };
    const requeue = () => BroadcastRecipient.updateOne(mine, { $set: { state: "queued" }, $unset: unclaim }).exec();
    if (report.ok) {
      const messageIds = report.messages.flatMap((m) => m.messageIds);
      await BroadcastRecipient.updateOne(mine, { $set: { state: "sent", messageIds, sentAt: this.#ctx.now() }, $unset: unclaim }).exec();
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
      if (wait > RESTRICTION_WAIT_SEC) await this.#restrict(lane, `flood wait of ${wait} s`);
      else await this.#holdAndSlow(lane, wait);
      return;
    }
    if (reason === "store-unavailable") {
      await requeue();
      if (await storeOffChannel(lane.tenantId, lane.channel)) await this.#restrict(lane, detail || reason);
      else this.#stepAside(lane, detail);
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

  /** This instance cannot reach the store on the channel, though the store is on it: others (or this one, later) send instead. */
  #stepAside(lane: Lane, detail: string): void {
    lane.aside = true;
    this.#aside.set(`${String(lane.tenantId)}:${lane.channel}`, Date.now() + ASIDE_MS);
    this.#ctx.log.info("broadcast lane left to other instances", { tenantId: String(lane.tenantId), number: lane.view.number, channel: lane.channel, detail });
  }

  /** A 429: nobody sends for `retryAfterSec` (every instance reads `holdUntil`), then slower. */
  async #holdAndSlow(lane: Lane, retryAfterSec: number): Promise<void> {
    const ctx = this.#ctx;
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
  async #restrict(lane: Lane, detail: string): Promise<void> {
    const ctx = this.#ctx;
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
  async #finishIfDone(view: LaneView): Promise<void> {
    const { tenantId, _id } = view;
    const left = await BroadcastRecipient.countDocuments({ tenantId, broadcastId: _id, state: { $in: ["queued", "claimed", "sending"] } }).exec();
    if (left > 0) return;
    const now = this.#ctx.now();
    const doc = await Broadcast.findOneAndUpdate(
      { tenantId, _id, status: "sending" },
      { $set: { status: "done", finishedAt: now }, $unset: { holdUntil: 1 } },
      { returnDocument: "after", projection: WITHOUT_IMAGE },
    ).lean<BroadcastRecord>().exec();
    if (!doc) return;
    const counts = await ledgerCounts(tenantId, _id);
    await auditBroadcast(tenantId, RUNNER_ACTOR, "finish", doc.number, { after: { status: "done", sent: counts.sent, failed: counts.failed, skipped: counts.skipped } });
    this.#ctx.log.info("broadcast finished", { tenantId: String(tenantId), number: doc.number, sent: counts.sent, failed: counts.failed, skipped: counts.skipped });
    emit(this.#ctx, { type: "finished", tenantId: String(tenantId), broadcast: toBroadcastView(doc, counts), counts });
  }

  /** A `progress` event at most every `progressEveryMs` per broadcast, across instances: whoever moves `lastProgressAt` tells it. */
  #progress(lane: Lane): void {
    const every = this.#ctx.options.progressEveryMs ?? 10_000;
    const id = String(lane.broadcastId);
    const checked = this.#progressCheckedAt.get(id) ?? 0;
    if (Date.now() - checked < every) return;
    this.#progressCheckedAt.set(id, Date.now());
    void this.#electProgress(lane, every).catch((error: unknown) => this.#ctx.log.warn("broadcast progress not told", { error: (error as Error).message }));
  }

  async #electProgress(lane: Lane, every: number): Promise<void> {
    const ctx = this.#ctx;
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
}
