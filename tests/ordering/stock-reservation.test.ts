// Stock under contention, and what a customer may order: no item is ever held by two
// orders, no buyer gets more than the store allows, and a product that disappears
// mid-conversation is a clear refusal.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Types } from "mongoose";
import { Order } from "../../flows/ordering/order.ts";
import { Product } from "../../flows/ordering/product.ts";
import { StockItem } from "../../flows/ordering/stock-item.ts";
import { releaseOrphanedReservations, reserveStock } from "../../flows/ordering/stock-reservation.ts";
import { customer, seedOrderingStore, seller, testOrdering } from "./ordering-fixture.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

let db: TestDatabase;
before(async () => {
  db = await openTestDatabase("ordering_stock");
});
after(async () => {
  await db.close();
});

async function stockCounts(tenant: Types.ObjectId, productId: Types.ObjectId) {
  const items = await StockItem.find({ tenantId: tenant, productId }).lean().exec();
  const count = (s: string) => items.filter((i) => i.status === s).length;
  return { available: count("available"), reserved: count("reserved"), sold: count("sold"), items };
}

describe("200 buyers for 50 items", () => {
  test("end with exactly 50 orders, each item held by one order, and all 50 sold once after payment", { timeout: 120_000 }, async () => {
    const store = await seedOrderingStore({ products: [{ code: "voucher", price: 10_000, stock: 50 }] });
    const { ordering, outbox } = testOrdering();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => ordering.placeOrder({ tenantId: store.tenantId, customer: customer(`rush-${i}`), items: [{ productCode: "voucher", quantity: 1 }] })),
    );
    const placed = results.filter((r) => r.ok);
    const refused = results.filter((r) => !r.ok);
    assert.equal(placed.length, 50);
    assert.ok(refused.every((r) => !r.ok && r.reason === "sold_out"), "every other buyer hears the product is sold out");

    const counts = await stockCounts(store.tenant, store.products.voucher);
    assert.deepEqual({ available: counts.available, reserved: counts.reserved, sold: counts.sold }, { available: 0, reserved: 50, sold: 0 });
    const orders = await Order.find({ tenantId: store.tenant }).lean().exec();
    const held = orders.flatMap((o) => o.stockItemIds.map(String));
    assert.equal(new Set(held).size, 50, "no item is held by two orders");
    for (const order of orders) {
      const owned = counts.items.filter((i) => String(i.orderId) === String(order._id));
      assert.deepEqual(owned.map((i) => String(i._id)).sort(), order.stockItemIds.map(String).sort());
    }
    assert.equal(new Set(orders.map((o) => o.code)).size, 50, "order codes are unique");

    await Promise.all(orders.map((o) => ordering.approvePayment(store.tenantId, o.code, seller)));
    const sold = await stockCounts(store.tenant, store.products.voucher);
    assert.deepEqual({ available: sold.available, reserved: sold.reserved, sold: sold.sold }, { available: 0, reserved: 0, sold: 50 });
    const payloads = outbox.deliveredPayloads();
    assert.equal(payloads.length, 50);
    assert.equal(new Set(payloads).size, 50, "no item was delivered twice");
  });

  test("buyers of several units each never hold an item twice, and nothing leaks", { timeout: 120_000 }, async () => {
    const store = await seedOrderingStore({ products: [{ code: "akun", price: 5_000, stock: 50 }] });
    const { ordering } = testOrdering();
    const quantities = Array.from({ length: 120 }, (_, i) => 1 + (i % 4));
    const results = await Promise.all(
      quantities.map((quantity, i) => ordering.placeOrder({ tenantId: store.tenantId, customer: customer(`multi-${i}`), items: [{ productCode: "akun", quantity }] })),
    );
    const placedUnits = results.reduce((n, r, i) => n + (r.ok ? quantities[i] : 0), 0);
    const counts = await stockCounts(store.tenant, store.products.akun);
    assert.equal(counts.reserved, placedUnits, "reserved items are exactly the units of placed orders");
    assert.equal(counts.available + counts.reserved, 50, "no item lost or invented");
    const orders = await Order.find({ tenantId: store.tenant }).lean().exec();
    for (const order of orders) assert.equal(order.stockItemIds.length, order.items[0].quantity);
    assert.equal(new Set(orders.flatMap((o) => o.stockItemIds.map(String))).size, placedUnits);
    for (const r of results) if (!r.ok) assert.ok(r.reason === "sold_out" || r.reason === "not_enough_stock", `refused as ${r.reason}`);

    // What is left is still for sale: one more buyer takes it all.
    if (counts.available > 0) {
      const rest = await ordering.placeOrder({ tenantId: store.tenantId, customer: customer("late"), items: [{ productCode: "akun", quantity: Math.min(counts.available, 10) }] });
      assert.equal(rest.ok, true);
    }
  });
});

describe("what one order may take", () => {
  test("quantity is bounded by the product's per-order maximum, the store's default and the stock", async () => {
    const store = await seedOrderingStore({
      products: [
        { code: "batas", price: 1_000, stock: 20, perOrderMax: 3 },
        { code: "biasa", price: 1_000, stock: 4 },
      ],
      settings: { maxQuantityPerOrder: 10 },
    });
    const { ordering } = testOrdering();
    const buyer = customer("qty");
    const place = (productCode: string, quantity: number) => ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode, quantity }] });

    assert.deepEqual(await place("batas", 4), { ok: false, reason: "quantity_invalid", productCode: "batas", max: 3 });
    assert.deepEqual(await place("batas", 0), { ok: false, reason: "quantity_invalid", productCode: "batas", max: 3 });
    assert.deepEqual(await place("batas", 1.5), { ok: false, reason: "quantity_invalid", productCode: "batas", max: 3 });
    assert.deepEqual(await place("batas", Number.NaN), { ok: false, reason: "quantity_invalid", productCode: "batas", max: 3 });
    assert.deepEqual(await place("biasa", 11), { ok: false, reason: "quantity_invalid", productCode: "biasa", max: 10 });
    assert.deepEqual(await place("biasa", 5), { ok: false, reason: "not_enough_stock", productCode: "biasa", available: 4 });
    assert.deepEqual(await ordering.orderableQuantity(store.tenantId, "batas"), { ok: true, max: 3, available: 20 });
    assert.deepEqual(await ordering.orderableQuantity(store.tenantId, "biasa"), { ok: true, max: 4, available: 4 });

    const ok = await place("biasa", 4);
    assert.equal(ok.ok, true);
    assert.equal(ok.ok && ok.order.total, 4_000);
    assert.deepEqual(await ordering.orderableQuantity(store.tenantId, "biasa"), { ok: false, reason: "sold_out" });
    // Nothing was held by the refused attempts.
    const counts = await stockCounts(store.tenant, store.products.batas);
    assert.equal(counts.available, 20);
  });

  test("a product hidden or sold out since the customer saw it is refused with a clear reason", async () => {
    const store = await seedOrderingStore({ products: [{ code: "hilang", price: 1_000, stock: 5 }, { code: "laris", price: 1_000, stock: 1 }] });
    const { ordering } = testOrdering();
    await Product.updateOne({ tenantId: store.tenant, code: "hilang" }, { $set: { status: "hidden" } }).exec();
    assert.deepEqual(await ordering.placeOrder({ tenantId: store.tenantId, customer: customer("a"), items: [{ productCode: "hilang", quantity: 1 }] }), {
      ok: false,
      reason: "product_unavailable",
      productCode: "hilang",
    });
    assert.deepEqual(await ordering.placeOrder({ tenantId: store.tenantId, customer: customer("a"), items: [{ productCode: "tidak-ada", quantity: 1 }] }), {
      ok: false,
      reason: "product_unavailable",
      productCode: "tidak-ada",
    });
    assert.equal((await ordering.placeOrder({ tenantId: store.tenantId, customer: customer("b"), items: [{ productCode: "laris", quantity: 1 }] })).ok, true);
    assert.deepEqual(await ordering.placeOrder({ tenantId: store.tenantId, customer: customer("a"), items: [{ productCode: "laris", quantity: 1 }] }), {
      ok: false,
      reason: "sold_out",
      productCode: "laris",
    });
    assert.equal(await Order.countDocuments({ tenantId: store.tenant, "customer.channelUserId": "ua" }).exec(), 0, "no order was written for the refusals");
  });

  test("an order of two products holds both or neither", async () => {
    const store = await seedOrderingStore({ products: [{ code: "satu", price: 1_000, stock: 5 }, { code: "dua", price: 2_000, stock: 1 }] });
    const { ordering } = testOrdering();
    const refused = await ordering.placeOrder({
      tenantId: store.tenantId,
      customer: customer("combo"),
      items: [
        { productCode: "satu", quantity: 2 },
        { productCode: "dua", quantity: 2 },
      ],
    });
    assert.deepEqual(refused, { ok: false, reason: "not_enough_stock", productCode: "dua", available: 1 });
    assert.equal((await stockCounts(store.tenant, store.products.satu)).available, 5, "the first product's units were given back");
    const placed = await ordering.placeOrder({
      tenantId: store.tenantId,
      customer: customer("combo"),
      items: [
        { productCode: "satu", quantity: 1 },
        { productCode: "dua", quantity: 1 },
        { productCode: "satu", quantity: 1 },
      ],
    });
    assert.ok(placed.ok);
    assert.deepEqual(
      placed.order.items.map((i) => [i.productCode, i.quantity]),
      [
        ["satu", 2],
        ["dua", 1],
      ],
    );
    assert.equal(placed.order.total, 4_000);
  });

  test("a customer cannot hoard stock with many unpaid orders", async () => {
    const store = await seedOrderingStore({ products: [{ code: "stok", price: 1_000, stock: 10 }] });
    const { ordering } = testOrdering();
    const hoarder = customer("hoard");
    for (let i = 0; i < 3; i++) assert.equal((await ordering.placeOrder({ tenantId: store.tenantId, customer: hoarder, items: [{ productCode: "stok", quantity: 1 }] })).ok, true);
    assert.deepEqual(await ordering.placeOrder({ tenantId: store.tenantId, customer: hoarder, items: [{ productCode: "stok", quantity: 1 }] }), {
      ok: false,
      reason: "too_many_open_orders",
      limit: 3,
    });
  });
});

describe("a crash in the middle of a reservation", () => {
  test("items reserved for an order that was never written go back on sale once their hold lapses", async () => {
    const store = await seedOrderingStore({ products: [{ code: "crash", price: 1_000, stock: 3 }] });
    const ghostOrder = new Types.ObjectId();
    const heldUntil = new Date(Date.now() + 60_000);
    const held = await reserveStock(store.tenant, store.products.crash, ghostOrder, 2, heldUntil);
    assert.equal(held.ok, true);

    // Before the hold lapses nothing is touched: the order could still be on its way.
    await releaseOrphanedReservations(new Date());
    assert.equal((await stockCounts(store.tenant, store.products.crash)).reserved, 2);
    // The sweep runs across stores; other tests' stores share this database.
    const report = await releaseOrphanedReservations(new Date(heldUntil.getTime() + 1));
    assert.ok(report.released >= 2);
    assert.equal((await stockCounts(store.tenant, store.products.crash)).available, 3);
  });

  test("the sweep leaves a live order's items alone and records a delivered order's items as sold", async () => {
    const store = await seedOrderingStore({ products: [{ code: "hidup", price: 1_000, stock: 2 }] });
    const { ordering } = testOrdering();
    const a = await ordering.placeOrder({ tenantId: store.tenantId, customer: customer("live-a"), items: [{ productCode: "hidup", quantity: 1 }] });
    const b = await ordering.placeOrder({ tenantId: store.tenantId, customer: customer("live-b"), items: [{ productCode: "hidup", quantity: 1 }] });
    assert.ok(a.ok && b.ok);
    // b was delivered, but the process died before its items were marked sold.
    await Order.updateOne({ tenantId: store.tenant, _id: b.order.id }, { $set: { status: "delivered" } }).exec();
    const later = new Date(Date.now() + 24 * 3_600_000);
    const report = await releaseOrphanedReservations(later);
    assert.ok(report.markedSold >= 1 && report.stillHeld >= 1);
    const counts = await stockCounts(store.tenant, store.products.hidup);
    assert.deepEqual({ reserved: counts.reserved, sold: counts.sold }, { reserved: 1, sold: 1 });
  });
});
