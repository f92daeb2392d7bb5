// The embedded server's one-member replica-set mode, through the real driver (and mongoose):
// the topology the driver sees, retryable writes, and change streams (events, resume,
// history lost, invalidate, awaitData, killCursors, the driver's own resume after a
// resumable error). The bare wire client is used only where the driver hides what is
// tested (a write retried with the same session and txnNumber).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Long, MongoClient, UUID } from "mongodb";
import type { ChangeStream, Collection, Db, Document } from "mongodb";
import mongoose from "mongoose";
import { startEmbeddedServer } from "../../storage/embedded/index.ts";
import type { EmbeddedServer, EmbeddedServerOptions } from "../../storage/embedded/index.ts";
import { WireClient, opMsg } from "./wire-client.ts";
import { failure } from "./failure.ts";

/** A replica-set server and a driver connected to it, per test group. */
function useReplicaSet(options: EmbeddedServerOptions = {}): () => { server: EmbeddedServer; client: MongoClient; db: Db } {
  let server: EmbeddedServer;
  let client: MongoClient;
  before(async () => {
    server = await startEmbeddedServer({ replicaSet: "rs0", enableTestCommands: true, ...options });
    client = await MongoClient.connect(`${server.uri}/shop`, { serverSelectionTimeoutMS: 5000 });
  });
  after(async () => {
    await client.close();
    await server.close();
  });
  return () => ({ server, client, db: client.db("shop") });
}

/** What the driver made of the server's hello (internal to the driver). */
function topologyOf(client: MongoClient): { type: string; setName: string | null; servers: Map<string, { type: string; address: string }> } {
  return (client as any).topology.description;
}

/** A collection whose documents have any _id (numbers here). */
function numbered(db: Db, name: string): Collection<any> {
  return db.collection<any>(name);
}

/** The next event, waiting up to `ms`. */
async function next(stream: ChangeStream, ms = 2000): Promise<any> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const event = await stream.tryNext();
    if (event) return event;
  }
  throw new Error("no change event arrived");
}

describe("replica-set mode: what the driver sees", () => {
  let server: EmbeddedServer;
  before(async () => (server = await startEmbeddedServer({ replicaSet: "rs0" })));
  after(() => server.close());

  it("a plain URI finds the primary of set rs0 at the address it used, and writes go through", async () => {
    const client = await MongoClient.connect(`${server.uri}/shop`, { serverSelectionTimeoutMS: 5000 });
    try {
      await client.db("shop").collection("t").insertOne({ a: 1 });
      const topology = topologyOf(client);
      assert.equal(topology.type, "ReplicaSetWithPrimary");
      assert.equal(topology.setName, "rs0");
      assert.deepEqual([...topology.servers.keys()], [`127.0.0.1:${server.port}`]);
      assert.equal(topology.servers.get(`127.0.0.1:${server.port}`)!.type, "RSPrimary");
      const hello = await client.db("admin").command({ hello: 1 });
      assert.equal(hello.setName, "rs0");
      assert.equal(hello.me, `127.0.0.1:${server.port}`);
      assert.deepEqual(hello.hosts, [`127.0.0.1:${server.port}`]);
      assert.equal(hello.primary, hello.me);
      assert.equal(hello.isWritablePrimary, true);
      assert.equal(hello.secondary, false);
      assert.equal(hello.setVersion, 1);
      assert.ok(hello.electionId);
      assert.ok(hello.lastWrite.opTime.ts && hello.lastWrite.lastWriteDate instanceof Date);
      const legacy = await client.db("admin").command({ isMaster: 1 });
      assert.equal(legacy.ismaster, true);
      assert.equal(legacy.setName, "rs0");
      const status = await client.db("admin").command({ replSetGetStatus: 1 });
      assert.equal(status.members[0].stateStr, "PRIMARY");
    } finally {
      await client.close();
    }
  });

  it("a direct connection sees a replica-set primary; a URI naming the set works; localhost is replaced by the member's name", async () => {
    for (const [uri, type] of [
      [`${server.uri}/shop?directConnection=true`, "Single"],
      [`${server.uri}/shop?replicaSet=rs0`, "ReplicaSetWithPrimary"],
      [`mongodb://localhost:${server.port}/shop`, "ReplicaSetWithPrimary"],
    ]) {
      const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5000 });
      try {
        await client.db("shop").collection("t").findOne({});
        const topology = topologyOf(client);
        assert.equal(topology.type, type, uri);
        const primary = [...topology.servers.values()].find((s) => s.type === "RSPrimary");
        assert.ok(primary, `${uri}: a usable primary`);
        assert.equal(primary.address, `127.0.0.1:${server.port}`);
      } finally {
        await client.close();
      }
    }
  });

  it("a server started without the option is still a standalone that refuses txnNumber and change streams", async () => {
    const standalone = await startEmbeddedServer();
    const client = await MongoClient.connect(standalone.uri);
    try {
      const hello = await client.db("admin").command({ hello: 1 });
      assert.equal(hello.setName, undefined);
      assert.equal(topologyOf(client).type, "Single");
      const err = await failure(client.db("shop").command({ aggregate: "t", pipeline: [{ $changeStream: {} }], cursor: {} }));
      assert.equal(err.code, 40573);
    } finally {
      await client.close();
      await standalone.close();
    }
  });

  it("mongoose connects and watches a model", async () => {
    const connection = await mongoose.createConnection(`${server.uri}/shop`, { serverSelectionTimeoutMS: 5000 }).asPromise();
    try {
      const Item = connection.model("Item", new mongoose.Schema({ name: String }));
      // From the last write on, so the insert below cannot come before the stream opens.
      const hello = await connection.db!.admin().command({ hello: 1 });
      const stream = Item.watch([{ $match: { "ns.coll": "items" } }], { startAtOperationTime: hello.lastWrite.opTime.ts, maxAwaitTimeMS: 50 });
      const changed = new Promise<Document>((resolve, reject) => {
        stream.once("change", resolve);
        setTimeout(() => reject(new Error("no change event")), 3000);
      });
      const item = await Item.create({ name: "kopi" });
      const event = await changed;
      assert.equal(event.operationType, "insert");
      assert.equal(String(event.documentKey._id), item.id);
      await stream.close();
    } finally {
      await connection.close();
    }
  });
});

describe("replica-set mode: retryable writes", () => {
  const rs = useReplicaSet();

  it("the driver sends retryable writes with a txnNumber, and they are applied", async () => {
    const { server } = rs();
    const sent: Document[] = [];
    const client = await MongoClient.connect(server.uri, { monitorCommands: true });
    client.on("commandStarted", (e) => sent.push(e.command));
    try {
      const coll = numbered(client.db("shop"), "retry");
      await coll.insertOne({ _id: 1 } as Document);
      await coll.updateOne({ _id: 1 }, { $set: { a: 1 } });
      await coll.findOneAndUpdate({ _id: 1 }, { $set: { b: 2 } });
      await coll.deleteOne({ _id: 1 });
      const writes = sent.filter((c) => ["insert", "update", "findAndModify", "delete"].includes(Object.keys(c)[0]));
      assert.equal(writes.length, 4);
      for (const w of writes) assert.ok(w.txnNumber !== undefined && w.lsid, `${Object.keys(w)[0]} carried a txnNumber`);
      assert.equal(await coll.countDocuments(), 0);
    } finally {
      await client.close();
    }
  });

  it("a write whose connection closed is retried by the driver and applied once", async () => {
    const { db } = rs();
    await db.admin().command({ configureFailPoint: "failCommand", mode: { times: 1 }, data: { failCommands: ["insert"], closeConnection: true } });
    await numbered(db, "retried").insertOne({ _id: 7 } as Document);
    assert.equal(await numbered(db, "retried").countDocuments({ _id: 7 }), 1);
  });

  it("the same session and txnNumber again answers the first reply instead of writing twice", async () => {
    const { server, db } = rs();
    const wire = await WireClient.open(server.port);
    try {
      const lsid = { id: new UUID() };
      const insert = (doc: Document, txnNumber: number) => wire.request(opMsg({ insert: "dedup", documents: [doc], ordered: true, lsid, txnNumber: Long.fromNumber(txnNumber), $db: "shop" }));
      const first = await insert({ _id: 1, v: "first" }, 1);
      const again = await insert({ _id: 1, v: "first" }, 1);
      assert.deepEqual(again.doc, first.doc);
      assert.equal(again.doc.writeErrors, undefined, "not a duplicate key: not run again");
      const other = await insert({ _id: 1, v: "second" }, 2);
      assert.equal(other.doc.writeErrors[0].code, 11000, "a new txnNumber runs");
      assert.equal(await db.collection("dedup").countDocuments(), 1);
    } finally {
      wire.close();
    }
  });

  it("refuses multi-document transactions, and a txnNumber on a read", async () => {
    const { client, db } = rs();
    const session = client.startSession();
    try {
      session.startTransaction();
      const err = await failure(db.collection("tx").insertOne({ a: 1 }, { session }));
      assert.equal(err.code, 263);
      assert.match(err.message, /transactions are not supported/);
      await session.abortTransaction().catch(() => undefined);
    } finally {
      await session.endSession();
    }
    const err = await failure(db.command({ find: "tx", lsid: { id: new UUID() }, txnNumber: Long.fromNumber(1) }));
    assert.equal(err.code, 50768);
  });
});

describe("replica-set mode: change streams", () => {
  const rs = useReplicaSet();

  it("watch() receives insert, update (with the changed paths), replace and delete, shaped like MongoDB's", async () => {
    const { db } = rs();
    const coll = numbered(db, "events");
    const stream = coll.watch([], { maxAwaitTimeMS: 50 });
    assert.equal(await stream.tryNext(), null);
    await coll.insertOne({ _id: 1, name: "Toko", channels: { telegram: { bot: "a" } } } as Document);
    await coll.updateOne({ _id: 1 }, { $set: { "channels.telegram.bot": "b" }, $unset: { name: "" } });
    await coll.replaceOne({ _id: 1 }, { slug: "toko" });
    await coll.deleteOne({ _id: 1 });
    await db.collection("elsewhere").insertOne({ a: 1 });

    const insert = await next(stream);
    assert.equal(insert.operationType, "insert");
    assert.equal(typeof insert._id._data, "string");
    assert.deepEqual(insert.ns, { db: "shop", coll: "events" });
    assert.deepEqual(insert.documentKey, { _id: 1 });
    assert.deepEqual(insert.fullDocument, { _id: 1, name: "Toko", channels: { telegram: { bot: "a" } } });
    assert.ok(insert.clusterTime && insert.wallTime instanceof Date);
    const update = await next(stream);
    assert.equal(update.operationType, "update");
    assert.deepEqual(update.updateDescription, { updatedFields: { "channels.telegram.bot": "b" }, removedFields: ["name"], truncatedArrays: [] });
    assert.equal(update.fullDocument, undefined);
    assert.ok(update.clusterTime.greaterThan(insert.clusterTime));
    const replace = await next(stream);
    assert.equal(replace.operationType, "replace");
    assert.deepEqual(replace.fullDocument, { _id: 1, slug: "toko" });
    const remove = await next(stream);
    assert.equal(remove.operationType, "delete");
    assert.deepEqual(remove.documentKey, { _id: 1 });
    assert.equal(await stream.tryNext(), null, "the other collection's insert is not in this stream");
    await stream.close();
  });

  it("runs the stages after $changeStream on the events, looks up full documents, and refuses a changed _id", async () => {
    const { db } = rs();
    const coll = numbered(db, "staged");
    const since = (await db.admin().command({ hello: 1 })).lastWrite.opTime.ts;
    const stream = coll.watch([{ $match: { operationType: "update" } }, { $project: { operationType: 1, documentKey: 1, fullDocument: 1 } }], { fullDocument: "updateLookup", maxAwaitTimeMS: 50 });
    await stream.tryNext();
    await coll.insertOne({ _id: 1, n: 0 } as Document);
    await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } });
    const update = await next(stream);
    assert.deepEqual(Object.keys(update).sort(), ["_id", "documentKey", "fullDocument", "operationType"]);
    assert.deepEqual(update.fullDocument, { _id: 1, n: 1 });
    await stream.close();

    const err = await failure(db.command({ aggregate: "staged", pipeline: [{ $changeStream: { startAtOperationTime: since } }, { $project: { _id: 0 } }], cursor: {} }));
    assert.equal(err.code, 280);
    const grouped = await failure(db.command({ aggregate: "staged", pipeline: [{ $changeStream: {} }, { $group: { _id: null } }], cursor: {} }));
    assert.equal(grouped.code, 20);
  });

  it("a getMore waits up to maxAwaitTimeMS for events, and answers as soon as one arrives", async () => {
    const { db } = rs();
    const coll = numbered(db, "waiting");
    const stream = coll.watch([], { maxAwaitTimeMS: 400 });
    let started = Date.now();
    assert.equal(await stream.tryNext(), null);
    assert.ok(Date.now() - started >= 350, `an empty read waited ${Date.now() - started} ms`);
    started = Date.now();
    setTimeout(() => void coll.insertOne({ late: true }), 100);
    const event = await stream.tryNext();
    assert.equal(event?.operationType, "insert");
    assert.ok(Date.now() - started < 350, `the event came at once, not at the end of the wait (${Date.now() - started} ms)`);
    await stream.close();
  });

  it("resumes after a token, starts after one, and starts at an operation time", async () => {
    const { db } = rs();
    const coll = numbered(db, "resumed");
    const stream = coll.watch([], { maxAwaitTimeMS: 50 });
    await stream.tryNext();
    await coll.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }] as Document[]);
    const first = await next(stream);
    await stream.close();
    assert.deepEqual(first.documentKey, { _id: 1 });

    const resumed = coll.watch([], { resumeAfter: first._id, maxAwaitTimeMS: 50 });
    assert.deepEqual((await next(resumed)).documentKey, { _id: 2 });
    assert.deepEqual((await next(resumed)).documentKey, { _id: 3 });
    const last = resumed.resumeToken;
    await resumed.close();
    const started = coll.watch([], { startAfter: first._id, maxAwaitTimeMS: 50 });
    assert.deepEqual((await next(started)).documentKey, { _id: 2 });
    await started.close();
    const atTime = coll.watch([], { startAtOperationTime: first.clusterTime, maxAwaitTimeMS: 50 });
    assert.deepEqual((await next(atTime)).documentKey, { _id: 1 });
    await atTime.close();

    // The token after the last event: nothing more until a new write.
    const fromEnd = coll.watch([], { resumeAfter: last, maxAwaitTimeMS: 50 });
    assert.equal(await fromEnd.tryNext(), null);
    await coll.insertOne({ _id: 4 } as Document);
    assert.deepEqual((await next(fromEnd)).documentKey, { _id: 4 });
    await fromEnd.close();
  });

  it("refuses malformed resume tokens with mongod's codes", async () => {
    const { db } = rs();
    const open = (spec: Document) => failure(db.command({ aggregate: "resumed", pipeline: [{ $changeStream: spec }], cursor: {} }));
    assert.equal((await open({ resumeAfter: { nope: 1 } })).code, 40647);
    assert.equal((await open({ resumeAfter: { _data: "not a token" } })).code, 260);
    assert.equal((await open({ resumeAfter: { _data: "00" }, startAtOperationTime: new Long(0) })).code, 40674);
    assert.equal((await open({ fullDocument: "required" })).code, 2);
    assert.equal((await open({ bogus: true })).code, 40415);
  });

  it("the driver resumes by itself after a resumable error, from its last token, losing nothing", async () => {
    const { db } = rs();
    const coll = numbered(db, "flaky");
    const stream = coll.watch([], { maxAwaitTimeMS: 50 });
    await stream.tryNext();
    await coll.insertOne({ _id: 1 } as Document);
    assert.deepEqual((await next(stream)).documentKey, { _id: 1 });
    await db.admin().command({ configureFailPoint: "failCommand", mode: { times: 1 }, data: { failCommands: ["getMore"], closeConnection: true } });
    await coll.insertOne({ _id: 2 } as Document);
    assert.deepEqual((await next(stream)).documentKey, { _id: 2 });
    await db.admin().command({ configureFailPoint: "failCommand", mode: { times: 1 }, data: { failCommands: ["getMore"], errorCode: 6, errorLabels: ["ResumableChangeStreamError"] } });
    await coll.insertOne({ _id: 3 } as Document);
    assert.deepEqual((await next(stream)).documentKey, { _id: 3 });
    assert.equal(await stream.tryNext(), null);
    await stream.close();
  });

  it("a drop ends a collection's stream with drop then invalidate; resumeAfter the invalidate is refused, startAfter it works", async () => {
    const { db } = rs();
    const coll = numbered(db, "dropped");
    await coll.insertOne({ _id: 1 } as Document);
    const stream = coll.watch([], { maxAwaitTimeMS: 50 });
    await stream.tryNext();
    await coll.drop();
    const drop = await next(stream);
    assert.equal(drop.operationType, "drop");
    assert.deepEqual(drop.ns, { db: "shop", coll: "dropped" });
    const invalidate = await next(stream);
    assert.equal(invalidate.operationType, "invalidate");
    assert.equal(stream.closed || (await stream.tryNext().catch(() => null)) === null, true);
    await stream.close();

    const err = await failure(db.command({ aggregate: "dropped", pipeline: [{ $changeStream: { resumeAfter: invalidate._id } }], cursor: {} }));
    assert.equal(err.code, 260);
    const after = coll.watch([], { startAfter: invalidate._id, maxAwaitTimeMS: 50 });
    await coll.insertOne({ _id: 2 } as Document);
    const insert = await next(after);
    assert.equal(insert.operationType, "insert");
    assert.deepEqual(insert.documentKey, { _id: 2 });
    await after.close();
  });

  it("a rename invalidates the renamed collection's stream; dropDatabase a database's stream", async () => {
    const { client } = rs();
    const db = client.db("renaming");
    await db.collection("old").insertOne({ a: 1 });
    const collStream = db.collection("old").watch([], { maxAwaitTimeMS: 50 });
    const dbStream = db.watch([], { maxAwaitTimeMS: 50 });
    await collStream.tryNext();
    await dbStream.tryNext();
    await db.collection("old").rename("new");
    const rename = await next(collStream);
    assert.equal(rename.operationType, "rename");
    assert.deepEqual(rename.to, { db: "renaming", coll: "new" });
    assert.equal((await next(collStream)).operationType, "invalidate");
    await collStream.close();

    await db.dropDatabase();
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) seen.push((await next(dbStream)).operationType);
    assert.deepEqual(seen, ["rename", "drop", "dropDatabase"]);
    assert.equal((await next(dbStream)).operationType, "invalidate");
    await dbStream.close();
  });

  it("client.watch() follows every database; a database's stream only its own", async () => {
    const { client } = rs();
    const everything = client.watch([], { maxAwaitTimeMS: 50 });
    const one = client.db("one").watch([], { maxAwaitTimeMS: 50 });
    await everything.tryNext();
    await one.tryNext();
    await client.db("one").collection("a").insertOne({ n: 1 });
    await client.db("two").collection("b").insertOne({ n: 2 });
    assert.deepEqual((await next(everything)).ns, { db: "one", coll: "a" });
    assert.deepEqual((await next(everything)).ns, { db: "two", coll: "b" });
    assert.deepEqual((await next(one)).ns, { db: "one", coll: "a" });
    assert.equal(await one.tryNext(), null);
    await everything.close();
    await one.close();
  });

  it("killCursors ends a change stream's cursor: a getMore on it is CursorNotFound, and closing a stream leaves no cursor open", async () => {
    const { db } = rs();
    const opened = await db.command({ aggregate: "killed", pipeline: [{ $changeStream: {} }], cursor: {} });
    const id = opened.cursor.id;
    assert.notEqual(Number(id), 0);
    assert.ok(opened.cursor.postBatchResumeToken._data);
    const more = await db.command({ getMore: id, collection: "killed", maxTimeMS: 10 });
    assert.deepEqual(more.cursor.nextBatch, []);
    const killed = await db.command({ killCursors: "killed", cursors: [id] });
    assert.deepEqual(killed.cursorsKilled.map(String), [String(id)]);
    const err = await failure(db.command({ getMore: id, collection: "killed", maxTimeMS: 10 }));
    assert.equal(err.code, 43);

    const stream = db.collection("killed").watch([], { maxAwaitTimeMS: 50 });
    await stream.tryNext();
    const openCursors = async () => (await db.admin().command({ serverStatus: 1 })).metrics.cursor.open.total;
    assert.equal(await openCursors(), 1);
    await stream.close();
    assert.equal(await openCursors(), 0);
  });
});

describe("replica-set mode: bounded history", () => {
  const rs = useReplicaSet({ changeStreamHistory: 3 });

  it("a token older than the events kept is ChangeStreamHistoryLost (286), resuming or reading", async () => {
    const { db } = rs();
    const coll = numbered(db, "short");
    const stream = coll.watch([], { maxAwaitTimeMS: 50 });
    await stream.tryNext();
    await coll.insertOne({ _id: 1 } as Document);
    const first = await next(stream);
    await stream.close();
    await coll.insertMany([{ _id: 2 }, { _id: 3 }] as Document[]);
    // Three events kept: 1, 2, 3; resuming after 1 needs 2 and 3 only.
    const ok = coll.watch([], { resumeAfter: first._id, maxAwaitTimeMS: 50 });
    assert.deepEqual((await next(ok)).documentKey, { _id: 2 });
    await ok.close();
    await coll.insertMany([{ _id: 4 }, { _id: 5 }] as Document[]);
    const err = await failure(db.command({ aggregate: "short", pipeline: [{ $changeStream: { resumeAfter: first._id } }], cursor: {} }));
    assert.equal(err.code, 286);
    assert.equal(err.codeName, "ChangeStreamHistoryLost");
    const lost = coll.watch([], { resumeAfter: first._id, maxAwaitTimeMS: 50 });
    await assert.rejects(lost.tryNext(), (e: any) => e.code === 286);
    await lost.close();

    // A cursor that falls more than the history behind fails at its next getMore.
    const behind = await db.command({ aggregate: "short", pipeline: [{ $changeStream: {} }], cursor: {} });
    await coll.insertMany([{ _id: 6 }, { _id: 7 }, { _id: 8 }, { _id: 9 }] as Document[]);
    const gone = await failure(db.command({ getMore: behind.cursor.id, collection: "short", maxTimeMS: 10 }));
    assert.equal(gone.code, 286);
  });

  it("a token from another server (or before a restart) is lost history too", async () => {
    const { db } = rs();
    const other = await startEmbeddedServer({ replicaSet: "rs0" });
    const client = await MongoClient.connect(other.uri);
    try {
      const opened = await client.db("shop").command({ aggregate: "x", pipeline: [{ $changeStream: {} }], cursor: {} });
      const err = await failure(db.command({ aggregate: "x", pipeline: [{ $changeStream: { resumeAfter: opened.cursor.postBatchResumeToken } }], cursor: {} }));
      assert.equal(err.code, 286);
    } finally {
      await client.close();
      await other.close();
    }
  });
});
