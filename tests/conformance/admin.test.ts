import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Document } from "mongodb";
import { Schema } from "mongoose";
import { MIN_SUPPORTED_SERVER, WIRE_VERSION_7_0, openMongoose, rejection } from "./fixture.ts";
import type { MongooseFixture } from "./fixture.ts";

describe("collections, indexes and server commands", () => {
  let fx: MongooseFixture;

  before(async () => {
    fx = await openMongoose("conformance_admin");
  });
  after(async () => {
    await fx.close();
  });

  const collectionNames = async () => (await fx.conn.listCollections()).map((c: { name: string }) => c.name).sort();

  const optionsOf = async (name: string) => (await fx.conn.db!.listCollections({ name }, { nameOnly: false }).toArray())[0]?.options;

  it("creates an existing collection again with identical options: a no-op since 7.0, code 48 before", async () => {
    const db = fx.conn.db!;
    const collections: Array<[string, Document]> = [
      ["twice", {}],
      ["twice_capped", { capped: true, size: 1 << 20, max: 3 }],
      ["twice_validated", { validator: { qty: { $gte: 0 } }, validationAction: "error" }],
    ];
    for (const [name, options] of collections) {
      await db.createCollection(name, options);
      await db.collection(name).insertOne({ qty: 1 });
    }
    const before = await Promise.all(collections.map(([name]) => optionsOf(name)));
    for (const [name, options] of collections) {
      if (fx.wireVersion >= WIRE_VERSION_7_0) {
        await db.createCollection(name, options);
      } else {
        const err = await rejection(db.createCollection(name, options));
        assert.equal(err.code, 48, `${name}: ${err.message}`);
        assert.equal(err.codeName, "NamespaceExists");
      }
    }
    for (const [name] of collections) assert.equal(await db.collection(name).countDocuments(), 1, `${name} kept its document`);
    assert.deepEqual(await Promise.all(collections.map(([name]) => optionsOf(name))), before);
  });

  it("refuses to create an existing collection with different options, with code 48 NamespaceExists", async () => {
    const db = fx.conn.db!;
    await db.createCollection("other_plain");
    await db.collection("other_plain").insertOne({ qty: 1 });
    await db.createCollection("other_capped", { capped: true, size: 1 << 20 });
    await db.createCollection("other_validated", { validator: { qty: { $gte: 0 } } });
    const conflicts: Array<[string, Document]> = [
      ["other_plain", { capped: true, size: 1 << 20 }],
      ["other_plain", { validator: { qty: { $gte: 0 } } }],
      ["other_plain", { clusteredIndex: { key: { _id: 1 }, unique: true } }],
      ["other_capped", {}],
      ["other_capped", { capped: true, size: 2 << 20 }],
      ["other_capped", { capped: true, size: 1 << 20, max: 10 }],
      ["other_validated", { validator: { qty: { $gt: 0 } } }],
      ["other_validated", { validator: { qty: { $gte: 0 } }, validationAction: "warn" }],
    ];
    // A view or a time-series collection under a collection's name: refused too, with
    // messages that differ between server versions.
    const otherKinds: Array<[string, Document]> = [
      ["other_plain", { viewOn: "other_capped", pipeline: [] }],
      ["other_plain", { timeseries: { timeField: "at" } }],
    ];
    for (const [name, options] of [...conflicts, ...otherKinds]) {
      const err = await rejection(db.createCollection(name, options));
      assert.equal(err.code, 48, `${name} ${JSON.stringify(options)}: ${err.message}`);
      assert.equal(err.codeName, "NamespaceExists");
      if (fx.wireVersion >= WIRE_VERSION_7_0 && conflicts.some(([, o]) => o === options)) {
        assert.match(err.message, /already exists, but with different options/);
      }
    }
    assert.equal(await db.collection("other_plain").countDocuments(), 1);
    assert.deepEqual(await optionsOf("other_plain"), {});
    assert.equal((await optionsOf("other_capped"))?.capped, true);
  });

  it("lists collections, with a name filter and nameOnly", async () => {
    await fx.conn.createCollection("listed_a");
    await fx.conn.db!.collection("listed_b").insertOne({ x: 1 });
    const names = await collectionNames();
    assert.ok(names.includes("listed_a") && names.includes("listed_b"));
    const filtered = await fx.conn.db!.listCollections({ name: "listed_b" }, { nameOnly: true }).toArray();
    assert.deepEqual(filtered.map((c) => c.name), ["listed_b"]);
  });

  it("drops a collection and its documents", async () => {
    await fx.conn.db!.collection("dropme").insertMany([{ a: 1 }, { a: 2 }]);
    assert.equal(await fx.conn.dropCollection("dropme"), true);
    assert.ok(!(await collectionNames()).includes("dropme"));
    assert.equal(await fx.conn.db!.collection("dropme").countDocuments(), 0);
  });

  it("renames a collection, keeping its documents and indexes", async () => {
    const source = fx.conn.db!.collection("rename_from");
    await source.createIndex({ code: 1 }, { unique: true });
    await source.insertMany([{ code: "a" }, { code: "b" }]);
    await source.rename("rename_to");
    const target = fx.conn.db!.collection("rename_to");
    assert.equal(await target.countDocuments(), 2);
    assert.ok((await target.indexes()).some((ix) => ix.name === "code_1" && ix.unique));
    assert.ok(!(await collectionNames()).includes("rename_from"));
  });

  it("renames within a database by moving the collection, not copying it: the same UUID, the old name gone, the target replaced", async () => {
    const db = fx.conn.db!;
    await db.collection("moved_from").insertMany([{ n: 1 }, { n: 2 }]);
    await db.collection("moved_to").insertOne({ old: true });
    const uuidOf = async (name: string) => (await db.listCollections({ name }, { nameOnly: false }).toArray())[0]?.info?.uuid?.toString("hex");
    const before = await uuidOf("moved_from");
    assert.ok(before);
    await db.renameCollection("moved_from", "moved_to", { dropTarget: true });
    assert.equal(await uuidOf("moved_to"), before);
    assert.equal(await uuidOf("moved_from"), undefined);
    assert.deepEqual((await db.collection("moved_to").find({}, { projection: { _id: 0 } }).toArray()).map((d) => d.n), [1, 2]);
    await assert.rejects(db.renameCollection("moved_to", "moved_to", { dropTarget: true }));
    assert.equal(await db.collection("moved_to").countDocuments(), 2);
  });

  it("lists the database among the server's databases", async () => {
    await fx.conn.db!.collection("presence").insertOne({ here: true });
    const { databases } = await fx.conn.db!.admin().listDatabases();
    assert.ok(databases.some((d) => d.name === fx.conn.name));
  });

  it("drops a whole database", async () => {
    const other = fx.conn.useDb(`${fx.conn.name}_other`);
    await other.db!.collection("things").insertOne({ a: 1 });
    await other.dropDatabase();
    assert.deepEqual(await other.db!.listCollections().toArray(), []);
  });

  it("creates the schema's declared indexes with syncIndexes and lists them", async () => {
    const schema = new Schema({ tenantId: String, slug: String, email: String, expiresAt: Date });
    schema.index({ tenantId: 1, slug: 1 }, { unique: true });
    schema.index({ email: 1 }, { sparse: true });
    schema.index({ expiresAt: 1 }, { expireAfterSeconds: 3600 });
    const Model = fx.conn.model("AdminSynced", schema);
    await Model.syncIndexes();
    const indexes = await Model.listIndexes();
    const byName = new Map(indexes.map((ix: any) => [ix.name, ix]));
    assert.deepEqual([...byName.keys()].sort(), ["_id_", "email_1", "expiresAt_1", "tenantId_1_slug_1"]);
    assert.deepEqual(byName.get("_id_").key, { _id: 1 });
    assert.deepEqual(byName.get("tenantId_1_slug_1").key, { tenantId: 1, slug: 1 });
    assert.equal(byName.get("tenantId_1_slug_1").unique, true);
    assert.equal(byName.get("email_1").sparse, true);
    assert.equal(byName.get("expiresAt_1").expireAfterSeconds, 3600);
    // A second sync finds nothing to change.
    assert.deepEqual(await Model.diffIndexes(), { toDrop: [], toCreate: [] });
  });

  it("drops indexes the schema no longer declares when syncing", async () => {
    const Model = fx.conn.model("AdminStale", new Schema({ a: { type: String, index: true } }));
    await Model.init();
    await Model.collection.createIndex({ b: 1 });
    const dropped = await Model.syncIndexes();
    assert.deepEqual(dropped, ["b_1"]);
    assert.deepEqual((await Model.listIndexes()).map((ix: any) => ix.name).sort(), ["_id_", "a_1"]);
  });

  it("drops indexes by name, by key pattern and all at once", async () => {
    const coll = fx.conn.db!.collection("indexed");
    await coll.createIndexes([{ key: { a: 1 } }, { key: { b: -1 } }, { key: { c: 1, d: 1 } }]);
    await coll.dropIndex("a_1");
    await coll.dropIndex({ b: -1 } as any);
    assert.deepEqual((await coll.indexes()).map((ix) => ix.name).sort(), ["_id_", "c_1_d_1"]);
    await coll.dropIndexes();
    assert.deepEqual((await coll.indexes()).map((ix) => ix.name), ["_id_"]);
    const err = await rejection(coll.dropIndex("nope_1"));
    assert.equal(err.code, 27);
  });

  it("treats the same index twice as a no-op but conflicting options as an error", async () => {
    const coll = fx.conn.db!.collection("conflicts");
    await coll.createIndex({ code: 1 }, { unique: true });
    await coll.createIndex({ code: 1 }, { unique: true });
    assert.equal((await coll.indexes()).length, 2);
    const sameNameOtherOptions = await rejection(coll.createIndex({ code: 1 }, { unique: false, sparse: true }));
    assert.ok([85, 86].includes(sameNameOtherOptions.code));
    const sameNameOtherKey = await rejection(coll.createIndex({ other: 1 }, { name: "code_1" }));
    assert.equal(sameNameOtherKey.code, 86);
  });

  it("fails to build a unique index over existing duplicates", async () => {
    const coll = fx.conn.db!.collection("predup");
    await coll.insertMany([{ k: 1 }, { k: 1 }]);
    const err = await rejection(coll.createIndex({ k: 1 }, { unique: true }));
    assert.equal(err.code, 11000);
    assert.deepEqual((await coll.indexes()).map((ix) => ix.name), ["_id_"]);
  });

  it("enforces a query-style collection validator on inserts and updates", async () => {
    await fx.conn.createCollection("validated", { validator: { qty: { $gte: 0 } } });
    const coll = fx.conn.db!.collection("validated");
    await coll.insertOne({ sku: "ok", qty: 1 });
    assert.equal((await rejection(coll.insertOne({ sku: "bad", qty: -1 }))).code, 121);
    assert.equal((await rejection(coll.updateOne({ sku: "ok" }, { $inc: { qty: -5 } }))).code, 121);
    assert.equal((await coll.findOne({ sku: "ok" }))?.qty, 1);
  });

  it("keeps only the newest documents of a capped collection", async () => {
    await fx.conn.createCollection("capped_log", { capped: true, size: 1 << 20, max: 3 });
    const log = fx.conn.db!.collection("capped_log");
    for (let i = 1; i <= 5; i++) await log.insertOne({ i });
    assert.deepEqual((await log.find().toArray()).map((d) => d.i), [3, 4, 5]);
  });

  it("refuses to index two parallel arrays in one compound index", async () => {
    const coll = fx.conn.db!.collection("parallel");
    await coll.createIndex({ a: 1, b: 1 });
    const err = await rejection(coll.insertOne({ a: [1, 2], b: [3, 4] }));
    assert.equal(err.code, 171);
    await coll.insertOne({ a: [1, 2], b: 3 });
    assert.equal(await coll.countDocuments(), 1);
  });

  it("answers an unknown command with code 59 CommandNotFound", async () => {
    const err = await rejection(fx.conn.db!.command({ noSuchCmd: 1 }));
    assert.equal(err.code, 59);
    assert.equal(err.codeName, "CommandNotFound");
  });

  it("answers ping, buildInfo and hello like a mongod of a supported version", async () => {
    const admin = fx.conn.db!.admin();
    assert.equal((await admin.ping()).ok, 1);
    const build = await admin.buildInfo();
    assert.match(build.version, /^\d+\.\d+\.\d+/);
    const hello = await admin.command({ hello: 1 });
    assert.equal(hello.isWritablePrimary, true);
    assert.ok(hello.maxWireVersion >= MIN_SUPPORTED_SERVER.wireVersion);
    // The version string and the wire version tell the same story.
    assert.equal(build.versionArray[0] >= 7, hello.maxWireVersion >= WIRE_VERSION_7_0, `${build.version} vs wire ${hello.maxWireVersion}`);
  });

  it("refuses a multi-document transaction on a standalone server", async (t) => {
    if (fx.supportsTransactions) {
      t.skip("replica sets and mongos support transactions");
      return;
    }
    const Ledger = fx.conn.model("AdminLedger", new Schema({ n: Number }));
    await Ledger.createCollection();
    const session = await fx.conn.startSession();
    try {
      await assert.rejects(session.withTransaction(async () => {
        await Ledger.create([{ n: 1 }], { session });
      }));
    } finally {
      await session.endSession();
    }
    assert.equal(await Ledger.countDocuments(), 0);
  });
});
