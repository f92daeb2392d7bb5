import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Decimal128, MongoClient } from "mongodb";
import type { Db } from "mongodb";
import { startEmbeddedServer } from "../../storage/embedded/index.ts";
import type { EmbeddedServer } from "../../storage/embedded/index.ts";

async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a server error");
}

describe("embedded server behaviour behind the driver", () => {
  let server: EmbeddedServer;
  let client: MongoClient;
  let db: Db;

  before(async () => {
    server = await startEmbeddedServer({ ttlSweepMs: 100 });
    client = await MongoClient.connect(server.uri);
    db = client.db("embedded");
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it("formats duplicate-key errors exactly like mongod", async () => {
    const coll = db.collection("dupfmt");
    await coll.createIndex({ slug: 1, n: 1 }, { unique: true });
    await coll.insertOne({ slug: "x", n: 1 });
    const err = await failure(coll.insertOne({ slug: "x", n: 1 }));
    assert.equal(err.errmsg ?? err.message, 'E11000 duplicate key error collection: embedded.dupfmt index: slug_1_n_1 dup key: { slug: "x", n: 1 }');
    assert.equal(err.codeName ?? err.errorResponse?.codeName, "DuplicateKey");
  });

  it("answers drop of a missing collection with ok, as mongod 7 does", async () => {
    const reply = await db.command({ drop: "never_created" });
    assert.equal(reply.ok, 1);
  });

  it("refuses collations it cannot honour instead of comparing bytes", async () => {
    const coll = db.collection("collated");
    await coll.insertOne({ name: "Ani" });
    const err = await failure(coll.find({ name: "ani" }, { collation: { locale: "en", strength: 2 } }).toArray());
    assert.equal(err.code, 2);
    assert.equal((await coll.find({ name: "Ani" }, { collation: { locale: "simple" } }).toArray()).length, 1);
  });

  it("refuses change streams like a standalone mongod", async () => {
    const err = await failure(db.command({ aggregate: "anything", pipeline: [{ $changeStream: {} }], cursor: {} }));
    assert.equal(err.code, 40573);
  });

  it("refuses a JavaScript $where rather than ignoring it", async () => {
    const err = await failure(db.collection("js").find({ $where: "this.a == 1" }).toArray());
    assert.equal(err.code, 2);
  });

  it("splits results larger than 16 MiB into several batches", async () => {
    const coll = db.collection("big");
    const blob = "x".repeat(1024 * 1024);
    await coll.insertMany(Array.from({ length: 40 }, (_, i) => ({ i, blob })));
    const docs = await coll.find({}, { projection: { i: 1, blob: 1 } }).sort({ i: 1 }).toArray();
    assert.equal(docs.length, 40);
    assert.equal(docs[39].i, 39);
    assert.equal(docs[39].blob.length, blob.length);
    await coll.drop();
  });

  it("never lets an aggregation modify the stored documents", async () => {
    const coll = db.collection("immutable");
    await coll.insertOne({ _id: 1 as any, nested: { a: 1 }, list: [{ v: 1 }] });
    await coll.aggregate([{ $set: { "nested.a": 99, extra: true } }, { $unwind: "$list" }, { $set: { "list.v": 7 } }]).toArray();
    assert.deepEqual(await coll.findOne({ _id: 1 as any }), { _id: 1, nested: { a: 1 }, list: [{ v: 1 }] });
  });

  it("keeps Decimal128 arithmetic exact in $inc and $sum", async () => {
    const coll = db.collection("money");
    await coll.insertMany([{ k: "a", v: Decimal128.fromString("0.1") }, { k: "b", v: Decimal128.fromString("0.2") }]);
    await coll.updateOne({ k: "a" }, { $inc: { v: Decimal128.fromString("0.05") } });
    assert.equal((await coll.findOne({ k: "a" }))!.v.toString(), "0.15");
    const [row] = await coll.aggregate([{ $group: { _id: null, total: { $sum: "$v" } } }]).toArray();
    assert.equal(row.total.toString(), "0.35");
  });

  it("runs the TTL monitor on the configured interval", async () => {
    const coll = db.collection("ttl");
    await coll.createIndex({ at: 1 }, { expireAfterSeconds: 1 });
    await coll.insertMany([{ at: new Date(Date.now() - 5000) }, { at: "not a date" }, { other: 1 }]);
    const deadline = Date.now() + 5000;
    while ((await coll.countDocuments()) !== 2) {
      assert.ok(Date.now() < deadline, "expired document not removed");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it("serves equality lookups on indexed fields in natural order", async () => {
    const coll = db.collection("natural");
    await coll.createIndex({ tenant: 1 });
    await coll.insertMany([{ tenant: "a", i: 0 }, { tenant: "b", i: 1 }, { tenant: "a", i: 2 }, { tenant: "a", i: 3 }]);
    await coll.updateOne({ i: 0 }, { $set: { touched: true } });
    assert.deepEqual((await coll.find({ tenant: "a" }).toArray()).map((d) => d.i), [0, 2, 3]);
    assert.deepEqual((await coll.find({ tenant: { $in: ["b", "a"] }, i: { $gte: 1 } }).toArray()).map((d) => d.i), [1, 2, 3]);
  });
});
