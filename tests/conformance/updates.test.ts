import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Schema } from "mongoose";
import { openMongoose } from "./fixture.ts";
import type { MongooseFixture } from "./fixture.ts";

describe("update operators", () => {
  let fx: MongooseFixture;
  let Cart: any;
  let Loose: any;

  before(async () => {
    fx = await openMongoose("conformance_updates");
    Cart = fx.conn.model(
      "UpdateCart",
      new Schema({
        owner: String,
        items: [{ sku: String, qty: Number, price: Number }],
        tags: [String],
        total: Number,
        visits: Number,
        createdAt: Date,
      }),
    );
    // strict: false lets the test send operators on fields a schema would not declare ($rename, $unset).
    Loose = fx.conn.model("UpdateLoose", new Schema({}, { strict: false }));
  });
  after(async () => {
    await fx.close();
  });

  it("updates matching array elements with arrayFilters in updateMany", async () => {
    await Cart.create([
      { owner: "af1", items: [{ sku: "A", qty: 1 }, { sku: "B", qty: 5 }, { sku: "C", qty: 9 }] },
      { owner: "af2", items: [{ sku: "D", qty: 7 }] },
    ]);
    const res = await Cart.updateMany(
      { owner: { $in: ["af1", "af2"] } },
      { $set: { "items.$[big].price": 100 } },
      { arrayFilters: [{ "big.qty": { $gte: 5 } }] },
    );
    assert.equal(res.modifiedCount, 2);
    const af1 = await Cart.findOne({ owner: "af1" }).lean();
    assert.deepEqual(af1.items.map((i: any) => i.price ?? null), [null, 100, 100]);
    const af2 = await Cart.findOne({ owner: "af2" }).lean();
    assert.equal(af2.items[0].price, 100);
  });

  it("updates the matched element through the positional $ operator", async () => {
    await Cart.create({ owner: "pos", items: [{ sku: "A", qty: 1 }, { sku: "B", qty: 1 }] });
    await Cart.updateOne({ owner: "pos", "items.sku": "B" }, { $inc: { "items.$.qty": 2 } });
    const cart = await Cart.findOne({ owner: "pos" }).lean();
    assert.deepEqual(cart.items.map((i: any) => i.qty), [1, 3]);
  });

  it("updates every element with $[]", async () => {
    await Cart.create({ owner: "all", items: [{ sku: "A", qty: 1 }, { sku: "B", qty: 2 }] });
    await Cart.updateOne({ owner: "all" }, { $mul: { "items.$[].qty": 10 } });
    const cart = await Cart.findOne({ owner: "all" }).lean();
    assert.deepEqual(cart.items.map((i: any) => i.qty), [10, 20]);
  });

  it("applies $setOnInsert only when an upsert inserts", async () => {
    const first = await Cart.updateOne(
      { owner: "soi" },
      { $setOnInsert: { createdAt: new Date("2024-01-01T00:00:00Z"), total: 0 }, $inc: { visits: 1 } },
      { upsert: true },
    );
    assert.equal(first.upsertedCount, 1);
    assert.ok(first.upsertedId);
    const second = await Cart.updateOne(
      { owner: "soi" },
      { $setOnInsert: { createdAt: new Date("2030-01-01T00:00:00Z"), total: 99 }, $inc: { visits: 1 } },
      { upsert: true },
    );
    assert.equal(second.upsertedCount, 0);
    assert.equal(second.modifiedCount, 1);
    const cart = await Cart.findOne({ owner: "soi" }).lean();
    assert.equal(cart.visits, 2);
    assert.equal(cart.total, 0);
    assert.equal(cart.createdAt.toISOString(), "2024-01-01T00:00:00.000Z");
  });

  it("applies $push, $pull, $addToSet, $inc, $min, $max, $unset and $rename", async () => {
    const doc = await Loose.create({ name: "ops", tags: ["a", "b"], n: 5, low: 10, high: 10, gone: 1, old: "value" });
    await Loose.updateOne({ _id: doc._id }, { $push: { tags: "c" }, $inc: { n: 3 }, $min: { low: 4 }, $max: { high: 20 } });
    await Loose.updateOne({ _id: doc._id }, { $pull: { tags: "a" }, $unset: { gone: "" }, $rename: { old: "renamed" } });
    await Loose.updateOne({ _id: doc._id }, { $addToSet: { tags: { $each: ["b", "d"] } }, $min: { high: 50 }, $max: { low: 1 } });
    const after = await Loose.findById(doc._id).lean();
    assert.deepEqual(after.tags, ["b", "c", "d"]);
    assert.equal(after.n, 8);
    assert.equal(after.low, 4);
    assert.equal(after.high, 20);
    assert.equal("gone" in after, false);
    assert.equal("old" in after, false);
    assert.equal(after.renamed, "value");
  });

  it("pushes with $each, $sort and $slice, and pulls by condition", async () => {
    const doc = await Loose.create({ name: "push", scores: [3, 9] });
    await Loose.updateOne({ _id: doc._id }, { $push: { scores: { $each: [7, 1, 5], $sort: -1, $slice: 4 } } });
    assert.deepEqual((await Loose.findById(doc._id).lean()).scores, [9, 7, 5, 3]);
    await Loose.updateOne({ _id: doc._id }, { $pull: { scores: { $lt: 6 } } });
    assert.deepEqual((await Loose.findById(doc._id).lean()).scores, [9, 7]);
  });

  it("rejects $inc on a non-numeric field and changes nothing", async () => {
    const doc = await Loose.create({ name: "typed", label: "text", n: 1 });
    const err: any = await Loose.collection.updateOne({ _id: doc._id }, { $inc: { label: 1, n: 1 } }).then(() => undefined, (e: unknown) => e);
    assert.equal(err?.code, 14); // TypeMismatch
    assert.equal((await Loose.findById(doc._id).lean()).n, 1);
  });

  it("replaces a whole document with replaceOne, keeping its _id", async () => {
    const doc = await Loose.create({ name: "before", a: 1, b: 2 });
    const res = await Loose.replaceOne({ _id: doc._id }, { name: "after", c: 3 });
    assert.equal(res.modifiedCount, 1);
    const after = await Loose.findById(doc._id).lean();
    assert.deepEqual(Object.keys(after).filter((k) => k !== "__v").sort(), ["_id", "c", "name"]);
    assert.equal(after.name, "after");
  });

  it("applies an aggregation-pipeline update computed from the document itself", async () => {
    const doc = await Loose.create({ name: "pipe", price: 10, qty: 3 });
    await Loose.collection.updateOne({ _id: doc._id }, [{ $set: { total: { $multiply: ["$price", "$qty"] } } }, { $unset: "qty" }]);
    const after = await Loose.findById(doc._id).lean();
    assert.equal(after.total, 30);
    assert.equal("qty" in after, false);
  });

  it("finds, sorts and modifies one document with findOneAndUpdate, findOneAndReplace and findOneAndDelete", async () => {
    await Loose.insertMany([{ queue: "q", prio: 1 }, { queue: "q", prio: 5 }, { queue: "q", prio: 3 }]);
    const before = await Loose.findOneAndUpdate({ queue: "q" }, { $set: { taken: true } }, { sort: { prio: -1 }, returnDocument: "before" }).lean();
    assert.equal(before.prio, 5);
    assert.equal(before.taken, undefined);
    const replaced = await Loose.findOneAndReplace({ queue: "q", prio: 3 }, { queue: "q", prio: 4 }, { returnDocument: "after", projection: { prio: 1 } }).lean();
    assert.deepEqual(Object.keys(replaced).sort(), ["_id", "prio"]);
    assert.equal(replaced.prio, 4);
    const removed = await Loose.findOneAndDelete({ queue: "q" }, { sort: { prio: 1 } }).lean();
    assert.equal(removed.prio, 1);
    assert.deepEqual((await Loose.find({ queue: "q" }).sort({ prio: 1 }).lean()).map((d: any) => d.prio), [4, 5]);
    assert.equal(await Loose.findOneAndDelete({ queue: "none" }).lean(), null);
  });

  it("deletes every match with deleteMany and one with deleteOne", async () => {
    await Loose.insertMany([{ bucket: "del", i: 1 }, { bucket: "del", i: 2 }, { bucket: "del", i: 3 }, { bucket: "keep" }]);
    assert.equal((await Loose.deleteOne({ bucket: "del" })).deletedCount, 1);
    assert.equal((await Loose.deleteMany({ bucket: "del" })).deletedCount, 2);
    assert.equal(await Loose.countDocuments({ bucket: "del" }), 0);
    assert.equal(await Loose.countDocuments({ bucket: "keep" }), 1);
  });

  it("reports matched and modified counts separately for a no-op update", async () => {
    const doc = await Loose.create({ name: "same", v: 1 });
    const res = await Loose.updateOne({ _id: doc._id }, { $set: { v: 1 } });
    assert.equal(res.matchedCount, 1);
    assert.equal(res.modifiedCount, 0);
  });

  it("creates the upserted document from the filter's equality fields", async () => {
    const res = await Loose.updateOne({ kind: "upsert", "meta.code": "X1", n: { $gt: 5 } }, { $set: { flag: true } }, { upsert: true });
    const doc = await Loose.findById(res.upsertedId).lean();
    assert.equal(doc.kind, "upsert");
    assert.deepEqual(doc.meta, { code: "X1" });
    assert.equal(doc.flag, true);
    assert.equal("n" in doc, false);
  });
});
