import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Schema } from "mongoose";
import { openMongoose, rejection } from "./fixture.ts";
import type { MongooseFixture } from "./fixture.ts";

describe("unique indexes through mongoose", () => {
  let fx: MongooseFixture;

  before(async () => {
    fx = await openMongoose("conformance_unique");
  });
  after(async () => {
    await fx.close();
  });

  function productModel(name: string) {
    const schema = new Schema({ slug: { type: String, unique: true }, title: String, stock: Number });
    return fx.conn.model(name, schema);
  }

  it("rejects a duplicate insert with code 11000, keyPattern and keyValue", async () => {
    const Product = productModel("UniqInsert");
    await Product.init();
    await Product.create({ slug: "kopi", title: "Kopi" });
    const err = await rejection(Product.create({ slug: "kopi", title: "Kopi lagi" }));
    assert.equal(err.code, 11000);
    assert.deepEqual(err.keyPattern, { slug: 1 });
    assert.deepEqual(err.keyValue, { slug: "kopi" });
    assert.equal(await Product.countDocuments(), 1);
  });

  it("rejects an update that would duplicate a unique value and leaves the document unchanged", async () => {
    const Product = productModel("UniqUpdate");
    await Product.init();
    await Product.create([{ slug: "teh", title: "Teh" }, { slug: "susu", title: "Susu" }]);
    const err = await rejection(Product.updateOne({ slug: "susu" }, { $set: { slug: "teh", title: "changed" } }));
    assert.equal(err.code, 11000);
    assert.deepEqual(err.keyPattern, { slug: 1 });
    assert.deepEqual(err.keyValue, { slug: "teh" });
    const susu = await Product.findOne({ slug: "susu" }).lean();
    assert.equal(susu?.title, "Susu");
  });

  it("rejects an upsert that would insert a duplicate", async () => {
    const Product = productModel("UniqUpsert");
    await Product.init();
    await Product.create({ slug: "gula", title: "Gula", stock: 1 });
    const err = await rejection(
      Product.updateOne({ title: "Gula pasir" }, { $set: { slug: "gula" } }, { upsert: true }),
    );
    assert.equal(err.code, 11000);
    assert.deepEqual(err.keyValue, { slug: "gula" });
    assert.equal(await Product.countDocuments(), 1);
  });

  it("rejects findOneAndUpdate that would create a duplicate, as a top-level server error", async () => {
    const Product = productModel("UniqFindAndModify");
    await Product.init();
    await Product.create([{ slug: "roti" }, { slug: "mentega" }]);
    const err = await rejection(Product.findOneAndUpdate({ slug: "mentega" }, { $set: { slug: "roti" } }));
    assert.equal(err.code, 11000);
    assert.deepEqual(err.keyPattern, { slug: 1 });
    assert.deepEqual(err.keyValue, { slug: "roti" });
    assert.equal(await Product.countDocuments({ slug: "mentega" }), 1);
  });

  it("refuses a second document with an existing _id, inserted or upserted by a filter that missed it, and keeps the first", async () => {
    const Lease = fx.conn.model("UniqId", new Schema({ _id: String, holder: String, until: Number }));
    await Lease.create({ _id: "poll:1", holder: "a", until: 100 });
    const inserted = await rejection(Lease.create({ _id: "poll:1", holder: "b", until: 200 }));
    assert.equal(inserted.code, 11000);
    assert.deepEqual(inserted.keyValue, { _id: "poll:1" });
    const upserted = await rejection(
      Lease.findOneAndUpdate({ _id: "poll:1", until: { $lt: 50 } }, { $set: { holder: "b", until: 200 } }, { upsert: true, returnDocument: "after" }),
    );
    assert.equal(upserted.code, 11000);
    assert.deepEqual(await Lease.find().lean(), [{ _id: "poll:1", holder: "a", until: 100, __v: 0 }]);
  });

  it("enforces a compound unique index on the combination only", async () => {
    const schema = new Schema({ tenantId: String, sku: String });
    schema.index({ tenantId: 1, sku: 1 }, { unique: true });
    const Item = fx.conn.model("UniqCompound", schema);
    await Item.init();
    await Item.create([{ tenantId: "t1", sku: "A" }, { tenantId: "t2", sku: "A" }, { tenantId: "t1", sku: "B" }]);
    const err = await rejection(Item.create({ tenantId: "t1", sku: "A" }));
    assert.equal(err.code, 11000);
    assert.deepEqual(err.keyPattern, { tenantId: 1, sku: 1 });
    assert.deepEqual(err.keyValue, { tenantId: "t1", sku: "A" });
  });

  it("treats a missing field as null in a non-sparse unique index", async () => {
    const Member = fx.conn.model("UniqMissing", new Schema({ email: { type: String, unique: true }, name: String }));
    await Member.init();
    await Member.create({ name: "first" });
    const err = await rejection(Member.create({ name: "second" }));
    assert.equal(err.code, 11000);
    assert.deepEqual(err.keyValue, { email: null });
  });

  it("lets a sparse unique index skip documents without the field", async () => {
    const Member = fx.conn.model("UniqSparse", new Schema({ phone: { type: String, unique: true, sparse: true } }));
    await Member.init();
    await Member.create([{}, {}, { phone: "0812" }]);
    const err = await rejection(Member.create({ phone: "0812" }));
    assert.equal(err.code, 11000);
    assert.equal(await Member.countDocuments(), 3);
  });

  it("applies a partial unique index only to documents matching its filter", async () => {
    const schema = new Schema({ orderNo: String, status: String });
    schema.index({ orderNo: 1 }, { unique: true, partialFilterExpression: { status: "active" } });
    const Order = fx.conn.model("UniqPartial", schema);
    await Order.init();
    await Order.create([
      { orderNo: "N1", status: "cancelled" },
      { orderNo: "N1", status: "cancelled" },
      { orderNo: "N1", status: "active" },
    ]);
    const err = await rejection(Order.create({ orderNo: "N1", status: "active" }));
    assert.equal(err.code, 11000);
    assert.deepEqual(err.keyValue, { orderNo: "N1" });
  });

  it("stops an ordered insertMany at the first duplicate", async () => {
    const Product = productModel("UniqInsertManyOrdered");
    await Product.init();
    const err = await rejection(
      Product.insertMany([{ slug: "a" }, { slug: "b" }, { slug: "a" }, { slug: "c" }], { ordered: true }),
    );
    assert.equal(err.code, 11000);
    const slugs = (await Product.find().sort({ slug: 1 }).lean()).map((d) => d.slug);
    assert.deepEqual(slugs, ["a", "b"]);
  });

  it("continues an unordered insertMany past a duplicate", async () => {
    const Product = productModel("UniqInsertManyUnordered");
    await Product.init();
    const err = await rejection(
      Product.insertMany([{ slug: "a" }, { slug: "b" }, { slug: "a" }, { slug: "c" }], { ordered: false }),
    );
    assert.equal(err.code, 11000);
    assert.equal(err.writeErrors?.length ?? err.result?.getWriteErrors?.().length, 1);
    const slugs = (await Product.find().sort({ slug: 1 }).lean()).map((d) => d.slug);
    assert.deepEqual(slugs, ["a", "b", "c"]);
  });

  it("runs mixed bulkWrite operations, stopping at a duplicate when ordered", async () => {
    const Product = productModel("UniqBulkOrdered");
    await Product.init();
    await Product.create({ slug: "x", stock: 1 });
    const err = await rejection(
      Product.bulkWrite(
        [
          { insertOne: { document: { slug: "y", stock: 2 } } },
          { updateOne: { filter: { slug: "x" }, update: { $inc: { stock: 10 } } } },
          { insertOne: { document: { slug: "x" } } },
          { deleteOne: { filter: { slug: "y" } } },
        ],
        { ordered: true },
      ),
    );
    assert.equal(err.code, 11000);
    const docs = await Product.find().sort({ slug: 1 }).lean();
    assert.deepEqual(docs.map((d) => [d.slug, d.stock]), [["x", 11], ["y", 2]]);
  });

  it("runs every other bulkWrite operation when unordered", async () => {
    const Product = productModel("UniqBulkUnordered");
    await Product.init();
    await Product.create({ slug: "x", stock: 1 });
    const err = await rejection(
      Product.bulkWrite(
        [
          { insertOne: { document: { slug: "y", stock: 2 } } },
          { insertOne: { document: { slug: "x" } } },
          { updateOne: { filter: { slug: "x" }, update: { $inc: { stock: 10 } } } },
          { deleteOne: { filter: { slug: "y" } } },
          { updateOne: { filter: { slug: "z" }, update: { $set: { stock: 5 } }, upsert: true } },
        ],
        { ordered: false },
      ),
    );
    assert.equal(err.code, 11000);
    const docs = await Product.find().sort({ slug: 1 }).lean();
    assert.deepEqual(docs.map((d) => [d.slug, d.stock]), [["x", 11], ["z", 5]]);
  });
});
