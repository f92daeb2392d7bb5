// The simulator's pay page: what a customer sees after tapping the pay link. It shows
// the store, the order and the amount with a "Pay" button; pressing it makes the
// simulated provider send its signed webhook to the platform, exactly as a real provider
// would, and then shows the order's new state. No money moves.
//
// Everything shown is escaped (store and product names are seller-written), the page
// loads nothing from elsewhere, and the link's token keeps strangers from reading other
// people's orders by guessing codes.
import { randomUUID } from "node:crypto";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { escapeHtml, pageLocale, sendNoticePage, sendPage } from "../../engine/index.ts";
import { t } from "../../../locales/i18n.ts";
import { formatPrice } from "../catalog.ts";
import { formatWhen } from "../../../locales/format-when.ts";
import { Order, normalizeOrderCode, type OrderRecord } from "../order.ts";
import { storeSettingsBySlug, type StoreSettings } from "../store-settings.ts";
import { SIMULATOR_SIGNATURE_HEADER, type SimulatorGateway, type SimulatorWebhookBody } from "./simulator.ts";

type PayPageRequest = FastifyRequest<{ Params: { tenant: string; order: string }; Querystring: { t?: unknown; r?: unknown } }>;

/** The pay page as a fastify plugin: `GET` shows the order, `POST` (its button) pays it. */
export function simulatorPayPage(simulator: SimulatorGateway): FastifyPluginAsync {
  return async (app) => {
    // The button posts a form with no fields; whatever its type, the body is read and dropped.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

    app.get("/pay/sim/:tenant/:order", async (request: PayPageRequest, reply) => {
      const found = await findPayable(simulator, request);
      if (!found) return sendInvalidLink(request, reply);
      const locale = found.store.locale;
      return sendPage(reply, 200, { locale, title: t(locale, "ordering.paypage.title", { store: found.store.name }), body: orderPanel(found, typeof request.query.r === "string" ? request.query.r : null) });
    });

    app.post("/pay/sim/:tenant/:order", { bodyLimit: 4096 }, async (request: PayPageRequest, reply) => {
      const found = await findPayable(simulator, request);
      if (!found) return sendInvalidLink(request, reply);
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
          request.log.warn({ store: store.slug, orderCode: order.code, error: (error as Error).message }, "simulator could not call the payment webhook");
          result = "failed";
        }
      }
      // Post/redirect/get: a reload shows the state, it does not pay again.
      return reply
        .code(303)
        .headers({ location: `/pay/sim/${encodeURIComponent(store.slug)}/${encodeURIComponent(order.code)}?t=${encodeURIComponent(token)}&r=${result}`, "cache-control": "no-store" })
        .send();
    });
  };
}

interface Payable {
  store: StoreSettings;
  order: OrderRecord;
  token: string;
}

async function findPayable(simulator: SimulatorGateway, request: PayPageRequest): Promise<Payable | undefined> {
  const token = typeof request.query.t === "string" ? request.query.t : "";
  const code = normalizeOrderCode(request.params.order);
  if (!token || !code) return undefined;
  const store = await storeSettingsBySlug(request.params.tenant);
  if (!store || !simulator.verifyPayPageToken(String(store.tenantId), code, token)) return undefined;
  const order = await Order.findOne({ tenantId: store.tenantId, code }).lean<OrderRecord>().exec();
  return order ? { store, order, token } : undefined;
}

/** One page for every bad link — unknown store, wrong token, no such order — so none tells more than another. */
function sendInvalidLink(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const locale = pageLocale(request);
  return sendNoticePage(reply, 404, locale, t(locale, "ordering.paypage.invalid_link"), t(locale, "ordering.paypage.invalid_link_hint"));
}

function orderPanel({ store, order, token }: Payable, notice: string | null): string {
  const locale = store.locale;
  const price = (amount: number) => formatPrice(amount, order.currency, locale);
  // A name may be one 80-character word: it wraps anywhere, prices never do.
  const rows = order.items
    .map((i) => `<tr><td>${escapeHtml(i.name)}<span class="each">${i.quantity} × ${escapeHtml(price(i.unitPrice))}</span></td><td class="n">${escapeHtml(price(i.unitPrice * i.quantity))}</td></tr>`)
    .join("");
  const action = `/pay/sim/${encodeURIComponent(store.slug)}/${encodeURIComponent(order.code)}?t=${encodeURIComponent(token)}`;
  const status = order.status;
  // The chat's "pay before …", in the same words, format and time zone.
  const deadline = t(locale, "ordering.paypage.deadline", { deadline: formatWhen(order.expiresAt, { locale, timeZone: store.timezone }) });
  const state =
    status === "pending_payment"
      ? `<p class="deadline">${escapeHtml(deadline)}</p>
<form method="post" action="${escapeHtml(action)}"><button type="submit">${escapeHtml(t(locale, "ordering.paypage.pay_button", { amount: price(order.total) }))}</button></form>`
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
