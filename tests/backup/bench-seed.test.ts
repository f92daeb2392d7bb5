// The database `npm run bench:backup` backs up must look like a real platform's: orders
// across every status, stock sealed with the data key and bound to its store, and the
// items an order holds pointing back at it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import mongoose from "mongoose";
import { seedShop } from "../../bench/support/backup-seed.ts";
import { ORDER_STATUSES } from "../../flows/ordering/order.ts";
import { stockPayloadContext } from "../../flows/ordering/stock-item.ts";
import { decryptSecret } from "../../storage/crypto.ts";
import { useTestDatabase } from "../support/mongo.ts";

describe("the backup benchmark's seeded shop", () => {
  useTestDatabase("bench_seed");

  it("holds the orders and stock asked for, every held item linked both ways and every payload sealed for its store", async () => {
    const counts = await seedShop({ orders: 130, stock: 100, stores: 3, products: 4 });
    const db = mongoose.connection.db!;
    assert.equal(await db.collection("orders").countDocuments({}), 130);
    assert.equal(await db.collection("stock_items").countDocuments({}), 100);
    assert.equal(await db.collection("products").countDocuments({}), 12);
    assert.equal(await db.collection("customers").countDocuments({}), counts.customers);

    const orders = new Map((await db.collection("orders").find({}).toArray()).map((o) => [String(o._id), o]));
    const statuses = new Set([...orders.values()].map((o) => o.status as string));
    for (const status of ["completed", "delivered", "paid", "pending_payment", "expired", "cancelled"]) assert.ok(statuses.has(status), status);
    assert.ok([...statuses].every((s) => (ORDER_STATUSES as readonly string[]).includes(s)));

    let held = 0;
    for (const item of await db.collection("stock_items").find({}).toArray()) {
      assert.match(decryptSecret(item.payload as string, stockPayloadContext(item.tenantId)), /^(akun\d+@mail\.example\.com \| |[A-Z0-9_-]{4}-)/);
      if (item.status === "available") {
        assert.equal(item.orderId, undefined);
        continue;
      }
      held++;
      const order = orders.get(String(item.orderId));
      assert.ok(order, `the order of stock item ${String(item._id)}`);
      assert.deepEqual(order.stockItemIds.map(String), [String(item._id)]);
      assert.equal(String(order.tenantId), String(item.tenantId));
      assert.equal(item.status === "sold", ["completed", "delivered"].includes(order.status as string), `${String(item.status)} item of a ${String(order.status)} order`);
    }
    assert.equal(held, counts.linked);
    assert.ok(held > 0);
  });
});
