// Manual payment: a transfer, a proof photo kept sealed and purged on time, and a
// seller who approves (the goods go out once) or rejects (the stock goes back).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import mongoose from "mongoose";
import { Order } from "../../flows/ordering/order.ts";
import { ProofFile } from "../../flows/ordering/proof-store.ts";
import { StockItem } from "../../flows/ordering/stock-item.ts";
import { AuditLog } from "../../storage/models/index.ts";
import { customer, seedOrderingStore, seller, testOrdering } from "./ordering-fixture.ts";
import { type SeededStore } from "../support/stores.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

let db: TestDatabase;
let store: SeededStore;
before(async () => {
  db = await openTestDatabase("ordering_manual");
  store = await seedOrderingStore({ products: [{ code: "netflix", price: 35_000, stock: 20 }], settings: { proofRetentionDays: 7 } });
});
after(async () => {
  await db.close();
});

let buyers = 0;
async function placed(ordering: ReturnType<typeof testOrdering>["ordering"], quantity = 1) {
  const buyer = customer(`manual-${++buyers}`);
  const result = await ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "netflix", quantity }] });
  assert.ok(result.ok);
  return { buyer, order: result.order };
}

/** Everything stored about the store, as raw BSON-decoded JSON text, bypassing mongoose. */
async function rawStoreData(): Promise<string> {
  const dbh = mongoose.connection.db!;
  const docs = await Promise.all(["orders", "proof_files", "auditlogs"].map((c) => dbh.collection(c).find({}).toArray()));
  return JSON.stringify(docs);
}

describe("a payment proof", () => {
  test("is stored sealed: neither the file's bytes nor its channel reference appear in clear", async () => {
    const { ordering } = testOrdering();
    const { buyer, order } = await placed(ordering);
    const fileRef = "AgACAgUAAxkBAAIBproof-file-id-RAHASIA";
    const bytes = randomBytes(2048);
    const result = await ordering.submitPaymentProof(store.tenantId, buyer, order.code, { fileRef, bytes, mimeType: "image/jpeg" });
    assert.ok(result.ok);
    assert.ok(result.order.payment.proofSubmittedAt);

    const raw = await rawStoreData();
    assert.ok(!raw.includes(fileRef), "file reference not stored in clear");
    assert.ok(!raw.includes(bytes.toString("base64").slice(0, 40)), "file bytes not stored in clear (base64)");
    assert.ok(!raw.includes(bytes.toString("hex").slice(0, 40)), "file bytes not stored in clear (hex)");
    const proofDoc = await ProofFile.findOne({ tenantId: store.tenant, orderId: order.id }).lean().exec();
    assert.match(proofDoc?.sealedRef ?? "", /^v1\./);
    assert.match(proofDoc?.sealedData ?? "", /^v1\./);
    const purgeInDays = (proofDoc!.purgeAt.getTime() - Date.now()) / 86_400_000;
    assert.ok(purgeInDays > 6.9 && purgeInDays <= 7, "purged after the store's retention");

    // The seller opens it (the seller's order view shows it).
    const opened = await ordering.openOrderProof(store.tenantId, order.code, "payment");
    assert.equal(opened?.fileRef, fileRef);
    assert.deepEqual(opened?.bytes, bytes);
    assert.equal(opened?.mimeType, "image/jpeg");
  });

  test("a second proof replaces the first; an empty one or one for a closed order is refused", async () => {
    const { ordering } = testOrdering();
    const { buyer, order } = await placed(ordering);
    assert.ok((await ordering.submitPaymentProof(store.tenantId, buyer, order.code, { fileRef: "first" })).ok);
    assert.ok((await ordering.submitPaymentProof(store.tenantId, buyer, order.code, { fileRef: "second" })).ok);
    assert.equal(await ProofFile.countDocuments({ tenantId: store.tenant, orderId: order.id }).exec(), 1);
    assert.equal((await ordering.openOrderProof(store.tenantId, order.code, "payment"))?.fileRef, "second");
    assert.deepEqual(await ordering.submitPaymentProof(store.tenantId, buyer, order.code, {}), { ok: false, reason: "empty" });
    assert.deepEqual(await ordering.submitPaymentProof(store.tenantId, customer("other"), order.code, { fileRef: "x" }), { ok: false, reason: "not_found" });
    await ordering.rejectPayment(store.tenantId, order.code, seller, "tidak ada transfer");
    assert.deepEqual(await ordering.submitPaymentProof(store.tenantId, buyer, order.code, { fileRef: "late" }), { ok: false, reason: "not_pending" });
  });

  test("keeps the order from expiring while the seller checks it", async () => {
    const { ordering } = testOrdering();
    const { buyer, order } = await placed(ordering);
    await ordering.submitPaymentProof(store.tenantId, buyer, order.code, { fileRef: "receipt" });
    const late = new Date(order.expiresAt.getTime() + 60_000);
    assert.equal((await ordering.expireUnpaidOrder(store.tenantId, order.id, { now: late })).outcome, "skipped");
    assert.equal((await ordering.findOrder(store.tenantId, order.code))?.status, "pending_payment");
    assert.equal((await ordering.listOrders(store.tenantId, { awaitingApproval: true })).some((o) => o.code === order.code), true);
  });

  test("is purged after the retention period, and the order says so", async () => {
    const { ordering } = testOrdering();
    const { buyer, order } = await placed(ordering);
    await ordering.submitPaymentProof(store.tenantId, buyer, order.code, { bytes: randomBytes(100) });
    assert.equal(await ordering.purgeExpiredProofs(new Date(Date.now() + 6 * 86_400_000)), 0, "not before its time");
    const purged = await ordering.purgeExpiredProofs(new Date(Date.now() + 8 * 86_400_000));
    assert.ok(purged >= 1);
    assert.equal(await ProofFile.countDocuments({ tenantId: store.tenant, orderId: order.id }).exec(), 0);
    assert.equal(await ordering.openOrderProof(store.tenantId, order.code, "payment"), undefined);
    const stored = await Order.findOne({ tenantId: store.tenant, code: order.code }).lean().exec();
    assert.ok(stored?.payment?.proof?.purgedAt);
  });
});

describe("a seller's decision", () => {
  test("approving delivers the goods once, and approving again does nothing", async () => {
    const { ordering, outbox } = testOrdering();
    const { buyer, order } = await placed(ordering, 2);
    await ordering.submitPaymentProof(store.tenantId, buyer, order.code, { fileRef: "receipt" });
    const first = await ordering.approvePayment(store.tenantId, order.code, seller);
    assert.deepEqual(first, { ok: true, code: order.code, delivery: "delivered" });
    const second = await ordering.approvePayment(store.tenantId, order.code, seller);
    assert.deepEqual(second, { ok: false, reason: "already_paid", status: "delivered" });
    assert.equal(outbox.deliveries(order.code).length, 1);
    assert.equal(outbox.deliveredPayloads().length, 2);
    const view = await ordering.findMyOrder(store.tenantId, buyer, order.code);
    assert.equal(view?.status, "delivered");
    assert.deepEqual(view?.payment.approvedBy, seller);
    assert.equal(await StockItem.countDocuments({ tenantId: store.tenant, orderId: order.id, status: "sold" }).exec(), 2);
    const audit = await AuditLog.findOne({ tenantId: store.tenant, action: "order.approve_payment", "target.id": order.code }).lean().exec();
    assert.equal(audit?.actor?.userId, seller.userId);
  });

  test("many sellers approving at once deliver once", async () => {
    const { ordering, outbox } = testOrdering();
    const { order } = await placed(ordering);
    const results = await Promise.all(Array.from({ length: 10 }, () => ordering.approvePayment(store.tenantId, order.code, seller)));
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.equal(outbox.deliveries(order.code).length, 1);
  });

  test("rejecting releases the stock and tells the customer why", async () => {
    const { ordering, outbox } = testOrdering();
    const { buyer, order } = await placed(ordering, 3);
    await ordering.submitPaymentProof(store.tenantId, buyer, order.code, { fileRef: "blurry" });
    const before = await StockItem.countDocuments({ tenantId: store.tenant, status: "available" }).exec();
    const result = await ordering.rejectPayment(store.tenantId, order.code, seller, "Bukti transfer tidak terbaca");
    assert.ok(result.ok);
    assert.equal(result.order.status, "rejected");
    assert.equal(await StockItem.countDocuments({ tenantId: store.tenant, status: "available" }).exec(), before + 3);
    const notice = outbox.withKey("ordering.payment_rejected", order.code);
    assert.equal(notice.length, 1);
    assert.equal(notice[0].message.text.params?.reason, "Bukti transfer tidak terbaca");
    assert.equal(notice[0].to.chatId, buyer.chatId);
    // Approving a rejected order does nothing.
    assert.deepEqual(await ordering.approvePayment(store.tenantId, order.code, seller), { ok: false, reason: "not_pending", status: "rejected" });
    assert.equal(outbox.deliveries(order.code).length, 0);
    assert.ok(await AuditLog.exists({ tenantId: store.tenant, action: "order.reject_payment", "target.id": order.code }));
  });

  test("cancelling an unpaid order and refunding an undelivered one put the stock back", async () => {
    const { ordering, outbox } = testOrdering();
    const { order: unpaid } = await placed(ordering);
    const cancelled = await ordering.cancelOrder(store.tenantId, unpaid.code, seller, "stok salah");
    assert.ok(cancelled.ok);
    assert.equal(await StockItem.countDocuments({ tenantId: store.tenant, orderId: unpaid.id }).exec(), 0);
    assert.equal(outbox.withKey("ordering.order_cancelled", unpaid.code).length, 1);

    const { order: paid } = await placed(ordering);
    outbox.failNext = 1; // the delivery fails (customer blocked the bot), so the order stays paid
    await ordering.approvePayment(store.tenantId, paid.code, seller);
    assert.equal((await ordering.findOrder(store.tenantId, paid.code))?.status, "paid");
    const refunded = await ordering.refundOrder(store.tenantId, paid.code, seller, "pembeli minta batal");
    assert.ok(refunded.ok);
    assert.equal(await StockItem.countDocuments({ tenantId: store.tenant, orderId: paid.id }).exec(), 0);
    // A refunded order is never delivered, not even by the recovery sweep.
    await ordering.recoverUndelivered({ now: new Date(Date.now() + 86_400_000) });
    assert.equal(outbox.deliveries(paid.code).length, 0);
    // A delivered order cannot be cancelled or refunded.
    const { order: done } = await placed(ordering);
    await ordering.approvePayment(store.tenantId, done.code, seller);
    assert.deepEqual(await ordering.refundOrder(store.tenantId, done.code, seller), { ok: false, reason: "not_cancellable", status: "delivered" });
    assert.deepEqual(await ordering.cancelOrder(store.tenantId, done.code, seller), { ok: false, reason: "not_cancellable", status: "delivered" });
  });

  test("a seller of another store cannot act on this store's orders", async () => {
    const { ordering, outbox } = testOrdering();
    const { order } = await placed(ordering);
    const other = await seedOrderingStore({ products: [] });
    assert.deepEqual(await ordering.approvePayment(other.tenantId, order.code, seller), { ok: false, reason: "not_found" });
    assert.deepEqual(await ordering.rejectPayment(other.tenantId, order.code, seller, "x"), { ok: false, reason: "not_found" });
    assert.equal(await ordering.findOrder(other.tenantId, order.code), undefined);
    assert.equal((await ordering.findOrder(store.tenantId, order.code))?.status, "pending_payment");
    assert.equal(outbox.sent.length, 0);
  });
});
