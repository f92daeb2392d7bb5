// What the order flows do, step by step: read the list or one order, find the order a
// command names, and every change — through the ordering domain (`OrderDesk`), which
// moves the order exactly once, tells the customer, releases stock and writes the audit entry.
import { actionsFor, type ActionContext, type ActionRegistry, type ActionResult } from "../engine/actions.ts";
import type { Outbound } from "../engine/message.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { t } from "../../locales/i18n.ts";
import { findOrder, listClaims, listOrders, type OrderListFilter } from "../ordering/order-queries.ts";
import { normalizeOrderCode, type Actor as OrderActor, type OrderStatus } from "../ordering/order.ts";
import { adminAction, auditWhere, commandArgs, recordedActor, say, stop } from "./admin-access.ts";
import type { OrderDesk, ResolvedAdminServices } from "./admin-services.ts";
import { orderDetail, orderLine, possibleActions, proofMessage, statusName, storeOf } from "./order-details.ts";
import type { OrderData } from "./order-flows.ts";
import { requirePermission, type Permission } from "./permissions.ts";

const orderAction = actionsFor<OrderData>();

/** The labels of what can be done with an order shown (`OrderData.orderActions`). */
const ORDER_CHOICE_LABELS: Record<string, string> = {
  approve: "admin.orders.actions.approve",
  reject: "admin.orders.actions.reject",
  cancel: "admin.orders.actions.cancel",
  refund: "admin.orders.actions.refund",
  retry: "admin.orders.actions.retry",
  claim: "admin.orders.actions.claim",
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
const LIST_WORDS: Record<string, OrderListFilter & { label: OrderStatus | "awaiting" | "attention" | "all" }> = {
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

export function orderActions(services: ResolvedAdminServices, deskOf: () => OrderDesk | undefined): ActionRegistry {
  /**
   * Runs a change through the ordering domain, or says it cannot be done in this setup. The
   * domain gets the actor as the audit log records them, with the seller's chat as `where`.
   */
  const withDesk = (permission: Permission, body: (ctx: ActionContext<OrderData>, actor: OrderActor, desk: OrderDesk, code: string) => Promise<ActionResult<never, OrderData>>) =>
    orderAction(
      adminAction<OrderData>(services, permission, async (ctx, actor) => {
        const desk = deskOf();
        if (!desk) return stop(say("admin.orders.unavailable"));
        return body(ctx, { ...recordedActor(actor), where: auditWhere(ctx) }, desk, String(ctx.data.orderCode));
      }),
    );

  const refusedBecause = (ctx: ActionContext<OrderData>, code: string, result: { reason: string; status?: OrderStatus }): ActionResult<never, never> =>
    result.reason === "not_found"
      ? stop(say("admin.orders.unknown", { code }))
      : stop(say("admin.orders.not_now", { code, state: result.status ? statusName(ctx.locale, result.status) : "–" }));

  return {
    adminBrowseOrders: orderAction({ outcomes: ["one"] }, async (ctx) => {
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
      const title = statusName(ctx.locale, label);
      if (orders.length === 0) return stop(say("admin.orders.none", { filter: title }));
      return stop(say("admin.orders.list", { filter: title, count: orders.length, lines: orders.map((o) => orderLine(ctx.locale, o, store)).join("\n") }));
    }),

    adminShowOrder: orderAction(
      adminAction<OrderData>(services, "orders.read", async (ctx) => {
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
          if ((await requirePermission(ctx, action.permission, services.platformOwners)).allowed) allowed.push(action.id);
        }
        if (allowed.length === 0) return stop(...messages);
        return { say: messages, data: { orderCode: order.code, orderActions: allowed } };
      }),
    ),

    adminOrderChoices: orderAction((ctx) => {
      const ids = (ctx.data.orderActions ?? []).filter((id) => Object.hasOwn(ORDER_CHOICE_LABELS, id));
      return { choices: [...ids.map((id) => ({ id, label: { key: ORDER_CHOICE_LABELS[id] } })), { id: "done", label: { key: "admin.common.done" } }] };
    }),

    /** The order a command names (`/setujui 123`), or the one chosen from /pesanan; anything after the code is the reason. */
    adminOrderTarget: orderAction(async (ctx) => {
      if (typeof ctx.data.orderCode === "string") return { data: { reason: null } };
      const args = commandArgs(ctx);
      const [first, ...rest] = args.split(/\s+/);
      const code = first ? normalizeOrderCode(first) : undefined;
      if (!code) return stop(say(USAGE[ctx.flowId] ?? "admin.usage.orders"));
      const reason = rest.join(" ").trim();
      return { data: { orderCode: code, reason: reason === "" ? null : reason.slice(0, 500) } };
    }),

    adminApprovePayment: withDesk("orders.approve", async (ctx, actor, desk, code) => {
      const result = await desk.approvePayment(ctx.tenant.id, code, actor);
      if (result.ok) {
        return stop(say(result.delivery === "delivered" ? "admin.orders.approved_delivered" : "admin.orders.approved_pending", { code: result.code }));
      }
      if (result.reason === "already_paid") return stop(say("admin.orders.already_paid", { code, state: statusName(ctx.locale, result.status) }));
      return refusedBecause(ctx, code, result);
    }),

    adminRejectPayment: withDesk("orders.approve", async (ctx, actor, desk, code) => {
      const reason = ctx.data.reason ?? "";
      const result = await desk.rejectPayment(ctx.tenant.id, code, actor, reason);
      return result.ok ? stop(say("admin.orders.rejected", { code: result.order.code, reason })) : refusedBecause(ctx, code, result);
    }),

    adminCancelOrder: withDesk("orders.refund", async (ctx, actor, desk, code) => {
      const reason = ctx.data.reason ?? undefined;
      const result = await desk.cancelOrder(ctx.tenant.id, code, actor, reason);
      return result.ok ? stop(say("admin.orders.cancelled", { code: result.order.code })) : refusedBecause(ctx, code, result);
    }),

    adminRefundOrder: withDesk("orders.refund", async (ctx, actor, desk, code) => {
      const reason = ctx.data.reason ?? undefined;
      const result = await desk.refundOrder(ctx.tenant.id, code, actor, reason);
      return result.ok ? stop(say("admin.orders.refunded", { code: result.order.code })) : refusedBecause(ctx, code, result);
    }),

    adminRetryDelivery: withDesk("orders.approve", async (ctx, _actor, desk, code) => {
      const result = await desk.retryDelivery(ctx.tenant.id, code);
      if (result.outcome === "delivered") return stop(say("admin.orders.retry_delivered", { code }));
      if (result.outcome === "failed") return stop(say("admin.orders.retry_failed", { code }));
      return stop(say("admin.orders.retry_skipped", { code }));
    }),

    adminFindClaim: orderAction({ outcomes: ["pick"] }, async (ctx) => {
      if (typeof ctx.data.orderCode === "string") return {};
      const args = commandArgs(ctx);
      if (args !== "") {
        const code = normalizeOrderCode(args);
        return code ? { data: { orderCode: code } } : stop(say("admin.usage.claims"));
      }
      const claims = await listClaims(ctx.tenant.id);
      return claims.length > 0 ? { outcome: "pick" } : stop(say("admin.claims.none"));
    }),

    adminClaimChoices: async (ctx) => {
      const claims = await listClaims(ctx.tenant.id);
      return {
        choices: claims.map((o) => ({
          id: o.code,
          label: { key: "admin.claims.choice", params: { code: o.code, customer: o.customer.name ?? o.customer.channelUserId, text: o.snk.claim!.text.slice(0, 40) } },
        })),
      };
    },

    adminShowClaim: orderAction(
      adminAction<OrderData>(services, "orders.refund", async (ctx) => {
        const code = String(ctx.data.orderCode);
        const [order, store] = await Promise.all([findOrder(ctx.tenant.id, code), storeOf(ctx.tenant.id)]);
        if (!order) return stop(say("admin.orders.unknown", { code }));
        if (order.snk.state !== "claimed" || !order.snk.claim) return stop(say("admin.claims.not_open", { code: order.code }));
        const messages: Outbound[] = [
          say("admin.claims.detail", {
            code: order.code,
            customer: order.customer.name ?? order.customer.channelUserId,
            at: formatWhen(order.snk.claim.at, { locale: ctx.locale, timeZone: store.timezone, style: "compact" }),
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
    ),

    adminResolveClaim: withDesk("orders.refund", async (ctx, actor, desk, code) => {
      const outcome = ctx.data.claimOutcome === "accepted" ? "accepted" : "refused";
      const typed = (ctx.data.note ?? "").trim();
      const note = typed === "-" ? undefined : typed;
      const result = await desk.resolveClaim(ctx.tenant.id, code, actor, { outcome, ...(note && { note }) });
      if (!result.ok) return result.reason === "not_found" ? stop(say("admin.orders.unknown", { code })) : stop(say("admin.claims.not_open", { code }));
      return stop(say(outcome === "accepted" ? "admin.claims.accepted" : "admin.claims.refused", { code: result.order.code }));
    }),
  };
}
