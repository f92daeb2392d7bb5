/**
 * The broadcast domain (`BroadcastService` in contract.ts) on MongoDB, with this
 * instance's runner (sender.ts) behind it.
 *
 * ```ts
 * const broadcasting = createBroadcasting({ outbox, log, onEvent, agenda: scheduler.agenda, sharedPace });
 * defineBroadcastJobs(scheduler.agenda, broadcasting);     // before scheduler.start()
 * broadcasting.start();                                     // this instance sends too
 * const draft = await broadcasting.saveDraft(tenantId, seller, { content, audience: { kind: "all" } });
 * await broadcasting.schedule(tenantId, draft.broadcast.number, seller, { at, progressChat });
 * ```
 *
 * Every verb is one conditional update of one broadcast (its status in the filter), so two
 * sellers — or a seller and the runner — acting at once agree on the winner.
 */
import { Types } from "mongoose";
import { commandChoiceId, type Outbound } from "../engine/index.ts";
import { Customer, nextSequence } from "../../storage/models/index.ts";
import type { Channel } from "../../storage/models/index.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { audienceProblem, audienceSize } from "./audiences.ts";
import { Broadcast, MAX_IMAGE_BYTES, type BroadcastRecord } from "./broadcast-model.ts";
import {
  auditBroadcast,
  contextOf,
  emit,
  ledgerCounts,
  tenantObjectId,
  toBroadcastView,
  viewWithCounts,
  WITHOUT_IMAGE,
  type BroadcastContext,
  type BroadcastingOptions,
} from "./broadcast-records.ts";
import type { BroadcastActor, BroadcastAudience, BroadcastContent, BroadcastResult, BroadcastService, BroadcastStatus, BroadcastView } from "./contract.ts";
import { cancelStartJob, scheduleStartJob } from "./broadcast-jobs.ts";
import { skipUnsent, startBroadcast, type StartOutcome } from "./ledger.ts";
import { broadcastsOnDay, storeLimits } from "./limits.ts";
import { broadcastOutbound, CATALOG_COMMAND, MAX_BUTTONS, productNames } from "./message.ts";
import { BroadcastRunner } from "./sender.ts";

export interface Broadcasting extends BroadcastService {
  /** Starts this instance's runner: works every `sending` broadcast (claims keep instances apart), resumes after a crash by itself. */
  start(): void;
  /** Stops claiming, lets sends under way finish within `graceMs`, releases unsent claims (back to queued). */
  stop(graceMs: number): Promise<void>;
  /** One pass for tests and benchmarks: starts due broadcasts, then works until nothing is claimable or `until` says stop. */
  runOnce(options?: { until?: () => boolean }): Promise<void>;
  /** Fixes the ledger of a due broadcast and moves it to sending (what `broadcast-start` runs); safe to run twice. */
  startDue(tenantId: string, broadcastId: string): Promise<StartOutcome>;
}

const MAX_TEXT = 3500;
const MAX_CAPTION = 900;
/** A scheduled time a little in the past is "now" (the seller's clock, a slow chat). */
const PAST_GRACE_MS = 60_000;
const MAX_AHEAD_MS = 30 * 86_400_000;

const NOT_FOUND = { ok: false, reason: "not_found" } as const;
const VERBS = { cancelled: "cancel", paused: "pause", resumed: "resume" } as const;
const WRONG_STATUS = { ok: false, reason: "wrong_status" } as const;
const INVALID = { ok: false, reason: "invalid" } as const;

function actorRecord(actor: BroadcastActor): { channel: string; userId: string; name?: string } {
  return { channel: actor.channel, userId: actor.userId, ...(actor.name ? { name: actor.name.slice(0, 128) } : {}) };
}

function contentProblem(content: BroadcastContent): string | undefined {
  if (!content || typeof content.text !== "string" || content.text.trim() === "") return "no text";
  if (content.text.length > (content.image ? MAX_CAPTION : MAX_TEXT)) return "text too long";
  if (content.image && (content.image.data.byteLength === 0 || content.image.data.byteLength > MAX_IMAGE_BYTES)) return "image too large";
  const buttons = content.buttons ?? [];
  if (buttons.length > MAX_BUTTONS) return "too many buttons";
  for (const button of buttons) {
    if (button.kind === "catalog") continue;
    if (button.kind !== "product") return "unknown button";
    try {
      commandChoiceId(CATALOG_COMMAND, button.productCode);
    } catch {
      return "bad product code";
    }
  }
  return undefined;
}

/** The audience as stored: dates as dates, nothing else. */
function audienceRecord(audience: BroadcastAudience): BroadcastAudience {
  const channel = audience.channel ? { channel: audience.channel } : {};
  switch (audience.kind) {
    case "all":
      return { kind: "all", ...channel };
    case "buyers":
      return { kind: "buyers", productCode: audience.productCode.trim(), ...channel };
    case "period":
      return { kind: "period", from: new Date(audience.from), to: new Date(audience.to), ...channel };
    case "lapsed":
      return { kind: "lapsed", days: audience.days, ...channel };
  }
}

function contentRecord(content: BroadcastContent) {
  return {
    text: content.text,
    ...(content.image ? { image: { data: Buffer.from(content.image.data), fileName: content.image.fileName.slice(0, 128), mime: content.image.mime.slice(0, 64) } } : {}),
    buttons: (content.buttons ?? []).map((b) => (b.kind === "product" ? { kind: "product", productCode: b.productCode } : { kind: "catalog" })),
  };
}

export function createBroadcasting(options: BroadcastingOptions): Broadcasting {
  const ctx: BroadcastContext = contextOf(options);
  const runner = new BroadcastRunner(ctx);

  const find = (tenant: Types.ObjectId, number: number) =>
    Broadcast.findOne({ tenantId: tenant, number }, WITHOUT_IMAGE).lean<BroadcastRecord>().exec();

  /** Why a conditional update on a broadcast matched nothing. */
  const whyNot = async (tenant: Types.ObjectId, number: number): Promise<BroadcastResult> => ((await find(tenant, number)) ? WRONG_STATUS : NOT_FOUND);

  /** Moves a broadcast between statuses in one conditional update; `undefined` when it was not in `from`. */
  const move = (tenant: Types.ObjectId, number: number, from: BroadcastStatus[], update: Record<string, unknown>) =>
    Broadcast.findOneAndUpdate({ tenantId: tenant, number, status: { $in: from } }, update, { returnDocument: "after", projection: WITHOUT_IMAGE })
      .lean<BroadcastRecord>()
      .exec();

  /** A seller's cancel, pause or resume: one conditional move, its audit entry and its event. */
  const sellerMove = async (
    tenantId: string,
    number: number,
    actor: BroadcastActor,
    event: "cancelled" | "paused" | "resumed",
    from: BroadcastStatus[],
    update: Record<string, unknown>,
  ): Promise<BroadcastResult> => {
    const tenant = tenantObjectId(tenantId);
    if (!tenant) return NOT_FOUND;
    const doc = await move(tenant, number, from, update);
    if (!doc) return whyNot(tenant, number);
    if (event === "cancelled") {
      await skipUnsent(tenant, doc._id);
      if (options.agenda) await cancelStartJob(options.agenda, String(doc._id));
    }
    await auditBroadcast(tenant, actor, VERBS[event], number, { after: { status: doc.status } });
    const view = await viewWithCounts(doc);
    emit(ctx, { type: event, tenantId, broadcast: view, by: actor });
    if (event === "resumed") runner.wake();
    return { ok: true, broadcast: view };
  };

  const customerFilter = (tenant: Types.ObjectId, customer: { channel: string; userId: string }) => ({ tenantId: tenant, channel: customer.channel as Channel, channelUserId: customer.userId });

  const service: Broadcasting = {
    async saveDraft(tenantId, actor, draft, number) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return NOT_FOUND;
      if (contentProblem(draft.content) || audienceProblem(draft.audience)) return INVALID;
      const fields = { content: contentRecord(draft.content), audience: audienceRecord(draft.audience) };
      if (number === undefined) {
        const created = await Broadcast.create({ tenantId: tenant, number: await nextSequence(tenant, "broadcast"), status: "draft", ...fields, createdBy: actorRecord(actor) });
        const doc = created.toObject() as unknown as BroadcastRecord;
        await auditBroadcast(tenant, actor, "draft", doc.number, { after: { audience: fields.audience, text: fields.content.text, hasImage: Boolean(draft.content.image) } });
        return { ok: true, broadcast: toBroadcastView(doc) };
      }
      const before = await find(tenant, number);
      // The content is replaced whole: an image left out of the new draft is gone.
      const doc = await move(tenant, number, ["draft"], { $set: fields });
      if (!doc) return whyNot(tenant, number);
      await auditBroadcast(tenant, actor, "edit", number, {
        before: before && { audience: before.audience, text: before.content.text },
        after: { audience: fields.audience, text: fields.content.text, hasImage: Boolean(draft.content.image) },
      });
      return { ok: true, broadcast: toBroadcastView(doc) };
    },

    async audienceSize(tenantId, audience) {
      const settings = await storeSettings(tenantId);
      if (!settings || audienceProblem(audience)) return { total: 0, byChannel: {} };
      return audienceSize(tenantId, audience, settings.timezone, ctx.now());
    },

    async messageFor(tenantId, number, _channel, _locale): Promise<Outbound | undefined> {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return undefined;
      const doc = await Broadcast.findOne({ tenantId: tenant, number }, { content: 1 }).lean<BroadcastRecord>().exec();
      if (!doc) return undefined;
      return broadcastOutbound(doc.content, await productNames(tenant, doc.content.buttons ?? []));
    },

    async schedule(tenantId, number, actor, { at, progressChat }) {
      const tenant = tenantObjectId(tenantId);
      const settings = tenant && (await storeSettings(tenant));
      if (!tenant || !settings) return NOT_FOUND;
      const current = await find(tenant, number);
      if (!current) return NOT_FOUND;
      if (current.status !== "draft" && current.status !== "scheduled") return WRONG_STATUS;
      const now = ctx.now();
      if (at && (!Number.isFinite(at.getTime()) || at.getTime() < now.getTime() - PAST_GRACE_MS || at.getTime() > now.getTime() + MAX_AHEAD_MS)) {
        return { ok: false, reason: "bad_time" };
      }
      const later = at !== undefined && at.getTime() > now.getTime();
      const startAt = later ? at : now;
      const limits = await storeLimits(ctx, tenant);
      const size = await audienceSize(tenantId, current.audience, settings.timezone, now);
      if (size.total === 0) return { ok: false, reason: "empty_audience", size: 0 };
      if (size.total > limits.maxRecipients) return { ok: false, reason: "too_many_recipients", limit: limits.maxRecipients, size: size.total };
      const today = await broadcastsOnDay(tenant, startAt, settings.timezone, current._id);
      if (today >= limits.perDay) return { ok: false, reason: "daily_limit", limit: limits.perDay };
      const chat = progressChat
        ? { channel: progressChat.channel, chatId: progressChat.chatId, ...(progressChat.locale && { locale: progressChat.locale }) }
        : undefined;
      const doc = await move(tenant, number, ["draft", "scheduled"], { $set: { status: "scheduled", scheduledAt: startAt, ...(chat && { progressChat: chat }) } });
      if (!doc) return whyNot(tenant, number);
      await auditBroadcast(tenant, actor, current.status === "scheduled" ? "reschedule" : "schedule", number, {
        before: { status: current.status, scheduledAt: current.scheduledAt },
        after: { status: "scheduled", scheduledAt: startAt, audienceSize: size.total },
      });
      if (options.agenda) await scheduleStartJob(options.agenda, { tenantId, broadcastId: String(doc._id) }, startAt);
      if (!later) {
        void service.startDue(tenantId, String(doc._id)).catch((error: unknown) => {
          ctx.log.error("broadcast could not start", { tenantId, number, error: (error as Error).message });
        });
      }
      return { ok: true, broadcast: toBroadcastView(doc) };
    },

    cancel: (tenantId, number, actor) =>
      sellerMove(tenantId, number, actor, "cancelled", ["draft", "scheduled", "preparing", "sending", "paused"], {
        $set: { status: "cancelled", cancelledAt: ctx.now() },
        $unset: { preparingUntil: 1 },
      }),

    pause: (tenantId, number, actor) => sellerMove(tenantId, number, actor, "paused", ["sending"], { $set: { status: "paused", pausedReason: "seller" } }),

    resume: (tenantId, number, actor) =>
      sellerMove(tenantId, number, actor, "resumed", ["paused"], { $set: { status: "sending" }, $unset: { pausedReason: 1, holdUntil: 1 } }),

    async get(tenantId, number): Promise<BroadcastView | undefined> {
      const tenant = tenantObjectId(tenantId);
      const doc = tenant && (await find(tenant, number));
      return doc ? viewWithCounts(doc) : undefined;
    },

    async list(tenantId, filter = {}) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return [];
      const docs = await Broadcast.find({ tenantId: tenant, ...(filter.status && { status: { $in: filter.status } }) }, WITHOUT_IMAGE)
        .sort({ number: -1 })
        .limit(Math.min(Math.max(filter.limit ?? 20, 1), 100))
        .lean<BroadcastRecord[]>()
        .exec();
      return docs.map((doc) => toBroadcastView(doc));
    },

    async counts(tenantId, number) {
      const tenant = tenantObjectId(tenantId);
      const doc = tenant && (await find(tenant, number));
      if (!tenant || !doc) return undefined;
      return ledgerCounts(tenant, doc._id);
    },

    async setProgressMessage(tenantId, number, messageId) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return;
      await Broadcast.updateOne({ tenantId: tenant, number, progressChat: { $exists: true } }, { $set: { "progressChat.messageId": messageId.slice(0, 128) } }).exec();
    },

    async optOut(tenantId, customer) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return false;
      const result = await Customer.updateOne({ ...customerFilter(tenant, customer), broadcastOptOut: { $ne: true } }, { $set: { broadcastOptOut: true } }).exec();
      if (result.modifiedCount === 1) await auditBroadcast(tenant, { channel: customer.channel, userId: customer.userId }, "opt-out", "customer");
      return result.modifiedCount === 1;
    },

    async optIn(tenantId, customer) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return false;
      const result = await Customer.updateOne({ ...customerFilter(tenant, customer), broadcastOptOut: true }, { $set: { broadcastOptOut: false } }).exec();
      if (result.modifiedCount === 1) await auditBroadcast(tenant, { channel: customer.channel, userId: customer.userId }, "opt-in", "customer");
      return result.modifiedCount === 1;
    },

    async subscribed(tenantId, customer) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant) return false;
      const doc = await Customer.findOne(customerFilter(tenant, customer), { _id: 0, broadcastOptOut: 1 }).lean<{ broadcastOptOut?: boolean }>().exec();
      return doc?.broadcastOptOut !== true;
    },

    start: () => runner.start(),
    stop: (graceMs) => runner.stop(graceMs),
    runOnce: (opts) => runner.runOnce(opts?.until),

    async startDue(tenantId, broadcastId) {
      const tenant = tenantObjectId(tenantId);
      if (!tenant || !Types.ObjectId.isValid(broadcastId)) return "not_due";
      const outcome = await startBroadcast(ctx, tenant, new Types.ObjectId(broadcastId));
      if (outcome === "started") runner.wake();
      return outcome;
    },
  };
  return service;
}
