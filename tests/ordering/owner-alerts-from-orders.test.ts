// What the ordering domain tells the platform owner through the platform's commerce wiring
// (bots/commerce.ts → bots/store-alerts.ts → real owner alerts on a recording owner channel):
// the gateway-failure drill of seed 004 §7 — a burst of failed simulator payments gives one
// alert with the count and the store's name, and one "recovered" after a payment goes
// through — and goods that could not be delivered, one alert per order.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { alertKey, OwnerAlerts } from "../../admin-bot/owner-alerts.ts";
import { createCommerce, type Commerce } from "../../bots/commerce.ts";
import { createPlatformHttp, type PlatformHttp } from "../../bots/http-server.ts";
import { logger } from "../../bots/logger.ts";
import { initI18n } from "../../locales/i18n.ts";
import { MAX_DELIVERY_ATTEMPTS } from "../../flows/ordering/delivery.ts";
import { Order } from "../../flows/ordering/order.ts";
import { PaymentRun, recordPaymentOutcome } from "../../flows/ordering/payments/payment-failure-runs.ts";
import { paymentRoutes } from "../../flows/ordering/payments/payment-webhooks.ts";
import { SIMULATOR_SIGNATURE_HEADER } from "../../flows/ordering/payments/simulator.ts";
import { OwnerAlertRecord } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import type { SeededStore } from "../support/stores.ts";
import { customer, RecordingOutbox, seedOrderingStore, seller } from "./ordering-fixture.ts";
import { forgetOwnerAlerts } from "../support/owner-alerts.ts";

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let db: TestDatabase;
let http: PlatformHttp;
let base = "";
let commerce: Commerce;
let store: SeededStore;
const customers = new RecordingOutbox();
const owner = recordingOutbox({ channel: "owner" });
const alerts = new OwnerAlerts({ log: silent, outbox: owner.outbox, ownerChatIds: [4242], locale: "en" });

before(async () => {
  await initI18n();
  db = await openTestDatabase("owner_alerts_orders");
  commerce = createCommerce({ outbox: customers, encryptionKey: db.encryptionKey, payPageUrl: () => base, alerts, paymentAlerts: { inRow: 3 } });
  http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
  http.register(paymentRoutes(commerce.ordering.deps, { simulator: commerce.simulator }));
  base = `http://127.0.0.1:${await http.listen(0, "127.0.0.1")}`;
  store = await seedOrderingStore({ name: "Toko Kenanga", products: [{ code: "voucher", price: 25_000, stock: 100 }] });
});
after(async () => {
  await http.close();
  await db.close();
});
beforeEach(async () => {
  await forgetOwnerAlerts();
  owner.channel.sends.length = 0;
});

/** The owner's messages, in English, once there are `count`; a moment later, to catch any extra. */
async function ownerHeard(count: number): Promise<string[]> {
  const heard = async () => {
    await alerts.flush();
    return owner.channel.delivered().map(({ outbound }) => (outbound.text as { inline: Record<string, string> }).inline.en!);
  };
  await eventually(async () => (await heard()).length >= count, `${count} messages to the owner`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return heard();
}

let buyers = 0;
async function orderToPay() {
  const buyer = customer(`alert-${++buyers}`);
  const placed = await commerce.ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "voucher", quantity: 1 }] });
  assert.ok(placed.ok, "order placed");
  const started = await commerce.ordering.startPayment(store.tenantId, buyer, placed.order.code, "simulator");
  assert.ok(started.ok, "payment started");
  return placed.order;
}

async function simulatorWebhook(code: string, outcome: "payment.succeeded" | "payment.failed") {
  const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: outcome, store: store.tenantId, orderCode: code, amount: 25_000, currency: "IDR" });
  const res = await fetch(`${base}/payments/simulator/${store.slug}`, {
    method: "POST", headers: { "content-type": "application/json", [SIMULATOR_SIGNATURE_HEADER]: commerce.simulator.sign(body) }, body,
  });
  assert.equal(res.status, 200, await res.text());
}

describe("owner alerts from orders", () => {
  test("drill: the simulator gateway fails payments in a burst → one alert with the count and the store's name; a payment goes through → one 'recovered'", async () => {
    const orders = await Promise.all(Array.from({ length: 5 }, () => orderToPay()));
    await Promise.all(orders.map((order) => simulatorWebhook(order.code, "payment.failed")));
    const open = await eventually(() => OwnerAlertRecord.findOne({ key: alertKey("payments-failing", store.slug, "simulator"), state: "open" }).lean().exec(), "the payments-failing alert");
    assert.equal(open.store?.name, "Toko Kenanga");
    await eventually(async () => (await PaymentRun.findOne({ tenantId: store.tenantId, method: "simulator" }).lean().exec())?.inRow === 5, "all five failures counted");

    const raised = await ownerHeard(1);
    assert.equal(raised.length, 1, raised.join("\n"));
    assert.match(raised[0]!, /Toko Kenanga/);
    assert.match(raised[0]!, /Payments failing in a row/);
    assert.match(raised[0]!, /\b[3-5] of the last [3-5] payments through simulator failed/);

    const paid = await orderToPay();
    await simulatorWebhook(paid.code, "payment.succeeded");
    const heard = await ownerHeard(2);
    assert.equal(heard.length, 2, heard.join("\n"));
    assert.match(heard[1]!, /Toko Kenanga.*Payments failing in a row: recovered/);
    assert.equal(await OwnerAlertRecord.countDocuments({ kind: "payments-failing" }).exec(), 1);
  });

  test("a failure rate over the window counts too, and one more failure right after a recovery is not a new run", async () => {
    const tenantId = store.tenantId;
    const thresholds = { inRow: 10, ratePercent: 50, minPayments: 4, windowMs: 600_000 };
    const outcomes = [false, true, false];
    for (const ok of outcomes) assert.equal(await recordPaymentOutcome({ tenantId, method: "rate-test", ok }, thresholds), undefined);
    assert.deepEqual(await recordPaymentOutcome({ tenantId, method: "rate-test", ok: false }, thresholds), { change: "failing", method: "rate-test", inRow: 2, failed: 3, total: 4 });
    assert.equal(await recordPaymentOutcome({ tenantId, method: "rate-test", ok: false }, thresholds), undefined, "told once per run");
    assert.deepEqual(await recordPaymentOutcome({ tenantId, method: "rate-test", ok: true }, thresholds), { change: "recovered", method: "rate-test" });
    assert.equal(await recordPaymentOutcome({ tenantId, method: "rate-test", ok: false }, thresholds), undefined);
  });

  test("goods that could not be delivered: one alert per order naming the store; delivered later: recovered", async () => {
    const buyer = customer(`undeliverable-${++buyers}`);
    const placed = await commerce.ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "voucher", quantity: 1 }] });
    assert.ok(placed.ok);
    const code = placed.order.code;
    customers.failNext = MAX_DELIVERY_ATTEMPTS;
    await commerce.ordering.approvePayment(store.tenantId, code, seller);
    let now = Date.now();
    for (let attempt = 2; attempt <= MAX_DELIVERY_ATTEMPTS; attempt++) {
      now += 2 * 3_600_000;
      await commerce.ordering.recoverUndelivered({ now: new Date(now) });
    }
    assert.equal((await Order.findOne({ tenantId: store.tenant, code }).lean().exec())?.attention, "delivery_failed");
    const open = await eventually(() => OwnerAlertRecord.findOne({ key: alertKey("delivery-failed", store.slug, code), state: "open" }).lean().exec(), "the delivery-failed alert");
    assert.equal(open.store?.name, "Toko Kenanga");
    const raised = await ownerHeard(1);
    assert.equal(raised.length, 1, raised.join("\n"));
    assert.match(raised[0]!, new RegExp(`Toko Kenanga.*Goods not delivered.*${code}`, "s"));

    assert.equal((await commerce.ordering.retryDelivery(store.tenantId, code)).outcome, "delivered");
    await eventually(() => OwnerAlertRecord.findOne({ key: alertKey("delivery-failed", store.slug, code), state: "resolved" }).lean().exec(), "the alert resolved");
    const heard = await ownerHeard(2);
    assert.equal(heard.length, 2, heard.join("\n"));
    assert.match(heard[1]!, /Toko Kenanga.*recovered/);
  });
});
