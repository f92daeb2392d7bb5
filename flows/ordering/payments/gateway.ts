// The seam between an order and whoever collects the money. `manual` (bank transfer plus
// a proof the seller approves) and `simulator` (a pay page and a signed webhook) live
// beside this file; a real provider is one more implementation, registered by name.
// See "Plugging in a real provider" in the README for how one plugs in.
import type { IncomingHttpHeaders } from "node:http";
import type { StoreSettings } from "../store-settings.ts";

/** What a gateway is told about the order it should collect for. */
export interface PayableOrder {
  tenantId: string;
  orderId: string;
  /** `INV-000123`; also a good idempotency key at the provider. */
  code: string;
  /** In the currency's smallest unit. */
  amount: number;
  currency: string;
  /** The payment deadline; a provider invoice should not outlive it. */
  expiresAt: Date;
  items: { name: string; quantity: number; unitPrice: number }[];
}

/** How the customer pays: a link to open, or instructions to follow (or both). */
export interface PaymentStart {
  /** The gateway's reference for this payment (an invoice id, a virtual account). */
  reference: string;
  payUrl?: string;
  /** Text for the customer, e.g. the store's bank transfer details. */
  instructions?: string;
}

/** A payment provider's notification, verified and reduced to what ordering needs. */
export interface PaymentEvent {
  /**
   * The store the event was signed for (its tenant id), read from what the signature covers
   * (the signed body, or the invoice's metadata the provider signs) — never from the URL it
   * was posted to. Ordering refuses the event at any other store's webhook: order codes
   * repeat across stores.
   */
  tenantId: string;
  /**
   * The provider's own event id: a replayed or duplicated webhook carries the same one. It
   * pays one order on the whole platform (unique per method), so it must be the provider's,
   * not one made up per delivery.
   */
  eventId: string;
  orderCode: string;
  /** In the currency's smallest unit; must equal the order's total. */
  amount: number;
  currency: string;
  outcome: "paid" | "failed";
  reference?: string;
}

export type WebhookVerdict =
  | { ok: true; event: PaymentEvent }
  /** 401: not from the provider (bad or missing signature). 400: signed but unreadable. */
  | { ok: false; status: 400 | 401; reason: string };

export interface PaymentGateway {
  /** The method's name, as stored in orders and in the store's `paymentMethods`. */
  readonly method: string;
  /**
   * Starts collecting for an order. Called once per order and method (ordering stores the
   * answer and hands it out again on a second tap of "pay"); a provider call should still
   * pass `order.code` as its idempotency key, since a crash between the call and storing
   * its answer makes ordering ask again.
   */
  createPayment(order: PayableOrder, store: StoreSettings): Promise<PaymentStart>;
  /**
   * Checks a webhook's signature over the raw body and reads the event, including the store
   * it was signed for. Methods without webhooks (manual) leave it out. Must not change
   * anything: ordering compares the store, checks that the store offers this method and
   * holds the order, and applies the event.
   */
  verifyWebhook?(rawBody: Buffer, headers: IncomingHttpHeaders, store: StoreSettings): WebhookVerdict | Promise<WebhookVerdict>;
}

/** The gateways by method name, for `OrderingDeps.gateways`. */
export function gatewayMap(...gateways: PaymentGateway[]): ReadonlyMap<string, PaymentGateway> {
  return new Map(gateways.map((g) => [g.method, g]));
}
