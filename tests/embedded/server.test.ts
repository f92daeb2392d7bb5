import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Decimal128, MongoClient } from "mongodb";
import type { Db } from "mongodb";
import { startEmbeddedServer } from "../../storage/embedded/index.ts";
import type { EmbeddedServer } from "../../storage/embedded/index.ts";
import { failure } from "./failure.ts";

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

  it("leaves the stored document whole when a find excludes a nested field", async () => {
    const coll = db.collection("nested_exclusion");
    await coll.insertOne({ n: 1, content: { text: "promo", image: { data: "bytes", name: "a.jpg" } } });
    assert.deepEqual(await coll.findOne({ n: 1 }, { projection: { _id: 0, "content.image.data": 0 } }), { n: 1, content: { text: "promo", image: { name: "a.jpg" } } });
    assert.deepEqual(await coll.findOne({ n: 1 }, { projection: { _id: 0 } }), { n: 1, content: { text: "promo", image: { data: "bytes", name: "a.jpg" } } });
  });

  it("answers drop of a missing collection with ok, as mongod 7 does", async () => {
    const reply = await db.command({ drop: "never_created" });
    assert.equal(reply.ok, 1);
  });

  it("refuses create with different options in mongod 7.0's words, quoting the stored options", async () => {
    await db.createCollection("create_capped", { capped: true, size: 4000 });
    const [info] = await db.listCollections({ name: "create_capped" }, { nameOnly: false }).toArray();
    // Stored as mongod stores it: the size rounded up to a multiple of 256.
    assert.deepEqual(info.options, { capped: true, size: 4096 });
    const err = await failure(db.createCollection("create_capped", { capped: true, size: 8192 }));
    assert.equal(err.code, 48);
    assert.equal(
      err.message,
      `namespace embedded.create_capped already exists, but with different options: { uuid: UUID("${info.info!.uuid!.toUUID().toHexString(true)}"), capped: true, size: 4096 }`,
    );
    // A time-series request repeats the first refusal, as mongod 7.0 does.
    assert.equal((await failure(db.createCollection("create_capped", { timeseries: { timeField: "at" } }))).message, "Collection embedded.create_capped already exists.");
  });

  it("compares create options as mongod stores them: rounded capped size, simple collation, clustered index defaults", async () => {
    await db.createCollection("create_same", { capped: true, size: 1000, max: 0 });
    await db.createCollection("create_same", { capped: true, size: 1024, max: -1 });
    await db.createCollection("create_simple");
    await db.command({ create: "create_simple", collation: { locale: "simple" }, idIndex: { key: { _id: 1 }, name: "_id_", v: 2 } });
    await db.createCollection("create_clustered", { clusteredIndex: { key: { _id: 1 }, unique: true } });
    await db.createCollection("create_clustered", { clusteredIndex: { unique: true, key: { _id: 1 }, name: "_id_", v: 2 } });
    const options = Object.fromEntries((await db.listCollections({ name: /^create_(same|clustered)$/ }, { nameOnly: false }).toArray()).map((c) => [c.name, c.options]));
    assert.deepEqual(options, {
      create_same: { capped: true, size: 1024, max: 0x7fffffff },
      create_clustered: { clusteredIndex: { v: 2, key: { _id: 1 }, name: "_id_", unique: true } },
    });
    assert.equal((await failure(db.createCollection("create_same", { capped: true, size: 1024, max: 5 }))).code, 48);
  });

  it("checks create's arguments as mongod does before looking at the catalog", async () => {
    for (const options of [{ capped: true }, { size: 4096 }, { max: 3 }, { expireAfterSeconds: 60 }, { pipeline: [] }]) {
      assert.equal((await failure(db.createCollection("create_args", options))).code, 72, JSON.stringify(options));
    }
    // A view under a free name is refused as unsupported (a taken name answers 48, as in mongod).
    const view = await failure(db.createCollection("create_view", { viewOn: "create_args", pipeline: [] }));
    assert.equal(view.code, 72);
    assert.match(view.message, /not supported by the embedded MongoDB server/);
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
