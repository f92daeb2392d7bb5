/**
 * Which stores changed since this process last asked: what a reconcile sweep reads instead
 * of every store. One feed per process, asked once per sweep; the same answer goes to every
 * channel.
 *
 * ```ts
 * const feed = await openStoreChangeFeed();          // a change stream on a replica set, else "changed since"
 * const changes = await feed.changes();              // { all: true } the first time, then { ids: ["…"] }
 * await telegram.followStoreChanges(changes);
 * await feed.close();
 * ```
 *
 * - **Replica set** (the server's `hello` names a set, or it is a `mongos`): a change stream
 *   on the stores' collection, read only when asked (the server keeps the cursor's place
 *   between sweeps), carrying only the document ids. Every write counts, a `QUIET` one too
 *   (see `CHANGE_STREAM_PIPELINE`), and so does a delete. A resumable error is resumed by the driver; any other error closes the stream,
 *   which is resumed once from its last token at the next call, and opened afresh (with
 *   `{ all: true }`) when that fails too. A dropped or renamed collection (`invalidate`)
 *   answers `{ all: true }` once and opens afresh.
 * - **Standalone server** (the embedded one in tests and the demo): `changedAt ≥ last asked −
 *   overlapMs`, reading `_id` only through the `changedAt` index. The overlap (60 s by
 *   default) covers writers whose clock is behind the reader's, and a write stamped before
 *   the last query but applied after it: the driver may hold a write for up to its server
 *   selection timeout (30 s) before it reaches the server. A store seen twice costs one read;
 *   the sweeps compare what they read with what they saw before.
 *   Deleted stores leave no stamp, and a write that bypasses mongoose none either: so every
 *   `fullSweepMs` (10 min by default) the answer is `{ all: true }` anyway, on both kinds.
 *
 * `changes()` throws when MongoDB does not answer; nothing is lost, the next call covers the
 * same span.
 */
import mongoose from "mongoose";
import type { ChangeStreamOptions, Collection, Document } from "mongodb";
import { Tenant } from "./models/index.ts";

/** Which stores changed: every one (read them all), or these ids. */
export type StoreChangeSet = { readonly all: true } | { readonly all?: false; readonly ids: readonly string[] };

export interface StoreChangeFeed {
  /** How this feed follows the stores. */
  readonly kind: "change-stream" | "changed-since";
  /** The stores changed since the last call; `{ all: true }` on the first call and whenever the feed lost track. */
  changes(): Promise<StoreChangeSet>;
  close(): Promise<void>;
}

export interface StoreChangeFeedOptions {
  /** Force a kind instead of asking the server (`hello`). */
  kind?: StoreChangeFeed["kind"];
  /** How far back a "changed since" query looks before the last call. Default 60 s. */
  overlapMs?: number;
  /** How often the answer is `{ all: true }` regardless, as a safety net. Default 10 min; 0 never. */
  fullSweepMs?: number;
  /** The connection whose stores are followed; default mongoose's. */
  connection?: mongoose.Connection;
  /** The reader's clock. */
  now?: () => number;
}

export const DEFAULT_CHANGE_OVERLAP_MS = 60_000;
export const DEFAULT_FULL_SWEEP_MS = 10 * 60_000;
/** A "changed since" query gets this long on the server. */
const QUERY_MAX_MS = 10_000;

/** Opens the feed that suits the server: a change stream on a replica set or `mongos`, else "changed since". */
export async function openStoreChangeFeed(options: StoreChangeFeedOptions = {}): Promise<StoreChangeFeed> {
  const connection = options.connection ?? mongoose.connection;
  const db = connection.db;
  if (!db) throw new Error("MongoDB is not connected: open the connection before the store change feed");
  const kind = options.kind ?? ((await runsChangeStreams(db)) ? "change-stream" : "changed-since");
  return kind === "change-stream" ? new ChangeStreamFeed(db.collection(Tenant.collection.collectionName), options) : new ChangedSinceFeed(options);
}

/** A replica set member names its set in `hello`; a `mongos` says `isdbgrid`. Both run change streams. */
async function runsChangeStreams(db: NonNullable<mongoose.Connection["db"]>): Promise<boolean> {
  const hello = await db.admin().command({ hello: 1 }, { timeoutMS: QUERY_MAX_MS });
  return typeof hello.setName === "string" || hello.msg === "isdbgrid";
}

/** When the safety-net full sweep is due: at the first call, then every `fullSweepMs`. */
class FullSweepClock {
  #last: number | undefined;
  readonly #everyMs: number;
  constructor(everyMs: number) {
    this.#everyMs = everyMs;
  }
  due(now: number): boolean {
    return this.#last === undefined || (this.#everyMs > 0 && now - this.#last >= this.#everyMs);
  }
  swept(now: number): void {
    this.#last = now;
  }
}

/** `changedAt ≥ last asked − overlap`, `_id` only (see the top of this file). */
export class ChangedSinceFeed implements StoreChangeFeed {
  readonly kind = "changed-since";
  readonly #overlapMs: number;
  readonly #full: FullSweepClock;
  readonly #now: () => number;
  #since = 0;

  constructor(options: Pick<StoreChangeFeedOptions, "overlapMs" | "fullSweepMs" | "now"> = {}) {
    this.#overlapMs = options.overlapMs ?? DEFAULT_CHANGE_OVERLAP_MS;
    this.#full = new FullSweepClock(options.fullSweepMs ?? DEFAULT_FULL_SWEEP_MS);
    this.#now = options.now ?? Date.now;
  }

  async changes(): Promise<StoreChangeSet> {
    const now = this.#now();
    if (this.#full.due(now)) {
      this.#full.swept(now);
      this.#since = now;
      return { all: true };
    }
    const rows = await Tenant.find({ changedAt: { $gte: new Date(this.#since - this.#overlapMs) } }, { _id: 1 })
      .maxTimeMS(QUERY_MAX_MS)
      .lean<Array<{ _id: unknown }>>()
      .exec();
    this.#since = now;
    return { ids: rows.map((row) => String(row._id)) };
  }

  async close(): Promise<void> {}
}

/** What the change-stream feed needs of the stores' collection: the driver's `watch`. */
export type WatchedCollection = Pick<Collection, "watch">;

/** The events that say a store's document changed; the others (drop, rename, invalidate) mean track was lost. */
const DOCUMENT_EVENTS = new Set(["insert", "update", "replace", "delete"]);
/**
 * Of each event only its resume token, kind and document key. Every write counts, `QUIET`
 * ones too: telling them apart by `updateDescription.updatedFields.changedAt` would miss a
 * write whose stamp equals the one before (same millisecond: MongoDB lists no unchanged
 * field), and a bookkeeping write seen costs one read.
 */
export const CHANGE_STREAM_PIPELINE: Document[] = [{ $project: { operationType: 1, documentKey: 1 } }];
/** How long one read of the stream waits for an event when none is buffered. */
const AWAIT_MS = 100;
/** Events read in one call at most; the rest stay in the stream for the next. */
const MAX_EVENTS_PER_CALL = 50_000;
/** More changed stores than this in one answer, and it is `{ all: true }` instead: one read of them all is cheaper. */
const MAX_IDS = 5_000;

/** A MongoDB change stream on the stores' collection, read when asked (see the top of this file). */
export class ChangeStreamFeed implements StoreChangeFeed {
  readonly kind = "change-stream";
  readonly #collection: WatchedCollection;
  readonly #full: FullSweepClock;
  readonly #now: () => number;
  #stream: ReturnType<WatchedCollection["watch"]> | undefined;
  /** Where to resume after the stream closed on an error; unset when a resume is not worth trying. */
  #token: unknown;
  /** Set until the stream has been open and read without a gap: the next answer is `{ all: true }`. */
  #lost = true;
  readonly #pending = new Set<string>();
  #closed = false;

  constructor(collection: WatchedCollection, options: Pick<StoreChangeFeedOptions, "fullSweepMs" | "now"> = {}) {
    this.#collection = collection;
    this.#full = new FullSweepClock(options.fullSweepMs ?? DEFAULT_FULL_SWEEP_MS);
    this.#now = options.now ?? Date.now;
  }

  async changes(): Promise<StoreChangeSet> {
    if (this.#closed) throw new Error("the store change feed is closed");
    const now = this.#now();
    await this.#read();
    if (this.#lost || this.#full.due(now) || this.#pending.size > MAX_IDS) {
      this.#lost = false;
      this.#pending.clear();
      this.#full.swept(now);
      return { all: true };
    }
    const ids = [...this.#pending];
    this.#pending.clear();
    return { ids };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#drop();
  }

  /**
   * Opens the stream if needed (resuming from the token once) and reads what it holds;
   * throws when MongoDB does not answer. A stream that ends (invalidate) is replaced at
   * once: the full read its `{ all: true }` asks for must come after the new stream began.
   */
  async #read(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const resuming = !this.#stream && this.#token !== undefined;
      if (!this.#stream) {
        const options: ChangeStreamOptions = { maxAwaitTimeMS: AWAIT_MS, ...(resuming && { resumeAfter: this.#token as ChangeStreamOptions["resumeAfter"] }) };
        this.#stream = this.#collection.watch(CHANGE_STREAM_PIPELINE, options);
      }
      const stream = this.#stream;
      let ended: boolean;
      try {
        ended = await this.#drain(stream);
      } catch (error) {
        this.#token = resuming ? undefined : (stream.resumeToken ?? this.#token);
        // A stream opened afresh has seen nothing yet: whatever changed before it is read in full.
        if (this.#token === undefined) this.#lost = true;
        await this.#drop();
        throw error;
      }
      if (!ended) {
        this.#token = stream.resumeToken ?? this.#token;
        return;
      }
      this.#lost = true;
      this.#token = undefined;
      await this.#drop();
    }
    throw new Error("the stores' change stream ended at every reopening");
  }

  /** Reads the stream's events into the pending ids; true when it ended (invalidate). */
  async #drain(stream: ReturnType<WatchedCollection["watch"]>): Promise<boolean> {
    for (let n = 0; n < MAX_EVENTS_PER_CALL; n++) {
      const event = (await stream.tryNext()) as { operationType?: string; documentKey?: { _id?: unknown } } | null;
      if (!event) return false;
      if (DOCUMENT_EVENTS.has(event.operationType ?? "")) {
        if (event.documentKey?._id !== undefined) this.#pending.add(String(event.documentKey._id));
        continue;
      }
      // drop, rename, dropDatabase, invalidate: the collection itself changed. An invalidate ends the stream.
      this.#lost = true;
      if (event.operationType === "invalidate") return true;
    }
    return false;
  }

  async #drop(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    await stream?.close().catch(() => undefined);
  }
}
