// The store change feed on a replica set: what it answers for the events, errors and
// invalidations of a change stream. There is no replica set here (the embedded server
// refuses `$changeStream`, as a standalone mongod does), so the stream is scripted below in
// the shape of the driver's `ChangeStream` (tryNext, resumeToken, close); its pipeline runs
// on the embedded server's aggregation over events shaped like MongoDB's.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import mongoose from "mongoose";
import type { ChangeStreamOptions, Collection, Document } from "mongodb";
import { CHANGE_STREAM_PIPELINE, ChangeStreamFeed, openStoreChangeFeed } from "../../storage/store-changes.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

type Step = Document | Error;

class ScriptedStream {
  readonly steps: Step[] = [];
  resumeToken: unknown;
  closed = false;
  reads = 0;
  constructor(
    readonly pipeline: Document[],
    readonly options: ChangeStreamOptions,
  ) {}

  async tryNext(): Promise<Document | null> {
    this.reads++;
    if (this.closed) throw new Error("ChangeStream is closed");
    const step = this.steps.shift();
    if (step instanceof Error) {
      // As the driver does with an error it cannot resume from: the stream closes.
      this.closed = true;
      throw step;
    }
    if (!step) {
      this.resumeToken = { _data: `batch-end-${this.reads}` };
      return null;
    }
    this.resumeToken = step._id;
    return step;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

class ScriptedCollection {
  readonly streams: ScriptedStream[] = [];
  /** What the next stream opened will read first. */
  readonly upcoming: Step[] = [];
  get current(): ScriptedStream {
    return this.streams.at(-1)!;
  }
  watch(pipeline: Document[], options: ChangeStreamOptions): ScriptedStream {
    const stream = new ScriptedStream(pipeline, options);
    stream.steps.push(...this.upcoming.splice(0));
    this.streams.push(stream);
    return stream;
  }
}

let token = 0;
const changed = (operationType: string, id: string): Document => ({ _id: { _data: `t${++token}` }, operationType, documentKey: { _id: new mongoose.Types.ObjectId(id) } });
const event = (operationType: string): Document => ({ _id: { _data: `t${++token}` }, operationType });
const ID = ["650000000000000000000001", "650000000000000000000002", "650000000000000000000003"];

function feedOn(collection: ScriptedCollection, options: { fullSweepMs?: number; now?: () => number } = {}): ChangeStreamFeed {
  return new ChangeStreamFeed(collection as unknown as Collection, options);
}

describe("the store change feed on a change stream", () => {
  it("answers every store first, once its stream is open, then only the stores whose documents changed, each once", async () => {
    const tenants = new ScriptedCollection();
    const feed = feedOn(tenants);
    assert.deepEqual(await feed.changes(), { all: true });
    assert.equal(tenants.streams.length, 1);
    assert.deepEqual(tenants.current.pipeline, CHANGE_STREAM_PIPELINE);
    assert.equal(tenants.current.options.resumeAfter, undefined);
    assert.ok(tenants.current.reads > 0, "the stream was opened on the server before the full read it answers");

    tenants.current.steps.push(changed("update", ID[0]), changed("insert", ID[1]), changed("update", ID[0]), changed("delete", ID[2]));
    assert.deepEqual(await feed.changes(), { ids: [ID[0], ID[1], ID[2]] });
    assert.deepEqual(await feed.changes(), { ids: [] });
    assert.equal(tenants.streams.length, 1, "one stream, read at each question");
  });

  it("after an invalidate (the collection dropped or renamed) answers every store once and opens a fresh stream", async () => {
    const tenants = new ScriptedCollection();
    const feed = feedOn(tenants);
    await feed.changes();
    tenants.current.steps.push(changed("update", ID[0]), event("drop"), event("invalidate"));
    assert.deepEqual(await feed.changes(), { all: true });
    assert.equal(tenants.streams[0].closed, true);
    assert.equal(tenants.streams.length, 2, "the fresh stream opened before the answer, so the full read comes after its start");
    assert.ok(tenants.current.reads > 0);
    tenants.current.steps.push(changed("update", ID[1]));
    assert.deepEqual(await feed.changes(), { ids: [ID[1]] });
    assert.equal(tenants.streams.length, 2);
    assert.equal(tenants.current.options.resumeAfter, undefined, "not resumed past an invalidate");
  });

  it("a stream that fails is resumed from its last token at the next question, keeping what it had read: no full sweep", async () => {
    const tenants = new ScriptedCollection();
    const feed = feedOn(tenants);
    await feed.changes();
    const first = tenants.current;
    first.steps.push(changed("update", ID[0]), new Error("connection reset by the primary"));
    await assert.rejects(feed.changes(), /connection reset/);
    const lastToken = first.resumeToken;
    assert.ok(lastToken);

    tenants.upcoming.push(changed("update", ID[1]));
    assert.deepEqual(await feed.changes(), { ids: [ID[0], ID[1]] }, "what was read before the error, and what the resumed stream read");
    assert.equal(tenants.streams.length, 2);
    assert.deepEqual(tenants.current.options.resumeAfter, lastToken);
    tenants.current.steps.push(changed("update", ID[2]));
    assert.deepEqual(await feed.changes(), { ids: [ID[2]] });
  });

  it("a resume that fails too answers every store, from a stream opened afresh", async () => {
    const tenants = new ScriptedCollection();
    const feed = feedOn(tenants);
    await feed.changes();
    tenants.current.steps.push(new Error("not primary"));
    await assert.rejects(feed.changes());
    // The resume: its history is gone from the oplog.
    tenants.upcoming.push(Object.assign(new Error("Resume of change stream was not possible, as the resume point may no longer be in the oplog"), { code: 286 }));
    await assert.rejects(feed.changes(), /no longer be in the oplog/);
    assert.ok(tenants.streams[1].options.resumeAfter, "it was a resume");
    assert.deepEqual(await feed.changes(), { all: true });
    assert.equal(tenants.streams.length, 3);
    assert.equal(tenants.current.options.resumeAfter, undefined);
  });

  it("answers every store again each full-sweep period, the stream healthy or not", async () => {
    let now = 0;
    const tenants = new ScriptedCollection();
    const feed = feedOn(tenants, { fullSweepMs: 600_000, now: () => now });
    assert.deepEqual(await feed.changes(), { all: true });
    now += 300_000;
    tenants.current.steps.push(changed("update", ID[0]));
    assert.deepEqual(await feed.changes(), { ids: [ID[0]] });
    now += 300_000;
    assert.deepEqual(await feed.changes(), { all: true });
    assert.equal(tenants.streams.length, 1);
  });

  it("a closed feed closes its stream and answers no more", async () => {
    const tenants = new ScriptedCollection();
    const feed = feedOn(tenants);
    await feed.changes();
    await feed.close();
    assert.equal(tenants.current.closed, true);
    await assert.rejects(feed.changes(), /closed/);
  });
});

describe("the store change feed against this (standalone) server", () => {
  let db: TestDatabase;
  before(async () => (db = await openTestDatabase("store_change_stream")));
  after(() => db.close());

  it("picks 'changed since' by itself: the server's hello names no replica set", async () => {
    const feed = await openStoreChangeFeed();
    assert.equal(feed.kind, "changed-since");
  });

  it("a change stream forced on it fails with the server's error at every question, and claims no change", async () => {
    const feed = await openStoreChangeFeed({ kind: "change-stream" });
    await assert.rejects(feed.changes(), /only supported on replica sets/);
    await assert.rejects(feed.changes(), /only supported on replica sets/);
    await feed.close();
  });

  it("the stream's pipeline keeps every event, each with only its token, kind and document key", async () => {
    const key = (n: number) => ({ _id: new mongoose.Types.ObjectId(ID[n]) });
    const events = [
      { _id: { _data: "a" }, operationType: "update", documentKey: key(0), updateDescription: { updatedFields: { name: "Toko Baru", changedAt: new Date(), updatedAt: new Date() }, removedFields: [] } },
      { _id: { _data: "b" }, operationType: "update", documentKey: key(1), updateDescription: { updatedFields: { "channels.telegram.botUsername": "x_bot", updatedAt: new Date() }, removedFields: [] } },
      { _id: { _data: "c" }, operationType: "insert", documentKey: key(2), fullDocument: { slug: "toko-c" } },
      { _id: { _data: "d" }, operationType: "delete", documentKey: key(0) },
      { _id: { _data: "e" }, operationType: "replace", documentKey: key(1), fullDocument: { slug: "toko-b" } },
      { _id: { _data: "f" }, operationType: "invalidate" },
    ];
    const scratch = mongoose.connection.db!.collection("change_events_shape");
    await scratch.insertMany(events as unknown as Document[]);
    const kept = await scratch.aggregate([{ $sort: { "_id._data": 1 } }, ...CHANGE_STREAM_PIPELINE]).toArray();
    assert.deepEqual(kept.map((e) => (e._id as { _data: string })._data), ["a", "b", "c", "d", "e", "f"]);
    for (const e of kept.slice(0, 5)) assert.deepEqual(Object.keys(e).sort(), ["_id", "documentKey", "operationType"]);
    assert.deepEqual(Object.keys(kept[5]).sort(), ["_id", "operationType"]);
  });
});
