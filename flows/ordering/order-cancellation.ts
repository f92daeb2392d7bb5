// Orders that end without delivery: expired (not paid in time), cancelled (by the seller
// or the customer), refunded (paid, not yet delivered, money returned). Each moves the
// status with one conditional update first and releases the stock after, so a crash in
// between leaves a closed order still holding items, which the reservation sweep frees.
import type { Types } from "mongoose";
import { recordAudit } from "../../storage/models/index.ts";
import type { Outbound } from "../engine/message.ts";
import { cancelledNotice, expiredNotice, reasonText, refundedNotice } from "./order-notices.ts";
import { asObjectId } from "./object-ids.ts";
import { Order, actorRecord, actorWhere, normalizeOrderCode, toOrderView, type Actor, type CustomerKey, type OrderRecord, type OrderStatus, type OrderView } from "./order.ts";
import { chatOf, notifyCustomer, type OrderingDeps } from "./ordering-deps.ts";
import { releaseReservation } from "./stock-reservation.ts";
import { storeSettings } from "./store-settings.ts";

export type ExpiryResult = { outcome: "expired"; code: string; released: number } | { outcome: "skipped"; status?: OrderStatus };

/**
 * Expires an unpaid order whose payment deadline has passed, releases its stock and tells
 * the customer. Idempotent, and harmless when run early or for an order that was paid,
 * cancelled or is waiting for the seller to check a submitted proof.
 */
export async function expireUnpaidOrder(deps: OrderingDeps, tenantId: Types.ObjectId, orderId: Types.ObjectId, opts: { now?: Date } = {}): Promise<ExpiryResult> {
  const now = opts.now ?? new Date();
  const order = await Order.findOneAndUpdate(
    { tenantId, _id: orderId, status: "pending_payment", expiresAt: { $lte: now }, "payment.proof.submittedAt": null },
    { $set: { status: "expired", "closing.at": now } },
    { returnDocument: "after" },
  )
    .lean<OrderRecord>()
    .exec();
  if (!order) {
    const current = await Order.findOne({ tenantId, _id: orderId }, { status: 1 }).lean().exec();
    return { outcome: "skipped", ...(current ? { status: current.status as OrderStatus } : {}) };
  }
  const released = await releaseReservation(tenantId, orderId);
  const store = await storeSettings(tenantId);
  const minutes = Math.round((order.expiresAt.getTime() - order.createdAt.getTime()) / 60_000);
  await notifyCustomer(deps, chatOf(order), expiredNotice({ code: order.code, store: store?.name ?? "", minutes }), "order_expired");
  return { outcome: "expired", code: order.code, released };
}

/** Unpaid orders past their deadline whose expiry job never ran (lost between writing the order and scheduling it), across stores. */
export async function expireOverdueOrders(deps: OrderingDeps, now = new Date(), batch = 500): Promise<number> {
  const overdue = await Order.find({ status: "pending_payment", expiresAt: { $lte: now }, "payment.proof.submittedAt": null }, { tenantId: 1 })
    .setOptions({ crossTenant: true })
    .limit(batch)
    .lean()
    .exec();
  let expired = 0;
  for (const o of overdue) if ((await expireUnpaidOrder(deps, o.tenantId, o._id, { now })).outcome === "expired") expired++;
  return expired;
}

export type CancelResult = { ok: true; order: OrderView } | { ok: false; reason: "not_found" } | { ok: false; reason: "not_cancellable"; status: OrderStatus };

/** A seller cancels an unpaid order: stock back on sale, the customer told why. */
export async function cancelOrder(deps: OrderingDeps, tenantId: string, code: string, actor: Actor, reason?: string): Promise<CancelResult> {
  return endOrder(deps, { tenantId, code, actor, reason, from: { status: "pending_payment" }, to: "cancelled", action: "order.cancel", notice: cancelledNotice });
}

/**
 * A seller refunds a paid order that has not been delivered (the money goes back outside
 * Niaga): stock back on sale, the customer told. Refused while a delivery is in progress.
 */
export async function refundOrder(deps: OrderingDeps, tenantId: string, code: string, actor: Actor, reason?: string): Promise<CancelResult> {
  const now = new Date();
  return endOrder(deps, {
    tenantId,
    code,
    actor,
    reason,
    // No live delivery claim: either none, or one whose lease has lapsed.
    from: { status: "paid", $or: [{ "delivery.claimToken": null }, { "delivery.nextAttemptAt": { $lte: now } }] },
    to: "refunded",
    action: "order.refund",
    notice: refundedNotice,
  });
}

/**
 * The customer cancels their own unpaid order. Refused once they have sent a payment
 * proof: money may be on its way, and the seller decides.
 */
export async function cancelMyOrder(tenantId: string, customer: CustomerKey, code: string): Promise<CancelResult> {
  const tenant = asObjectId(tenantId);
  const normalized = normalizeOrderCode(code);
  if (!tenant || !normalized) return { ok: false, reason: "not_found" };
  const mine = { tenantId: tenant, code: normalized, "customer.channel": customer.channel, "customer.channelUserId": customer.channelUserId };
  const order = await Order.findOneAndUpdate(
    { ...mine, status: "pending_payment", "payment.proof.submittedAt": null },
    { $set: { status: "cancelled", "closing.at": new Date(), "closing.reason": "customer" } },
    { returnDocument: "after" },
  )
    .lean<OrderRecord>()
    .exec();
  if (!order) {
    const current = await Order.findOne(mine, { status: 1 }).lean().exec();
    return current ? { ok: false, reason: "not_cancellable", status: current.status as OrderStatus } : { ok: false, reason: "not_found" };
  }
  await releaseReservation(tenant, order._id);
  return { ok: true, order: toOrderView(order) };
}

interface Ending {
  tenantId: string;
  code: string;
  actor: Actor;
  reason?: string;
  from: Record<string, unknown>;
  to: OrderStatus;
  action: string;
  notice: (p: { code: string; store: string; reason: string }) => Outbound;
}

/** The shared shape of a seller closing an order: conditional move, release, audit, notice. */
export async function endOrder(deps: OrderingDeps, e: Ending): Promise<CancelResult> {
  const tenant = asObjectId(e.tenantId);
  const normalized = normalizeOrderCode(e.code);
  if (!tenant || !normalized) return { ok: false, reason: "not_found" };
  const reason = e.reason?.trim().slice(0, 500);
  const now = new Date();
  const order = await Order.findOneAndUpdate(
    { tenantId: tenant, code: normalized, ...e.from },
    { $set: { status: e.to, closing: { ...(reason ? { reason } : {}), by: actorRecord(e.actor), at: now } } },
    { returnDocument: "after" },
  )
    .lean<OrderRecord>()
    .exec();
  if (!order) {
    const current = await Order.findOne({ tenantId: tenant, code: normalized }, { status: 1 }).lean().exec();
    return current ? { ok: false, reason: "not_cancellable", status: current.status as OrderStatus } : { ok: false, reason: "not_found" };
  }
  await releaseReservation(tenant, order._id);
  await recordAudit({
    tenantId: tenant,
    actor: actorRecord(e.actor),
    action: e.action,
    target: { type: "order", id: order.code },
    before: { status: e.from.status },
    after: { status: e.to, ...(reason ? { reason } : {}) },
    where: actorWhere(e.actor),
  });
  const store = await storeSettings(tenant);
  const chat = chatOf(order);
  await notifyCustomer(deps, chat, e.notice({ code: order.code, store: store?.name ?? "", reason: reasonText(reason, chat.locale) }), e.to);
  return { ok: true, order: toOrderView(order) };
}
