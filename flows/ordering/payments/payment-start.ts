// "Pay": the customer picks a method for an unpaid order and gets a pay link or
// instructions. One payment per order and method: tapping "pay" twice (or two devices
// at once) hands out the same payment, never a second invoice.
import { asObjectId } from "../object-ids.ts";
import { Order, normalizeOrderCode, type CustomerKey, type OrderRecord } from "../order.ts";
import type { OrderingDeps } from "../ordering-deps.ts";
import { storeSettings, type StoreSettings } from "../store-settings.ts";
import type { PayableOrder } from "./gateway.ts";

export interface PaymentDetails {
  method: string;
  reference: string;
  payUrl?: string;
  /** For manual payment, the store's transfer instructions. */
  instructions?: string;
  amount: number;
  currency: string;
  /** Pay before this, or the order expires. */
  expiresAt: Date;
}

export type StartPaymentResult =
  | { ok: true; payment: PaymentDetails }
  | { ok: false; reason: "not_found" | "not_pending" | "method_unavailable" | "snk_not_accepted" | "awaiting_approval" };

/**
 * Starts (or returns the already started) payment of an unpaid order with `method`.
 * Refused when the store does not offer the method, when the store has SNK the customer
 * has not accepted, and after a manual payment proof was sent (the seller decides then).
 */
export async function startPayment(deps: OrderingDeps, tenantId: string, customer: CustomerKey, code: string, method: string): Promise<StartPaymentResult> {
  const tenant = asObjectId(tenantId);
  const normalized = normalizeOrderCode(code);
  if (!tenant || !normalized) return { ok: false, reason: "not_found" };
  const store = await storeSettings(tenant);
  if (!store) return { ok: false, reason: "not_found" };
  const gateway = deps.gateways?.get(method);
  if (!gateway || !store.ordering.paymentMethods.includes(method)) return { ok: false, reason: "method_unavailable" };
  const mine = { tenantId: tenant, code: normalized, "customer.channel": customer.channel, "customer.channelUserId": customer.channelUserId };

  // Two rounds at most: a lost race for the first payment reads the winner's.
  for (let round = 0; round < 3; round++) {
    const order = await Order.findOne(mine).lean<OrderRecord>().exec();
    if (!order) return { ok: false, reason: "not_found" };
    if (order.status !== "pending_payment") return { ok: false, reason: "not_pending" };
    if (store.ordering.snkText.trim() && !order.snk?.acceptedAt) return { ok: false, reason: "snk_not_accepted" };
    const current = order.payment;
    if (current?.method === method && current.reference) return { ok: true, payment: details(order, store) };
    if (current?.proof?.submittedAt) return { ok: false, reason: "awaiting_approval" };

    const started = await gateway.createPayment(payableOrder(order), store);
    const res = await Order.updateOne(
      { ...mine, status: "pending_payment", "payment.reference": current?.reference ?? null, "payment.proof.submittedAt": null },
      {
        $set: {
          "payment.method": method,
          "payment.reference": started.reference,
          "payment.payUrl": started.payUrl ?? null,
          "payment.instructions": started.instructions && method !== "manual" ? started.instructions.slice(0, 2000) : null,
          "payment.startedAt": new Date(),
        },
      },
    ).exec();
    if (res.matchedCount === 1) {
      const updated = await Order.findOne(mine).lean<OrderRecord>().exec();
      if (updated) return { ok: true, payment: details(updated, store) };
    }
  }
  // Still racing after three rounds: someone keeps switching methods on this order.
  return { ok: false, reason: "not_pending" };
}

export function payableOrder(order: OrderRecord): PayableOrder {
  return {
    tenantId: String(order.tenantId),
    orderId: String(order._id),
    code: order.code,
    amount: order.total,
    currency: order.currency,
    expiresAt: order.expiresAt,
    items: order.items.map((i) => ({ name: i.name, quantity: i.quantity, unitPrice: i.unitPrice })),
  };
}

function details(order: OrderRecord, store: StoreSettings): PaymentDetails {
  const p = order.payment!;
  const instructions = p.method === "manual" ? store.ordering.paymentInstructions : (p.instructions ?? undefined);
  return {
    method: p.method!,
    reference: p.reference!,
    ...(p.payUrl ? { payUrl: p.payUrl } : {}),
    ...(instructions ? { instructions } : {}),
    amount: order.total,
    currency: order.currency,
    expiresAt: order.expiresAt,
  };
}
