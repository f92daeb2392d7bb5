// The ordering domain as one object: what the composition root builds once, and what
// the ordering flow, the seller's admin flows, the jobs and the payment routes
// call. Every verb is also exported from its own file with `deps` as first argument.
//
// ```ts
// const ordering = createOrdering({
//   outbox,                                               // reaches customers' chats
//   gateways: gatewayMap(manualGateway(), simulator),
//   timers: orderJobTimers(scheduler.agenda),             // per-order expiry and SNK jobs
// });
// defineOrderJobs(scheduler.agenda, ordering);
// await scheduler.start();
// await scheduleRecurringOrderJobs(scheduler.agenda);
// http.register(paymentRoutes(ordering.deps, { simulator }));
// await ordering.recoverUndelivered();                   // paid before a crash, not yet delivered
// ```
import type { IncomingHttpHeaders } from "node:http";
import { asObjectId } from "./object-ids.ts";
import { cancelMyOrder, cancelOrder, expireOverdueOrders, expireUnpaidOrder, refundOrder, type CancelResult, type ExpiryResult } from "./order-cancellation.ts";
import { findMyOrder, findOrder, findOrderRecord, listClaims, listMyOrders, listOrders, type OrderListFilter } from "./order-queries.ts";
import type { Actor, CustomerKey, OrderView } from "./order.ts";
import type { OrderingDeps } from "./ordering-deps.ts";
import { acceptSnk, orderableQuantity, placeOrder, type AcceptSnkResult, type OrderableQuantity, type PlaceOrderInput, type PlaceOrderResult } from "./place-order.ts";
import { deliverOrder, markPaid, recoverUndelivered, retryDelivery, type DeliveryResult, type MarkPaidResult, type PaymentConfirmation, type RecoveryReport, type RetryDeliveryResult } from "./delivery.ts";
import { approvePayment, rejectPayment, submitPaymentProof, type ApprovalResult, type SubmitProofResult } from "./payments/manual.ts";
import { startPayment, type StartPaymentResult } from "./payments/payment-start.ts";
import { receivePaymentWebhook, type WebhookAnswer } from "./payments/payment-webhooks.ts";
import { openProof, purgeExpiredProofs, type OpenedProof, type ProofInput } from "./proof-store.ts";
import { claimOrder, closeSnkWindow, confirmOrder, remindSnk, resolveClaim, sweepSnkWindows, type ResolveClaimResult, type SnkAnswerResult } from "./snk.ts";
import { releaseOrphanedReservations, type OrphanSweepReport } from "./stock-reservation.ts";

export interface Ordering {
  readonly deps: OrderingDeps;

  // Customer side (the ordering flow).
  orderableQuantity(tenantId: string, productCode: string): Promise<OrderableQuantity>;
  placeOrder(input: PlaceOrderInput): Promise<PlaceOrderResult>;
  acceptSnk(tenantId: string, customer: CustomerKey, code: string): Promise<AcceptSnkResult>;
  startPayment(tenantId: string, customer: CustomerKey, code: string, method: string): Promise<StartPaymentResult>;
  submitPaymentProof(tenantId: string, customer: CustomerKey, code: string, proof: ProofInput): Promise<SubmitProofResult>;
  cancelMyOrder(tenantId: string, customer: CustomerKey, code: string): Promise<CancelResult>;
  listMyOrders(tenantId: string, customer: CustomerKey, opts?: { limit?: number }): Promise<OrderView[]>;
  findMyOrder(tenantId: string, customer: CustomerKey, code: string): Promise<OrderView | undefined>;
  confirmOrder(tenantId: string, customer: CustomerKey, code: string): Promise<SnkAnswerResult>;
  claimOrder(tenantId: string, customer: CustomerKey, code: string, claim: { text: string; proof?: ProofInput }): Promise<SnkAnswerResult>;

  // Seller side.
  findOrder(tenantId: string, code: string): Promise<OrderView | undefined>;
  listOrders(tenantId: string, filter?: OrderListFilter): Promise<OrderView[]>;
  listClaims(tenantId: string, opts?: { limit?: number }): Promise<OrderView[]>;
  /** The payment proof or claim screenshot of an order, opened; `undefined` when none or purged. */
  openOrderProof(tenantId: string, code: string, kind: "payment" | "claim"): Promise<OpenedProof | undefined>;
  approvePayment(tenantId: string, code: string, approver: Actor): Promise<ApprovalResult>;
  rejectPayment(tenantId: string, code: string, approver: Actor, reason: string): Promise<CancelResult>;
  cancelOrder(tenantId: string, code: string, actor: Actor, reason?: string): Promise<CancelResult>;
  refundOrder(tenantId: string, code: string, actor: Actor, reason?: string): Promise<CancelResult>;
  retryDelivery(tenantId: string, code: string): Promise<RetryDeliveryResult>;
  resolveClaim(tenantId: string, code: string, actor: Actor, resolution: { outcome: "accepted" | "refused"; note?: string }): Promise<ResolveClaimResult>;

  // Payments, delivery, jobs.
  receivePaymentWebhook(method: string, tenantSlug: string, rawBody: Buffer, headers: IncomingHttpHeaders): Promise<WebhookAnswer>;
  markPaid(tenantId: string, orderId: string, payment: PaymentConfirmation): Promise<MarkPaidResult>;
  deliverOrder(tenantId: string, orderId: string, opts?: { now?: Date }): Promise<DeliveryResult>;
  recoverUndelivered(opts?: { now?: Date; limit?: number }): Promise<RecoveryReport>;
  expireUnpaidOrder(tenantId: string, orderId: string, opts?: { now?: Date }): Promise<ExpiryResult>;
  remindSnk(tenantId: string, orderId: string, opts?: { now?: Date }): Promise<"sent" | "skipped">;
  closeSnkWindow(tenantId: string, orderId: string, opts?: { now?: Date }): Promise<"closed" | "skipped">;
  /** Overdue unpaid orders, orphaned reservations and due SNK windows, across stores. */
  sweepOverdue(now?: Date): Promise<{ expired: number; reservations: OrphanSweepReport; snk: { reminded: number; closed: number } }>;
  purgeExpiredProofs(now?: Date): Promise<number>;
}

export function createOrdering(deps: OrderingDeps): Ordering {
  const ids = (tenantId: string, orderId: string) => {
    const tenant = asObjectId(tenantId);
    const order = asObjectId(orderId);
    return tenant && order ? ([tenant, order] as const) : undefined;
  };
  return {
    deps,
    orderableQuantity,
    placeOrder: (input) => placeOrder(deps, input),
    acceptSnk,
    startPayment: (tenantId, customer, code, method) => startPayment(deps, tenantId, customer, code, method),
    submitPaymentProof: (tenantId, customer, code, proof) => submitPaymentProof(deps, tenantId, customer, code, proof),
    cancelMyOrder,
    listMyOrders,
    findMyOrder,
    confirmOrder,
    claimOrder: (tenantId, customer, code, claim) => claimOrder(deps, tenantId, customer, code, claim),

    findOrder,
    listOrders,
    listClaims,
    async openOrderProof(tenantId, code, kind) {
      const order = await findOrderRecord(tenantId, code);
      const proofId = kind === "payment" ? order?.payment?.proof?.fileId : order?.snk?.claim?.proofFileId;
      return order && proofId ? openProof(order.tenantId, proofId) : undefined;
    },
    approvePayment: (tenantId, code, approver) => approvePayment(deps, tenantId, code, approver),
    rejectPayment: (tenantId, code, approver, reason) => rejectPayment(deps, tenantId, code, approver, reason),
    cancelOrder: (tenantId, code, actor, reason) => cancelOrder(deps, tenantId, code, actor, reason),
    refundOrder: (tenantId, code, actor, reason) => refundOrder(deps, tenantId, code, actor, reason),
    async retryDelivery(tenantId, code) {
      const order = await findOrderRecord(tenantId, code);
      return order ? retryDelivery(deps, order.tenantId, order._id) : { outcome: "refused", reason: "not_found" };
    },
    resolveClaim: (tenantId, code, actor, resolution) => resolveClaim(deps, tenantId, code, actor, resolution),

    receivePaymentWebhook: (method, slug, rawBody, headers) => receivePaymentWebhook(deps, method, slug, rawBody, headers),
    async markPaid(tenantId, orderId, payment) {
      const key = ids(tenantId, orderId);
      return key ? markPaid(deps, key[0], key[1], payment) : { outcome: "not_found" };
    },
    async deliverOrder(tenantId, orderId, opts) {
      const key = ids(tenantId, orderId);
      return key ? deliverOrder(deps, key[0], key[1], opts) : { outcome: "skipped", reason: "not_found" };
    },
    recoverUndelivered: (opts) => recoverUndelivered(deps, opts),
    async expireUnpaidOrder(tenantId, orderId, opts) {
      const key = ids(tenantId, orderId);
      return key ? expireUnpaidOrder(deps, key[0], key[1], opts) : { outcome: "skipped" };
    },
    async remindSnk(tenantId, orderId, opts) {
      const key = ids(tenantId, orderId);
      return key ? remindSnk(deps, key[0], key[1], opts) : "skipped";
    },
    async closeSnkWindow(tenantId, orderId, opts) {
      const key = ids(tenantId, orderId);
      return key ? closeSnkWindow(deps, key[0], key[1], opts) : "skipped";
    },
    async sweepOverdue(now = new Date()) {
      const expired = await expireOverdueOrders(deps, now);
      const reservations = await releaseOrphanedReservations(now);
      const snk = await sweepSnkWindows(deps, now);
      return { expired, reservations, snk };
    },
    purgeExpiredProofs: (now) => purgeExpiredProofs(now),
  };
}
