// Orders from the seller's side, as flows: the list and one order with what can be done
// with it (/pesanan), approving or rejecting a manual payment, cancelling or refunding an
// undelivered order, and answering SNK claims. What each step does is in `order-desk.ts`.
import { defineFlow } from "../engine/flow-schema.ts";
import { adminGuard } from "./admin-access.ts";

/** What the order flows keep in the conversation. */
export type OrderData = {
  /** What followed the command (`/setujui INV-000123 sudah cek`). */
  commandArgs?: string;
  orderCode?: string;
  /** Why a payment is rejected or an order cancelled; `null` when none was given. */
  reason?: string | null;
  /** What the member may do with the order shown (ids of `orderChoiceLabels`). */
  orderActions?: string[];
  orderAction?: string;
  claimOutcome?: string;
  note?: string;
};

export const ordersFlow = defineFlow<OrderData>()({
  id: "admin-orders",
  guard: adminGuard("orders.read"),
  audience: "seller",
  triggers: { commands: ["pesanan", "orders"] },
  help: "admin.help.orders",
  steps: {
    browse: { kind: "action", action: "adminBrowseOrders", outcomes: { one: "show" } },
    show: { kind: "action", action: "adminShowOrder", next: "next" },
    next: { kind: "choose", text: "admin.orders.what_next", source: "adminOrderChoices", saveAs: "orderAction", next: "route" },
    route: {
      kind: "branch",
      cases: [
        { when: { field: "orderAction", equals: "approve" }, next: "approve" },
        { when: { field: "orderAction", equals: "reject" }, next: "reject" },
        { when: { field: "orderAction", equals: "cancel" }, next: "cancel" },
        { when: { field: "orderAction", equals: "refund" }, next: "refund" },
        { when: { field: "orderAction", equals: "retry" }, next: "retry" },
        { when: { field: "orderAction", equals: "claim" }, next: "claim" },
        { when: { field: "orderAction", equals: "done" }, next: "done" },
      ],
      otherwise: "stop",
    },
    approve: { kind: "goto", flow: "admin-order-approve" },
    reject: { kind: "goto", flow: "admin-order-reject" },
    cancel: { kind: "goto", flow: "admin-order-cancel" },
    refund: { kind: "goto", flow: "admin-order-refund" },
    retry: { kind: "action", action: "adminRetryDelivery" },
    claim: { kind: "goto", flow: "admin-claims" },
    // "Selesai" answers like the other menus' (/pengaturan, /klaim "Nanti saja"): a silent end
    // would leave the buttons standing in Telegram, as if the press had not worked.
    done: { kind: "end", text: "admin.common.ok" },
    stop: { kind: "end" },
  },
});

export const approveFlow = defineFlow<OrderData>()({
  id: "admin-order-approve",
  guard: adminGuard("orders.approve"),
  audience: "seller",
  triggers: { commands: ["setujui", "approve"] },
  help: "admin.help.approve",
  steps: {
    target: { kind: "action", action: "adminOrderTarget", next: "approve" },
    approve: { kind: "action", action: "adminApprovePayment" },
  },
});

export const rejectFlow = defineFlow<OrderData>()({
  id: "admin-order-reject",
  guard: adminGuard("orders.approve"),
  audience: "seller",
  triggers: { commands: ["tolak", "reject"] },
  help: "admin.help.reject",
  steps: {
    target: { kind: "action", action: "adminOrderTarget", next: "hasReason" },
    hasReason: { kind: "branch", cases: [{ when: { field: "reason", exists: true }, next: "reject" }], otherwise: "askReason" },
    askReason: { kind: "ask", text: "admin.orders.ask_reject_reason", expect: "text", min: 3, max: 500, saveAs: "reason", next: "reject" },
    reject: { kind: "action", action: "adminRejectPayment" },
  },
});

export const cancelFlow = defineFlow<OrderData>()({
  id: "admin-order-cancel",
  guard: adminGuard("orders.refund"),
  audience: "seller",
  triggers: { commands: ["batalkan", "cancelorder"] },
  help: "admin.help.cancel_order",
  steps: {
    target: { kind: "action", action: "adminOrderTarget", next: "cancel" },
    cancel: { kind: "action", action: "adminCancelOrder" },
  },
});

export const refundFlow = defineFlow<OrderData>()({
  id: "admin-order-refund",
  guard: adminGuard("orders.refund"),
  audience: "seller",
  triggers: { commands: ["refund"] },
  help: "admin.help.refund",
  steps: {
    target: { kind: "action", action: "adminOrderTarget", next: "refund" },
    refund: { kind: "action", action: "adminRefundOrder" },
  },
});

export const claimsFlow = defineFlow<OrderData>()({
  id: "admin-claims",
  guard: adminGuard("orders.refund"),
  audience: "seller",
  triggers: { commands: ["klaim", "claims"] },
  help: "admin.help.claims",
  steps: {
    find: { kind: "action", action: "adminFindClaim", next: "show", outcomes: { pick: "pick" } },
    pick: { kind: "choose", text: "admin.claims.pick", source: "adminClaimChoices", saveAs: "orderCode", next: "find" },
    show: { kind: "action", action: "adminShowClaim", next: "decide" },
    decide: {
      kind: "choose",
      text: "admin.claims.decide",
      saveAs: "claimOutcome",
      choices: [
        { id: "accepted", label: "admin.claims.accept", next: "askNote" },
        { id: "refused", label: "admin.claims.refuse", next: "askNote" },
        { id: "later", label: "admin.claims.later", next: "later" },
      ],
    },
    askNote: { kind: "ask", text: "admin.claims.ask_note", expect: "text", max: 500, saveAs: "note", next: "resolve" },
    resolve: { kind: "action", action: "adminResolveClaim" },
    later: { kind: "end", text: "admin.common.ok" },
  },
});

export const orderFlows = [ordersFlow, approveFlow, rejectFlow, cancelFlow, refundFlow, claimsFlow];
