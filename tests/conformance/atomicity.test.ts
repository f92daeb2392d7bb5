import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Schema } from "mongoose";
import { openMongoose } from "./fixture.ts";
import type { MongooseFixture } from "./fixture.ts";

describe("single-document atomicity", () => {
  let fx: MongooseFixture;

  before(async () => {
    fx = await openMongoose("conformance_atomic");
  });
  after(async () => {
    await fx.close();
  });

  it("ends at exactly 50 after 50 concurrent findOneAndUpdate $inc on one document", async () => {
    const Counter = fx.conn.model("AtomicCounter", new Schema({ name: String, seq: Number }));
    await Counter.create({ name: "order", seq: 0 });
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        Counter.findOneAndUpdate({ name: "order" }, { $inc: { seq: 1 } }, { returnDocument: "after" }).lean(),
      ),
    );
    const final = await Counter.findOne({ name: "order" }).lean();
    assert.equal(final?.seq, 50);
    // Every caller saw a distinct value: no two increments observed the same state.
    assert.deepEqual(results.map((r) => r?.seq).sort((a, b) => a! - b!), Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("lets exactly 20 of 50 concurrent conditional decrements reserve stock that starts at 20", async () => {
    const Stock = fx.conn.model("AtomicStock", new Schema({ sku: String, available: Number }));
    await Stock.create({ sku: "voucher-10k", available: 20 });
    const attempts = await Promise.all(
      Array.from({ length: 50 }, () =>
        Stock.findOneAndUpdate(
          { sku: "voucher-10k", available: { $gt: 0 } },
          { $inc: { available: -1 } },
          { returnDocument: "after" },
        ).lean(),
      ),
    );
    assert.equal(attempts.filter((r) => r !== null).length, 20);
    const final = await Stock.findOne({ sku: "voucher-10k" }).lean();
    assert.equal(final?.available, 0);
  });

  it("lets exactly one of two racing optimistic-concurrency writers win on a version field", async () => {
    const Order = fx.conn.model("AtomicOrder", new Schema({ status: String, version: Number }, { versionKey: false }));
    const order = await Order.create({ status: "pending", version: 1 });
    const write = (status: string) =>
      Order.updateOne({ _id: order._id, version: 1 }, { $set: { status }, $inc: { version: 1 } });
    const [first, second] = await Promise.all([write("paid"), write("cancelled")]);
    assert.equal(first.modifiedCount + second.modifiedCount, 1);
    assert.equal(first.matchedCount + second.matchedCount, 1);
    const final = await Order.findById(order._id).lean();
    assert.equal(final?.version, 2);
    assert.equal(final?.status, first.modifiedCount === 1 ? "paid" : "cancelled");
  });
});
