// After delivery: the SNK window (confirm, claim with a screenshot, reminder, close as
// confirmed) and "my orders", which shows a customer their own orders and nobody else's.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Order } from "../../flows/ordering/order.ts";
import { customer, seedOrderingStore, seller, testOrdering } from "./ordering-fixture.ts";
import { type SeededStore } from "../support/stores.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

let db: TestDatabase;
let store: SeededStore;
before(async () => {
  db = await openTestDatabase("ordering_snk");
  store = await seedOrderingStore({ products: [{ code: "spotify", price: 25_000, stock: 40 }], settings: { snkWindowHours: 24, snkText: "Klaim maksimal 1x24 jam dengan screenshot." } });
});
after(async () => {
  await db.close();
});

let buyers = 0;
async function deliveredOrder(ordering: ReturnType<typeof testOrdering>["ordering"]) {
  const buyer = customer(`snk-${++buyers}`);
  const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "spotify", quantity: 1 }], snkAccepted: true });
  assert.ok(placed.ok);
  assert.ok(placed.order.snk.acceptedAt, "SNK acceptance recorded before checkout");
  const approved = await ordering.approvePayment(store.tenantId, placed.order.code, seller);
  assert.ok(approved.ok && approved.delivery === "delivered");
  return { buyer, order: (await ordering.findMyOrder(store.tenantId, buyer, placed.order.code))! };
}

describe("the SNK window", () => {
  test("opens at delivery for the store's window and records the accepted terms", async () => {
    const { ordering, outbox } = testOrdering();
    const { order } = await deliveredOrder(ordering);
    assert.equal(order.snk.state, "open");
    const hours = (order.snk.windowEndsAt!.getTime() - order.deliveredAt!.getTime()) / 3_600_000;
    assert.ok(Math.abs(hours - 24) < 0.01);
    const stored = await Order.findOne({ tenantId: store.tenant, code: order.code }).lean().exec();
    assert.match(stored?.snk?.acceptedTextDigest ?? "", /^[0-9a-f]{64}$/);
    assert.match(String(outbox.deliveries(order.code)[0].message.text.params?.windowEnds), /\d/);
  });

  test("a confirmation completes the order; a second answer is refused", async () => {
    const { ordering } = testOrdering();
    const { buyer, order } = await deliveredOrder(ordering);
    const confirmed = await ordering.confirmOrder(store.tenantId, buyer, order.code);
    assert.ok(confirmed.ok);
    assert.equal(confirmed.order.status, "completed");
    assert.equal(confirmed.order.snk.state, "confirmed");
    assert.deepEqual(await ordering.confirmOrder(store.tenantId, buyer, order.code), { ok: false, reason: "already_answered" });
    assert.deepEqual(await ordering.claimOrder(store.tenantId, buyer, order.code, { text: "rusak" }), { ok: false, reason: "already_answered" });
  });

  test("a claim with a screenshot reaches the seller, who resolves it; the customer is told", async () => {
    const events: string[] = [];
    const { ordering, outbox } = testOrdering(undefined, { onEvent: (e) => events.push(`${e.type}:${e.orderCode}`) });
    const { buyer, order } = await deliveredOrder(ordering);
    assert.deepEqual(await ordering.claimOrder(store.tenantId, buyer, order.code, { text: "  " }), { ok: false, reason: "claim_text_invalid", max: 2000 });
    assert.deepEqual(await ordering.claimOrder(store.tenantId, buyer, order.code, { text: "x".repeat(10_000) }), { ok: false, reason: "claim_text_invalid", max: 2000 });
    const claimed = await ordering.claimOrder(store.tenantId, buyer, order.code, { text: "Akun tidak bisa login 🙏 パスワード", proof: { fileRef: "screenshot-file-id" } });
    assert.ok(claimed.ok);
    assert.equal(claimed.order.snk.state, "claimed");
    assert.ok(events.includes(`claim_opened:${order.code}`));

    const claims = await ordering.listClaims(store.tenantId);
    const mine = claims.find((c) => c.code === order.code);
    assert.equal(mine?.snk.claim?.text, "Akun tidak bisa login 🙏 パスワード");
    assert.equal(mine?.snk.claim?.hasProof, true);
    assert.equal((await ordering.openOrderProof(store.tenantId, order.code, "claim"))?.fileRef, "screenshot-file-id");
    const other = await seedOrderingStore({ products: [] });
    assert.deepEqual(await ordering.listClaims(other.tenantId), [], "another store sees no claims of this one");

    const resolved = await ordering.resolveClaim(store.tenantId, order.code, seller, { outcome: "accepted", note: "Akun pengganti dikirim manual." });
    assert.ok(resolved.ok);
    assert.equal(resolved.order.status, "completed");
    assert.equal(resolved.order.snk.claim?.resolution?.outcome, "accepted");
    assert.equal(outbox.withKey("ordering.claim_accepted", order.code).length, 1);
    assert.deepEqual(await ordering.resolveClaim(store.tenantId, order.code, seller, { outcome: "refused" }), { ok: false, reason: "no_open_claim" });
    assert.equal((await ordering.listClaims(store.tenantId)).some((c) => c.code === order.code), false);
  });

  test("a reminder goes out once when a quarter of the window is left", async () => {
    const { ordering, outbox } = testOrdering();
    const { order } = await deliveredOrder(ordering);
    const ends = order.snk.windowEndsAt!.getTime();
    assert.equal(await ordering.remindSnk(store.tenantId, order.id, { now: new Date(ends - 12 * 3_600_000) }), "skipped", "not too early");
    assert.equal(await ordering.remindSnk(store.tenantId, order.id, { now: new Date(ends - 5 * 3_600_000) }), "sent");
    assert.equal(await ordering.remindSnk(store.tenantId, order.id, { now: new Date(ends - 4 * 3_600_000) }), "skipped", "only once");
    const reminders = outbox.withKey("ordering.snk_reminder", order.code);
    assert.equal(reminders.length, 1);
    assert.match(String(reminders[0].message.text.params?.windowEnds), /\d/);
  });

  test("an unanswered window closes as confirmed; answers after it are refused", async () => {
    const { ordering, outbox } = testOrdering();
    const { buyer, order } = await deliveredOrder(ordering);
    assert.equal(await ordering.closeSnkWindow(store.tenantId, order.id, { now: new Date(order.snk.windowEndsAt!.getTime() - 1) }), "skipped");
    // The window ends (moved into the past rather than waited for) before the close job runs: too late to claim.
    const ends = new Date(Date.now() - 1_000);
    await Order.updateOne({ tenantId: store.tenant, code: order.code }, { $set: { "snk.windowEndsAt": ends } }).exec();
    assert.deepEqual(await ordering.claimOrder(store.tenantId, buyer, order.code, { text: "telat" }), { ok: false, reason: "window_closed" });
    assert.deepEqual(await ordering.confirmOrder(store.tenantId, buyer, order.code), { ok: false, reason: "window_closed" });
    assert.equal(await ordering.closeSnkWindow(store.tenantId, order.id), "closed");
    assert.equal(await ordering.closeSnkWindow(store.tenantId, order.id), "skipped");
    const closed = await ordering.findMyOrder(store.tenantId, buyer, order.code);
    assert.equal(closed?.status, "completed");
    assert.equal(closed?.snk.state, "confirmed");
    assert.equal(outbox.withKey("ordering.snk_closed", order.code).length, 1);
  });

  test("the sweep sends due reminders and closes due windows across stores", async () => {
    const { ordering, outbox } = testOrdering();
    const { order } = await deliveredOrder(ordering);
    const report = await ordering.sweepOverdue(new Date(order.snk.windowEndsAt!.getTime() + 1));
    assert.ok(report.snk.closed >= 1);
    assert.equal((await ordering.findOrder(store.tenantId, order.code))?.snk.state, "confirmed");
    assert.equal(outbox.withKey("ordering.snk_closed", order.code).length, 1);
  });
});

describe("my orders", () => {
  test("lists the customer's own orders, newest first, and finds one by code in any common spelling", async () => {
    const { ordering } = testOrdering();
    const buyer = customer("mine");
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "spotify", quantity: 1 }] });
      assert.ok(placed.ok);
      codes.push(placed.order.code);
    }
    await ordering.placeOrder({ tenantId: store.tenantId, customer: customer("someone-else"), items: [{ productCode: "spotify", quantity: 1 }] });
    const list = await ordering.listMyOrders(store.tenantId, buyer);
    assert.deepEqual(list.map((o) => o.code), [...codes].reverse());
    const code = codes[0];
    const digits = String(Number(code.slice(4)));
    for (const spelling of [code, code.toLowerCase(), ` ${code} `, `#${digits}`, digits]) {
      assert.equal((await ordering.findMyOrder(store.tenantId, buyer, spelling))?.code, code, spelling);
    }
    const view = list[0];
    assert.ok(!("stockItemIds" in view) && !JSON.stringify(view).includes("claimToken"), "no internals in the view");
  });

  test("an order code of another customer, or of another store, finds nothing", async () => {
    const { ordering } = testOrdering();
    const alice = customer("alice");
    const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: alice, items: [{ productCode: "spotify", quantity: 1 }] });
    assert.ok(placed.ok);
    const code = placed.order.code;
    assert.equal(await ordering.findMyOrder(store.tenantId, customer("mallory"), code), undefined);
    assert.equal(await ordering.findMyOrder(store.tenantId, { channel: "whatsapp", channelUserId: alice.channelUserId }, code), undefined, "same user id on another channel");
    const otherStore = await seedOrderingStore({ products: [{ code: "spotify", price: 1, stock: 1 }] });
    assert.equal(await ordering.findMyOrder(otherStore.tenantId, alice, code), undefined);
    assert.deepEqual(await ordering.listMyOrders(otherStore.tenantId, alice), []);
    assert.equal(await ordering.findMyOrder(store.tenantId, alice, "INV-99999999"), undefined);
    assert.equal(await ordering.findMyOrder(store.tenantId, alice, "x".repeat(10_000)), undefined);
    assert.equal(await ordering.findMyOrder(store.tenantId, alice, "'; drop"), undefined);
    assert.equal(await ordering.findMyOrder("not-an-id", alice, code), undefined);
    // Nor can they act on it.
    assert.deepEqual(await ordering.cancelMyOrder(store.tenantId, customer("mallory"), code), { ok: false, reason: "not_found" });
    assert.deepEqual(await ordering.confirmOrder(store.tenantId, customer("mallory"), code), { ok: false, reason: "not_found" });
  });

  test("a customer may cancel their own unpaid order, which releases its stock", async () => {
    const { ordering } = testOrdering();
    const buyer = customer("changed-mind");
    const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "spotify", quantity: 2 }] });
    assert.ok(placed.ok);
    const cancelled = await ordering.cancelMyOrder(store.tenantId, buyer, placed.order.code);
    assert.ok(cancelled.ok);
    assert.equal(cancelled.order.status, "cancelled");
    assert.deepEqual(await ordering.orderableQuantity(store.tenantId, "spotify").then((q) => q.ok), true);
    assert.deepEqual(await ordering.cancelMyOrder(store.tenantId, buyer, placed.order.code), { ok: false, reason: "not_cancellable", status: "cancelled" });
  });
});
