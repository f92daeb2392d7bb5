// Exactly-once delivery across crashes and failures: a process killed between payment
// and delivery, a channel that refuses the message, and the recovery sweep that finishes
// the job without ever sending twice.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { notSent, withTimeout } from "../../flows/engine/index.ts";
import type { Outbox, SendReport } from "../../flows/engine/index.ts";
import { DELIVERY_LEASE_MS, MAX_DELIVERY_ATTEMPTS } from "../../flows/ordering/delivery.ts";
import { Order } from "../../flows/ordering/order.ts";
import type { OrderingLog } from "../../flows/ordering/ordering-deps.ts";
import { createOrdering } from "../../flows/ordering/ordering.ts";
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import { StockItem } from "../../flows/ordering/stock-item.ts";
import { customer, RecordingOutbox, seedOrderingStore, seller, testOrdering } from "./ordering-fixture.ts";
import { payloadFor, type SeededStore } from "../support/stores.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

let db: TestDatabase;
let store: SeededStore;
before(async () => {
  db = await openTestDatabase("ordering_delivery");
  store = await seedOrderingStore({ products: [{ code: "akun", price: 15_000, stock: 40 }] });
});
after(async () => {
  await db.close();
});

let buyers = 0;
async function unpaidOrder(ordering: ReturnType<typeof testOrdering>["ordering"], quantity = 1) {
  const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: customer(`deliv-${++buyers}`), items: [{ productCode: "akun", quantity }] });
  assert.ok(placed.ok);
  return placed.order;
}

/** Runs the fixture process until it says "ready", then kills it with SIGKILL. */
async function payThenDie(orderId: string, mode: "after-paid" | "during-send"): Promise<void> {
  const script = fileURLToPath(new URL("./fixtures/pay-then-die.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    env: { ...process.env, MONGO_URI: db.uri, ENCRYPTION_KEY_B64: db.encryptionKey.toString("base64"), TENANT_ID: store.tenantId, ORDER_ID: orderId, MODE: mode },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
    void exited.then((how) => reject(new Error(`the fixture exited (${String(how)}) before it was ready: ${stderr}`)));
  });
  child.kill("SIGKILL");
  assert.equal(await exited, "SIGKILL");
}

describe("a process killed between payment and delivery", () => {
  test("leaves a paid order that the recovery delivers once; a second recovery does nothing", { timeout: 60_000 }, async () => {
    const { ordering, outbox } = testOrdering();
    const order = await unpaidOrder(ordering);
    await payThenDie(order.id, "after-paid");
    assert.equal((await ordering.findOrder(store.tenantId, order.code))?.status, "paid");

    const first = await ordering.recoverUndelivered();
    assert.ok(first.delivered >= 1);
    assert.equal(outbox.deliveries(order.code).length, 1);
    assert.equal((await ordering.findOrder(store.tenantId, order.code))?.status, "delivered");
    const second = await ordering.recoverUndelivered();
    assert.equal(second.delivered, 0);
    assert.equal(outbox.deliveries(order.code).length, 1);
    // A replay of the webhook the dead process handled changes nothing either.
    assert.equal((await ordering.markPaid(store.tenantId, order.id, { method: "simulator", eventId: "evt-before-the-crash" })).outcome, "duplicate_event");
  });

  test("killed while sending: its claim is respected until the lease lapses, then the recovery delivers once", { timeout: 60_000 }, async () => {
    const { ordering, outbox } = testOrdering();
    const order = await unpaidOrder(ordering);
    await payThenDie(order.id, "during-send");
    const stored = await Order.findOne({ tenantId: store.tenant, _id: order.id }).lean().exec();
    assert.ok(stored?.delivery?.claimToken, "the dead process held the delivery claim");

    // Right away the claim may still be alive (a slow channel, not a dead process): hands off.
    await ordering.recoverUndelivered();
    assert.equal(outbox.deliveries(order.code).length, 0);
    const afterLease = new Date(Date.now() + DELIVERY_LEASE_MS + 1_000);
    await ordering.recoverUndelivered({ now: afterLease });
    assert.equal(outbox.deliveries(order.code).length, 1);
    await ordering.recoverUndelivered({ now: new Date(afterLease.getTime() + DELIVERY_LEASE_MS * 10) });
    assert.equal(outbox.deliveries(order.code).length, 1);
    assert.equal(await StockItem.countDocuments({ tenantId: store.tenant, orderId: order.id, status: "sold" }).exec(), 1);
  });
});

describe("delivering", () => {
  test("many concurrent deliveries of one paid order send the goods once", async () => {
    const { ordering, outbox } = testOrdering();
    const order = await unpaidOrder(ordering, 3);
    assert.equal((await ordering.markPaid(store.tenantId, order.id, { method: "manual" })).outcome, "paid");
    const results = await Promise.all(Array.from({ length: 12 }, () => ordering.deliverOrder(store.tenantId, order.id)));
    assert.equal(results.filter((r) => r.outcome === "delivered").length, 1);
    assert.equal(outbox.deliveries(order.code).length, 1);
    const payloads = outbox.deliveries(order.code).flatMap((m) => String(m.message.text.params?.items).match(/SECRET-[\w-]+/g) ?? []);
    assert.equal(payloads.length, 3);
    assert.ok(payloads.every((p) => p.startsWith(payloadFor(store.slug, "akun", 0).slice(0, -1))));
  });

  test("an unpaid order is never delivered", async () => {
    const { ordering, outbox } = testOrdering();
    const order = await unpaidOrder(ordering);
    assert.deepEqual(await ordering.deliverOrder(store.tenantId, order.id), { outcome: "skipped", reason: "not_paid" });
    assert.equal(outbox.sent.length, 0);
  });

  test("a channel that refuses is retried with back-off, then left for the seller; payloads never reach the order or the log", async () => {
    const logged: unknown[] = [];
    const log: OrderingLog = { info: (m, meta) => logged.push([m, meta]), warn: (m, meta) => logged.push([m, meta]), error: (m, meta) => logged.push([m, meta]) };
    const outbox = new RecordingOutbox();
    // A channel that quotes what it failed to send in its answer.
    outbox.failWith = (message) => ({ reason: "blocked", detail: `Forbidden: bot was blocked by the user while sending ${String(message.text.params?.items)}` });
    const { ordering } = testOrdering(outbox, { log });
    const order = await unpaidOrder(ordering);
    outbox.failNext = MAX_DELIVERY_ATTEMPTS;
    const approval = await ordering.approvePayment(store.tenantId, order.code, seller);
    assert.deepEqual(approval, { ok: true, code: order.code, delivery: "failed" });

    // Not again before its back-off …
    assert.deepEqual(await ordering.deliverOrder(store.tenantId, order.id), { outcome: "skipped", reason: "retry_later" });
    // … and after each back-off, until it gives up.
    let now = Date.now();
    for (let attempt = 2; attempt <= MAX_DELIVERY_ATTEMPTS; attempt++) {
      now += 2 * 3_600_000;
      await ordering.recoverUndelivered({ now: new Date(now) });
    }
    const stored = await Order.findOne({ tenantId: store.tenant, _id: order.id }).lean().exec();
    assert.equal(stored?.status, "paid");
    assert.equal(stored?.delivery?.attempts, MAX_DELIVERY_ATTEMPTS);
    assert.equal(stored?.attention, "delivery_failed");
    assert.equal((await ordering.recoverUndelivered({ now: new Date(now + 86_400_000) })).delivered, 0, "the sweep stops trying");

    const secret = payloadFor(store.slug, "akun", 0).slice(0, -2);
    assert.ok(stored?.delivery?.lastError?.includes("blocked"), "the reason is kept");
    assert.ok(!JSON.stringify(stored).includes(secret), "no payload in the order");
    assert.ok(!JSON.stringify(logged).includes(secret), "no payload in the log");

    // The customer unblocks the bot; the seller retries; it goes out once.
    const retried = await ordering.retryDelivery(store.tenantId, order.code);
    assert.equal(retried.outcome, "delivered");
    assert.equal(outbox.deliveries(order.code).length, 1);
    assert.equal((await Order.findOne({ tenantId: store.tenant, _id: order.id }).lean().exec())?.attention, undefined);
  });
});

describe("a channel slower than the send timeout", () => {
  /** An outbox whose channel answers only when the test says, as a channel stuck in its retries would. */
  class HeldOutbox extends RecordingOutbox {
    readonly held: { settle: (ok: boolean) => void }[] = [];
    protected override deliver(...[to, outbounds, options]: Parameters<RecordingOutbox["deliver"]>): Promise<SendReport> {
      return new Promise((resolve) => {
        this.held.push({
          settle: (ok) => resolve(ok ? this.record(to, outbounds, options) : notSent(outbounds.length, "rate-limited", "429: Too Many Requests: retry after 40", 40)),
        });
      });
    }

    /** The same channel, with no timeout in front of it. */
    untimed(): Pick<Outbox, "send"> {
      return { send: (to, outbounds, options = {}) => this.deliver(to, outbounds, options) };
    }
  }

  test("keeps the claim until the channel answers: a retry meanwhile sends nothing, a late success is delivered once", async () => {
    const outbox = new HeldOutbox();
    const { ordering } = testOrdering(outbox.use(withTimeout(30)));
    const order = await unpaidOrder(ordering);
    assert.equal((await ordering.markPaid(store.tenantId, order.id, { method: "manual" })).outcome, "paid");

    assert.deepEqual(await ordering.deliverOrder(store.tenantId, order.id), { outcome: "skipped", reason: "in_progress" });
    assert.equal(outbox.held.length, 1, "one send under way");
    // Every path that could send again: the sweep, a webhook's delivery, a later sweep.
    await ordering.recoverUndelivered();
    assert.equal((await ordering.deliverOrder(store.tenantId, order.id)).outcome, "skipped");
    await ordering.recoverUndelivered({ now: new Date(Date.now() + 60_000) });
    assert.equal(outbox.held.length, 1, "nobody sent the goods a second time while the first send was open");

    outbox.held[0].settle(true);
    const until = Date.now() + 5_000;
    while ((await ordering.findOrder(store.tenantId, order.code))?.status !== "delivered") {
      assert.ok(Date.now() < until, "the late answer marks the order delivered");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(outbox.deliveries(order.code).length, 1);
    assert.equal(await StockItem.countDocuments({ tenantId: store.tenant, orderId: order.id, status: "sold" }).exec(), 1);
  });

  test("a late refusal gives the claim back for a retry after the back-off", async () => {
    const outbox = new HeldOutbox();
    const { ordering } = testOrdering(outbox.use(withTimeout(30)));
    const order = await unpaidOrder(ordering);
    await ordering.markPaid(store.tenantId, order.id, { method: "manual" });
    assert.equal((await ordering.deliverOrder(store.tenantId, order.id)).outcome, "skipped");
    outbox.held[0].settle(false);
    const until = Date.now() + 5_000;
    let record = await Order.findOne({ tenantId: store.tenant, _id: order.id }).lean().exec();
    while (record?.delivery?.claimToken) {
      assert.ok(Date.now() < until, "the refusal releases the claim");
      await new Promise((resolve) => setTimeout(resolve, 20));
      record = await Order.findOne({ tenantId: store.tenant, _id: order.id }).lean().exec();
    }
    assert.equal(record?.status, "paid");
    assert.match(String(record?.delivery?.lastError), /429/);
    assert.ok(record!.delivery!.nextAttemptAt!.getTime() > Date.now() + 20_000, "retried only after the back-off");
    // The retry, by a process whose channel answers in time this once.
    const patient = createOrdering({ outbox: outbox.untimed(), gateways: gatewayMap(manualGateway()) });
    const retry = patient.deliverOrder(store.tenantId, order.id, { now: new Date(Date.now() + 60_000) });
    while (outbox.held.length < 2) await new Promise((resolve) => setTimeout(resolve, 2));
    outbox.held[1].settle(true);
    assert.equal((await retry).outcome, "delivered");
    assert.equal(outbox.deliveries(order.code).length, 1);
  });
});
