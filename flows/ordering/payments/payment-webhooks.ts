// Payment providers calling the platform back: `POST /payments/<method>/<tenant slug>`.
// The gateway checks the signature; ordering checks the amount and applies the event
// through the same idempotent `markPaid` → `deliverOrder` path as a seller's approval.
import type { IncomingHttpHeaders } from "node:http";
import { readBody, sendJson, type PlatformHttp } from "../../../bots/http-server.ts";
import { Tenant } from "../../../storage/models/index.ts";
import { deliverOrder, markPaid } from "../delivery.ts";
import { Order, normalizeOrderCode } from "../order.ts";
import { logOf, type OrderingDeps } from "../ordering-deps.ts";
import { storeSettings } from "../store-settings.ts";
import { registerSimulatorPayPage } from "./simulator-page.ts";
import type { SimulatorGateway } from "./simulator.ts";

/** Webhook bodies are small JSON documents; anything larger is not from a provider. */
const MAX_WEBHOOK_BYTES = 64 * 1024;

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Applies one provider webhook. Answers 401 for a bad signature (nothing happens), 404
 * for an unknown method, store or order, 422 for an amount or currency that does not
 * match the order (refused, nothing happens), and 200 otherwise — including a replay or
 * a duplicate, which changes nothing, and a payment for an order that already expired,
 * which the seller is alerted to.
 */
export async function receivePaymentWebhook(deps: OrderingDeps, method: string, tenantSlug: string, rawBody: Buffer, headers: IncomingHttpHeaders): Promise<WebhookAnswer> {
  const log = logOf(deps);
  const gateway = deps.gateways?.get(method);
  if (!gateway?.verifyWebhook) return { status: 404, body: { error: "unknown payment method" } };
  const tenant = await Tenant.findOne({ slug: tenantSlug }, { _id: 1 }).lean().exec();
  const store = tenant ? await storeSettings(tenant._id) : undefined;
  if (!store) return { status: 404, body: { error: "unknown store" } };

  const verdict = await gateway.verifyWebhook(rawBody, headers, store);
  if (!verdict.ok) {
    log.warn("payment webhook refused", { method, store: store.slug, status: verdict.status, reason: verdict.reason });
    return { status: verdict.status, body: { error: verdict.reason } };
  }
  const event = verdict.event;
  const code = normalizeOrderCode(event.orderCode);
  const order = code ? await Order.findOne({ tenantId: store.tenantId, code }, { total: 1, currency: 1, code: 1 }).lean().exec() : null;
  if (!order) return { status: 404, body: { error: "unknown order" } };
  if (event.outcome !== "paid") {
    log.info("payment failed at the provider", { method, orderCode: order.code });
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

  const paid = await markPaid(deps, store.tenantId, order._id, { method, eventId: event.eventId, ...(event.reference ? { reference: event.reference } : {}) });
  if (paid.outcome === "not_found") return { status: 404, body: { error: "unknown order" } };
  if (paid.outcome === "not_payable") return { status: 200, body: { status: "not_payable", orderStatus: paid.status } };
  // Also on a duplicate: if the first delivery's process died, this one finishes the job.
  const delivery = await deliverOrder(deps, store.tenantId, order._id);
  return { status: 200, body: { status: paid.outcome, delivery: delivery.outcome } };
}

/**
 * Registers the payment routes on the platform's HTTP server: every gateway's webhook
 * (`POST /payments/:method/:tenant`) and, with a simulator, its pay page
 * (`GET|POST /pay/sim/:tenant/:order`).
 */
export function registerPaymentRoutes(http: PlatformHttp, deps: OrderingDeps, opts: { simulator?: SimulatorGateway } = {}): void {
  http.route("POST", "/payments/:method/:tenant", async (req, res, params) => {
    const body = await readBody(req, MAX_WEBHOOK_BYTES);
    const answer = await receivePaymentWebhook(deps, params.method, params.tenant, body, req.headers);
    sendJson(res, answer.status, answer.body);
  });
  if (opts.simulator) registerSimulatorPayPage(http, opts.simulator);
}
