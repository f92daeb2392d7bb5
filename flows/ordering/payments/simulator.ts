// The `simulator` gateway: a payment provider in miniature, for the demo, for tests and
// for a seller trying Niaga out. `createPayment` hands out a link to a pay page served
// by the platform (simulator-page.ts); pressing "Pay" there makes the "provider" call
// the platform back with a webhook signed like a real one: HMAC-SHA256 over the raw
// body, under a per-deployment secret. The body names the store it is for, so one
// secret serves every store without one store's event paying in another.
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { PaymentEvent, PaymentGateway, WebhookVerdict } from "./gateway.ts";

export const SIMULATOR_SIGNATURE_HEADER = "x-simulator-signature";

export interface SimulatorOptions {
  /** The webhook signing secret; see `simulatorSecretFrom`. */
  secret: Buffer;
  /** Where people reach the platform (`PUBLIC_URL`); read at each payment since the port may be known late. */
  publicUrl: string | (() => string);
  /** Where the pay page calls the webhook; defaults to `publicUrl`. */
  callbackUrl?: string | (() => string);
}

/** A simulator gateway plus what its pay page needs. */
export interface SimulatorGateway extends PaymentGateway {
  readonly method: "simulator";
  /** The pay page's link for an order; the token stops strangers reading amounts by guessing codes. */
  payPageUrl(store: { tenantId: string; slug: string }, orderCode: string): string;
  verifyPayPageToken(tenantId: string, orderCode: string, token: string): boolean;
  /** The signature header value for a raw webhook body. */
  sign(rawBody: string | Buffer): string;
  callbackUrl(): string;
}

/**
 * The deployment's simulator secret, derived from `ENCRYPTION_KEY` so there is nothing
 * else to configure; a different label keeps it independent of the sealing key's use.
 */
export function simulatorSecretFrom(encryptionKey: Buffer): Buffer {
  return createHmac("sha256", encryptionKey).update("niaga/payments/simulator/webhook-secret/v1").digest();
}

const eventSchema = z.object({
  id: z.string().min(1).max(100),
  type: z.enum(["payment.succeeded", "payment.failed"]),
  /** The store's tenant id: signed with the rest, so the event pays nothing at another store's webhook. */
  store: z.string().min(1).max(64),
  orderCode: z.string().min(1).max(32),
  amount: z.number().int().nonnegative(),
  currency: z.string().regex(/^[A-Z]{3}$/),
  reference: z.string().max(100).optional(),
});
export type SimulatorWebhookBody = z.infer<typeof eventSchema>;

export function simulatorGateway(opts: SimulatorOptions): SimulatorGateway {
  const read = (v: string | (() => string)) => (typeof v === "function" ? v() : v).replace(/\/+$/, "");
  const hmac = (data: string | Buffer) => createHmac("sha256", opts.secret).update(data).digest();
  const pageToken = (tenantId: string, orderCode: string) => hmac(`pay-page:${tenantId}:${orderCode}`).subarray(0, 18).toString("base64url");

  const payPageUrl = (store: { tenantId: string; slug: string }, orderCode: string) =>
    `${read(opts.publicUrl)}/pay/sim/${encodeURIComponent(store.slug)}/${encodeURIComponent(orderCode)}?t=${pageToken(store.tenantId, orderCode)}`;
  const sign = (rawBody: string | Buffer) => `sha256=${hmac(rawBody).toString("hex")}`;

  return {
    method: "simulator",
    payPageUrl,
    sign,
    async createPayment(order, store) {
      return { reference: `SIM-${order.code}`, payUrl: payPageUrl({ tenantId: order.tenantId, slug: store.slug }, order.code) };
    },
    verifyPayPageToken(tenantId, orderCode, token) {
      return safeEqual(Buffer.from(pageToken(tenantId, orderCode)), Buffer.from(token));
    },
    callbackUrl() {
      return read(opts.callbackUrl ?? opts.publicUrl);
    },
    verifyWebhook(rawBody, headers): WebhookVerdict {
      const header = headers[SIMULATOR_SIGNATURE_HEADER];
      const given = Array.isArray(header) ? header[0] : header;
      if (!given || !safeEqual(Buffer.from(given), Buffer.from(sign(rawBody)))) {
        return { ok: false, status: 401, reason: "missing or wrong signature" };
      }
      let parsed: SimulatorWebhookBody;
      try {
        parsed = eventSchema.parse(JSON.parse(rawBody.toString("utf8")));
      } catch {
        return { ok: false, status: 400, reason: "signed, but not a simulator payment event" };
      }
      const event: PaymentEvent = {
        tenantId: parsed.store,
        eventId: parsed.id,
        orderCode: parsed.orderCode,
        amount: parsed.amount,
        currency: parsed.currency,
        outcome: parsed.type === "payment.succeeded" ? "paid" : "failed",
        ...(parsed.reference ? { reference: parsed.reference } : {}),
      };
      return { ok: true, event };
    },
  };
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
