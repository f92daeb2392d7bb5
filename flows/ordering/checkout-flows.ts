// Buying one product: quantity (bounded by live stock and the per-order maximum) → the
// store's SNK → summary → payment method → the order is placed and its payment started
// → manual: transfer instructions and the proof photo; a gateway: the pay link, and the
// goods arrive in the chat on their own (the ordering domain's outbox).
//
// Reached from the catalog's "Buy" (data: `productCode`, `product`) and from "my orders"
// to pay an open order (data: `orderCode`, entering at `method`). Nothing is reserved
// until the customer picks a payment method: a product hidden or sold out before then
// is a clear refusal, not a held item.
import { t } from "../../locales/i18n.ts";
import { actionsFor, END, type ActionContext, type ActionRegistry, type ActionResult, type ValidatorRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { ChoiceView, InboundMedia, Outbound } from "../engine/message.ts";
import { findCatalogEntry, formatPrice } from "./catalog.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { customerOf, say, saying, unavailable, type ResolvedFlowServices } from "./flow-services.ts";
import { cancelMyOrder } from "./order-cancellation.ts";
import { findMyOrder } from "./order-queries.ts";
import type { OrderStatus } from "./order.ts";
import type { Ordering } from "./ordering.ts";
import type { PaymentDetails } from "./payments/payment-start.ts";
import type { PlaceOrderRefusal } from "./place-order.ts";
import { MAX_PROOF_BYTES, type ProofInput } from "./proof-store.ts";
import { storeSettings, type StoreSettings } from "./store-settings.ts";

/** Payment methods with their own label; any other (a real provider) shows its name. */
const LABELLED_METHODS = new Set(["manual", "simulator"]);

/**
 * What checkout keeps in the conversation. The catalog hands over `productCode` and
 * `product`; "my orders" hands over `orderCode` to pay an open order.
 */
/** A product as the catalog shows it, and as checkout reads its name. */
export interface ShownProduct {
  code: string;
  name: string;
  description: string;
  about: string;
  price: string;
  available: number;
  stock: string;
}

export type CheckoutData = {
  productCode?: string;
  product?: Partial<ShownProduct>;
  orderCode?: string | null;
  quantity?: number | null;
  maxQuantity?: number | null;
  snkText?: string | null;
  snkAnswer?: string | null;
  method?: string | null;
  payUrl?: string | null;
  proofPhoto?: InboundMedia | null;
  payAction?: string;
};

const checkoutAction = actionsFor<CheckoutData>();

export const checkoutFlow = defineFlow<CheckoutData>()({
  id: "checkout",
  idleTimeout: "2h",
  steps: {
    begin: { kind: "action", action: "beginCheckout", next: "quantity", outcomes: { single: "terms", unavailable: "stop" } },
    quantity: {
      kind: "ask",
      text: "ordering.checkout.ask_quantity",
      expect: "integer",
      validator: "orderQuantity",
      saveAs: "quantity",
      next: "terms",
      maxAttempts: 5,
    },
    terms: { kind: "action", action: "loadTerms", next: "summary", outcomes: { ask: "snk" } },
    snk: {
      kind: "choose",
      text: "ordering.checkout.snk",
      choices: [
        { id: "accept", label: "ordering.checkout.snk_accept", next: "afterTerms" },
        { id: "decline", label: "ordering.checkout.snk_decline", next: "declined" },
      ],
      saveAs: "snkAnswer",
    },
    afterTerms: { kind: "branch", cases: [{ when: { field: "orderCode", exists: true }, next: "pay" }], otherwise: "summary" },
    declined: { kind: "end", text: "ordering.checkout.snk_declined" },
    summary: { kind: "action", action: "summarizeOrder", next: "method", outcomes: { fewer: "quantity", unavailable: "stop" } },
    method: {
      kind: "choose",
      text: "ordering.checkout.pick_method",
      source: "paymentMethodChoices",
      choices: [{ id: "cancel", label: "ordering.checkout.cancel", next: "cancelRoute" }],
      saveAs: "method",
      next: "place",
    },
    cancelRoute: { kind: "branch", cases: [{ when: { field: "orderCode", exists: true }, next: "leftOpen" }], otherwise: "cancelled" },
    cancelled: { kind: "end", text: "ordering.checkout.cancelled" },
    leftOpen: { kind: "end", text: "ordering.checkout.left_open" },
    place: { kind: "action", action: "placeCustomerOrder", next: "pay", outcomes: { fewer: "quantity", unavailable: "stop" } },
    pay: {
      kind: "action",
      action: "startOrderPayment",
      next: "linkWait",
      outcomes: { manual: "proof", pending: "linkWait", method: "method", terms: "terms", unavailable: "stop" },
    },
    proof: {
      kind: "ask",
      text: "ordering.checkout.ask_proof",
      expect: "photo",
      reask: "ordering.checkout.proof_reask",
      saveAs: "proofPhoto",
      next: "submitProof",
      maxAttempts: 5,
      onMaxAttempts: "proofLater",
    },
    proofLater: { kind: "end", text: "ordering.checkout.proof_later" },
    submitProof: { kind: "action", action: "submitProof", next: "awaitingApproval", outcomes: { retry: "proof", unavailable: "stop" } },
    awaitingApproval: { kind: "end", text: "ordering.checkout.proof_received" },
    linkWait: {
      kind: "choose",
      text: "ordering.checkout.after_link",
      source: "paymentWaitChoices",
      choices: [
        { id: "check", label: "ordering.checkout.check_payment", next: "check" },
        { id: "cancelOrder", label: "ordering.checkout.cancel_order", next: "cancelOrder" },
        { id: "menu", label: "catalog.main_menu", next: "toMenu" },
      ],
      saveAs: "payAction",
      next: "simulate",
    },
    simulate: { kind: "action", action: "simulatePayment", next: "stop", outcomes: { pending: "linkWait", unavailable: "stop" } },
    check: { kind: "action", action: "checkPayment", next: "stop", outcomes: { pending: "linkWait" } },
    cancelOrder: { kind: "action", action: "cancelCheckoutOrder", next: "stop" },
    toMenu: { kind: "goto", flow: "welcome" },
    stop: { kind: "end" },
  },
});

/** What a refused order tells the customer, and where the conversation goes next. */
function refusalOf(refusal: PlaceOrderRefusal, name: string): ActionResult<"fewer", CheckoutData> {
  switch (refusal.reason) {
    case "store_unavailable":
      return saying(END, say("ordering.refused.store_unavailable"));
    case "customer_blocked":
      return saying(END, say("ordering.refused.customer_blocked"));
    case "too_many_open_orders":
      return saying(END, say("ordering.refused.too_many_open_orders", { limit: refusal.limit }));
    case "product_unavailable":
      return saying(END, say("ordering.refused.product_unavailable", { name }));
    case "sold_out":
      return saying(END, say("ordering.refused.sold_out", { name }));
    case "not_enough_stock":
      return { say: [say("ordering.refused.not_enough_stock", { name, available: refusal.available })], outcome: "fewer", data: { maxQuantity: refusal.available } };
    case "quantity_invalid":
      return { say: [say("ordering.refused.quantity_invalid", { max: refusal.max })], outcome: "fewer", data: { maxQuantity: refusal.max } };
  }
}

function productName(ctx: ActionContext<CheckoutData>): string {
  return ctx.data.product?.name ?? ctx.data.productCode ?? "";
}

/** The store's methods this platform can actually take (a method without a gateway is not offered). */
export function usableMethods(store: StoreSettings, ordering: Ordering): string[] {
  return store.ordering.paymentMethods.filter((method) => ordering.deps.gateways?.has(method));
}

export function methodLabel(method: string): ChoiceView["label"] {
  return LABELLED_METHODS.has(method) ? { key: `ordering.method.${method}` } : { key: "ordering.method.other", params: { method } };
}

/** Transfer instructions or the pay link, for a started payment. */
function paymentMessage(payment: PaymentDetails, code: string, store: StoreSettings, ctx: ActionContext): Outbound {
  const params = {
    code,
    amount: formatPrice(payment.amount, payment.currency, ctx.locale),
    deadline: formatWhen(payment.expiresAt, { locale: ctx.locale, timeZone: store.timezone }),
    instructions: payment.instructions ?? "",
    payUrl: payment.payUrl ?? "",
  };
  if (payment.method === "manual") return say(payment.instructions ? "ordering.checkout.transfer" : "ordering.checkout.transfer_ask_seller", params);
  return say(payment.payUrl ? "ordering.checkout.pay_link" : "ordering.checkout.pay_instructions", params);
}

/** A customer's file (proof, screenshot) as the domain stores it: the reference, and the bytes when they can be fetched. */
export async function proofFrom(
  ctx: Pick<ActionContext, "tenant" | "channel" | "log">,
  services: ResolvedFlowServices,
  media: InboundMedia | null | undefined,
): Promise<ProofInput | undefined> {
  if (!media?.fileRef) return undefined;
  const proof: ProofInput = { fileRef: media.fileRef, ...(media.mimeType !== undefined && { mimeType: media.mimeType }) };
  if (services.files) {
    try {
      proof.bytes = await services.files.fetchFile({ tenantId: ctx.tenant.id, channel: ctx.channel }, media.fileRef, { maxBytes: MAX_PROOF_BYTES });
    } catch (error) {
      // The reference alone still lets the seller open it through the channel.
      ctx.log.warn("a customer's file could not be fetched; keeping its reference only", { error: (error as Error).name });
    }
  }
  return proof;
}

/** Where an order stands after "pay": what to tell the customer, and whether to keep waiting. */
async function paymentState(ctx: Pick<ActionContext, "tenant" | "channel" | "user" | "chatId" | "locale">, code: string): Promise<ActionResult<"pending", never>> {
  const order = await findMyOrder(ctx.tenant.id, customerOf(ctx), code);
  if (!order) return saying(END, say("ordering.my_orders.not_found", { code }));
  const status: OrderStatus = order.status;
  switch (status) {
    case "pending_payment":
      return saying("pending", say("ordering.checkout.not_paid_yet", { code, payUrl: order.payment.payUrl ?? "" }));
    case "paid":
      return { say: [say("ordering.checkout.paid_delivering", { code })] };
    case "delivered":
    case "completed":
      return { say: [say("ordering.checkout.paid_delivered", { code })] };
    default:
      return saying(END, say("ordering.checkout.order_closed", { code, status: t(ctx.locale, `ordering.status.${status}`) }));
  }
}

export function checkoutActions(services: ResolvedFlowServices): ActionRegistry {
  return {
    beginCheckout: checkoutAction({ outcomes: ["single", "unavailable"] }, async (ctx) => {
      const ordering = services.ordering();
      // A fresh checkout: nothing from an earlier one (or from "my orders") carries over.
      const data = { orderCode: null, quantity: null, maxQuantity: null, method: null, snkAnswer: null, snkText: null, payUrl: null, proofPhoto: null };
      if (!ordering) return { ...unavailable(), data };
      const name = productName(ctx);
      const orderable = await ordering.orderableQuantity(ctx.tenant.id, ctx.data.productCode ?? "");
      if (!orderable.ok) {
        return { data, ...saying(END, say(orderable.reason === "sold_out" ? "ordering.refused.sold_out" : "ordering.refused.product_unavailable", { name })) };
      }
      if (orderable.max === 1) {
        // One because it is the last one, or because the store sells one per order: say which.
        const why = orderable.available === 1 ? "ordering.checkout.only_one_left" : "ordering.checkout.only_one";
        return { data: { ...data, quantity: 1, maxQuantity: 1 }, outcome: "single", say: [say(why, { name })] };
      }
      return { data: { ...data, maxQuantity: orderable.max } };
    }),

    loadTerms: checkoutAction({ outcomes: ["ask"] }, async (ctx) => {
      const store = await storeSettings(ctx.tenant.id);
      const snkText = store?.ordering.snkText.trim() ?? "";
      if (!snkText) return { data: { snkText: null } };
      // Back here for a smaller quantity: the very terms accepted in this checkout stand.
      if (ctx.data.snkAnswer === "accept" && ctx.data.snkText === snkText) return {};
      return { data: { snkText }, outcome: "ask" };
    }),

    summarizeOrder: checkoutAction({ outcomes: ["fewer", "unavailable"] }, async (ctx) => {
      const ordering = services.ordering();
      if (!ordering) return unavailable();
      const quantity = Number(ctx.data.quantity);
      const [entry, store] = await Promise.all([findCatalogEntry(ctx.tenant.id, ctx.data.productCode ?? ""), storeSettings(ctx.tenant.id)]);
      const name = entry?.name ?? productName(ctx);
      if (!entry || !store?.active) return saying(END, say("ordering.refused.product_unavailable", { name }));
      if (entry.available === 0) return saying(END, say("ordering.refused.sold_out", { name }));
      if (entry.available < quantity) {
        return { say: [say("ordering.refused.not_enough_stock", { name, available: entry.available })], outcome: "fewer", data: { maxQuantity: entry.available } };
      }
      if (usableMethods(store, ordering).length === 0) return saying(END, say("ordering.checkout.no_methods"));
      const price = (amount: number) => formatPrice(amount, store.currency, ctx.locale);
      return {
        say: [
          say("ordering.checkout.summary", {
            name,
            quantity,
            price: price(entry.price),
            subtotal: price(entry.price * quantity),
            total: price(entry.price * quantity),
          }),
        ],
      };
    }),

    async paymentMethodChoices(ctx) {
      const ordering = services.ordering();
      const store = await storeSettings(ctx.tenant.id);
      const methods = ordering && store ? usableMethods(store, ordering) : [];
      return { choices: methods.map((method) => ({ id: method, label: methodLabel(method) })) };
    },

    placeCustomerOrder: checkoutAction({ outcomes: ["fewer", "unavailable"] }, async (ctx) => {
      const ordering = services.ordering();
      if (!ordering) return unavailable();
      // Paying an order placed earlier ("my orders", or the store's terms changed mid-way).
      if (ctx.data.orderCode) return {};
      const placed = await ordering.placeOrder({
        tenantId: ctx.tenant.id,
        customer: customerOf(ctx),
        items: [{ productCode: ctx.data.productCode ?? "", quantity: Number(ctx.data.quantity) }],
        snkAccepted: ctx.data.snkAnswer === "accept",
      });
      if (!placed.ok) return refusalOf(placed, productName(ctx));
      ctx.log.info("order placed in chat", { orderCode: placed.order.code });
      return { data: { orderCode: placed.order.code } };
    }),

    startOrderPayment: checkoutAction({ outcomes: ["manual", "pending", "method", "terms", "unavailable"] }, async (ctx) => {
      const ordering = services.ordering();
      if (!ordering) return unavailable();
      const code = ctx.data.orderCode ?? "";
      const method = ctx.data.method ?? "";
      const customer = customerOf(ctx);
      let started = await ordering.startPayment(ctx.tenant.id, customer, code, method);
      if (!started.ok && started.reason === "snk_not_accepted" && ctx.data.snkAnswer === "accept") {
        await ordering.acceptSnk(ctx.tenant.id, customer, code);
        started = await ordering.startPayment(ctx.tenant.id, customer, code, method);
      }
      if (!started.ok) {
        switch (started.reason) {
          case "method_unavailable":
            return saying("method", say("ordering.checkout.method_gone"));
          case "snk_not_accepted":
            return saying("terms", say("ordering.checkout.snk_changed"));
          case "awaiting_approval":
            return saying(END, say("ordering.checkout.proof_already_sent", { code }));
          case "not_found":
          case "not_pending":
            return paymentState(ctx, code);
        }
      }
      const store = await storeSettings(ctx.tenant.id);
      const message = paymentMessage(started.payment, code, store!, ctx);
      const data = { payUrl: started.payment.payUrl ?? null };
      return started.payment.method === "manual" ? { data, say: [message], outcome: "manual" } : { data, say: [message] };
    }),

    submitProof: checkoutAction({ outcomes: ["retry", "unavailable"] }, async (ctx) => {
      const ordering = services.ordering();
      if (!ordering) return unavailable();
      const code = ctx.data.orderCode ?? "";
      const proof = await proofFrom(ctx, services, ctx.data.proofPhoto);
      // The photo's reference lives on sealed in the proof store, not in the conversation.
      const data = { proofPhoto: null };
      if (!proof) return { data, ...saying("retry", say("ordering.checkout.proof_reask")) };
      const submitted = await ordering.submitPaymentProof(ctx.tenant.id, customerOf(ctx), code, proof);
      if (submitted.ok) return { data };
      switch (submitted.reason) {
        case "too_large":
          return { data, ...saying("retry", say("ordering.checkout.proof_too_large")) };
        case "empty":
          return { data, ...saying("retry", say("ordering.checkout.proof_reask")) };
        case "method_unavailable":
          return { data, ...saying(END, say("ordering.checkout.method_gone_after")) };
        case "not_found":
        case "not_pending":
          return { data, ...(await paymentState(ctx, code)), outcome: END };
      }
    }),

    paymentWaitChoices(ctx) {
      const offerSimulation = services.simulatePayment !== undefined && ctx.data.method === "simulator";
      return { choices: offerSimulation ? [{ id: "simulate", label: { key: "ordering.checkout.simulate_pay" } }] : [] };
    },

    simulatePayment: checkoutAction({ outcomes: ["pending", "unavailable"] }, async (ctx) => {
      if (!services.simulatePayment) return unavailable();
      const code = ctx.data.orderCode ?? "";
      const paid = await services.simulatePayment({ tenantId: ctx.tenant.id, orderCode: code, payUrl: ctx.data.payUrl ?? "" });
      if (!paid) return saying("pending", say("ordering.checkout.simulation_failed"));
      return paymentState(ctx, code);
    }),

    checkPayment: checkoutAction({ outcomes: ["pending"] }, (ctx) => paymentState(ctx, ctx.data.orderCode ?? "")),

    cancelCheckoutOrder: checkoutAction(async (ctx) => {
      const code = ctx.data.orderCode ?? "";
      const cancelled = await cancelMyOrder(ctx.tenant.id, customerOf(ctx), code);
      if (cancelled.ok) return { say: [say("ordering.my_orders.cancelled", { code })] };
      if (cancelled.reason === "not_found") return { say: [say("ordering.my_orders.not_found", { code })] };
      return { say: [say("ordering.my_orders.cannot_cancel", { code, status: t(ctx.locale, `ordering.status.${cancelled.status}`) })] };
    }),
  };
}

export function checkoutValidators(services: ResolvedFlowServices): ValidatorRegistry {
  return {
    /** The quantity within what one order may take right now: live stock and the per-order maximum. */
    async orderQuantity(value, ctx: ActionContext<CheckoutData>) {
      const quantity = Number(value);
      const ordering = services.ordering();
      if (!ordering) return { ok: false, reask: { key: "ordering.unavailable" } };
      const name = productName(ctx);
      const orderable = await ordering.orderableQuantity(ctx.tenant.id, ctx.data.productCode ?? "");
      if (!orderable.ok) {
        return { ok: false, reask: { key: orderable.reason === "sold_out" ? "ordering.checkout.sold_out_now" : "ordering.checkout.gone_now", params: { name } } };
      }
      const max = orderable.max;
      if (quantity < 1) return { ok: false, reask: { key: "ordering.checkout.quantity_range", params: { max } } };
      if (quantity > orderable.available) return { ok: false, reask: { key: "ordering.checkout.quantity_over_stock", params: { available: orderable.available, max } } };
      if (quantity > max) return { ok: false, reask: { key: "ordering.checkout.quantity_over_max", params: { max } } };
      return { ok: true, value: quantity };
    },
  };
}
