// The simulator gateway over real HTTP: a pay page a person can open, and a signed
// webhook that pays an order — once, however it is replayed, duplicated or raced.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { PlatformHttp } from "../../bots/http-server.ts";
import { Order } from "../../flows/ordering/order.ts";
import type { Ordering } from "../../flows/ordering/ordering.ts";
import { SIMULATOR_SIGNATURE_HEADER, simulatorGateway, type SimulatorGateway } from "../../flows/ordering/payments/simulator.ts";
import { StockItem } from "../../flows/ordering/stock-item.ts";
import { Tenant } from "../../storage/models/index.ts";
import { customer, seedOrderingStore, seller, servePayments, type RecordingOutbox } from "./ordering-fixture.ts";
import { type SeededStore } from "../support/stores.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

let db: TestDatabase;
let http: PlatformHttp;
let base = "";
let simulator: SimulatorGateway;
let ordering: Ordering;
let outbox: RecordingOutbox;
let store: SeededStore;

before(async () => {
  db = await openTestDatabase("ordering_simulator");
  ({ ordering, outbox, simulator, http, base } = await servePayments(db));
  store = await seedOrderingStore({ name: `Toko <script>alert("x")</script> & Co`, products: [{ code: "voucher", name: "Voucher <b>100K</b>", price: 25_000, stock: 200 }] });
});
after(async () => {
  await http.close();
  await db.close();
});

let buyers = 0;
async function orderToPay(quantity = 1) {
  const buyer = customer(`sim-${++buyers}`);
  const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "voucher", quantity }] });
  assert.ok(placed.ok, "order placed");
  const started = await ordering.startPayment(store.tenantId, buyer, placed.order.code, "simulator");
  assert.ok(started.ok, "payment started");
  return { buyer, order: placed.order, payment: started.payment };
}

function webhookBody(code: string, amount: number, eventId = `evt_${randomUUID()}`, storeId = store.tenantId) {
  return JSON.stringify({ id: eventId, type: "payment.succeeded", store: storeId, orderCode: code, amount, currency: "IDR", reference: `SIM-${code}` });
}

async function postWebhook(body: string, signature = simulator.sign(body), slug = store.slug) {
  const res = await fetch(`${base}/payments/simulator/${slug}`, { method: "POST", headers: { "content-type": "application/json", [SIMULATOR_SIGNATURE_HEADER]: signature }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function statusOf(code: string, tenant = store.tenant) {
  return (await Order.findOne({ tenantId: tenant, code }).lean().exec())?.status;
}

describe("the simulator's pay page", () => {
  test("shows the store, the order and the amount, escaped, and pays when a person presses Pay", async () => {
    const { order, payment } = await orderToPay(2);
    assert.ok(payment.payUrl?.startsWith(`${base}/pay/sim/${store.slug}/${order.code}?t=`));
    const page = await fetch(payment.payUrl!);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    const html = await page.text();
    assert.ok(html.includes("Toko &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co"), "store name escaped");
    assert.ok(html.includes("Voucher &lt;b&gt;100K&lt;/b&gt;"), "product name escaped");
    assert.ok(!html.includes("<script>") && !html.includes("<b>100K"), "nothing seller-written is raw HTML");
    assert.ok(html.includes("Rp50.000"), "amount in the store's currency");
    assert.match(html, /<form method="post"/);

    // The browser's form post: the simulated provider calls the webhook, then the page shows the result.
    const pay = await fetch(payment.payUrl!, { method: "POST", redirect: "manual" });
    assert.equal(pay.status, 303);
    assert.equal(await statusOf(order.code), "delivered");
    assert.equal(outbox.deliveries(order.code).length, 1);
    const after = await fetch(new URL(pay.headers.get("location")!, base));
    const afterHtml = await after.text();
    assert.ok(!afterHtml.includes("<form"), "no Pay button once paid");

    // A second press (double click, reload of the POST) pays nothing again.
    const again = await fetch(payment.payUrl!, { method: "POST", redirect: "manual" });
    assert.equal(again.status, 303);
    assert.equal(outbox.deliveries(order.code).length, 1);
  });

  test("a link with a wrong token, or for another store's order, shows nothing of the order", async () => {
    const { order, payment } = await orderToPay();
    const wrong = payment.payUrl!.replace(/t=[^&]+/, "t=forged");
    const res = await fetch(wrong);
    assert.equal(res.status, 404);
    assert.ok(!(await res.text()).includes(order.code));
    const other = await seedOrderingStore({ products: [] });
    const crossed = payment.payUrl!.replace(`/pay/sim/${store.slug}/`, `/pay/sim/${other.slug}/`);
    const unknownStore = payment.payUrl!.replace(`/pay/sim/${store.slug}/`, "/pay/sim/toko-yang-tidak-ada/");
    const pages = await Promise.all([wrong, crossed, unknownStore].map(async (url) => {
      const answer = await fetch(url);
      return { status: answer.status, type: answer.headers.get("content-type"), body: await answer.text() };
    }));
    for (const page of pages) assert.deepEqual(page, pages[0], "a bad link tells nothing about which part was wrong");
    assert.equal(pages[0].status, 404);
    assert.equal((await fetch(wrong, { method: "POST", redirect: "manual" })).status, 404);
    assert.equal(await statusOf(order.code), "pending_payment");
  });
});

describe("the simulator's webhook", () => {
  test("a correctly signed payment delivers the goods once", async () => {
    const { order } = await orderToPay();
    const res = await postWebhook(webhookBody(order.code, order.total));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: "paid", delivery: "delivered" });
    assert.equal(await statusOf(order.code), "delivered");
    assert.equal(outbox.deliveries(order.code).length, 1);
  });

  test("a bad or missing signature is answered 401 and nothing happens", async () => {
    const { order } = await orderToPay();
    const body = webhookBody(order.code, order.total);
    const forged = simulatorGateway({ secret: Buffer.alloc(32, 7), publicUrl: base }).sign(body);
    assert.equal((await postWebhook(body, forged)).status, 401);
    assert.equal((await postWebhook(body, "")).status, 401);
    assert.equal((await postWebhook(body, simulator.sign(body + " "))).status, 401, "signature over a different body");
    assert.equal(await statusOf(order.code), "pending_payment");
    assert.equal(outbox.deliveries(order.code).length, 0);
  });

  test("a replayed webhook changes nothing and delivers nothing more", async () => {
    const { order } = await orderToPay();
    const body = webhookBody(order.code, order.total);
    assert.equal((await postWebhook(body)).body.status, "paid");
    const replay = await postWebhook(body);
    assert.equal(replay.status, 200);
    assert.equal(replay.body.status, "duplicate_event");
    // A different event for the same payment (the provider's retry with a new id) is no second payment either.
    const second = await postWebhook(webhookBody(order.code, order.total));
    assert.equal(second.body.status, "already_paid");
    assert.equal(outbox.deliveries(order.code).length, 1);
  });

  test("duplicate webhooks arriving together deliver once", async () => {
    for (let round = 0; round < 5; round++) {
      const { order } = await orderToPay();
      const body = webhookBody(order.code, order.total);
      const answers = await Promise.all([
        ...Array.from({ length: 8 }, () => postWebhook(body)),
        ...Array.from({ length: 4 }, () => postWebhook(webhookBody(order.code, order.total))),
      ]);
      assert.ok(answers.every((a) => a.status === 200));
      assert.equal(answers.filter((a) => a.body.status === "paid").length, 1, "one event pays, the rest are duplicates");
      assert.equal(outbox.deliveries(order.code).length, 1);
    }
  });

  test("a payment of the wrong amount or currency is refused", async () => {
    const { order } = await orderToPay();
    const short = await postWebhook(webhookBody(order.code, order.total - 1));
    assert.equal(short.status, 422);
    const usd = JSON.stringify({ id: "evt-usd", type: "payment.succeeded", store: store.tenantId, orderCode: order.code, amount: order.total, currency: "USD" });
    assert.equal((await postWebhook(usd)).status, 422);
    assert.equal(await statusOf(order.code), "pending_payment");
    assert.equal(outbox.deliveries(order.code).length, 0);
    // The right amount still pays afterwards.
    assert.equal((await postWebhook(webhookBody(order.code, order.total))).body.status, "paid");
  });

  test("a signed event for an order the store does not hold, or an unreadable one, is told so", async () => {
    assert.equal((await postWebhook(webhookBody("INV-999999", 1))).status, 404);
    assert.equal((await postWebhook("not json")).status, 400);
  });

  test("a webhook body over 64 KB is refused with 413, signed or not, and pays nothing", async () => {
    const { order } = await orderToPay();
    const body = JSON.stringify({ ...JSON.parse(webhookBody(order.code, order.total)), padding: "x".repeat(70 * 1024) });
    const answer = await postWebhook(body);
    assert.deepEqual(answer, { status: 413, body: { error: "request body too large" } });
    assert.equal(await statusOf(order.code), "pending_payment");
  });

  test("a payment for an order that already expired is acknowledged, not delivered, and flagged for the seller", async () => {
    const { order } = await orderToPay();
    await ordering.expireUnpaidOrder(store.tenantId, order.id, { now: new Date(order.expiresAt.getTime() + 1) });
    const late = await postWebhook(webhookBody(order.code, order.total));
    assert.deepEqual(late, { status: 200, body: { status: "not_payable", orderStatus: "expired" } });
    const stored = await Order.findOne({ tenantId: store.tenant, code: order.code }).lean().exec();
    assert.equal(stored?.attention, "late_payment");
    assert.equal(outbox.deliveries(order.code).length, 0);
  });

  test("a seller's approval racing the webhook delivers once", async () => {
    for (let round = 0; round < 10; round++) {
      const { order } = await orderToPay();
      const [hook, approval] = await Promise.all([postWebhook(webhookBody(order.code, order.total)), ordering.approvePayment(store.tenantId, order.code, seller)]);
      assert.equal(hook.status, 200);
      const paidBy = [hook.body.status === "paid", approval.ok].filter(Boolean).length;
      assert.equal(paidBy, 1, "exactly one of them paid the order");
      assert.equal(outbox.deliveries(order.code).length, 1, `order ${order.code} delivered once`);
      const sold = await StockItem.countDocuments({ tenantId: store.tenant, orderId: order.id, status: "sold" }).exec();
      assert.equal(sold, 1);
    }
  });
});

describe("payment events are bound to their store and method", () => {
  /** A fresh store with one order waiting for payment: every fresh store's first order is INV-000001. */
  async function storeWithFirstOrder(methods = ["manual", "simulator"]) {
    const seeded = await seedOrderingStore({ products: [{ code: "voucher", name: "Voucher", price: 25_000, stock: 5 }], settings: { paymentMethods: methods } });
    const buyer = customer(`bound-${seeded.slug}`);
    const placed = await ordering.placeOrder({ tenantId: seeded.tenantId, customer: buyer, items: [{ productCode: "voucher", quantity: 1 }] });
    assert.ok(placed.ok, "order placed");
    return { seeded, order: placed.order };
  }

  test("an event signed for one store pays nothing in another store holding the same order code", async () => {
    const a = await storeWithFirstOrder();
    const b = await storeWithFirstOrder();
    assert.equal(a.order.code, b.order.code, "order codes repeat across stores");
    const forA = webhookBody(a.order.code, a.order.total, `evt_${randomUUID()}`, a.seeded.tenantId);

    const crossed = await postWebhook(forA, simulator.sign(forA), b.seeded.slug);
    assert.equal(crossed.status, 422);
    assert.match(String(crossed.body.error), /another store/);
    assert.equal(await statusOf(b.order.code, b.seeded.tenant), "pending_payment");
    assert.equal(outbox.deliveries().filter((m) => m.to.chatId === `cbound-${b.seeded.slug}`).length, 0);

    // Unchanged, at its own store, the same event pays.
    assert.equal((await postWebhook(forA, simulator.sign(forA), a.seeded.slug)).body.status, "paid");
    assert.equal(await statusOf(a.order.code, a.seeded.tenant), "delivered");
  });

  test("an event for a store that does not offer the method is refused and changes nothing", async () => {
    const manualOnly = await storeWithFirstOrder(["manual"]);
    const body = webhookBody(manualOnly.order.code, manualOnly.order.total, `evt_${randomUUID()}`, manualOnly.seeded.tenantId);
    const answer = await postWebhook(body, simulator.sign(body), manualOnly.seeded.slug);
    assert.equal(answer.status, 403);
    assert.equal(await statusOf(manualOnly.order.code, manualOnly.seeded.tenant), "pending_payment");
  });

  test("a payment started before the store stopped offering its method is still taken", async () => {
    const switched = await storeWithFirstOrder(["manual", "simulator"]);
    const buyer = customer(`bound-${switched.seeded.slug}`);
    assert.ok((await ordering.startPayment(switched.seeded.tenantId, buyer, switched.order.code, "simulator")).ok, "payment started");
    await Tenant.updateOne({ _id: switched.seeded.tenant }, { $set: { "settings.ordering.paymentMethods": ["manual"] } }).exec();
    const body = webhookBody(switched.order.code, switched.order.total, `evt_${randomUUID()}`, switched.seeded.tenantId);
    const answer = await postWebhook(body, simulator.sign(body), switched.seeded.slug);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(await statusOf(switched.order.code, switched.seeded.tenant), "delivered");
  });

  test("a provider's event id pays one order on the whole platform", async () => {
    const a = await storeWithFirstOrder();
    const b = await storeWithFirstOrder();
    const eventId = `evt_${randomUUID()}`;
    const forA = webhookBody(a.order.code, a.order.total, eventId, a.seeded.tenantId);
    assert.equal((await postWebhook(forA, simulator.sign(forA), a.seeded.slug)).body.status, "paid");
    // Signed for B, but under an id already applied in A: not a new payment.
    const reused = webhookBody(b.order.code, b.order.total, eventId, b.seeded.tenantId);
    const answer = await postWebhook(reused, simulator.sign(reused), b.seeded.slug);
    assert.equal(answer.status, 409);
    assert.equal(await statusOf(b.order.code, b.seeded.tenant), "pending_payment");
    // A replay in A is still recognised as one.
    assert.equal((await postWebhook(forA, simulator.sign(forA), a.seeded.slug)).body.status, "duplicate_event");
  });
});

describe("a stranger cannot tell which stores exist", () => {
  test("an unknown store, a wrong signature, an unknown method and a store without the method all get the same answer", async () => {
    const { order } = await orderToPay();
    const suspended = await seedOrderingStore({ products: [] });
    await Tenant.updateOne({ _id: suspended.tenant }, { $set: { status: "suspended" } }).exec();
    const manualOnly = await seedOrderingStore({ products: [], settings: { paymentMethods: ["manual"] } });
    const body = webhookBody(order.code, order.total);
    const forged = simulatorGateway({ secret: Buffer.alloc(32, 9), publicUrl: base }).sign(body);
    const post = async (method: string, slug: string, signature: string) => {
      const res = await fetch(`${base}/payments/${method}/${slug}`, { method: "POST", headers: { "content-type": "application/json", [SIMULATOR_SIGNATURE_HEADER]: signature }, body });
      return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
    };
    const answers = {
      unknownStore: await post("simulator", "toko-yang-tidak-ada", simulator.sign(body)),
      unknownStoreForged: await post("simulator", "toko-yang-tidak-ada", forged),
      knownStoreForged: await post("simulator", store.slug, forged),
      knownStoreUnsigned: await post("simulator", store.slug, ""),
      suspendedStoreForged: await post("simulator", suspended.slug, forged),
      storeWithoutTheMethodForged: await post("simulator", manualOnly.slug, forged),
      unknownMethod: await post("bitcoin", store.slug, simulator.sign(body)),
      methodWithoutWebhooks: await post("manual", store.slug, simulator.sign(body)),
    };
    for (const [name, answer] of Object.entries(answers)) assert.deepEqual(answer, answers.knownStoreForged, name);
    assert.equal(answers.knownStoreForged.status, 401);
    assert.equal(await statusOf(order.code), "pending_payment");
  });
});

describe("starting a payment", () => {
  test("tapping pay twice gives the same payment, not two", async () => {
    const buyer = customer("double-tap");
    const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "voucher", quantity: 1 }] });
    assert.ok(placed.ok);
    const [a, b] = await Promise.all([
      ordering.startPayment(store.tenantId, buyer, placed.order.code, "simulator"),
      ordering.startPayment(store.tenantId, buyer, placed.order.code, "simulator"),
    ]);
    const c = await ordering.startPayment(store.tenantId, buyer, placed.order.code, "simulator");
    assert.ok(a.ok && b.ok && c.ok);
    assert.deepEqual(b.payment, a.payment);
    assert.deepEqual(c.payment, a.payment);
    assert.equal(a.payment.reference, `SIM-${placed.order.code}`);
  });

  test("a method the store does not offer, someone else's order, and an unaccepted SNK are refused", async () => {
    const buyer = customer("refusals");
    const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "voucher", quantity: 1 }] });
    assert.ok(placed.ok);
    assert.deepEqual(await ordering.startPayment(store.tenantId, buyer, placed.order.code, "bitcoin"), { ok: false, reason: "method_unavailable" });
    assert.deepEqual(await ordering.startPayment(store.tenantId, customer("stranger"), placed.order.code, "manual"), { ok: false, reason: "not_found" });

    await Tenant.updateOne({ _id: store.tenant }, { $set: { "settings.ordering.snkText": "Garansi 1x24 jam." } }).exec();
    try {
      assert.deepEqual(await ordering.startPayment(store.tenantId, buyer, placed.order.code, "manual"), { ok: false, reason: "snk_not_accepted" });
      assert.deepEqual(await ordering.acceptSnk(store.tenantId, buyer, placed.order.code), { ok: true });
      const manual = await ordering.startPayment(store.tenantId, buyer, placed.order.code, "manual");
      assert.ok(manual.ok);
      assert.equal(manual.payment.instructions, "BCA 1234567890 a.n. Toko Uji");
      // Switching method before paying is allowed; the order keeps one current payment.
      const sim = await ordering.startPayment(store.tenantId, buyer, placed.order.code, "simulator");
      assert.ok(sim.ok && sim.payment.payUrl);
    } finally {
      await Tenant.updateOne({ _id: store.tenant }, { $set: { "settings.ordering.snkText": "" } }).exec();
    }
  });
});
