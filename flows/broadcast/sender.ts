// This instance's runner: it looks for `sending` broadcasts every `pollMs` and works each
// channel of each one (a lane), as every other instance does at the same time.
//
// A lane claims a few queued recipients at a time, each with one conditional update
// (`queued`, or `claimed` under a lease that ran out → `claimed` by this instance's token),
// so two instances never hold the same recipient (lane.ts). Right before a batch's turn it
// re-reads its customers (opted out or unreachable since: skipped); for each it takes a slot of the channel's pace
// (shared with the other instances through `SharedPace`), and hands ONE message to the
// outbox as bulk; the channel asks `committing` right before the wire, which moves the
// recipient `claimed → sending` only if this instance still holds it. The outcome is
// recorded on the recipient, again only if this instance still holds it. A crash leaves
// `claimed` recipients (queued again once their lease runs out) and at most the few
// `sending` ones in flight (recorded sent, in doubt: never sent twice).
import type { Types } from "mongoose";
import type { Outbound, SendReport } from "../engine/index.ts";
import { Customer } from "../../storage/models/index.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { Broadcast, BroadcastRecipient, type BroadcastRecord, type RecipientRecord } from "./broadcast-model.ts";
import type { BroadcastContext } from "./broadcast-records.ts";
import { claimRecipients, Lane, LANE_FIELDS, releaseClaims, takeSlot, type LaneView } from "./lane.ts";
import { settleInDoubt, startBroadcast } from "./ledger.ts";
import { broadcastOutbound, productNames } from "./message.ts";
import { electProgress, finishIfDone, HELD, recordOutcome } from "./outcomes.ts";

/** How long an instance that cannot reach a store on a channel leaves its lanes to the others. */
const ASIDE_MS = 30_000;

type CustomerFlags = { broadcastOptOut?: boolean; blocked?: boolean };

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
      if (channels.length === 0) await finishIfDone(this.#ctx, view);
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
        // About four seconds of sends per claim: each claim and its reads cost a pause the pacing credit does not always make up.
        const batch = await claimRecipients(this.#ctx, lane, Math.min(100, Math.max(1, Math.ceil(lane.pace * 4))));
        this.#claimed += batch.length;
        if (batch.length === 0) break;
        // Read right before the batch's turn (about four seconds of sends): who opted out or became unreachable since the start.
        const flags = await this.#customerFlags(batch);
        let i = 0;
        for (; i < batch.length; i++) {
          await lane.refresh();
          if (lane.view.status !== "sending" || lane.held() || lane.aside || !this.#keepsGoing(once, until)) break;
          await takeSlot(this.#ctx, lane);
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
          await releaseClaims(this.#ctx, batch.slice(i));
          break;
        }
      }
    } finally {
      await Promise.all(inFlight);
    }
    await finishIfDone(this.#ctx, lane.view);
  }

  async #outboundOf(lane: Lane): Promise<Outbound> {
    const doc = await Broadcast.findOne({ tenantId: lane.tenantId, _id: lane.broadcastId }, { content: 1 }).lean<BroadcastRecord>().exec();
    if (!doc) throw new Error("the broadcast is gone");
    return broadcastOutbound(doc.content, await productNames(lane.tenantId, doc.content.buttons ?? []));
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
    await recordOutcome(this.#ctx, lane, recipient, report, (detail) => this.#stepAside(lane, detail));
    this.#progress(lane);
  }

  /** This instance cannot reach the store on the channel, though the store is on it: others (or this one, later) send instead. */
  #stepAside(lane: Lane, detail: string): void {
    lane.aside = true;
    this.#aside.set(`${String(lane.tenantId)}:${lane.channel}`, Date.now() + ASIDE_MS);
    this.#ctx.log.info("broadcast lane left to other instances", { tenantId: String(lane.tenantId), number: lane.view.number, channel: lane.channel, detail });
  }

  /** A `progress` event at most every `progressEveryMs` per broadcast, across instances: whoever moves `lastProgressAt` tells it. */
  #progress(lane: Lane): void {
    const every = this.#ctx.options.progressEveryMs ?? 10_000;
    const id = String(lane.broadcastId);
    const checked = this.#progressCheckedAt.get(id) ?? 0;
    if (Date.now() - checked < every) return;
    this.#progressCheckedAt.set(id, Date.now());
    void electProgress(this.#ctx, lane, every).catch((error: unknown) => this.#ctx.log.warn("broadcast progress not told", { error: (error as Error).message }));
  }
}
