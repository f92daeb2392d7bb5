// The store's business as `niaga start` wires it (bots/commerce.ts): ordering on the
// platform's Agenda, sellers' alerts and low-stock checks reaching members through the
// channel adapters, per-order jobs in the scheduler.
import assert from "node:assert/strict";
import mongoose from "mongoose";
import { after, before, describe, test } from "node:test";
import { createCommerce, type Commerce } from "../../bots/commerce.ts";
import { createScheduler, JOBS_COLLECTION, type PlatformScheduler } from "../../bots/scheduler.ts";
import { Product } from "../../flows/ordering/product.ts";
import { orderJobTimers } from "../../flows/ordering/order-jobs.ts";
import { Member, Tenant } from "../../storage/models/index.ts";
import { customer, seedOrderingStore } from "../ordering/ordering-fixture.ts";
import { type SeededStore } from "../support/stores.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { eventually } from "../support/eventually.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";

/** An outbox that keeps what it was asked to send, like a phone that always answers. */
class RecordingChannel extends RecordingOutbox {
  hits(key: string): { chatId: string; params: Record<string, unknown> }[] {
    return this.withKey(key).map((s) => ({ chatId: s.to.chatId, params: ("key" in s.message.text && s.message.text.params) || {} }));
  }
}

let db: TestDatabase;
let scheduler: PlatformScheduler;
let commerce: Commerce;
const channel = new RecordingChannel();

before(async () => {
  db = await openTestDatabase("commerce");
  scheduler = createScheduler({ db: mongoose.connection.db!, processEvery: 100, lockLifetimeMs: 5_000 });
  commerce = createCommerce({
    outbox: channel,
    encryptionKey: db.encryptionKey,
    payPageUrl: () => "http://127.0.0.1:9",
    agenda: scheduler.agenda,
  });
  await scheduler.start();
});
after(async () => {
  await scheduler.stop({ drainMs: 1_000 });
  await db.close();
});

async function storeWithTeam(products: Parameters<typeof seedOrderingStore>[0]["products"]): Promise<SeededStore> {
  const store = await seedOrderingStore({ products });
  for (const [userId, role] of [["o1", "owner"], ["a1", "admin"], ["s1", "staff"]] as const) {
    await Member.create({ tenantId: store.tenant, channel: "telegram", channelUserId: `${store.slug}-${userId}`, role } as never);
  }
  return store;
}

const chatsOf = (store: SeededStore, hits: { chatId: string }[]) => hits.map((h) => h.chatId.replace(`${store.slug}-`, "")).sort();

describe("commerce as the platform wires it", () => {
  test("an order that takes stock to its threshold alerts owners and admins once, through the scheduler", async () => {
    const store = await storeWithTeam([{ code: "netflix-1m", price: 35_000, stock: 4 }]);
    await Product.updateOne({ tenantId: store.tenant, code: "netflix-1m" }, { $set: { lowStockThreshold: 2 } }).exec();
    const buy = (n: number) => commerce.ordering.placeOrder({ tenantId: store.tenantId, customer: customer(`${store.slug}-${n}`), items: [{ productCode: "netflix-1m", quantity: 1 }], snkAccepted: true });
    const alerts = () => channel.hits("admin.low_stock.alert").filter((a) => a.chatId.startsWith(store.slug));
    let checks = 0;
    scheduler.agenda.on("complete:tenant-admin.check-low-stock", ((job: { attrs: { data: { tenantId?: string } } }) => {
      if (job.attrs.data.tenantId === store.tenantId) checks++;
    }) as never);

    assert.ok((await buy(1)).ok);
    // 3 left, above the threshold: a check runs and says nothing.
    await eventually(() => checks === 1, "the first check ran");
    assert.equal(alerts().length, 0);

    assert.ok((await buy(2)).ok);
    await eventually(() => checks === 2 && alerts().length === 2, "owner and admin alerted at the threshold");
    assert.deepEqual(chatsOf(store, alerts()), ["a1", "o1"], "staff are not told");
    const storeName = (await Tenant.findById(store.tenant, { name: 1 }).lean().exec())!.name;
    assert.deepEqual(alerts()[0].params, { sku: "netflix-1m", name: "Produk netflix-1m", count: 2, threshold: 2, store: storeName });

    assert.ok((await buy(3)).ok);
    await eventually(() => checks === 3, "the third check ran");
    assert.equal(alerts().length, 2, "not again for the same fall");
    assert.equal(await mongoose.connection.db!.collection(JOBS_COLLECTION).countDocuments({ name: "tenant-admin.check-low-stock", "data.tenantId": store.tenantId }), 0, "finished checks leave no job behind");
  });

  test("a transfer proof alerts whoever may approve it; a claim, whoever may settle it", async () => {
    const store = await storeWithTeam([{ code: "spotify-1m", price: 25_000, stock: 3 }]);
    const buyer = customer(`${store.slug}-buyer`);
    const placed = await commerce.ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "spotify-1m", quantity: 1 }], snkAccepted: true });
    assert.ok(placed.ok);
    const code = placed.order.code;
    assert.ok((await commerce.ordering.startPayment(store.tenantId, buyer, code, "manual")).ok);
    assert.ok((await commerce.ordering.submitPaymentProof(store.tenantId, buyer, code, { fileRef: "proof-photo-1" })).ok);
    const proofAlerts = () => channel.hits("admin.order_alert.proof_submitted").filter((a) => a.params.code === code && a.chatId.startsWith(store.slug));
    await eventually(() => proofAlerts().length === 3, "owner, admin and staff hear of the proof");
    assert.deepEqual(chatsOf(store, proofAlerts()), ["a1", "o1", "s1"]);

    const approved = await commerce.ordering.approvePayment(store.tenantId, code, { channel: "telegram", userId: `${store.slug}-s1` });
    assert.ok(approved.ok && approved.delivery === "delivered");
    const goods = channel.hits("ordering.delivery").filter((d) => d.params.code === code && d.chatId === buyer.chatId);
    assert.equal(goods.length, 1, "the buyer got the goods once");

    const claimed = await commerce.ordering.claimOrder(store.tenantId, buyer, code, { text: "Akun tidak bisa login", proof: { fileRef: "claim-shot" } });
    assert.ok(claimed.ok);
    const claimAlerts = () => channel.hits("admin.order_alert.claim_opened").filter((a) => a.params.code === code && a.chatId.startsWith(store.slug));
    await eventually(() => claimAlerts().length === 2, "owner and admin hear of the claim");
    assert.deepEqual(chatsOf(store, claimAlerts()), ["a1", "o1"]);
  });

  test("placing an order schedules its payment deadline in the scheduler, once", async () => {
    const store = await storeWithTeam([{ code: "canva-1y", price: 45_000, stock: 2 }]);
    const placed = await commerce.ordering.placeOrder({ tenantId: store.tenantId, customer: customer(`${store.slug}-c`), items: [{ productCode: "canva-1y", quantity: 1 }], snkAccepted: true });
    assert.ok(placed.ok);
    // A retried request scheduling it again keeps the one job.
    await orderJobTimers(scheduler.agenda).orderPlaced({ tenantId: store.tenantId, orderId: placed.order.id, expiresAt: placed.order.expiresAt });
    const jobs = await mongoose.connection.db!.collection(JOBS_COLLECTION).find({ name: "expire-unpaid-order", "data.tenantId": store.tenantId }).toArray();
    assert.equal(jobs.length, 1);
    const due = (jobs[0].nextRunAt as Date).getTime();
    assert.ok(Math.abs(due - placed.order.expiresAt.getTime()) < 1_000, "due at the order's payment deadline");
  });
});
