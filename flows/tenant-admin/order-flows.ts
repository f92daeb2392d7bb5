// Orders from the seller's side: lists by status, one order with its payment proof and
// what can be done with it, approving or rejecting a manual payment, cancelling or
// refunding an undelivered order, and answering SNK claims. Every change goes through
// the ordering domain (`Ordering`), which moves the order exactly once, tells the
// customer, releases stock and writes the audit entry.
import type { ActionContext, ActionRegistry, ActionResult } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { Locale, Outbound } from "../engine/message.ts";
import { i18nTexts, renderText } from "../engine/texts.ts";
import { t } from "../../locales/i18n.ts";
import { formatPrice } from "../ordering/catalog.ts";
import { methodLabel } from "../ordering/checkout-flows.ts";
import { findOrder, findOrderRecord, listClaims, listOrders, type OrderListFilter } from "../ordering/order-queries.ts";
import { normalizeOrderCode, type Actor as OrderActor, type OrderStatus, type OrderView } from "../ordering/order.ts";
import type { Ordering } from "../ordering/ordering.ts";
import { openProof } from "../ordering/proof-store.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { adminAction, auditWhere, commandArgs, recordedActor, say, stop } from "./admin-access.ts";
import type { ResolvedAdminServices } from "./admin-services.ts";
import { formatWhen } from "./audit-flows.ts";
import { requirePermission, type Permission } from "./permissions.ts";

/** The seller-side verbs of the ordering domain; the composition root passes its `Ordering`. */
export type OrderDesk = Pick<Ordering, "approvePayment" | "rejectPayment" | "cancelOrder" | "refundOrder" | "resolveClaim" | "retryDelivery">;

export const ordersFlow = defineFlow({
  id: "admin-orders",
  audience: "seller",
  triggers: { commands: ["pesanan", "orders"] },
  help: "admin.help.orders",
  steps: {
    access: { kind: "action", action: "adminAccess", next: "browse", outcomes: { stop: "stop" } },
    browse: { kind: "action", action: "adminBrowseOrders", next: "stop", outcomes: { one: "show", stop: "stop" } },
    show: { kind: "action", action: "adminShowOrder", next: "next", outcomes: { stop: "stop" } },
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
    retry: { kind: "action", action: "adminRetryDelivery", next: "stop", outcomes: { stop: "stop" } },
    claim: { kind: "goto", flow: "admin-claims" },
    // "Selesai" answers like the other menus' (/pengaturan, /klaim "Nanti saja"): a silent end
    // would leave the buttons standing in Telegram, as if the press had not worked.
    done: { kind: "end", text: "admin.common.ok" },
    stop: { kind: "end" },
  },
});

export const approveFlow = defineFlow({
  id: "admin-order-approve",
  audience: "seller",
  triggers: { commands: ["setujui", "approve"] },
  help: "admin.help.approve",
  steps: {
    access: { kind: "action", action: "adminAccess", next: "target", outcomes: { stop: "stop" } },
    target: { kind: "action", action: "adminOrderTarget", next: "approve", outcomes: { stop: "stop" } },
    approve: { kind: "action", action: "adminApprovePayment", next: "stop", outcomes: { stop: "stop" } },
    stop: { kind: "end" },
  },
});

export const rejectFlow = defineFlow({
  id: "admin-order-reject",
  audience: "seller",
  triggers: { commands: ["tolak", "reject"] },
  help: "admin.help.reject",
  steps: {
    access: { kind: "action", action: "adminAccess", next: "target", outcomes: { stop: "stop" } },
    target: { kind: "action", action: "adminOrderTarget", next: "hasReason", outcomes: { stop: "stop" } },
    hasReason: { kind: "branch", cases: [{ when: { field: "reason", exists: true }, next: "reject" }], otherwise: "askReason" },
    askReason: { kind: "ask", text: "admin.orders.ask_reject_reason", expect: "text", min: 3, max: 500, saveAs: "reason", next: "reject" },
    reject: { kind: "action", action: "adminRejectPayment", next: "stop", outcomes: { stop: "stop" } },
    stop: { kind: "end" },
  },
});

export const cancelFlow = defineFlow({
  id: "admin-order-cancel",
  audience: "seller",
  triggers: { commands: ["batalkan", "cancelorder"] },
  help: "admin.help.cancel_order",
  steps: {
    access: { kind: "action", action: "adminAccess", next: "target", outcomes: { stop: "stop" } },
    target: { kind: "action", action: "adminOrderTarget", next: "cancel", outcomes: { stop: "stop" } },
    cancel: { kind: "action", action: "adminCancelOrder", next: "stop", outcomes: { stop: "stop" } },
    stop: { kind: "end" },
  },
});

export const refundFlow = defineFlow({
  id: "admin-order-refund",
  audience: "seller",
  triggers: { commands: ["refund"] },
  help: "admin.help.refund",
  steps: {
    access: { kind: "action", action: "adminAccess", next: "target", outcomes: { stop: "stop" } },
    target: { kind: "action", action: "adminOrderTarget", next: "refund", outcomes: { stop: "stop" } },
    refund: { kind: "action", action: "adminRefundOrder", next: "stop", outcomes: { stop: "stop" } },
    stop: { kind: "end" },
  },
});

export const claimsFlow = defineFlow({
  id: "admin-claims",
  audience: "seller",
  triggers: { commands: ["klaim", "claims"] },
  help: "admin.help.claims",
  steps: {
    access: { kind: "action", action: "adminAccess", next: "find", outcomes: { stop: "stop" } },
    find: { kind: "action", action: "adminFindClaim", next: "show", outcomes: { pick: "pick", stop: "stop" } },
    pick: { kind: "choose", text: "admin.claims.pick", source: "adminClaimChoices", saveAs: "orderCode", next: "find" },
    show: { kind: "action", action: "adminShowClaim", next: "decide", outcomes: { stop: "stop" } },
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
    resolve: { kind: "action", action: "adminResolveClaim", next: "stop", outcomes: { stop: "stop" } },
    later: { kind: "end", text: "admin.common.ok" },
    stop: { kind: "end" },
  },
});

export const orderFlows = [ordersFlow, approveFlow, rejectFlow, cancelFlow, refundFlow, claimsFlow];

export const ORDER_FLOW_PERMISSIONS: Readonly<Record<string, Permission>> = {
  "admin-orders": "orders.read",
  "admin-order-approve": "orders.approve",
  "admin-order-reject": "orders.approve",
  "admin-order-cancel": "orders.refund",
  "admin-order-refund": "orders.refund",
  "admin-claims": "orders.refund",
};

const USAGE: Record<string, string> = {
  "admin-order-approve": "admin.usage.approve",
  "admin-order-reject": "admin.usage.reject",
  "admin-order-cancel": "admin.usage.cancel_order",
  "admin-order-refund": "admin.usage.refund",
  "admin-claims": "admin.usage.claims",
  "admin-orders": "admin.usage.orders",
};

/** What a seller may type after /pesanan to filter the list. */
const LIST_WORDS: Record<string, OrderListFilter & { label: string }> = {
  cek: { awaitingApproval: true, label: "awaiting" },
  bukti: { awaitingApproval: true, label: "awaiting" },
  approval: { awaitingApproval: true, label: "awaiting" },
  menunggu: { status: "pending_payment", label: "pending_payment" },
  pending: { status: "pending_payment", label: "pending_payment" },
  dibayar: { status: "paid", label: "paid" },
  paid: { status: "paid", label: "paid" },
  terkirim: { status: "delivered", label: "delivered" },
  delivered: { status: "delivered", label: "delivered" },
  selesai: { status: "completed", label: "completed" },
  completed: { status: "completed", label: "completed" },
  kedaluwarsa: { status: "expired", label: "expired" },
  expired: { status: "expired", label: "expired" },
  batal: { status: "cancelled", label: "cancelled" },
  cancelled: { status: "cancelled", label: "cancelled" },
  ditolak: { status: "rejected", label: "rejected" },
  rejected: { status: "rejected", label: "rejected" },
  refund: { status: "refunded", label: "refunded" },
  refunded: { status: "refunded", label: "refunded" },
  masalah: { needsAttention: true, label: "attention" },
  attention: { needsAttention: true, label: "attention" },
  semua: { label: "all" },
  all: { label: "all" },
};

function statusName(locale: Locale, status: OrderStatus | "awaiting" | "attention" | "all"): string {
  switch (status) {
    case "pending_payment":
      return t(locale, "admin.orders.status.pending_payment");
    case "paid":
      return t(locale, "admin.orders.status.paid");
    case "delivered":
      return t(locale, "admin.orders.status.delivered");
    case "completed":
      return t(locale, "admin.orders.status.completed");
    case "expired":
      return t(locale, "admin.orders.status.expired");
    case "cancelled":
      return t(locale, "admin.orders.status.cancelled");
    case "rejected":
      return t(locale, "admin.orders.status.rejected");
    case "refunded":
      return t(locale, "admin.orders.status.refunded");
    case "awaiting":
      return t(locale, "admin.orders.status.awaiting");
    case "attention":
      return t(locale, "admin.orders.status.attention");
    case "all":
      return t(locale, "admin.orders.status.all");
  }
}

/** The order's state as a seller reads it: "awaiting your check" says more than "pending". */
function stateOf(locale: Locale, order: OrderView): string {
  if (order.snk.state === "claimed") return t(locale, "admin.orders.status.claimed");
  if (order.attention) return `${statusName(locale, order.status)} ⚠️`;
  if (order.status === "pending_payment" && order.payment.proofSubmittedAt) return statusName(locale, "awaiting");
  return statusName(locale, order.status);
}

interface Store {
  currency: string;
  timezone: string;
}

async function storeOf(tenantId: string): Promise<Store> {
  const store = await storeSettings(tenantId);
  return { currency: store?.currency ?? "IDR", timezone: store?.timezone ?? "Asia/Jakarta" };
}

function orderLine(locale: Locale, order: OrderView, store: Store): string {
  return t(locale, "admin.orders.line", {
    code: order.code,
    state: stateOf(locale, order),
    total: formatPrice(order.total, order.currency || store.currency, locale),
    customer: order.customer.name ?? order.customer.channelUserId,
    at: formatWhen(order.createdAt, store.timezone, locale),
  });
}

function orderDetail(locale: Locale, order: OrderView, store: Store): string {
  const when = (at: Date) => formatWhen(at, store.timezone, locale);
  const price = (amount: number) => formatPrice(amount, order.currency || store.currency, locale);
  const items = order.items.map((i) => t(locale, "admin.orders.item", { quantity: i.quantity, name: i.name, sku: i.productCode, price: price(i.unitPrice) })).join("\n");
  const facts: string[] = [];
  if (order.payment.method) {
    facts.push(t(locale, "admin.orders.fact.method", { method: renderText(methodLabel(order.payment.method), locale, i18nTexts) }));
  }
  if (order.status === "pending_payment") {
    facts.push(
      order.payment.proofSubmittedAt
        ? t(locale, "admin.orders.fact.proof_sent", { at: when(order.payment.proofSubmittedAt) })
        : t(locale, "admin.orders.fact.pay_by", { at: when(order.expiresAt) }),
    );
  }
  if (order.payment.paidAt) facts.push(t(locale, "admin.orders.fact.paid", { at: when(order.payment.paidAt), by: order.payment.approvedBy?.name ?? order.payment.approvedBy?.userId ?? order.payment.method ?? "–" }));
  if (order.deliveredAt) facts.push(t(locale, "admin.orders.fact.delivered", { at: when(order.deliveredAt) }));
  if (order.attention === "delivery_failed") facts.push(t(locale, "admin.orders.fact.delivery_failed"));
  if (order.attention === "late_payment") facts.push(t(locale, "admin.orders.fact.late_payment"));
  if (order.snk.claim) facts.push(t(locale, "admin.orders.fact.claim", { text: order.snk.claim.text }));
  if (order.closing?.reason) facts.push(t(locale, "admin.orders.fact.reason", { reason: order.closing.reason }));
  return t(locale, "admin.orders.detail", {
    code: order.code,
    state: stateOf(locale, order),
    customer: order.customer.name ?? "–",
    channel: order.customer.channel,
    customerId: order.customer.channelUserId,
    items,
    total: price(order.total),
    at: when(order.createdAt),
    facts: facts.join("\n"),
  });
}

/** The proof photo (payment receipt or claim screenshot) as a message, when the channel can show it. */
async function proofMessage(tenantId: string, code: string, kind: "payment" | "claim"): Promise<Outbound | undefined> {
  const order = await findOrderRecord(tenantId, code);
  const proofId = kind === "payment" ? order?.payment?.proof?.fileId : order?.snk?.claim?.proofFileId;
  if (!order || !proofId) return undefined;
  const proof = await openProof(order.tenantId, proofId);
  const caption = kind === "payment" ? "admin.orders.proof_caption" : "admin.claims.proof_caption";
  if (!proof) return say("admin.orders.proof_purged");
  if (proof.fileRef) return { text: { key: caption, params: { code: order.code } }, media: { type: "photo", ref: proof.fileRef } };
  return say("admin.orders.proof_not_shown", { code: order.code });
}

/** The order actions a member may take on an order in its current state. */
function possibleActions(order: OrderView): { id: string; label: string; permission: Permission }[] {
  const actions: { id: string; label: string; permission: Permission }[] = [];
  if (order.status === "pending_payment") {
    actions.push({ id: "approve", label: "admin.orders.actions.approve", permission: "orders.approve" });
    actions.push({ id: "reject", label: "admin.orders.actions.reject", permission: "orders.approve" });
    actions.push({ id: "cancel", label: "admin.orders.actions.cancel", permission: "orders.refund" });
  }
  if (order.status === "paid") {
    if (order.attention === "delivery_failed") actions.push({ id: "retry", label: "admin.orders.actions.retry", permission: "orders.approve" });
    actions.push({ id: "refund", label: "admin.orders.actions.refund", permission: "orders.refund" });
  }
  if (order.snk.state === "claimed") actions.push({ id: "claim", label: "admin.orders.actions.claim", permission: "orders.refund" });
  return actions;
}


export function orderActions(services: ResolvedAdminServices, deskOf: () => OrderDesk | undefined): ActionRegistry {
  /**
   * Runs a change through the ordering domain, or says it cannot be done in this setup. The
   * domain gets the actor as the audit log records them, with the seller's chat as `where`.
   */
  const withDesk = (permission: Permission, body: (ctx: ActionContext, actor: OrderActor, desk: OrderDesk, code: string) => Promise<ActionResult>) =>
    adminAction(services, permission, async (ctx, actor) => {
      const desk = deskOf();
      if (!desk) return stop(say("admin.orders.unavailable"));
      return body(ctx, { ...recordedActor(actor), where: auditWhere(ctx) }, desk, String(ctx.data.orderCode));
    });

  const refusedBecause = (ctx: ActionContext, code: string, result: { reason: string; status?: OrderStatus }): ActionResult =>
    result.reason === "not_found"
      ? stop(say("admin.orders.unknown", { code }))
      : stop(say("admin.orders.not_now", { code, state: result.status ? statusName(ctx.locale, result.status) : "–" }));

  return {
    adminBrowseOrders: async (ctx) => {
      const args = commandArgs(ctx);
      const word = args.toLowerCase();
      const code = args === "" ? undefined : normalizeOrderCode(args);
      if (code) return { outcome: "one", data: { orderCode: code } };
      if (args !== "" && !Object.hasOwn(LIST_WORDS, word)) return stop(say("admin.usage.orders"));
      const store = await storeOf(ctx.tenant.id);
      if (args === "") {
        const [awaiting, claims, attention] = await Promise.all([
          listOrders(ctx.tenant.id, { awaitingApproval: true }),
          listClaims(ctx.tenant.id),
          listOrders(ctx.tenant.id, { needsAttention: true }),
        ]);
        const lines = [...new Map([...awaiting, ...attention, ...claims].map((o) => [o.code, o])).values()].map((o) => orderLine(ctx.locale, o, store));
        return stop(
          say("admin.orders.todo", {
            awaiting: awaiting.length,
            claims: claims.length,
            attention: attention.length,
            lines: lines.length > 0 ? lines.join("\n") : t(ctx.locale, "admin.orders.nothing_to_do"),
          }),
        );
      }
      const { label, ...filter } = LIST_WORDS[word];
      const orders = await listOrders(ctx.tenant.id, filter);
      const title = statusName(ctx.locale, label as OrderStatus);
      if (orders.length === 0) return stop(say("admin.orders.none", { filter: title }));
      return stop(say("admin.orders.list", { filter: title, count: orders.length, lines: orders.map((o) => orderLine(ctx.locale, o, store)).join("\n") }));
    },

    adminShowOrder: adminAction(services, "orders.read", async (ctx) => {
      const code = String(ctx.data.orderCode);
      const [order, store] = await Promise.all([findOrder(ctx.tenant.id, code), storeOf(ctx.tenant.id)]);
      if (!order) return stop(say("admin.orders.unknown", { code }));
      const messages: Outbound[] = [say("admin.orders.detail_message", { detail: orderDetail(ctx.locale, order, store) })];
      if (order.payment.proofSubmittedAt && order.status === "pending_payment") {
        const proof = await proofMessage(ctx.tenant.id, order.code, "payment");
        if (proof) messages.push(proof);
      }
      const allowed: string[] = [];
      for (const action of possibleActions(order)) {
        if ((await requirePermission(ctx, action.permission, services.ownerChatIds)).allowed) allowed.push(action.id);
      }
      if (allowed.length === 0) return stop(...messages);
      return { say: messages, data: { orderCode: order.code, orderActions: allowed } };
    }),

    adminOrderChoices: async (ctx) => {
      const ids = Array.isArray(ctx.data.orderActions) ? (ctx.data.orderActions as string[]) : [];
      const labels: Record<string, string> = {
        approve: "admin.orders.actions.approve",
        reject: "admin.orders.actions.reject",
        cancel: "admin.orders.actions.cancel",
        refund: "admin.orders.actions.refund",
        retry: "admin.orders.actions.retry",
        claim: "admin.orders.actions.claim",
      };
      return { choices: [...ids.filter((id) => labels[id]).map((id) => ({ id, label: { key: labels[id] } })), { id: "done", label: { key: "admin.common.done" } }] };
    },

    /** The order a command names (`/setujui 123`), or the one chosen from /pesanan; anything after the code is the reason. */
    adminOrderTarget: async (ctx) => {
      if (typeof ctx.data.orderCode === "string") return { data: { reason: null } };
      const args = commandArgs(ctx);
      const [first, ...rest] = args.split(/\s+/);
      const code = first ? normalizeOrderCode(first) : undefined;
      if (!code) return stop(say(USAGE[ctx.flowId] ?? "admin.usage.orders"));
      const reason = rest.join(" ").trim();
      return { data: { orderCode: code, reason: reason === "" ? null : reason.slice(0, 500) } };
    },

    adminApprovePayment: withDesk("orders.approve", async (ctx, actor, desk, code) => {
      const result = await desk.approvePayment(ctx.tenant.id, code, actor);
      if (result.ok) {
        return stop(say(result.delivery === "delivered" ? "admin.orders.approved_delivered" : "admin.orders.approved_pending", { code: result.code }));
      }
      if (result.reason === "already_paid") return stop(say("admin.orders.already_paid", { code, state: statusName(ctx.locale, result.status) }));
      return refusedBecause(ctx, code, result);
    }),

    adminRejectPayment: withDesk("orders.approve", async (ctx, actor, desk, code) => {
      const reason = String(ctx.data.reason ?? "");
      const result = await desk.rejectPayment(ctx.tenant.id, code, actor, reason);
      return result.ok ? stop(say("admin.orders.rejected", { code: result.order.code, reason })) : refusedBecause(ctx, code, result);
    }),

    adminCancelOrder: withDesk("orders.refund", async (ctx, actor, desk, code) => {
      const reason = typeof ctx.data.reason === "string" ? ctx.data.reason : undefined;
      const result = await desk.cancelOrder(ctx.tenant.id, code, actor, reason);
      return result.ok ? stop(say("admin.orders.cancelled", { code: result.order.code })) : refusedBecause(ctx, code, result);
    }),

    adminRefundOrder: withDesk("orders.refund", async (ctx, actor, desk, code) => {
      const reason = typeof ctx.data.reason === "string" ? ctx.data.reason : undefined;
      const result = await desk.refundOrder(ctx.tenant.id, code, actor, reason);
      return result.ok ? stop(say("admin.orders.refunded", { code: result.order.code })) : refusedBecause(ctx, code, result);
    }),

    adminRetryDelivery: withDesk("orders.approve", async (ctx, _actor, desk, code) => {
      const result = await desk.retryDelivery(ctx.tenant.id, code);
      if (result.outcome === "delivered") return stop(say("admin.orders.retry_delivered", { code }));
      if (result.outcome === "failed") return stop(say("admin.orders.retry_failed", { code }));
      return stop(say("admin.orders.retry_skipped", { code }));
    }),

    adminFindClaim: async (ctx) => {
      if (typeof ctx.data.orderCode === "string") return {};
      const args = commandArgs(ctx);
      if (args !== "") {
        const code = normalizeOrderCode(args);
        return code ? { data: { orderCode: code } } : stop(say("admin.usage.claims"));
      }
      const claims = await listClaims(ctx.tenant.id);
      return claims.length > 0 ? { outcome: "pick" } : stop(say("admin.claims.none"));
    },

    adminClaimChoices: async (ctx) => {
      const claims = await listClaims(ctx.tenant.id);
      return {
        choices: claims.map((o) => ({
          id: o.code,
          label: { key: "admin.claims.choice", params: { code: o.code, customer: o.customer.name ?? o.customer.channelUserId, text: o.snk.claim!.text.slice(0, 40) } },
        })),
      };
    },

    adminShowClaim: adminAction(services, "orders.refund", async (ctx) => {
      const code = String(ctx.data.orderCode);
      const [order, store] = await Promise.all([findOrder(ctx.tenant.id, code), storeOf(ctx.tenant.id)]);
      if (!order) return stop(say("admin.orders.unknown", { code }));
      if (order.snk.state !== "claimed" || !order.snk.claim) return stop(say("admin.claims.not_open", { code: order.code }));
      const messages: Outbound[] = [
        say("admin.claims.detail", {
          code: order.code,
          customer: order.customer.name ?? order.customer.channelUserId,
          at: formatWhen(order.snk.claim.at, store.timezone, ctx.locale),
          text: order.snk.claim.text,
          items: order.items.map((i) => `${i.quantity}× ${i.name}`).join(", "),
        }),
      ];
      if (order.snk.claim.hasProof) {
        const proof = await proofMessage(ctx.tenant.id, order.code, "claim");
        if (proof) messages.push(proof);
      }
      return { say: messages, data: { orderCode: order.code } };
    }),

    adminResolveClaim: withDesk("orders.refund", async (ctx, actor, desk, code) => {
      const outcome = ctx.data.claimOutcome === "accepted" ? "accepted" : "refused";
      const typed = String(ctx.data.note ?? "").trim();
      const note = typed === "-" ? undefined : typed;
      const result = await desk.resolveClaim(ctx.tenant.id, code, actor, { outcome, ...(note && { note }) });
      if (!result.ok) return result.reason === "not_found" ? stop(say("admin.orders.unknown", { code })) : stop(say("admin.claims.not_open", { code }));
      return stop(say(outcome === "accepted" ? "admin.claims.accepted" : "admin.claims.refused", { code: result.order.code }));
    }),
  };
}
