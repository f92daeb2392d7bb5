// Payment providers calling the platform back: `POST /payments/<method>/<tenant slug>`.
// The gateway checks the signature; ordering checks that the event is for this store, a
// method it offers and an order it holds, checks the amount, and applies the event through
// the same idempotent `markPaid` → `deliverOrder` path as a seller's approval.
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyPluginAsync } from "fastify";
import { UNAUTHENTICATED } from "../../engine/index.ts";
import { deliverOrder, markPaid } from "../delivery.ts";
import { Order, normalizeOrderCode } from "../order.ts";
import { emit, logOf, type OrderingDeps } from "../ordering-deps.ts";
import { storeSettingsBySlug } from "../store-settings.ts";
import { claimProviderEvent } from "./provider-events.ts";
import { simulatorPayPage } from "./simulator-page.ts";
import type { SimulatorGateway } from "./simulator.ts";

/** Webhook bodies are small JSON documents; anything larger is not from a provider. */
const MAX_WEBHOOK_BYTES = 64 * 1024;

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Applies one provider webhook. An unknown method or store and a bad signature get one and
 * the same 401 (nothing happens, and nothing tells which stores exist). A correctly signed
 * event is answered 400 when unreadable, 422 when it was signed for another store or its
 * amount or currency differs from the order's, 403 when the store does not offer the
 * method (and the order's payment was not started with it), 404 when the store holds no such order, 409 when its event id already paid
 * another order — nothing happens in each case — and 200 otherwise, including a replay or
 * a duplicate, which changes nothing, and a payment for an order that already expired,
 * which the seller is alerted to.
 */
export async function receivePaymentWebhook(deps: OrderingDeps, method: string, tenantSlug: string, rawBody: Buffer, headers: IncomingHttpHeaders): Promise<WebhookAnswer> {
  const log = logOf(deps);
  const gateway = deps.gateways?.get(method);
  const store = gateway?.verifyWebhook ? await storeSettingsBySlug(tenantSlug) : undefined;
  if (!gateway?.verifyWebhook || !store) {
    log.warn("payment webhook refused", { method, store: tenantSlug, reason: "unknown method or store" });
    return UNAUTHENTICATED;
  }
  const verdict = await gateway.verifyWebhook(rawBody, headers, store);
  if (!verdict.ok) {
    log.warn("payment webhook refused", { method, store: tenantSlug, reason: verdict.reason });
    return verdict.status === 400 ? { status: 400, body: { error: verdict.reason } } : UNAUTHENTICATED;
  }
  const event = verdict.event;
  const refuse = (status: number, error: string): WebhookAnswer => {
    log.warn("payment webhook refused", { method, store: store.slug, eventId: event.eventId, orderCode: event.orderCode, reason: error });
    return { status, body: { error } };
  };
  if (event.tenantId !== String(store.tenantId)) return refuse(422, "the event was signed for another store");
  const code = normalizeOrderCode(event.orderCode);
  const order = code ? await Order.findOne({ tenantId: store.tenantId, code }, { total: 1, currency: 1, code: 1, payment: 1 }).lean().exec() : null;
  // A store that stopped offering a method still takes the payments its customers had
  // already started with it: the money may have moved.
  const offered = store.ordering.paymentMethods.includes(method) || order?.payment?.method === method;
  if (!offered) return refuse(403, `this store does not take ${method} payments`);
  if (!order) return refuse(404, "unknown order");
  if (event.outcome !== "paid") {
    log.info("payment failed at the provider", { method, orderCode: order.code });
    // A replayed failure is one failure: runs of failures are counted per event.
    const claim = await claimProviderEvent({ tenantId: store.tenantId, method, eventId: event.eventId, orderId: order._id });
    if (claim === "new") emit(deps, { type: "payment_failed", tenantId: String(store.tenantId), orderCode: order.code, gateway: method });
    return { status: 200, body: { status: "noted" } };
  }
  if (event.amount !== order.total || event.currency !== order.currency) {
    log.warn("payment webhook refused: amount does not match the order", {
      method,
      orderCode: order.code,
      expected: `${order.total} ${order.currency}`,
      received: `${event.amount} ${event.currency}`,
    });
    return { status: 422, body: { error: "amount or currency does not match the order" } };
  }
  const claim = await claimProviderEvent({ tenantId: store.tenantId, method, eventId: event.eventId, orderId: order._id });
  if (claim === "taken") return refuse(409, "this event id already paid another order");

  const paid = await markPaid(deps, store.tenantId, order._id, { method, eventId: event.eventId, ...(event.reference ? { reference: event.reference } : {}) });
  if (paid.outcome === "not_found") return refuse(404, "unknown order");
  if (paid.outcome === "not_payable") return { status: 200, body: { status: "not_payable", orderStatus: paid.status } };
  // Also on a duplicate: if the first delivery's process died, this one finishes the job.
  const delivery = await deliverOrder(deps, store.tenantId, order._id);
  return { status: 200, body: { status: paid.outcome, delivery: delivery.outcome } };
}

/**
 * The payment routes as a fastify plugin, for the platform's HTTP server to register:
 * every gateway's webhook (`POST /payments/:method/:tenant`, the raw body handed to the
 * gateway, which checks its signature over those bytes) and, with a simulator, its pay
 * page (`GET|POST /pay/sim/:tenant/:order`).
 */
export function paymentRoutes(deps: OrderingDeps, opts: { simulator?: SimulatorGateway } = {}): FastifyPluginAsync {
  return async (app) => {
    await app.register(async (webhooks) => {
      webhooks.removeAllContentTypeParsers();
      webhooks.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
      webhooks.post<{ Params: { method: string; tenant: string } }>("/payments/:method/:tenant", { bodyLimit: MAX_WEBHOOK_BYTES }, async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const answer = await receivePaymentWebhook(deps, request.params.method, request.params.tenant, body, request.headers);
        return reply.code(answer.status).send(answer.body);
      });
    });
    if (opts.simulator) await app.register(simulatorPayPage(opts.simulator));
  };
}
