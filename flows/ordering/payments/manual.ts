// Manual payment: the customer transfers money to the store's account following its
// instructions, sends a photo of the receipt, and a seller approves (/setujui) — which
// delivers through the same exactly-once path as a gateway webhook — or rejects.
import { recordAudit } from "../../../storage/models/index.ts";
import { rejectedNotice } from "../order-notices.ts";
import { deliverOrder, markPaid, type DeliveryResult } from "../delivery.ts";
import { asObjectId } from "../object-ids.ts";
import { endOrder, type CancelResult } from "../order-cancellation.ts";
import { findOrderRecord } from "../order-queries.ts";
import { Order, actorRecord, actorWhere, normalizeOrderCode, toOrderView, type Actor, type CustomerKey, type OrderRecord, type OrderStatus, type OrderView } from "../order.ts";
import { emit, type OrderingDeps } from "../ordering-deps.ts";
import { ProofTooLargeError, deleteProof, saveProof, type ProofInput } from "../proof-store.ts";
import { storeSettings } from "../store-settings.ts";
import type { PaymentGateway } from "./gateway.ts";

/** The `manual` gateway: no provider, just the store's own transfer instructions. */
export function manualGateway(): PaymentGateway {
  return {
    method: "manual",
    async createPayment(order, store) {
      return { reference: `MANUAL-${order.code}`, instructions: store.ordering.paymentInstructions };
    },
  };
}

export type SubmitProofResult =
  | { ok: true; order: OrderView }
  | { ok: false; reason: "not_found" | "not_pending" | "method_unavailable" | "empty" | "too_large" };

/**
 * Stores a customer's payment proof (a photo's channel reference, its bytes, or both),
 * sealed, to be purged after the store's retention period. The order then waits for a
 * seller: it no longer expires on its payment deadline. Sending another proof replaces
 * the first.
 */
export async function submitPaymentProof(deps: OrderingDeps, tenantId: string, customer: CustomerKey, code: string, proof: ProofInput): Promise<SubmitProofResult> {
  const tenant = asObjectId(tenantId);
  const normalized = normalizeOrderCode(code);
  if (!tenant || !normalized) return { ok: false, reason: "not_found" };
  if (!proof.fileRef && !(proof.bytes && proof.bytes.byteLength > 0)) return { ok: false, reason: "empty" };
  const store = await storeSettings(tenant);
  if (!store) return { ok: false, reason: "not_found" };
  if (!store.ordering.paymentMethods.includes("manual")) return { ok: false, reason: "method_unavailable" };
  const mine = { tenantId: tenant, code: normalized, "customer.channel": customer.channel, "customer.channelUserId": customer.channelUserId };
  const before = await Order.findOne(mine, { status: 1, "payment.proof.fileId": 1 }).lean<OrderRecord>().exec();
  if (!before) return { ok: false, reason: "not_found" };
  if (before.status !== "pending_payment") return { ok: false, reason: "not_pending" };

  let saved: Awaited<ReturnType<typeof saveProof>>;
  try {
    saved = await saveProof(tenant, before._id, "payment", proof, store.ordering.proofRetentionDays);
  } catch (error) {
    if (error instanceof ProofTooLargeError) return { ok: false, reason: "too_large" };
    throw error;
  }
  const now = new Date();
  const order = await Order.findOneAndUpdate(
    { ...mine, status: "pending_payment" },
    { $set: { "payment.method": "manual", "payment.proof": { fileId: saved.id, submittedAt: now, purgeAt: saved.purgeAt } } },
    { returnDocument: "after" },
  )
    .lean<OrderRecord>()
    .exec();
  if (!order) {
    // Expired or closed while the file was being stored.
    await deleteProof(tenant, saved.id);
    return { ok: false, reason: "not_pending" };
  }
  const previous = before.payment?.proof?.fileId;
  if (previous && String(previous) !== String(saved.id)) await deleteProof(tenant, previous);
  emit(deps, { type: "proof_submitted", tenantId: String(tenant), orderCode: order.code });
  return { ok: true, order: toOrderView(order) };
}

export type ApprovalResult =
  | { ok: true; code: string; delivery: DeliveryResult["outcome"] }
  | { ok: false; reason: "not_found" }
  /** Paid already (by the gateway, or another seller's approval): nothing more happens. */
  | { ok: false; reason: "already_paid"; status: OrderStatus }
  | { ok: false; reason: "not_pending"; status: OrderStatus };

/**
 * A seller approves an order's payment (after checking the transfer): the order is paid
 * and delivered, exactly once even if the gateway reports the same payment at the same
 * moment. Recorded in the audit log.
 */
export async function approvePayment(deps: OrderingDeps, tenantId: string, code: string, approver: Actor): Promise<ApprovalResult> {
  const order = await findOrderRecord(tenantId, code);
  if (!order) return { ok: false, reason: "not_found" };
  const paid = await markPaid(deps, order.tenantId, order._id, { method: order.payment?.method ?? "manual", approvedBy: actorRecord(approver) });
  if (paid.outcome === "not_found") return { ok: false, reason: "not_found" };
  if (paid.outcome !== "paid") {
    if (paid.outcome === "already_paid" || paid.outcome === "duplicate_event") {
      // A nudge: if the first payer's process died before delivering, this delivers.
      await deliverOrder(deps, order.tenantId, order._id);
      return { ok: false, reason: "already_paid", status: paid.status };
    }
    return { ok: false, reason: "not_pending", status: paid.status };
  }
  await recordAudit({
    tenantId: order.tenantId,
    actor: actorRecord(approver),
    action: "order.approve_payment",
    target: { type: "order", id: order.code },
    before: { status: "pending_payment" },
    after: { status: "paid" },
    where: actorWhere(approver),
  });
  const delivery = await deliverOrder(deps, order.tenantId, order._id);
  return { ok: true, code: order.code, delivery: delivery.outcome };
}

/**
 * A seller rejects an unpaid order's payment (no transfer arrived, a doctored receipt):
 * the order is closed as rejected, its stock goes back on sale and the customer is told
 * the reason. Recorded in the audit log.
 */
export async function rejectPayment(deps: OrderingDeps, tenantId: string, code: string, approver: Actor, reason: string): Promise<CancelResult> {
  return endOrder(deps, {
    tenantId,
    code,
    actor: approver,
    reason,
    from: { status: "pending_payment" },
    to: "rejected",
    action: "order.reject_payment",
    notice: rejectedNotice,
  });
}
