// The simulator's pay page: what a customer sees after tapping the pay link. It shows
// the store, the order and the amount with a "Pay" button; pressing it makes the
// simulated provider send its signed webhook to the platform, exactly as a real provider
// would, and then shows the order's new state. No money moves.
//
// Everything shown is escaped (store and product names are seller-written), the page
// loads nothing from elsewhere, and the link's token keeps strangers from reading other
// people's orders by guessing codes.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody, type PlatformHttp, type RouteParams } from "../../../bots/http-server.ts";
import { logger } from "../../../bots/logger.ts";
import { t } from "../../../locales/i18n.ts";
import { Tenant } from "../../../storage/models/index.ts";
import { formatPrice } from "../catalog.ts";
import type { Locale } from "../../engine/message.ts";
import { Order, normalizeOrderCode, type OrderRecord } from "../order.ts";
import { storeSettings, type StoreSettings } from "../store-settings.ts";
import { SIMULATOR_SIGNATURE_HEADER, type SimulatorGateway, type SimulatorWebhookBody } from "./simulator.ts";

export function registerSimulatorPayPage(http: PlatformHttp, simulator: SimulatorGateway): void {
  http.route("GET", "/pay/sim/:tenant/:order", async (req, res, params) => {
    const found = await findPayable(simulator, req, params);
    if (!found) return sendPage(res, 404, "id", t("id", "ordering.paypage.invalid_link"), `<p>${escapeHtml(t("id", "ordering.paypage.invalid_link_hint"))}</p>`);
    const notice = new URL(req.url ?? "/", "http://x").searchParams.get("r");
    return sendPage(res, 200, found.store.locale, t(found.store.locale, "ordering.paypage.title", { store: found.store.name }), orderPanel(found, notice));
  });

  http.route("POST", "/pay/sim/:tenant/:order", async (req, res, params) => {
    await readBody(req, 4096); // a form with no fields; drained so the socket is reusable
    const found = await findPayable(simulator, req, params);
    if (!found) return sendPage(res, 404, "id", t("id", "ordering.paypage.invalid_link"), `<p>${escapeHtml(t("id", "ordering.paypage.invalid_link_hint"))}</p>`);
    const { store, order, token } = found;
    let result = "paid";
    if (order.status === "pending_payment") {
      const event: SimulatorWebhookBody = {
        id: `evt_${randomUUID()}`,
        type: "payment.succeeded",
        store: String(store.tenantId),
        orderCode: order.code,
        amount: order.total,
        currency: order.currency,
        reference: order.payment?.reference ?? `SIM-${order.code}`,
      };
      const body = JSON.stringify(event);
      try {
        const answer = await fetch(`${simulator.callbackUrl()}/payments/simulator/${encodeURIComponent(store.slug)}`, {
          method: "POST",
          headers: { "content-type": "application/json", [SIMULATOR_SIGNATURE_HEADER]: simulator.sign(body) },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        await answer.body?.cancel();
        if (!answer.ok) result = "failed";
      } catch (error) {
        logger.warn("simulator could not call the payment webhook", { store: store.slug, orderCode: order.code, error: (error as Error).message });
        result = "failed";
      }
    }
    // Post/redirect/get: a reload shows the state, it does not pay again.
    res.writeHead(303, { location: `/pay/sim/${encodeURIComponent(store.slug)}/${encodeURIComponent(order.code)}?t=${encodeURIComponent(token)}&r=${result}`, "cache-control": "no-store" });
    res.end();
  });
}

interface Payable {
  store: StoreSettings;
  order: OrderRecord;
  token: string;
}

async function findPayable(simulator: SimulatorGateway, req: IncomingMessage, params: RouteParams): Promise<Payable | undefined> {
  const token = new URL(req.url ?? "/", "http://x").searchParams.get("t") ?? "";
  const code = normalizeOrderCode(params.order ?? "");
  if (!token || !code) return undefined;
  const tenant = await Tenant.findOne({ slug: params.tenant }, { _id: 1 }).lean().exec();
  if (!tenant || !simulator.verifyPayPageToken(String(tenant._id), code, token)) return undefined;
  const [store, order] = await Promise.all([storeSettings(tenant._id), Order.findOne({ tenantId: tenant._id, code }).lean<OrderRecord>().exec()]);
  return store && order ? { store, order, token } : undefined;
}

function orderPanel({ store, order, token }: Payable, notice: string | null): string {
  const locale = store.locale;
  const price = (amount: number) => formatPrice(amount, order.currency, locale);
  const rows = order.items
    .map((i) => `<tr><td>${escapeHtml(i.name)} × ${i.quantity}</td><td class="n">${escapeHtml(price(i.unitPrice * i.quantity))}</td></tr>`)
    .join("");
  const action = `/pay/sim/${encodeURIComponent(store.slug)}/${encodeURIComponent(order.code)}?t=${encodeURIComponent(token)}`;
  const status = order.status;
  const state =
    status === "pending_payment"
      ? `<form method="post" action="${escapeHtml(action)}"><button type="submit">${escapeHtml(t(locale, "ordering.paypage.pay_button", { amount: price(order.total) }))}</button></form>`
      : `<p class="state">${escapeHtml(t(locale, status === "expired" || status === "cancelled" || status === "rejected" || status === "refunded" ? "ordering.paypage.closed" : "ordering.paypage.paid"))}</p>`;
  // Only while the order still waits: the webhook call can time out (the goods slow to go
  // out) after the payment was recorded, and a paid order must not be paid again.
  const flash = notice === "failed" && status === "pending_payment" ? `<p class="warn">${escapeHtml(t(locale, "ordering.paypage.failed"))}</p>` : "";
  return `
<h1>${escapeHtml(store.name)}</h1>
<p>${escapeHtml(t(locale, "ordering.paypage.order", { code: order.code }))}</p>
<table>${rows}<tr class="total"><td>${escapeHtml(t(locale, "ordering.paypage.total"))}</td><td class="n">${escapeHtml(price(order.total))}</td></tr></table>
${flash}${state}
<p class="note">${escapeHtml(t(locale, "ordering.paypage.simulator_note"))}</p>`;
}

function sendPage(res: ServerResponse, status: number, locale: Locale, title: string, body: string): void {
  const html = `<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
table{width:100%;border-collapse:collapse;margin:1rem 0}td{padding:.4rem 0;border-bottom:1px solid #eee}.n{text-align:right}
.total td{font-weight:bold;border-bottom:none}button{width:100%;padding:.9rem;font-size:1.1rem;border:0;border-radius:.5rem;background:#0a7d3b;color:#fff;cursor:pointer}
.state{font-size:1.1rem;font-weight:bold}.warn{color:#a40000}.note{color:#777;font-size:.85rem;margin-top:2rem}</style></head>
<body>${body}</body></html>`;
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(html),
    "cache-control": "no-store",
    // Inline styles only; no scripts; the form posts back here; the link's token stays out of referrers.
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
  });
  res.end(html);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
