// The SNK window (syarat dan ketentuan): after delivery the customer has the store's
// window (e.g. 24 hours) to confirm the goods work or to claim they do not, with a
// screenshot. A reminder nudges them before it closes; a window left unanswered closes
// as confirmed. Claims wait for a seller (`listClaims`, `resolveClaim`).
//
// Acceptance of the terms *before* checkout is recorded on the order by `placeOrder`
// (`snkAccepted`) or `acceptSnk` (place-order.ts).
import type { Types } from "mongoose";
import { recordAudit } from "../../storage/models/index.ts";
import { claimResolvedNotice, snkClosedNotice, snkReminder } from "./order-notices.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { asObjectId } from "./object-ids.ts";
import { Order, actorRecord, actorWhere, normalizeOrderCode, toOrderView, type Actor, type CustomerKey, type OrderRecord, type OrderView, type SnkState } from "./order.ts";
import { chatOf, emit, notifyCustomer, type OrderingDeps } from "./ordering-deps.ts";
import { ProofTooLargeError, deleteProof, saveProof, type ProofInput } from "./proof-store.ts";
import { storeSettings } from "./store-settings.ts";

export const MAX_CLAIM_TEXT = 2000;

export type SnkAnswerResult =
  | { ok: true; order: OrderView }
  | { ok: false; reason: "not_found" | "not_delivered" | "window_closed" | "already_answered" }
  | { ok: false; reason: "claim_text_invalid"; max: number }
  | { ok: false; reason: "too_large" };

/** The customer confirms the goods work: the window closes and the order is complete. */
export async function confirmOrder(tenantId: string, customer: CustomerKey, code: string): Promise<SnkAnswerResult> {
  const mine = customerFilter(tenantId, customer, code);
  if (!mine) return { ok: false, reason: "not_found" };
  const now = new Date();
  const order = await Order.findOneAndUpdate(
    { ...mine, status: "delivered", "snk.state": "open", "snk.windowEndsAt": { $gt: now } },
    { $set: { status: "completed", "snk.state": "confirmed", "snk.closedAt": now } },
    { returnDocument: "after" },
  )
    .lean<OrderRecord>()
    .exec();
  return order ? { ok: true, order: toOrderView(order) } : { ok: false, reason: await whyNotAnswerable(mine, now) };
}

/**
 * The customer claims the goods do not work, with a text (1–2000 characters) and,
 * usually, a screenshot (sealed, purged with the store's proof retention). The claim
 * reaches the seller through `listClaims` and an `OrderingEvent`.
 */
export async function claimOrder(
  deps: OrderingDeps,
  tenantId: string,
  customer: CustomerKey,
  code: string,
  claim: { text: string; proof?: ProofInput },
): Promise<SnkAnswerResult> {
  const mine = customerFilter(tenantId, customer, code);
  if (!mine) return { ok: false, reason: "not_found" };
  const text = (claim.text ?? "").trim();
  if (text.length === 0 || text.length > MAX_CLAIM_TEXT) return { ok: false, reason: "claim_text_invalid", max: MAX_CLAIM_TEXT };
  const now = new Date();
  const target = await Order.findOne({ ...mine, status: "delivered", "snk.state": "open", "snk.windowEndsAt": { $gt: now } }, { _id: 1 }).lean().exec();
  if (!target) return { ok: false, reason: await whyNotAnswerable(mine, now) };

  let proofId: Types.ObjectId | undefined;
  if (claim.proof && (claim.proof.fileRef || claim.proof.bytes?.byteLength)) {
    const store = await storeSettings(mine.tenantId);
    try {
      proofId = (await saveProof(mine.tenantId, target._id, "claim", claim.proof, store?.ordering.proofRetentionDays ?? 30, now)).id;
    } catch (error) {
      if (error instanceof ProofTooLargeError) return { ok: false, reason: "too_large" };
      throw error;
    }
  }
  const order = await Order.findOneAndUpdate(
    { ...mine, _id: target._id, status: "delivered", "snk.state": "open", "snk.windowEndsAt": { $gt: now } },
    { $set: { "snk.state": "claimed", "snk.claim": { text, at: now, ...(proofId ? { proofFileId: proofId } : {}) } } },
    { returnDocument: "after" },
  )
    .lean<OrderRecord>()
    .exec();
  if (!order) {
    if (proofId) await deleteProof(mine.tenantId, proofId);
    return { ok: false, reason: await whyNotAnswerable(mine, now) };
  }
  emit(deps, { type: "claim_opened", tenantId: String(mine.tenantId), orderCode: order.code });
  return { ok: true, order: toOrderView(order) };
}

export type ResolveClaimResult = { ok: true; order: OrderView } | { ok: false; reason: "not_found" | "no_open_claim" };

/**
 * A seller answers a claim: accepted (they will replace or refund, outside Niaga) or
 * refused. The order is complete either way; the customer is told, with the note.
 */
export async function resolveClaim(
  deps: OrderingDeps,
  tenantId: string,
  code: string,
  actor: Actor,
  resolution: { outcome: "accepted" | "refused"; note?: string },
): Promise<ResolveClaimResult> {
  const tenant = asObjectId(tenantId);
  const normalized = normalizeOrderCode(code);
  if (!tenant || !normalized) return { ok: false, reason: "not_found" };
  const note = resolution.note?.trim().slice(0, 500);
  const now = new Date();
  const order = await Order.findOneAndUpdate(
    { tenantId: tenant, code: normalized, "snk.state": "claimed" },
    {
      $set: {
        status: "completed",
        "snk.state": "closed",
        "snk.closedAt": now,
        "snk.claim.resolution": { outcome: resolution.outcome, ...(note ? { note } : {}), by: actorRecord(actor), at: now },
      },
    },
    { returnDocument: "after" },
  )
    .lean<OrderRecord>()
    .exec();
  if (!order) {
    return (await Order.exists({ tenantId: tenant, code: normalized })) ? { ok: false, reason: "no_open_claim" } : { ok: false, reason: "not_found" };
  }
  await recordAudit({
    tenantId: tenant,
    actor: actorRecord(actor),
    action: "order.resolve_claim",
    target: { type: "order", id: order.code },
    before: { snk: "claimed" },
    after: { snk: "closed", outcome: resolution.outcome, ...(note ? { note } : {}) },
    where: actorWhere(actor),
  });
  const store = await storeSettings(tenant);
  await notifyCustomer(deps, chatOf(order), claimResolvedNotice({ code: order.code, store: store?.name ?? "", outcome: resolution.outcome, note: note ?? "" }), "claim_resolved");
  return { ok: true, order: toOrderView(order) };
}

/** Sends the SNK reminder once, when it is due and the window is still open. */
export async function remindSnk(deps: OrderingDeps, tenantId: Types.ObjectId, orderId: Types.ObjectId, opts: { now?: Date } = {}): Promise<"sent" | "skipped"> {
  const now = opts.now ?? new Date();
  // Marked before sending: a reminder is a nudge, better missed after a crash than sent twice.
  const order = await Order.findOneAndUpdate(
    { tenantId, _id: orderId, "snk.state": "open", "snk.remindAt": { $lte: now }, "snk.windowEndsAt": { $gt: now }, "snk.remindedAt": null },
    { $set: { "snk.remindedAt": now } },
    { returnDocument: "after" },
  )
    .lean<OrderRecord>()
    .exec();
  if (!order) return "skipped";
  const store = await storeSettings(tenantId);
  const chat = chatOf(order);
  const windowEnds = formatWhen(order.snk!.windowEndsAt!, { locale: chat.locale, timeZone: store?.timezone ?? "Asia/Jakarta" });
  await notifyCustomer(deps, chat, snkReminder({ code: order.code, store: store?.name ?? "", windowEnds }), "snk_reminder");
  return "sent";
}

/** Closes an unanswered window once it has ended: the order counts as confirmed and complete. */
export async function closeSnkWindow(deps: OrderingDeps, tenantId: Types.ObjectId, orderId: Types.ObjectId, opts: { now?: Date } = {}): Promise<"closed" | "skipped"> {
  const now = opts.now ?? new Date();
  const order = await Order.findOneAndUpdate(
    { tenantId, _id: orderId, status: "delivered", "snk.state": "open", "snk.windowEndsAt": { $lte: now } },
    { $set: { status: "completed", "snk.state": "confirmed", "snk.closedAt": now } },
    { returnDocument: "after" },
  )
    .lean<OrderRecord>()
    .exec();
  if (!order) return "skipped";
  const store = await storeSettings(tenantId);
  await notifyCustomer(deps, chatOf(order), snkClosedNotice({ code: order.code, store: store?.name ?? "" }), "snk_closed");
  return "closed";
}

/** Due reminders and closes across stores: the safety net under the per-order jobs. */
export async function sweepSnkWindows(deps: OrderingDeps, now = new Date(), batch = 500): Promise<{ reminded: number; closed: number }> {
  const report = { reminded: 0, closed: 0 };
  const dueClose = await Order.find({ "snk.state": "open", "snk.windowEndsAt": { $lte: now } }, { tenantId: 1 })
    .setOptions({ crossTenant: true })
    .limit(batch)
    .lean()
    .exec();
  for (const o of dueClose) if ((await closeSnkWindow(deps, o.tenantId, o._id, { now })) === "closed") report.closed++;
  const dueRemind = await Order.find({ "snk.state": "open", "snk.remindAt": { $lte: now }, "snk.remindedAt": null }, { tenantId: 1 })
    .setOptions({ crossTenant: true })
    .limit(batch)
    .lean()
    .exec();
  for (const o of dueRemind) if ((await remindSnk(deps, o.tenantId, o._id, { now })) === "sent") report.reminded++;
  return report;
}

function customerFilter(tenantId: string, customer: CustomerKey, code: string) {
  const tenant = asObjectId(tenantId);
  const normalized = normalizeOrderCode(code);
  if (!tenant || !normalized) return undefined;
  return { tenantId: tenant, code: normalized, "customer.channel": customer.channel, "customer.channelUserId": customer.channelUserId };
}

async function whyNotAnswerable(mine: Record<string, unknown>, now: Date): Promise<"not_found" | "not_delivered" | "window_closed" | "already_answered"> {
  const order = await Order.findOne(mine, { status: 1, snk: 1 }).lean().exec();
  if (!order) return "not_found";
  const state = order.snk?.state as SnkState | undefined;
  if (!state) return "not_delivered";
  if (state !== "open") return "already_answered";
  return order.snk?.windowEndsAt && order.snk.windowEndsAt <= now ? "window_closed" : "already_answered";
}
