import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Schema } from "mongoose";
import { openMongoose } from "./fixture.ts";
import type { MongooseFixture } from "./fixture.ts";

describe("queries and cursors", () => {
  let fx: MongooseFixture;
  let Product: any;

  before(async () => {
    fx = await openMongoose("conformance_queries");
    Product = fx.conn.model(
      "QueryProduct",
      new Schema({
        name: String,
        price: Number,
        category: String,
        tags: [String],
        stock: { warehouse: String, qty: Number },
        variants: [{ size: String, qty: Number }],
        discontinued: Boolean,
        note: Schema.Types.Mixed,
      }),
    );
    await Product.insertMany([
      { name: "Kopi Arabika", price: 50, category: "drink", tags: ["kopi", "hot"], stock: { warehouse: "jkt", qty: 5 }, variants: [{ size: "S", qty: 1 }, { size: "L", qty: 0 }] },
      { name: "Kopi Robusta", price: 35, category: "drink", tags: ["kopi"], stock: { warehouse: "sby", qty: 0 }, variants: [{ size: "S", qty: 4 }] },
      { name: "Teh Melati", price: 20, category: "drink", tags: ["teh", "hot"], stock: { warehouse: "jkt", qty: 12 }, discontinued: false },
      { name: "Roti Tawar", price: 15, category: "food", tags: [], stock: { warehouse: "jkt", qty: 3 }, discontinued: true },
      { name: "Kue Lapis", price: 25, category: "food", tags: ["sweet"], note: 7 },
      { name: "kopi susu", price: 28, category: "drink", tags: ["kopi", "cold"], note: "seven" },
    ]);
  });
  after(async () => {
    await fx.close();
  });

  const names = (docs: Array<{ name: string }>) => docs.map((d) => d.name);

  it("sorts, skips, limits and projects", async () => {
    const docs = await Product.find({ category: "drink" }, { name: 1, price: 1 }).sort({ price: -1 }).skip(1).limit(2).lean();
    assert.deepEqual(names(docs), ["Kopi Robusta", "kopi susu"]);
    assert.deepEqual(Object.keys(docs[0]).sort(), ["_id", "name", "price"]);
    const withoutId = await Product.find({}, { _id: 0, name: 1 }).sort({ name: 1 }).limit(1).lean();
    assert.deepEqual(withoutId, [{ name: "Kopi Arabika" }]);
  });

  it("slices arrays in a projection while keeping the other fields", async () => {
    const doc = await Product.findOne({ name: "Kopi Arabika" }, { tags: { $slice: 1 } }).lean();
    assert.deepEqual(doc.tags, ["kopi"]);
    assert.equal(doc.price, 50);
    const last = await Product.findOne({ name: "Kopi Arabika" }, { tags: { $slice: -1 }, price: 0 }).lean();
    assert.deepEqual(last.tags, ["hot"]);
    assert.equal("price" in last, false);
  });

  it("projects the matched array element with $elemMatch and positional $", async () => {
    const byElem = await Product.findOne({ name: "Kopi Arabika" }, { variants: { $elemMatch: { size: "L" } } }).lean();
    assert.deepEqual(byElem.variants.map((v: any) => v.size), ["L"]);
    const byPosition = await Product.findOne({ "variants.size": "L" }, { "variants.$": 1 }).lean();
    assert.deepEqual(byPosition.variants.map((v: any) => v.size), ["L"]);
  });

  it("sorts on several keys and on nested paths", async () => {
    const docs = await Product.find({}).sort({ category: 1, price: 1 }).lean();
    assert.deepEqual(names(docs), ["Teh Melati", "kopi susu", "Kopi Robusta", "Kopi Arabika", "Roti Tawar", "Kue Lapis"]);
    const byQty = await Product.find({ "stock.qty": { $exists: true } }).sort({ "stock.qty": -1 }).lean();
    assert.deepEqual(names(byQty), ["Teh Melati", "Kopi Arabika", "Roti Tawar", "Kopi Robusta"]);
  });

  it("counts with countDocuments and estimatedDocumentCount", async () => {
    assert.equal(await Product.countDocuments({ category: "drink" }), 4);
    assert.equal(await Product.countDocuments({ category: "drink" }).skip(1).limit(2), 2);
    assert.equal(await Product.estimatedDocumentCount(), 6);
  });

  it("returns distinct values, expanding arrays", async () => {
    assert.deepEqual((await Product.distinct("category")).sort(), ["drink", "food"]);
    assert.deepEqual((await Product.distinct("tags", { category: "drink" })).sort(), ["cold", "hot", "kopi", "teh"]);
  });

  it("matches nested documents and arrays by dot path and $elemMatch", async () => {
    assert.deepEqual(names(await Product.find({ "stock.warehouse": "jkt" }).sort({ name: 1 }).lean()), ["Kopi Arabika", "Roti Tawar", "Teh Melati"]);
    assert.deepEqual(names(await Product.find({ tags: "hot" }).sort({ name: 1 }).lean()), ["Kopi Arabika", "Teh Melati"]);
    assert.deepEqual(names(await Product.find({ "variants.size": "L" }).lean()), ["Kopi Arabika"]);
    // $elemMatch needs both conditions on the same element; dot paths do not.
    assert.deepEqual(names(await Product.find({ variants: { $elemMatch: { size: "L", qty: { $gt: 0 } } } }).lean()), []);
    assert.deepEqual(names(await Product.find({ "variants.size": "L", "variants.qty": { $gt: 0 } }).lean()), ["Kopi Arabika"]);
    assert.deepEqual(names(await Product.find({ tags: { $size: 0 } }).lean()), ["Roti Tawar"]);
    assert.deepEqual(names(await Product.find({ tags: { $all: ["kopi", "hot"] } }).lean()), ["Kopi Arabika"]);
  });

  it("matches regular expressions, with and without options", async () => {
    assert.deepEqual(names(await Product.find({ name: /^Kopi/ }).sort({ name: 1 }).lean()), ["Kopi Arabika", "Kopi Robusta"]);
    assert.deepEqual(names(await Product.find({ name: /^kopi/i }).sort({ price: 1 }).lean()), ["kopi susu", "Kopi Robusta", "Kopi Arabika"]);
    assert.deepEqual(names(await Product.find({ name: { $regex: "SUSU$", $options: "i" } }).lean()), ["kopi susu"]);
    assert.deepEqual(names(await Product.find({ tags: { $in: [/^sw/, "teh"] } }).sort({ name: 1 }).lean()), ["Kue Lapis", "Teh Melati"]);
  });

  it("applies $in, $nin, $exists and $type", async () => {
    assert.deepEqual(names(await Product.find({ price: { $in: [15, 20, 99] } }).sort({ price: 1 }).lean()), ["Roti Tawar", "Teh Melati"]);
    assert.equal(await Product.countDocuments({ category: { $nin: ["food"] } }), 4);
    assert.deepEqual(names(await Product.find({ discontinued: { $exists: true } }).sort({ name: 1 }).lean()), ["Roti Tawar", "Teh Melati"]);
    assert.equal(await Product.countDocuments({ discontinued: { $exists: false } }), 4);
    assert.deepEqual(names(await Product.find({ note: { $type: "string" } }).lean()), ["kopi susu"]);
    assert.deepEqual(names(await Product.find({ note: { $type: "number" } }).lean()), ["Kue Lapis"]);
    // null matches both an explicit null and a missing field.
    assert.equal(await Product.countDocuments({ note: null }), 4);
  });

  it("combines conditions with $or and $and", async () => {
    const docs = await Product.find({ $or: [{ price: { $lt: 20 } }, { tags: "cold" }] }).sort({ name: 1 }).lean();
    assert.deepEqual(names(docs), ["Roti Tawar", "kopi susu"]);
    const both = await Product.find({ $and: [{ price: { $gte: 20 } }, { price: { $lte: 30 } }], category: "drink" }).sort({ price: 1 }).lean();
    assert.deepEqual(names(both), ["Teh Melati", "kopi susu"]);
  });

  it("rejects an unknown query operator instead of matching nothing", async () => {
    // mongoose refuses unknown operators itself, so go through the driver to reach the server.
    await assert.rejects(Product.collection.find({ price: { $noSuchOperator: 1 } }).toArray(), (err: any) => err.code === 2);
  });

  it("returns plain objects from lean queries and documents otherwise", async () => {
    const lean = await Product.findOne({ name: "Teh Melati" }).lean();
    assert.equal(Object.getPrototypeOf(lean), Object.prototype);
    const doc = await Product.findOne({ name: "Teh Melati" });
    assert.equal(typeof doc.save, "function");
    assert.equal(doc.stock.qty, 12);
  });
});

describe("cursors over many documents", () => {
  let fx: MongooseFixture;
  let Event: any;

  before(async () => {
    fx = await openMongoose("conformance_cursors");
    Event = fx.conn.model("CursorEvent", new Schema({ n: Number, payload: String }));
    await Event.insertMany(Array.from({ length: 1000 }, (_, n) => ({ n, payload: `event-${n}` })));
  });
  after(async () => {
    await fx.close();
  });

  it("iterates 1,000 documents in batches of 100 through getMore", async () => {
    const seen: number[] = [];
    for await (const doc of Event.find().sort({ n: 1 }).batchSize(100).cursor()) seen.push(doc.n);
    assert.equal(seen.length, 1000);
    assert.deepEqual(seen.slice(0, 3), [0, 1, 2]);
    assert.equal(seen[999], 999);
  });

  it("closes a cursor early and the server forgets it (killCursors)", async () => {
    const db = fx.conn.db!;
    const cursor = db.collection("cursorevents").find({}, { batchSize: 10 });
    assert.ok(await cursor.next());
    const id = cursor.id;
    assert.ok(id && !id.isZero(), "cursor should still be open on the server");
    await cursor.close();
    const err: any = await db
      .command({ getMore: id, collection: "cursorevents", batchSize: 10 })
      .then(() => undefined, (e: unknown) => e);
    assert.equal(err?.code, 43); // CursorNotFound
  });

  it("returns a limited result in one batch and closes the cursor with singleBatch", async () => {
    const db = fx.conn.db!;
    const reply = await db.command({ find: "cursorevents", filter: {}, sort: { n: 1 }, limit: 5, singleBatch: true });
    assert.deepEqual(reply.cursor.firstBatch.map((d: { n: number }) => d.n), [0, 1, 2, 3, 4]);
    assert.equal(Number(reply.cursor.id), 0);
    // The driver turns a negative limit into exactly that command.
    assert.equal((await Event.find().limit(-5).lean()).length, 5);
  });

  it("filters and sorts 1,000 documents on the server", async () => {
    const docs = await Event.find({ n: { $gte: 990 } }).sort({ n: -1 }).lean();
    assert.deepEqual(docs.map((d: { n: number }) => d.n), [999, 998, 997, 996, 995, 994, 993, 992, 991, 990]);
  });
});
