// Payment and delivery: the goods go out once per paid order, however many webhooks,
// approvals and restarts happen around it.
//
// 1. `markPaid` moves `pending_payment → paid` with one conditional update; a second
//    call (replayed webhook, seller approving after the gateway) matches nothing.
// 2. `deliverOrder` claims the delivery with one conditional update (`paid`, and no
//    live claim: `delivery.nextAttemptAt` has passed), which gives it a token and a
//    lease. Only the token's holder may mark the order delivered.
// 3. It sends the goods through the outbox, then marks the order delivered and its
//    items sold.
// 4. A crash anywhere between 1 and 3 leaves a paid order whose lease runs out;
//    `recoverUndelivered` (on start-up and every minute) delivers it.
//
// The one window that cannot be closed without the channel's help is a crash after the
// channel accepted the message and before step 3 wrote "delivered": the goods would go
// out again. Step 3's write follows the send immediately to keep that window small; we
// prefer a rare duplicate to goods never delivered. A channel that has not answered
// within the outbox's timeout (`late` on the report) keeps the claim (its lease renewed)
// until it does: the goods may still be going out, so nobody may send them again meanwhile.
import { randomUUID } from "node:crypto";
import type { Types } from "mongoose";
import { decryptSecret } from "../../storage/crypto.ts";
import { deliveryMessage, type DeliveredLine } from "./order-notices.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { Order, type Actor, type OrderRecord, type OrderStatus } from "./order.ts";
import { addressOf, chatOf, emit, logOf, type OrderingDeps } from "./ordering-deps.ts";
import type { SendReport } from "../engine/index.ts";
import { StockItem, stockPayloadContext } from "./stock-item.ts";
import { markStockSold } from "./stock-reservation.ts";
import { storeSettings } from "./store-settings.ts";

/** Attempts before a delivery waits for a seller (`retryDelivery`). */
export const MAX_DELIVERY_ATTEMPTS = 8;
/** A claim older than this is presumed dead (its process crashed) and may be taken over. */
export const DELIVERY_LEASE_MS = 2 * 60 * 1000;

export interface PaymentConfirmation {
  method: string;
  /** The gateway's event id; a repeated one changes nothing. */
  eventId?: string;
  reference?: string;
  /** The seller who approved a manual payment. */
  approvedBy?: Actor;
}

export type MarkPaidResult =
  | { outcome: "paid"; code: string }
  /** The order was already paid (and perhaps delivered) by an earlier event or approval. */
  | { outcome: "already_paid"; code: string; status: OrderStatus }
  | { outcome: "duplicate_event"; code: string; status: OrderStatus }
  /** Expired, cancelled, rejected or refunded: the money arrived too late; the seller is told. */
  | { outcome: "not_payable"; code: string; status: OrderStatus }
  | { outcome: "not_found" };

/**
 * Records that an order is paid. Idempotent: only a `pending_payment` order moves, and an
 * event id seen before changes nothing. Does not deliver; call `deliverOrder` next (a
 * crash in between is covered by `recoverUndelivered`).
 */
export async function markPaid(deps: OrderingDeps, tenantId: Types.ObjectId, orderId: Types.ObjectId, payment: PaymentConfirmation): Promise<MarkPaidResult> {
  const now = new Date();
  const set: Record<string, unknown> = {
    status: "paid",
    "payment.method": payment.method,
    "payment.paidAt": now,
    "delivery.nextAttemptAt": now,
    "delivery.attempts": 0,
  };
  if (payment.reference) set["payment.reference"] = payment.reference;
  if (payment.approvedBy) set["payment.approvedBy"] = payment.approvedBy;
  const filter: Record<string, unknown> = { tenantId, _id: orderId, status: "pending_payment" };
  if (payment.eventId) filter["payment.gatewayEventIds"] = { $ne: payment.eventId };
  const paid = await Order.findOneAndUpdate(filter, { $set: set, ...(payment.eventId ? { $push: { "payment.gatewayEventIds": payment.eventId } } : {}) }, {
    projection: { code: 1 },
    returnDocument: "after",
  })
    .lean()
    .exec();
  if (paid) {
    emit(deps, { type: "order_paid", tenantId: String(tenantId), orderCode: paid.code, gateway: payment.method });
    return { outcome: "paid", code: paid.code };
  }

  const order = await Order.findOne({ tenantId, _id: orderId }, { code: 1, status: 1, "payment.gatewayEventIds": 1 }).lean<OrderRecord>().exec();
  if (!order) return { outcome: "not_found" };
  const status = order.status as OrderStatus;
  if (payment.eventId && order.payment?.gatewayEventIds?.includes(payment.eventId)) return { outcome: "duplicate_event", code: order.code, status };
  // Remember the event either way, so its replay is recognised as one.
  if (payment.eventId) await Order.updateOne({ tenantId, _id: orderId }, { $addToSet: { "payment.gatewayEventIds": payment.eventId } }).exec();
  if (status === "paid" || status === "delivered" || status === "completed") return { outcome: "already_paid", code: order.code, status };
  if (payment.eventId) {
    await Order.updateOne({ tenantId, _id: orderId }, { $set: { attention: "late_payment" } }).exec();
    emit(deps, { type: "late_payment", tenantId: String(tenantId), orderCode: order.code });
    logOf(deps).warn("payment arrived for an order that can no longer be paid", { orderCode: order.code, status, method: payment.method });
  }
  return { outcome: "not_payable", code: order.code, status };
}

export type DeliveryResult =
  | { outcome: "delivered"; code: string }
  /** Nothing to do now: not paid, already delivered, being delivered elsewhere, or waiting for its retry time. */
  | { outcome: "skipped"; reason: "not_found" | "not_paid" | "already_delivered" | "in_progress" | "retry_later" | "gave_up" }
  | { outcome: "failed"; code: string; attempts: number; willRetry: boolean };

/**
 * Delivers a paid order's goods exactly once (see the top of this file). Safe to call
 * from anywhere, any number of times, concurrently: all but one call skip.
 */
export async function deliverOrder(deps: OrderingDeps, tenantId: Types.ObjectId, orderId: Types.ObjectId, opts: { now?: Date } = {}): Promise<DeliveryResult> {
  const now = opts.now ?? new Date();
  const token = randomUUID();
  const lease = DELIVERY_LEASE_MS;
  const order = await Order.findOneAndUpdate(
    { tenantId, _id: orderId, status: "paid", "delivery.nextAttemptAt": { $lte: now }, "delivery.attempts": { $lt: MAX_DELIVERY_ATTEMPTS } },
    { $set: { "delivery.claimToken": token, "delivery.claimedAt": now, "delivery.nextAttemptAt": new Date(now.getTime() + lease) }, $inc: { "delivery.attempts": 1 } },
    { returnDocument: "after" },
  )
    .lean<OrderRecord>()
    .exec();
  if (!order) return { outcome: "skipped", reason: await whyNotDeliverable(tenantId, orderId, now) };
  const log = logOf(deps);
  const attempts = order.delivery?.attempts ?? 1;

  const store = await storeSettings(tenantId);
  const items = await StockItem.find({ tenantId, orderId, status: { $in: ["reserved", "sold"] } }, { productId: 1, payload: 1 }).lean().exec();
  const expected = order.items.reduce((n, i) => n + i.quantity, 0);
  if (!store || items.length !== expected) {
    // Not something a retry fixes: the seller has to look.
    return giveUp(deps, order, token, now, store ? `order holds ${items.length} of ${expected} stock items` : "store not found");
  }

  const chat = chatOf(order);
  const windowEndsAt = new Date(now.getTime() + store.ordering.snkWindowHours * 3_600_000);
  let lines: DeliveredLine[];
  try {
    lines = order.items.map((line) => ({
      name: line.name,
      payloads: items.filter((i) => String(i.productId) === String(line.productId)).map((i) => decryptSecret(i.payload, stockPayloadContext(tenantId))),
    }));
  } catch (error) {
    return giveUp(deps, order, token, now, `a stock item could not be opened (${(error as Error).name})`);
  }

  const sent = await deps.outbox.send(
    addressOf(chat),
    [deliveryMessage({ code: order.code, store: store.name, locale: chat.locale, lines, windowEnds: formatWhen(windowEndsAt, { locale: chat.locale, timeZone: store.timezone }) })],
    { locale: chat.locale },
  );
  if (!sent.ok && sent.late) {
    // The channel has not answered yet, so the goods may still go out. Giving the claim
    // up now would let a retry send them a second time: keep it (a fresh lease) and finish
    // when the channel answers, one way or the other.
    await Order.updateOne({ tenantId, _id: orderId, "delivery.claimToken": token }, { $set: { "delivery.nextAttemptAt": new Date(Date.now() + lease) } }).exec();
    log.warn("the channel is slow to take the goods; the delivery finishes when it answers", { orderCode: order.code, attempts });
    sent.late
      .then((late) => (late.ok ? recordDelivered(deps, order, windowEndsAt, now) : releaseForRetry(deps, order, token, now, late, lines)))
      .catch((error: unknown) => log.error("finishing a slow delivery failed", { orderCode: order.code, error: safeError(error, lines) }));
    return { outcome: "skipped", reason: "in_progress" };
  }
  if (!sent.ok) return releaseForRetry(deps, order, token, now, sent, lines);
  return recordDelivered(deps, order, windowEndsAt, now);
}

/** The channel refused the goods: the claim goes back, with a back-off, or the order waits for a seller. */
async function releaseForRetry(deps: OrderingDeps, order: OrderRecord, token: string, now: Date, report: SendReport, lines: readonly DeliveredLine[]): Promise<DeliveryResult> {
  const attempts = order.delivery?.attempts ?? 1;
  const reason = notSentReason(report, lines);
  const willRetry = attempts < MAX_DELIVERY_ATTEMPTS;
  const backoff = Math.min(30_000 * 2 ** (attempts - 1), 60 * 60 * 1000);
  await Order.updateOne(
    { tenantId: order.tenantId, _id: order._id, "delivery.claimToken": token },
    {
      $set: { "delivery.nextAttemptAt": new Date(now.getTime() + backoff), "delivery.lastError": reason, ...(willRetry ? {} : { attention: "delivery_failed" }) },
      $unset: { "delivery.claimToken": 1 },
    },
  ).exec();
  logOf(deps).warn("delivery not accepted by the channel", { orderCode: order.code, attempts, willRetry, error: reason });
  if (!willRetry) emit(deps, { type: "delivery_failed", tenantId: String(order.tenantId), orderCode: order.code });
  return { outcome: "failed", code: order.code, attempts, willRetry };
}

/** The channel took the goods: the order is delivered, its items sold, its SNK window open. */
async function recordDelivered(deps: OrderingDeps, order: OrderRecord, windowEndsAt: Date, now: Date): Promise<DeliveryResult> {
  const { tenantId, _id: orderId } = order;
  const log = logOf(deps);
  const deliveredAt = new Date();
  const remindAt = new Date(windowEndsAt.getTime() - (windowEndsAt.getTime() - now.getTime()) / 4);
  // Conditional on "paid", not on our token: the goods did go out, so even if our lease
  // lapsed and another process holds a claim now, "delivered" is the truth and stops it
  // (and any later sweep) from sending again once it checks.
  const delivered = await Order.findOneAndUpdate(
    { tenantId, _id: orderId, status: "paid" },
    {
      $set: { status: "delivered", "delivery.deliveredAt": deliveredAt, "snk.state": "open", "snk.windowEndsAt": windowEndsAt, "snk.remindAt": remindAt },
      $unset: { "delivery.claimToken": 1, "delivery.lastError": 1, attention: 1 },
    },
    { projection: { _id: 1 } },
  )
    .lean()
    .exec();
  if (!delivered) {
    // Our lease ran out while the channel was slow, and another process delivered, or a
    // seller refunded the order in between: the customer has the goods either way.
    log.error("goods were sent for an order that is no longer paid; a seller must check it", { orderCode: order.code });
    await Order.updateOne({ tenantId, _id: orderId, status: { $ne: "delivered" } }, { $set: { attention: "delivery_failed" } }).exec();
    return { outcome: "skipped", reason: "in_progress" };
  }
  await markStockSold(tenantId, orderId, deliveredAt);
  try {
    await deps.timers?.snkWindowOpened({ tenantId: String(tenantId), orderId: String(orderId), remindAt, windowEndsAt });
  } catch (error) {
    log.warn("could not schedule SNK reminder; the sweep will send it", { orderCode: order.code, error: (error as Error).message });
  }
  log.info("order delivered", { orderCode: order.code, attempts: order.delivery?.attempts ?? 1 });
  emit(deps, { type: "order_delivered", tenantId: String(tenantId), orderCode: order.code, ...(order.attention === "delivery_failed" && { afterFailure: true }) });
  return { outcome: "delivered", code: order.code };
}

export interface RecoveryReport {
  due: number;
  delivered: number;
  failed: number;
}

/**
 * Delivers paid orders that nobody is delivering: after a crash between payment and
 * delivery, a lapsed claim, or a failed attempt whose back-off has passed. Across all
 * stores; run on start-up and every minute.
 */
export async function recoverUndelivered(deps: OrderingDeps, opts: { now?: Date; limit?: number } = {}): Promise<RecoveryReport> {
  const now = opts.now ?? new Date();
  const due = await Order.find(
    { status: "paid", "delivery.nextAttemptAt": { $lte: now }, "delivery.attempts": { $lt: MAX_DELIVERY_ATTEMPTS } },
    { tenantId: 1 },
  )
    .setOptions({ crossTenant: true })
    .sort({ "delivery.nextAttemptAt": 1 })
    .limit(opts.limit ?? 200)
    .lean()
    .exec();
  const report: RecoveryReport = { due: due.length, delivered: 0, failed: 0 };
  for (const order of due) {
    try {
      const result = await deliverOrder(deps, order.tenantId, order._id, { now });
      if (result.outcome === "delivered") report.delivered++;
      if (result.outcome === "failed") report.failed++;
    } catch (error) {
      report.failed++;
      logOf(deps).error("recovering a delivery failed", { orderId: String(order._id), error: safeError(error) });
    }
  }
  if (report.due > 0) logOf(deps).info("undelivered orders recovered", { ...report });
  return report;
}

export type RetryDeliveryResult = DeliveryResult | { outcome: "refused"; reason: "not_found" | "not_paid" };

/** A seller's "try again" for a paid order whose delivery gave up (the customer unblocked the bot, say). */
export async function retryDelivery(deps: OrderingDeps, tenantId: Types.ObjectId, orderId: Types.ObjectId): Promise<RetryDeliveryResult> {
  const now = new Date();
  const res = await Order.updateOne(
    { tenantId, _id: orderId, status: "paid", "delivery.claimToken": null },
    { $set: { "delivery.attempts": 0, "delivery.nextAttemptAt": now } },
  ).exec();
  if (res.matchedCount === 0) {
    const order = await Order.findOne({ tenantId, _id: orderId }, { status: 1 }).lean().exec();
    if (!order) return { outcome: "refused", reason: "not_found" };
    if (order.status !== "paid") return { outcome: "refused", reason: "not_paid" };
  }
  return deliverOrder(deps, tenantId, orderId, { now });
}

async function giveUp(deps: OrderingDeps, order: OrderRecord, token: string, now: Date, reason: string): Promise<DeliveryResult> {
  await Order.updateOne(
    { tenantId: order.tenantId, _id: order._id, "delivery.claimToken": token },
    { $set: { "delivery.attempts": MAX_DELIVERY_ATTEMPTS, "delivery.lastError": reason, "delivery.nextAttemptAt": now, attention: "delivery_failed" }, $unset: { "delivery.claimToken": 1 } },
  ).exec();
  logOf(deps).error("order cannot be delivered; a seller must look at it", { orderCode: order.code, reason });
  emit(deps, { type: "delivery_failed", tenantId: String(order.tenantId), orderCode: order.code });
  return { outcome: "failed", code: order.code, attempts: order.delivery?.attempts ?? 1, willRetry: false };
}

async function whyNotDeliverable(tenantId: Types.ObjectId, orderId: Types.ObjectId, now: Date): Promise<"not_found" | "not_paid" | "already_delivered" | "in_progress" | "retry_later" | "gave_up"> {
  const order = await Order.findOne({ tenantId, _id: orderId }, { status: 1, delivery: 1 }).lean().exec();
  if (!order) return "not_found";
  if (order.status === "delivered" || order.status === "completed") return "already_delivered";
  if (order.status !== "paid") return "not_paid";
  if ((order.delivery?.attempts ?? 0) >= MAX_DELIVERY_ATTEMPTS) return "gave_up";
  if (order.delivery?.claimToken && order.delivery.nextAttemptAt && order.delivery.nextAttemptAt > now) return "in_progress";
  return "retry_later";
}

/**
 * An error as one short line, fit for the order and the log. Channel errors name the
 * method and status ("403: Forbidden: bot was blocked by the user"), but an adapter could
 * quote what it failed to send: the goods must not reach the order or the log that way.
 */
/** Why the channel did not take the goods, with anything that looks like them cut out. */
function notSentReason(report: SendReport, lines: readonly DeliveredLine[]): string {
  return redacted(report.detail ? `${report.reason ?? "failed"}: ${report.detail}` : (report.reason ?? "failed"), lines);
}

function redacted(said: string, lines: readonly DeliveredLine[]): string {
  let text = said;
  for (const payload of lines.flatMap((l) => l.payloads)) {
    for (const part of [payload, ...payload.split(/\s+/)]) if (part.length >= 4) text = text.split(part).join("[REDACTED]");
  }
  return text.replace(/\s+/g, " ").slice(0, 200);
}

function safeError(error: unknown, lines: readonly DeliveredLine[] = []): string {
  return error instanceof Error ? redacted(`${error.name}: ${error.message}`, lines) : "unknown error";
}
