// Unpaid orders expire on time through persistent Agenda jobs: stock back on sale, the
// customer told, once — and a restart between scheduling and running changes nothing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mongoose from "mongoose";
import { createScheduler, JOBS_COLLECTION } from "../../bots/scheduler.ts";
import { defineOrderJobs, ORDER_JOBS, orderJobTimers, scheduleRecurringOrderJobs } from "../../flows/ordering/order-jobs.ts";
import { createOrdering } from "../../flows/ordering/ordering.ts";
import { Order } from "../../flows/ordering/order.ts";
import { StockItem } from "../../flows/ordering/stock-item.ts";
import { customer, RecordingOutbox, seedOrderingStore, testOrdering } from "./ordering-fixture.ts";
import { type SeededStore } from "../support/stores.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { eventually } from "../support/eventually.ts";

let db: TestDatabase;
let store: SeededStore;
before(async () => {
  db = await openTestDatabase("ordering_jobs");
  store = await seedOrderingStore({ products: [{ code: "kopi", price: 20_000, stock: 30 }], settings: { paymentTimeoutMinutes: 30 } });
});
after(async () => {
  await db.close();
});

let buyers = 0;
const available = () => StockItem.countDocuments({ tenantId: store.tenant, status: "available" }).exec();

describe("an unpaid order past its deadline", () => {
  test("expires, releases its stock and tells the customer; running the expiry again changes nothing", async () => {
    const { ordering, outbox } = testOrdering();
    const buyer = customer(`exp-${++buyers}`);
    const start = await available();
    const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "kopi", quantity: 2 }] });
    assert.ok(placed.ok);
    assert.equal(await available(), start - 2);
    const minutes = (placed.order.expiresAt.getTime() - placed.order.createdAt.getTime()) / 60_000;
    assert.equal(Math.round(minutes), 30, "the store's payment timeout");

    assert.deepEqual(await ordering.expireUnpaidOrder(store.tenantId, placed.order.id), { outcome: "skipped", status: "pending_payment" }, "not before its deadline");
    const late = new Date(placed.order.expiresAt.getTime() + 1);
    assert.deepEqual(await ordering.expireUnpaidOrder(store.tenantId, placed.order.id, { now: late }), { outcome: "expired", code: placed.order.code, released: 2 });
    assert.deepEqual(await ordering.expireUnpaidOrder(store.tenantId, placed.order.id, { now: late }), { outcome: "skipped", status: "expired" });
    assert.equal(await available(), start);
    const notices = outbox.withKey("ordering.order_expired", placed.order.code);
    assert.equal(notices.length, 1);
    assert.deepEqual(notices[0].message.text.params, { code: placed.order.code, store: "Toko Uji 1", minutes: 30 });
    assert.equal(notices[0].to.chatId, buyer.chatId);
    // A paid order is never expired.
    const paid = await ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "kopi", quantity: 1 }] });
    assert.ok(paid.ok);
    await ordering.markPaid(store.tenantId, paid.order.id, { method: "manual" });
    assert.equal((await ordering.expireUnpaidOrder(store.tenantId, paid.order.id, { now: new Date(paid.order.expiresAt.getTime() + 1) })).outcome, "skipped");
  });

  test("whose expiry job was lost is expired by the sweep", async () => {
    const { ordering, outbox } = testOrdering();
    const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: customer(`sweep-${++buyers}`), items: [{ productCode: "kopi", quantity: 1 }] });
    assert.ok(placed.ok);
    const report = await ordering.sweepOverdue(new Date(placed.order.expiresAt.getTime() + 1));
    assert.ok(report.expired >= 1);
    assert.equal((await ordering.findOrder(store.tenantId, placed.order.code))?.status, "expired");
    assert.equal(outbox.withKey("ordering.order_expired", placed.order.code).length, 1);
  });
});

describe("the expiry job", () => {
  test("scheduled by one instance is run by another after the first stopped", { timeout: 60_000 }, async () => {
    const connDb = mongoose.connection.db!;
    const outboxA = new RecordingOutbox();
    const first = createScheduler({ db: connDb, processEvery: 200, lockLifetimeMs: 2_000, name: "instance-a" });
    const orderingA = createOrdering({ outbox: outboxA, timers: orderJobTimers(first.agenda) });
    defineOrderJobs(first.agenda, orderingA);
    await first.start();

    const buyer = customer(`agenda-${++buyers}`);
    const placed = await orderingA.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "kopi", quantity: 1 }] });
    assert.ok(placed.ok);
    const job = await connDb.collection(JOBS_COLLECTION).findOne({ name: ORDER_JOBS.expireUnpaidOrder, "data.orderId": placed.order.id });
    assert.ok(job, "placing the order scheduled its expiry");
    assert.equal(job.nextRunAt?.getTime(), placed.order.expiresAt.getTime());
    // Scheduling again (a retried request) keeps one job.
    await orderJobTimers(first.agenda).orderPlaced({ tenantId: store.tenantId, orderId: placed.order.id, expiresAt: placed.order.expiresAt });
    assert.equal(await connDb.collection(JOBS_COLLECTION).countDocuments({ name: ORDER_JOBS.expireUnpaidOrder, "data.orderId": placed.order.id }), 1);

    // The platform stops before the deadline …
    await first.stop();
    // … the deadline passes while it is down (brought forward here rather than waited for) …
    const deadline = new Date(Date.now() + 300);
    await Order.updateOne({ tenantId: store.tenant, _id: placed.order.id }, { $set: { expiresAt: deadline } }).exec();
    await connDb.collection(JOBS_COLLECTION).updateOne({ _id: job._id }, { $set: { nextRunAt: deadline } });

    // … and a new instance, with nothing but the database, expires the order.
    const outboxB = new RecordingOutbox();
    const second = createScheduler({ db: connDb, processEvery: 200, lockLifetimeMs: 2_000, name: "instance-b" });
    const orderingB = createOrdering({ outbox: outboxB, timers: orderJobTimers(second.agenda) });
    defineOrderJobs(second.agenda, orderingB);
    await second.start();
    try {
      await eventually(async () => (await orderingB.findOrder(store.tenantId, placed.order.code))?.status === "expired", "the new instance expires the order");
      await eventually(() => outboxB.withKey("ordering.order_expired", placed.order.code).length === 1, "the customer is told");
      await eventually(async () => (await connDb.collection(JOBS_COLLECTION).countDocuments({ _id: job._id })) === 0, "the finished one-off job is removed");
    } finally {
      await second.stop();
    }
    assert.equal(outboxA.sent.length, 0);
    assert.equal(outboxB.withKey("ordering.order_expired", placed.order.code).length, 1);
  });

  test("delivery schedules the SNK reminder and close for its order", async () => {
    const connDb = mongoose.connection.db!;
    const scheduler = createScheduler({ db: connDb, processEvery: 60_000, lockLifetimeMs: 2_000 });
    const ordering = createOrdering({ outbox: new RecordingOutbox(), timers: orderJobTimers(scheduler.agenda) });
    const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: customer(`snkjob-${++buyers}`), items: [{ productCode: "kopi", quantity: 1 }] });
    assert.ok(placed.ok);
    await ordering.markPaid(store.tenantId, placed.order.id, { method: "manual" });
    assert.equal((await ordering.deliverOrder(store.tenantId, placed.order.id)).outcome, "delivered");
    const view = await ordering.findOrder(store.tenantId, placed.order.code);
    const reminder = await connDb.collection(JOBS_COLLECTION).findOne({ name: ORDER_JOBS.snkReminder, "data.orderId": placed.order.id });
    const close = await connDb.collection(JOBS_COLLECTION).findOne({ name: ORDER_JOBS.snkClose, "data.orderId": placed.order.id });
    assert.equal(close?.nextRunAt?.getTime(), view?.snk.windowEndsAt?.getTime());
    assert.ok(reminder && reminder.nextRunAt < close!.nextRunAt && reminder.nextRunAt > new Date());
  });

  test("recurring jobs are created once however many instances start", async () => {
    const connDb = mongoose.connection.db!;
    const a = createScheduler({ db: connDb, processEvery: 60_000, lockLifetimeMs: 2_000 });
    const b = createScheduler({ db: connDb, processEvery: 60_000, lockLifetimeMs: 2_000 });
    for (const s of [a, b]) defineOrderJobs(s.agenda, testOrdering().ordering);
    await Promise.all([a.start(), b.start()]);
    try {
      await scheduleRecurringOrderJobs(a.agenda);
      await scheduleRecurringOrderJobs(b.agenda);
      for (const name of [ORDER_JOBS.recoverUndelivered, ORDER_JOBS.sweepOverdueOrders, ORDER_JOBS.purgePaymentProofs]) {
        assert.equal(await connDb.collection(JOBS_COLLECTION).countDocuments({ name }), 1, name);
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
