// "My orders": the customer's own orders with their status, one shown by its code, and
// what can be done with it now — pay (or send the transfer proof), cancel while unpaid,
// and during the SNK window confirm or claim with a screenshot.
//
// Every lookup pins the customer as well as the store: someone else's order code gets
// exactly the answer a code that does not exist gets.
import { t } from "../../locales/i18n.ts";
import { actionsFor, type ActionRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { ChoiceView, InboundMedia, Locale } from "../engine/message.ts";
import { formatPrice } from "./catalog.ts";
import { proofFrom, type CheckoutData } from "./checkout-flows.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { customerOf, say, saying, unavailable, type ResolvedFlowServices } from "./flow-services.ts";
import { cancelMyOrder } from "./order-cancellation.ts";
import { findMyOrder, listMyOrders } from "./order-queries.ts";
import { normalizeOrderCode, type OrderView } from "./order.ts";
import { confirmOrder } from "./snk.ts";
import { storeSettings } from "./store-settings.ts";

/** How many of a customer's orders the list offers (newest first). */
const LISTED_ORDERS = 30;

/** What "my orders" keeps; paying hands `orderCode` and a fresh payment over to checkout. */
export type MyOrdersData = Pick<CheckoutData, "orderCode" | "method" | "payUrl" | "snkAnswer" | "proofPhoto"> & {
  commandArgs?: string | null;
  viewCode?: string | null;
  orderAction?: string | null;
  claimText?: string | null;
  claimPhoto?: InboundMedia | null;
};

const myOrdersAction = actionsFor<MyOrdersData>();

export const myOrdersFlow = defineFlow<MyOrdersData>()({
  id: "my-orders",
  triggers: { commands: ["pesanansaya", "myorders"], keywords: { id: ["pesanan saya", "pesananku"], en: ["my orders"] } },
  help: "ordering.help.my_orders",
  steps: {
    open: { kind: "action", action: "openMyOrders", next: "list", outcomes: { byCode: "show", empty: "stop" } },
    list: {
      kind: "choose",
      text: "ordering.my_orders.list",
      source: "myOrderChoices",
      pageSize: 5,
      choices: [
        { id: "find", label: "ordering.my_orders.find", next: "askCode" },
        { id: "menu", label: "catalog.main_menu", next: "toMenu" },
      ],
      saveAs: "viewCode",
      next: "show",
    },
    askCode: { kind: "ask", text: "ordering.my_orders.ask_code", expect: "text", max: 40, saveAs: "viewCode", next: "show" },
    show: { kind: "action", action: "showMyOrder", next: "actions", outcomes: { notFound: "stop" } },
    actions: {
      kind: "choose",
      text: "ordering.my_orders.what_next",
      source: "myOrderActionChoices",
      choices: [
        { id: "list", label: "ordering.my_orders.back_to_list", next: "open" },
        { id: "menu", label: "catalog.main_menu", next: "toMenu" },
      ],
      saveAs: "orderAction",
      next: "route",
    },
    route: {
      kind: "branch",
      cases: [
        { when: { field: "orderAction", equals: "pay" }, next: "pay" },
        { when: { field: "orderAction", equals: "cancel" }, next: "confirmCancel" },
        { when: { field: "orderAction", equals: "confirm" }, next: "confirm" },
        { when: { field: "orderAction", equals: "claim" }, next: "claimText" },
      ],
      otherwise: "stop",
    },
    pay: { kind: "action", action: "resumePayment", next: "toPayment", outcomes: { unavailable: "stop" } },
    toPayment: { kind: "goto", flow: "checkout", step: "method" },
    confirmCancel: {
      kind: "choose",
      text: "ordering.my_orders.cancel_confirm",
      choices: [
        { id: "yes", label: "ordering.my_orders.cancel_yes", next: "cancel" },
        { id: "no", label: "ordering.my_orders.cancel_no", next: "show" },
      ],
    },
    cancel: { kind: "action", action: "cancelMine", next: "stop" },
    confirm: { kind: "action", action: "confirmMine", next: "stop" },
    claimText: { kind: "ask", text: "ordering.claim.ask_text", expect: "text", min: 5, max: 2000, saveAs: "claimText", next: "claimShot", maxAttempts: 5 },
    claimShot: {
      kind: "ask",
      text: "ordering.claim.ask_screenshot",
      expect: "photo",
      reask: "ordering.claim.screenshot_reask",
      saveAs: "claimPhoto",
      next: "claim",
      maxAttempts: 5,
    },
    claim: { kind: "action", action: "claimMine", next: "stop", outcomes: { retry: "claimShot", unavailable: "stop" } },
    toMenu: { kind: "goto", flow: "welcome" },
    stop: { kind: "end" },
  },
});

function statusText(locale: Locale, order: OrderView): string {
  return t(locale, `ordering.status.${order.status}`);
}

function itemsOf(order: OrderView, locale: Locale): string {
  return order.items
    .map((item) => t(locale, "ordering.my_orders.item_line", { name: item.name, quantity: item.quantity, price: formatPrice(item.unitPrice * item.quantity, order.currency, locale) }))
    .join("\n");
}

function shortItems(order: OrderView): string {
  const [first, ...rest] = order.items;
  if (!first) return "";
  return rest.length === 0 ? `${first.name} ×${first.quantity}` : `${first.name} ×${first.quantity} +${rest.length}`;
}

/** The SNK window is open for an answer now. */
function answerable(order: OrderView, now: Date): boolean {
  return order.status === "delivered" && order.snk.state === "open" && (order.snk.windowEndsAt?.getTime() ?? 0) > now.getTime();
}

/** What the customer should know about where an order stands, beyond its status. */
function stateLine(order: OrderView, locale: Locale, timeZone: string, now: Date): string {
  const when = (at: Date) => formatWhen(at, { locale, timeZone });
  if (order.status === "pending_payment") {
    return order.payment.proofSubmittedAt ? t(locale, "ordering.my_orders.state.awaiting_approval") : t(locale, "ordering.my_orders.state.pay_before", { deadline: when(order.expiresAt) });
  }
  if (order.status === "paid") return t(locale, "ordering.my_orders.state.delivering");
  if (answerable(order, now)) return t(locale, "ordering.my_orders.state.snk_open", { windowEnds: when(order.snk.windowEndsAt!) });
  if (order.snk.state === "claimed") return t(locale, "ordering.my_orders.state.claimed");
  if (order.snk.claim?.resolution) return t(locale, `ordering.my_orders.state.claim_${order.snk.claim.resolution.outcome}`);
  return "";
}

/** The code as the customer should see it echoed: the stored form when it is one, else what they typed (trimmed, shortened). */
function shownCode(typed: string): string {
  return normalizeOrderCode(typed) ?? typed.trim().slice(0, 40);
}

export function myOrdersActions(services: ResolvedFlowServices): ActionRegistry {
  return {
    openMyOrders: myOrdersAction({ outcomes: ["byCode", "empty"] }, async (ctx) => {
      const args = (ctx.data.commandArgs ?? "").trim();
      // `/pesanansaya INV-000123` shows that order straight away.
      if (args) return { data: { commandArgs: null, viewCode: args }, outcome: "byCode" };
      const orders = await listMyOrders(ctx.tenant.id, customerOf(ctx), { limit: 1 });
      return orders.length === 0 ? saying("empty", say("ordering.my_orders.none")) : { data: { viewCode: null, orderAction: null } };
    }),

    async myOrderChoices(ctx) {
      const orders = await listMyOrders(ctx.tenant.id, customerOf(ctx), { limit: LISTED_ORDERS });
      const choices: ChoiceView[] = orders.map((order) => ({
        id: order.code,
        label: {
          key: "ordering.my_orders.choice",
          params: { code: order.code, items: shortItems(order), total: formatPrice(order.total, order.currency, ctx.locale), status: statusText(ctx.locale, order) },
        },
      }));
      return { choices };
    },

    showMyOrder: myOrdersAction({ outcomes: ["notFound"] }, async (ctx) => {
      const typed = ctx.data.viewCode ?? "";
      const [order, store] = await Promise.all([findMyOrder(ctx.tenant.id, customerOf(ctx), typed), storeSettings(ctx.tenant.id)]);
      if (!order) return saying("notFound", say("ordering.my_orders.not_found", { code: shownCode(typed) }));
      const now = new Date();
      const timeZone = store?.timezone ?? "Asia/Jakarta";
      return {
        data: { viewCode: order.code, orderAction: null },
        say: [
          say("ordering.my_orders.detail", {
            code: order.code,
            status: statusText(ctx.locale, order),
            items: itemsOf(order, ctx.locale),
            total: formatPrice(order.total, order.currency, ctx.locale),
            createdAt: formatWhen(order.createdAt, { locale: ctx.locale, timeZone }),
            state: stateLine(order, ctx.locale, timeZone, now),
          }),
        ],
      };
    }),

    myOrderActionChoices: myOrdersAction(async (ctx) => {
      const order = await findMyOrder(ctx.tenant.id, customerOf(ctx), ctx.data.viewCode ?? "");
      const choices: ChoiceView[] = [];
      if (order?.status === "pending_payment" && !order.payment.proofSubmittedAt) {
        choices.push({ id: "pay", label: { key: "ordering.my_orders.pay" } }, { id: "cancel", label: { key: "ordering.my_orders.cancel" } });
      }
      if (order && answerable(order, new Date())) {
        choices.push({ id: "confirm", label: { key: "ordering.my_orders.confirm" } }, { id: "claim", label: { key: "ordering.my_orders.claim" } });
      }
      return { choices };
    }),

    resumePayment: myOrdersAction({ outcomes: ["unavailable"] }, (ctx) => {
      if (!services.ordering()) return unavailable();
      // The checkout's payment step works on `orderCode`; a method is picked again.
      return { data: { orderCode: ctx.data.viewCode ?? "", method: null, payUrl: null, snkAnswer: null, proofPhoto: null } };
    }),

    cancelMine: myOrdersAction(async (ctx) => {
      const code = ctx.data.viewCode ?? "";
      const cancelled = await cancelMyOrder(ctx.tenant.id, customerOf(ctx), code);
      if (cancelled.ok) return { say: [say("ordering.my_orders.cancelled", { code })] };
      if (cancelled.reason === "not_found") return { say: [say("ordering.my_orders.not_found", { code })] };
      return { say: [say("ordering.my_orders.cannot_cancel", { code, status: t(ctx.locale, `ordering.status.${cancelled.status}`) })] };
    }),

    confirmMine: myOrdersAction(async (ctx) => {
      const code = ctx.data.viewCode ?? "";
      const confirmed = await confirmOrder(ctx.tenant.id, customerOf(ctx), code);
      if (confirmed.ok) return { say: [say("ordering.my_orders.confirmed", { code })] };
      return { say: [say(`ordering.snk_answer.${confirmed.reason}`, { code })] };
    }),

    claimMine: myOrdersAction({ outcomes: ["retry", "unavailable"] }, async (ctx) => {
      const ordering = services.ordering();
      if (!ordering) return unavailable();
      const code = ctx.data.viewCode ?? "";
      const proof = await proofFrom(ctx, services, ctx.data.claimPhoto);
      const data = { claimPhoto: null };
      if (!proof) return { data, ...saying("retry", say("ordering.claim.screenshot_reask")) };
      const claimed = await ordering.claimOrder(ctx.tenant.id, customerOf(ctx), code, { text: ctx.data.claimText ?? "", proof });
      if (claimed.ok) return { data: { ...data, claimText: null }, say: [say("ordering.claim.sent", { code })] };
      if (claimed.reason === "too_large") return { data, ...saying("retry", say("ordering.checkout.proof_too_large")) };
      if (claimed.reason === "claim_text_invalid") return { data, say: [say("ordering.claim.text_invalid", { max: claimed.max })] };
      return { data, say: [say(`ordering.snk_answer.${claimed.reason}`, { code })] };
    }),
  };
}
