// The store change feed on a replica set: what it answers for the events, errors and
// invalidations of a change stream. Everything runs for real: the embedded server started
// as a one-member replica set, the MongoDB driver's change stream over the wire, the
// stores written through the Tenant model. What the feed asked of the server (each
// stream's `$changeStream` stage, its resume token, the cursor closed) is read from the
// driver's command monitoring on the feed's own connection.
//
// Two situations are produced with the server's test command `configureFailPoint`
// (mongod's `failCommand` fail point, as the drivers' own tests use it), since a healthy
// server does not fail on request: a getMore that fails with an error the driver does not
// resume from (InternalError, no ResumableChangeStreamError label), and, with a server that
// keeps only a short history of events, a resume whose point is no longer kept
// (ChangeStreamHistoryLost, 286). Nothing is scripted in place of the driver or the server.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import mongoose from "mongoose";
import type { Document } from "mongodb";
import { QUIET, Tenant } from "../../storage/models/index.ts";
import { CHANGE_STREAM_PIPELINE, openStoreChangeFeed, type StoreChangeFeed } from "../../storage/store-changes.ts";
import { startEmbeddedServer } from "../../storage/embedded/index.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

/** Events the server keeps for resuming: small, so a test can outrun it. */
const HISTORY = 40;

/** What the feed's connection sent: the change streams it opened, the cursors it killed, the tokens it was given. */
interface Wire {
  /** The `$changeStream` stage and the rest of the pipeline of each stream opened, in order. */
  streams: Array<{ spec: Document; pipeline: Document[] }>;
  killed: number;
  /** The last postBatchResumeToken the server answered. */
  lastToken: Document | undefined;
}

let db: TestDatabase;
let made = 0;

/** A feed on a connection of its own, whose commands are recorded. */
async function monitoredFeed(options: { fullSweepMs?: number; now?: () => number } = {}): Promise<{ feed: StoreChangeFeed; wire: Wire; close(): Promise<void> }> {
  const connection = await mongoose.createConnection(db.uri, { monitorCommands: true, serverSelectionTimeoutMS: 5000 }).asPromise();
  const wire: Wire = { streams: [], killed: 0, lastToken: undefined };
  const client = connection.getClient();
  client.on("commandStarted", (e) => {
    if (e.commandName === "aggregate" && e.command.pipeline?.[0]?.$changeStream) {
      wire.streams.push({ spec: e.command.pipeline[0].$changeStream, pipeline: e.command.pipeline.slice(1) });
    }
    if (e.commandName === "killCursors") wire.killed += 1;
  });
  client.on("commandSucceeded", (e) => {
    const token = (e.reply as Document | undefined)?.cursor?.postBatchResumeToken;
    if (token) wire.lastToken = token;
  });
  const feed = await openStoreChangeFeed({ connection, ...options });
  return {
    feed,
    wire,
    async close() {
      await feed.close();
      await connection.close();
    },
  };
}

/** Fresh stores, written through the model. */
async function newStores(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    made += 1;
    ids.push((await Tenant.create({ slug: `toko-${made}`, name: `Toko ${made}` })).id);
  }
  return ids;
}

async function openCursors(): Promise<number> {
  return (await mongoose.connection.db!.admin().command({ serverStatus: 1 })).metrics.cursor.open.total;
}

async function failGetMore(mode: Document | string): Promise<void> {
  await mongoose.connection.db!.admin().command({ configureFailPoint: "failCommand", mode, data: { failCommands: ["getMore"], errorCode: 1 } });
}

describe("the store change feed on a change stream (a one-member replica set)", () => {
  before(async () => {
    db = await openTestDatabase("store_change_stream", { embedded: { replicaSet: "rs0", enableTestCommands: true, changeStreamHistory: HISTORY } });
  });
  after(() => db.close());

  it("is chosen by itself, answers every store first, once its stream is open, then only the stores whose documents changed, each once", async () => {
    const [a, b] = await newStores(2);
    const { feed, wire, close } = await monitoredFeed();
    try {
      assert.equal(feed.kind, "change-stream", "the server's hello names a replica set");
      assert.deepEqual(await feed.changes(), { all: true });
      assert.equal(wire.streams.length, 1);
      assert.deepEqual(wire.streams[0].pipeline, CHANGE_STREAM_PIPELINE);
      assert.equal(wire.streams[0].spec.resumeAfter, undefined);
      assert.equal(await openCursors(), 1, "the stream was opened on the server before the full read it answers");

      await Tenant.updateOne({ _id: a }, { $set: { name: "Toko Baru" } }).exec();
      const [c] = await newStores(1);
      await Tenant.updateOne({ _id: a }, { $set: { name: "Toko Baru Lagi" } }).exec();
      await Tenant.deleteOne({ _id: b }).exec();
      assert.deepEqual(await feed.changes(), { ids: [a, c, b] });
      assert.deepEqual(await feed.changes(), { ids: [] });
      assert.equal(wire.streams.length, 1, "one stream, read at each question");
    } finally {
      await close();
    }
  });

  it("counts every write, a QUIET one (the bots' bookkeeping) and a replacement too", async () => {
    const [a, b, c] = await newStores(3);
    const { feed, close } = await monitoredFeed();
    try {
      await feed.changes();
      await Tenant.updateOne({ _id: a }, { $set: { "channels.telegram.botUsername": "cached_name_bot" } }, QUIET).exec();
      const doc = await Tenant.findById(b).exec();
      doc!.set("channels.telegram.botUsername", "cached_again_bot");
      await doc!.save(QUIET);
      await Tenant.collection.replaceOne({ _id: new mongoose.Types.ObjectId(c) }, { slug: `toko-replaced-${made}`, name: "Toko Ganti" });
      assert.deepEqual(await feed.changes(), { ids: [a, b, c] });
    } finally {
      await close();
    }
  });

  it("a stream that fails is resumed from its last token at the next question, keeping what it had read: no full sweep", async () => {
    const [a, b, c] = await newStores(3);
    const { feed, wire, close } = await monitoredFeed();
    try {
      await feed.changes();
      await Tenant.updateOne({ _id: a }, { $set: { name: "Toko A2" } }).exec();
      // The first getMore hands out a's update; the next one fails, and the driver closes the stream.
      await failGetMore({ skip: 1 });
      await assert.rejects(feed.changes(), /failCommand/);
      await failGetMore("off");
      const lastToken = wire.lastToken;
      assert.ok(lastToken);

      await Tenant.updateOne({ _id: b }, { $set: { name: "Toko B2" } }).exec();
      assert.deepEqual(await feed.changes(), { ids: [a, b] }, "what was read before the error, and what the resumed stream read");
      assert.equal(wire.streams.length, 2);
      assert.deepEqual(wire.streams[1].spec.resumeAfter, lastToken);
      await Tenant.updateOne({ _id: c }, { $set: { name: "Toko C2" } }).exec();
      assert.deepEqual(await feed.changes(), { ids: [c] });
    } finally {
      await failGetMore("off");
      await close();
    }
  });

  it("a resume that fails too (its history is gone) answers every store, from a stream opened afresh", async () => {
    const { feed, wire, close } = await monitoredFeed();
    try {
      await feed.changes();
      await failGetMore({ times: 1 });
      await assert.rejects(feed.changes(), /failCommand/);
      // More writes than the server keeps: the resume point falls out of its history.
      await mongoose.connection.db!.collection("busy").insertMany(Array.from({ length: HISTORY + 5 }, (_, i) => ({ i })));
      await assert.rejects(feed.changes(), (error: { code?: number; message: string }) => error.code === 286 && /no longer be in the oplog/.test(error.message));
      assert.ok(wire.streams[1].spec.resumeAfter, "it was a resume");
      assert.deepEqual(await feed.changes(), { all: true });
      assert.equal(wire.streams.length, 3);
      assert.equal(wire.streams[2].spec.resumeAfter, undefined);
      const [d] = await newStores(1);
      assert.deepEqual(await feed.changes(), { ids: [d] });
    } finally {
      await failGetMore("off");
      await close();
    }
  });

  it("answers every store again each full-sweep period, the stream healthy or not", async () => {
    const [a] = await newStores(1);
    let now = 0;
    const { feed, wire, close } = await monitoredFeed({ fullSweepMs: 600_000, now: () => now });
    try {
      assert.deepEqual(await feed.changes(), { all: true });
      now += 300_000;
      await Tenant.updateOne({ _id: a }, { $set: { name: "Toko Sweep" } }).exec();
      assert.deepEqual(await feed.changes(), { ids: [a] });
      now += 300_000;
      assert.deepEqual(await feed.changes(), { all: true });
      assert.equal(wire.streams.length, 1);
    } finally {
      await close();
    }
  });

  it("a closed feed closes its stream on the server and answers no more", async () => {
    const { feed, wire, close } = await monitoredFeed();
    try {
      await feed.changes();
      assert.equal(await openCursors(), 1);
      await feed.close();
      assert.equal(wire.killed, 1);
      assert.equal(await openCursors(), 0);
      await assert.rejects(feed.changes(), /closed/);
    } finally {
      await close();
    }
  });

  it("the stream's pipeline keeps every event, each with only its token, kind and document key", async () => {
    const [a, b] = await newStores(2);
    const stream = Tenant.collection.watch(CHANGE_STREAM_PIPELINE, { maxAwaitTimeMS: 50 });
    try {
      await stream.tryNext();
      await Tenant.updateOne({ _id: a }, { $set: { name: "Toko Baru" } }).exec();
      await Tenant.updateOne({ _id: b }, { $set: { "channels.telegram.botUsername": "x_bot" } }, QUIET).exec();
      const [c] = await newStores(1);
      await Tenant.deleteOne({ _id: a }).exec();
      await Tenant.collection.replaceOne({ _id: new mongoose.Types.ObjectId(b) }, { slug: `toko-b-${made}`, name: "Toko B" });
      await Tenant.collection.rename("tenants_shape");
      const events: Document[] = [];
      for (let tries = 0; tries < 40 && events.at(-1)?.operationType !== "invalidate"; tries++) {
        const event = await stream.tryNext();
        if (event) events.push(event);
      }
      assert.deepEqual(
        events.map((e) => [e.operationType, e.documentKey ? String(e.documentKey._id) : undefined]),
        [["update", a], ["update", b], ["insert", c], ["delete", a], ["replace", b], ["rename", undefined], ["invalidate", undefined]],
      );
      for (const e of events.slice(0, 5)) assert.deepEqual(Object.keys(e).sort(), ["_id", "documentKey", "operationType"]);
      for (const e of events.slice(5)) assert.deepEqual(Object.keys(e).sort(), ["_id", "operationType"]);
    } finally {
      await stream.close();
      await mongoose.connection.db!.collection("tenants_shape").rename(Tenant.collection.collectionName);
    }
  });

  it("after an invalidate (the collection dropped, or renamed) answers every store once and opens a fresh stream", async () => {
    await newStores(1);
    const { feed, wire, close } = await monitoredFeed();
    try {
      await feed.changes();
      const [a] = await newStores(1);
      await Tenant.updateOne({ _id: a }, { $set: { name: "Toko Hilang" } }).exec();
      await Tenant.collection.drop();
      assert.deepEqual(await feed.changes(), { all: true });
      assert.equal(wire.streams.length, 2, "the fresh stream opened before the answer, so the full read comes after its start");
      assert.equal(await openCursors(), 1, "the invalidated stream's cursor is gone, the fresh one is open");
      const [b] = await newStores(1);
      assert.deepEqual(await feed.changes(), { ids: [b] });
      assert.equal(wire.streams.length, 2);
      assert.equal(wire.streams[1].spec.resumeAfter, undefined, "not resumed past an invalidate");
      assert.equal(wire.streams[1].spec.startAfter, undefined);

      await Tenant.collection.rename("tenants_moved");
      assert.deepEqual(await feed.changes(), { all: true });
      assert.equal(wire.streams.length, 3);
      const [c] = await newStores(1);
      assert.deepEqual(await feed.changes(), { ids: [c] });
    } finally {
      await close();
    }
  });
});

describe("the store change feed against a standalone server", () => {
  let server: Awaited<ReturnType<typeof startEmbeddedServer>>;
  let connection: mongoose.Connection;
  before(async () => {
    server = await startEmbeddedServer();
    connection = await mongoose.createConnection(`${server.uri}/standalone`, { serverSelectionTimeoutMS: 5000 }).asPromise();
  });
  after(async () => {
    await connection.close();
    await server.close();
  });

  it("picks 'changed since' by itself: the server's hello names no replica set", async () => {
    const feed = await openStoreChangeFeed({ connection });
    assert.equal(feed.kind, "changed-since");
  });

  it("a change stream forced on it fails with the server's error at every question, and claims no change", async () => {
    const feed = await openStoreChangeFeed({ kind: "change-stream", connection });
    await assert.rejects(feed.changes(), /only supported on replica sets/);
    await assert.rejects(feed.changes(), /only supported on replica sets/);
    await feed.close();
  });
});
