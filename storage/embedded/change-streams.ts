// Change-stream cursors of the replica-set mode: `aggregate` with a first stage
// `$changeStream` opens one over the change log (collection, database or, from admin with
// `allChangesForCluster`, every database); `getMore` hands out the events recorded since,
// waiting up to `maxTimeMS` (1 s by default, as mongod's awaitData cursors) when there are
// none, and every batch carries `postBatchResumeToken`, the place to resume from. The
// stages after `$changeStream` run on each event through the server's aggregation (mingo).
// A drop or rename of the watched collection (dropDatabase of the watched database) is
// followed by an `invalidate` event, which closes the cursor.
import { Long, Timestamp, calculateObjectSize } from "bson";
import type { Document } from "bson";
import { Aggregator } from "mingo/aggregator";
import type { ChangeEvent, ChangeLog } from "./change-log.ts";
import { deepCopy } from "./clone.ts";
import { CursorTable, newCursorId } from "./cursors.ts";
import { CommandError, asCommandError } from "./errors.ts";
import { mingoOptions } from "./mingo.ts";
import { isPlainObject, toNumber } from "./bson-values.ts";
import { idOf } from "./store.ts";
import type { Store } from "./store.ts";

/** The stages MongoDB allows after `$changeStream`. */
const ALLOWED_STAGES = new Set(["$match", "$project", "$addFields", "$set", "$unset", "$replaceRoot", "$replaceWith", "$redact"]);
const OPTIONS = new Set(["resumeAfter", "startAfter", "startAtOperationTime", "fullDocument", "fullDocumentBeforeChange", "allChangesForCluster", "showExpandedEvents"]);
const DEFAULT_FIRST_BATCH = 101;
/** How long a getMore waits for events when the client gives no maxTimeMS (mongod's awaitData default). */
const DEFAULT_AWAIT_MS = 1000;
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 64 * 1024;

/** What a stream watches: every database, one database, or one collection. */
interface Scope {
  db?: string;
  coll?: string;
}

interface StreamCursor {
  ns: string;
  scope: Scope;
  /** After this event of the log. */
  position: number;
  /** startAtOperationTime: events before it are skipped. */
  startTime?: Timestamp;
  updateLookup: boolean;
  stages: Aggregator | undefined;
  /** Resumed right after the drop or rename that ended the collection: the invalidate comes first. */
  invalidateAt?: number;
  invalidated: boolean;
  lastUsed: number;
}

interface StreamBatch {
  docs: Document[];
  token: Document;
}

export interface OpenChangeStream {
  db: string;
  /** undefined for `aggregate: 1`. */
  collection: string | undefined;
  pipeline: Document[];
  batchSize: number | undefined;
}

export class ChangeStreamCursors extends CursorTable<StreamCursor> {
  constructor(
    private readonly log: ChangeLog,
    private readonly store: Store,
    /** The other cursors' ids, so that one id names one cursor. */
    private readonly taken: (id: number) => boolean,
  ) {
    super();
  }

  /** The aggregate reply for a pipeline whose first stage is `$changeStream`. */
  open({ db, collection, pipeline, batchSize }: OpenChangeStream): Document {
    const spec = pipeline[0].$changeStream;
    if (!isPlainObject(spec)) throw new CommandError("FailedToParse", "the $changeStream stage specification must be an object");
    for (const key of Object.keys(spec)) {
      if (!OPTIONS.has(key)) throw new CommandError("Location40415", `BSON field '$changeStream.${key}' is an unknown field.`);
    }
    const rest = pipeline.slice(1);
    for (const stage of rest) {
      const name = isPlainObject(stage) ? Object.keys(stage)[0] : undefined;
      if (name === "$changeStream") throw new CommandError("Location40602", "$changeStream is only valid as the first stage in a pipeline.");
      if (!name || !ALLOWED_STAGES.has(name)) throw new CommandError("IllegalOperation", `${name ?? "this stage"} is not permitted in a $changeStream pipeline`);
    }
    const scope = scopeOf(db, collection, spec.allChangesForCluster === true);
    const fullDocument = spec.fullDocument ?? "default";
    if (fullDocument !== "default" && fullDocument !== "updateLookup") {
      throw new CommandError("BadValue", `fullDocument '${String(fullDocument)}' needs post-images, which the embedded MongoDB server does not keep`);
    }
    if ((spec.fullDocumentBeforeChange ?? "off") !== "off") {
      throw new CommandError("BadValue", "fullDocumentBeforeChange needs pre-images, which the embedded MongoDB server does not keep");
    }
    const starts = ["resumeAfter", "startAfter", "startAtOperationTime"].filter((k) => spec[k] !== undefined);
    if (starts.length > 1) throw new CommandError("Location40674", "Only one type of resume option is allowed, but multiple were found.");

    let stages: Aggregator | undefined;
    try {
      stages = rest.length ? new Aggregator(rest, mingoOptions()) : undefined;
    } catch (err) {
      throw asCommandError(err);
    }
    const cursor: StreamCursor = { ns: namespace(db, collection), scope, position: this.log.latest, updateLookup: fullDocument === "updateLookup", stages, invalidated: false, lastUsed: Date.now() };
    if (spec.resumeAfter !== undefined || spec.startAfter !== undefined) {
      const at = this.log.parseToken(spec.resumeAfter ?? spec.startAfter);
      if (at.invalidate && spec.resumeAfter !== undefined) {
        throw new CommandError("InvalidResumeToken", "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification.");
      }
      this.log.after(at.seq); // throws if the history from there is gone
      cursor.position = at.seq;
      const event = at.invalidate ? undefined : this.log.at(at.seq);
      if (event && invalidates(event, scope)) cursor.invalidateAt = at.seq;
    } else if (spec.startAtOperationTime !== undefined) {
      const at = spec.startAtOperationTime as { _bsontype?: string; t: number; i: number };
      if (at?._bsontype !== "Timestamp") throw new CommandError("TypeMismatch", "startAtOperationTime must be a timestamp");
      // Rebuilt with this server's bson: the value may come from another copy of the library.
      const time = new Timestamp({ t: at.t, i: at.i });
      cursor.position = this.log.positionAt(time);
      cursor.startTime = time;
    }

    const batch = batchSize === 0 ? { docs: [], token: this.log.token({ seq: cursor.position, invalidate: false }) } : this.read(cursor, batchSize ?? DEFAULT_FIRST_BATCH);
    let id = Long.ZERO;
    if (!cursor.invalidated) {
      const n = newCursorId((x) => this.cursors.has(x) || this.taken(x));
      this.cursors.set(n, cursor);
      id = Long.fromNumber(n);
    }
    return { cursor: { firstBatch: batch.docs, postBatchResumeToken: batch.token, id, ns: cursor.ns }, operationTime: this.log.clusterTime };
  }

  has(id: number): boolean {
    return this.cursors.has(id);
  }

  /** The next batch; waits (a promise) when there is nothing to hand out yet. */
  getMore(id: number, ns: string, batchSize: number | undefined, maxTimeMS: number | undefined): Document | Promise<Document> {
    const cursor = this.cursor(id, ns);
    const deadline = Date.now() + (maxTimeMS ?? DEFAULT_AWAIT_MS);
    const limit = batchSize && batchSize > 0 ? batchSize : Number.POSITIVE_INFINITY;
    const attempt = (): Document | Promise<Document> => {
      if (this.cursors.get(id) !== cursor) throw new CommandError("CursorNotFound", `cursor id ${id} was killed while it waited`);
      cursor.lastUsed = Date.now();
      const batch = this.read(cursor, limit);
      if (batch.docs.length || cursor.invalidated || Date.now() >= deadline) return this.reply(id, cursor, batch);
      return this.log.waitForEvent(deadline).then(attempt);
    };
    return attempt();
  }

  private cursor(id: number, ns: string): StreamCursor {
    const cursor = this.cursors.get(id);
    if (!cursor) throw new CommandError("CursorNotFound", `cursor id ${id} not found`);
    if (cursor.ns !== ns) {
      throw new CommandError("BadValue", `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.ns}`);
    }
    return cursor;
  }

  private reply(id: number, cursor: StreamCursor, batch: StreamBatch): Document {
    if (cursor.invalidated) this.cursors.delete(id);
    return { cursor: { nextBatch: batch.docs, postBatchResumeToken: batch.token, id: cursor.invalidated ? Long.ZERO : Long.fromNumber(id), ns: cursor.ns } };
  }

  /** Reads events after the cursor's position, up to `limit` shown, advancing it past every event looked at. */
  private read(cursor: StreamCursor, limit: number): StreamBatch {
    const docs: Document[] = [];
    let bytes = 0;
    const show = (doc: Document): void => {
      const shown = this.transform(cursor, doc);
      if (!shown) return;
      docs.push(shown);
      bytes += calculateObjectSize(shown);
    };
    if (cursor.invalidateAt !== undefined) {
      const at = cursor.invalidateAt;
      cursor.invalidateAt = undefined;
      const event = this.log.at(at);
      show(this.invalidateEvent(at, event?.clusterTime ?? this.log.clusterTime, event?.wallTime ?? new Date()));
      cursor.invalidated = true;
      return { docs, token: this.log.token({ seq: at, invalidate: true }) };
    }
    for (const event of this.log.after(cursor.position)) {
      if (docs.length >= limit || bytes >= MAX_BATCH_BYTES) break;
      cursor.position = event.seq;
      if (!inScope(event, cursor.scope)) continue;
      if (cursor.startTime && event.clusterTime.lessThan(cursor.startTime)) continue;
      show(this.render(event, cursor));
      if (invalidates(event, cursor.scope)) {
        show(this.invalidateEvent(event.seq, event.clusterTime, event.wallTime));
        cursor.invalidated = true;
        return { docs, token: this.log.token({ seq: event.seq, invalidate: true }) };
      }
    }
    return { docs, token: this.log.token({ seq: cursor.position, invalidate: false }) };
  }

  private render(event: ChangeEvent, cursor: StreamCursor): Document {
    const { operationType, ...rest } = event.body;
    const doc: Document = { _id: this.log.token({ seq: event.seq, invalidate: false }), operationType, clusterTime: event.clusterTime, wallTime: event.wallTime };
    if (operationType === "update" && cursor.updateLookup) {
      const current = event.coll === undefined ? undefined : this.store.collection(event.db, event.coll)?.docs.get(idOf(event.body.documentKey));
      doc.fullDocument = current ?? null;
    }
    return Object.assign(doc, rest);
  }

  private invalidateEvent(seq: number, clusterTime: Timestamp, wallTime: Date): Document {
    return { _id: this.log.token({ seq, invalidate: true }), operationType: "invalidate", clusterTime, wallTime };
  }

  /** Runs the stages after $changeStream on one event; undefined when they filter it out. */
  private transform(cursor: StreamCursor, doc: Document): Document | undefined {
    if (!cursor.stages) return doc;
    let out: Document[];
    try {
      // mingo may modify its input in place; the event holds stored documents.
      out = cursor.stages.run([deepCopy(doc)]) as Document[];
    } catch (err) {
      throw asCommandError(err);
    }
    const shown = out[0];
    if (!shown) return undefined;
    const token = isPlainObject(shown._id) ? shown._id._data : undefined;
    if (token !== doc._id._data || Object.keys(shown._id).length !== 1) {
      throw new CommandError(
        "ChangeStreamFatalError",
        "Encountered an event whose _id field, which contains the resume token, was modified by the pipeline. Modifying the _id field of an event makes it impossible to resume the stream from that point. Only transformations that retain the unmodified _id field are allowed.",
      );
    }
    return shown;
  }
}

function scopeOf(db: string, collection: string | undefined, allChangesForCluster: boolean): Scope {
  if (allChangesForCluster) {
    if (db !== "admin" || collection !== undefined) {
      throw new CommandError("InvalidOptions", "A change stream with 'allChangesForCluster: true' must be opened on the 'admin' database with aggregate: 1");
    }
    return {};
  }
  if (collection === undefined && db === "admin") {
    throw new CommandError("InvalidNamespace", "$changeStream may not be opened on the internal admin database");
  }
  return collection === undefined ? { db } : { db, coll: collection };
}

function namespace(db: string, collection: string | undefined): string {
  return collection === undefined ? `${db}.$cmd.aggregate` : `${db}.${collection}`;
}

function inScope(event: ChangeEvent, scope: Scope): boolean {
  if (scope.db === undefined) return true;
  if (event.db !== scope.db) return false;
  if (scope.coll === undefined) return true;
  return event.coll === scope.coll;
}

/** Whether this event ends a stream with this scope: its collection dropped or renamed, its database dropped. */
function invalidates(event: ChangeEvent, scope: Scope): boolean {
  if (scope.db === undefined || event.db !== scope.db) return false;
  if (scope.coll !== undefined) return event.endsCollection === true && event.coll === scope.coll;
  return event.body.operationType === "dropDatabase";
}

/** getMore's maxTimeMS, if given. */
export function awaitTime(command: Document): number | undefined {
  const value = command.maxTimeMS;
  if (value === undefined || value === null) return undefined;
  const n = toNumber(value);
  if (!Number.isFinite(n) || n < 0) throw new CommandError("BadValue", "maxTimeMS must be a non-negative number");
  return n;
}
