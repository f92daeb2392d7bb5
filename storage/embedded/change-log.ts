// The replica-set mode's stand-in for an oplog: every write appends a change event shaped
// like MongoDB's (resume token, operationType, clusterTime, wallTime, ns, documentKey, ...),
// which change-stream cursors read. It keeps the last `limit` events only; a resume point
// older than that is reported as lost history (code 286), as mongod does once the oplog has
// rolled over. Only a server started as a replica set has one; a standalone records nothing.
import { Timestamp, serialize } from "bson";
import type { Document } from "bson";
import { randomBytes } from "node:crypto";
import { CommandError } from "./errors.ts";
import { isPlainObject } from "./bson-values.ts";

/** A place in the log: after event `seq` (0 = before the first); `invalidate` marks an invalidate notification there. */
export interface LogPosition {
  seq: number;
  invalidate: boolean;
}

export interface ChangeEvent {
  seq: number;
  clusterTime: Timestamp;
  wallTime: Date;
  db: string;
  /** Absent for dropDatabase. */
  coll?: string;
  /** The event as a change stream shows it, without `_id` (the token) and fullDocument lookups. */
  body: Document;
  /** For drop and rename: the collection it ends. */
  endsCollection?: boolean;
}

/** Called by the store as it writes; see Store.changes. */
export interface ChangeRecorder {
  insert(db: string, coll: string, doc: Document): void;
  update(db: string, coll: string, previous: Document, next: Document): void;
  replace(db: string, coll: string, next: Document): void;
  delete(db: string, coll: string, doc: Document): void;
  drop(db: string, coll: string): void;
  rename(db: string, coll: string, toDb: string, toColl: string): void;
  dropDatabase(db: string): void;
}

/** How many events a server keeps by default: about what a small oplog holds for a test or the demo. */
export const DEFAULT_CHANGE_HISTORY = 10_000;

const TOKEN = /^82([0-9A-F]{8})([0-9A-F]{16})(0[01])$/;

export class ChangeLog implements ChangeRecorder {
  private readonly events: ChangeEvent[] = [];
  /** Sequence number of the last event appended, kept or not. */
  private last = 0;
  private time = { t: 0, i: 0 };
  private readonly waiters = new Set<() => void>();
  /** Tells this server's tokens from another's (a restarted server has none of their history). */
  private readonly epoch = randomBytes(4).toString("hex").toUpperCase();
  private closed = false;

  constructor(private readonly limit = DEFAULT_CHANGE_HISTORY) {}

  // --- recording ---

  insert(db: string, coll: string, doc: Document): void {
    this.append(db, coll, { operationType: "insert", fullDocument: doc, ns: { db, coll }, documentKey: { _id: doc._id } });
  }

  update(db: string, coll: string, previous: Document, next: Document): void {
    const updateDescription = { ...describeUpdate(previous, next), truncatedArrays: [] };
    this.append(db, coll, { operationType: "update", ns: { db, coll }, documentKey: { _id: next._id }, updateDescription });
  }

  replace(db: string, coll: string, next: Document): void {
    this.append(db, coll, { operationType: "replace", fullDocument: next, ns: { db, coll }, documentKey: { _id: next._id } });
  }

  delete(db: string, coll: string, doc: Document): void {
    this.append(db, coll, { operationType: "delete", ns: { db, coll }, documentKey: { _id: doc._id } });
  }

  drop(db: string, coll: string): void {
    this.append(db, coll, { operationType: "drop", ns: { db, coll } }, true);
  }

  rename(db: string, coll: string, toDb: string, toColl: string): void {
    this.append(db, coll, { operationType: "rename", ns: { db, coll }, to: { db: toDb, coll: toColl } }, true);
  }

  dropDatabase(db: string): void {
    this.append(db, undefined, { operationType: "dropDatabase", ns: { db } });
  }

  private append(db: string, coll: string | undefined, body: Document, endsCollection = false): void {
    const now = Date.now();
    const seconds = Math.max(Math.floor(now / 1000), this.time.t);
    this.time = seconds === this.time.t ? { t: seconds, i: this.time.i + 1 } : { t: seconds, i: 1 };
    this.last += 1;
    const event: ChangeEvent = { seq: this.last, clusterTime: new Timestamp(this.time), wallTime: new Date(now), db, coll, body, endsCollection };
    this.events.push(event);
    if (this.events.length > this.limit) this.events.splice(0, this.events.length - this.limit);
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake();
  }

  // --- reading ---

  /** The position after the newest event. */
  get latest(): number {
    return this.last;
  }

  /** The cluster time of the newest event (or now, before any): hello's lastWrite, aggregate's operationTime. */
  get clusterTime(): Timestamp {
    return this.time.t ? new Timestamp(this.time) : new Timestamp({ t: Math.floor(Date.now() / 1000), i: 0 });
  }

  /** Events after `position`, oldest first; throws ChangeStreamHistoryLost when some of them are no longer kept. */
  after(position: number): ChangeEvent[] {
    const oldest = this.events.length ? this.events[0].seq : this.last + 1;
    if (position + 1 < oldest) throw historyLost();
    return this.events.slice(position + 1 - oldest);
  }

  /** The event at `seq` if still kept. */
  at(seq: number): ChangeEvent | undefined {
    const oldest = this.events.length ? this.events[0].seq : this.last + 1;
    return this.events[seq - oldest];
  }

  /** The position just before the first event at or after `time`. */
  positionAt(time: Timestamp): number {
    const first = this.events.find((e) => e.clusterTime.greaterThanOrEqual(time));
    if (first) {
      if (first.seq > 1 && first === this.events[0] && this.events[0].clusterTime.greaterThan(time)) throw historyLost();
      return first.seq - 1;
    }
    return this.last;
  }

  /** Resolves when an event is appended, at `deadline` (ms since epoch), or when the server closes. */
  waitForEvent(deadline: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.waiters.add(done);
    });
  }

  close(): void {
    this.closed = true;
    for (const wake of [...this.waiters]) wake();
  }

  // --- resume tokens ---

  token(position: LogPosition): Document {
    const seq = position.seq.toString(16).toUpperCase().padStart(16, "0");
    return { _data: `82${this.epoch}${seq}${position.invalidate ? "01" : "00"}` };
  }

  /** Reads a token given as resumeAfter/startAfter, with mongod's errors for a malformed one. */
  parseToken(token: unknown): LogPosition {
    const data = isPlainObject(token) ? token._data : undefined;
    if (typeof data !== "string") throw new CommandError("Location40647", "Bad resume token: _data of missing or of wrong type");
    const m = TOKEN.exec(data.toUpperCase());
    if (!m) throw new CommandError("InvalidResumeToken", `Failed to decode resume token: ${JSON.stringify(token)}`);
    // A token of another server (or of this one before a restart): its history is not here.
    if (m[1] !== this.epoch) throw historyLost();
    const seq = Number.parseInt(m[2], 16);
    if (seq > this.last) throw new CommandError("ChangeStreamFatalError", "cannot resume stream; the resume token was not found");
    return { seq, invalidate: m[3] === "01" };
  }
}

function historyLost(): CommandError {
  return new CommandError("ChangeStreamHistoryLost", "Resume of change stream was not possible, as the resume point may no longer be in the oplog.");
}

function sameValue(a: unknown, b: unknown): boolean {
  return Buffer.from(serialize({ v: a })).equals(serialize({ v: b }));
}

/**
 * updatedFields / removedFields between two versions of a document: nested documents present
 * in both are compared field by field (dotted paths, as mongod reports a `$set` of
 * "a.b"); anything else that differs is reported whole.
 */
function describeUpdate(previous: Document, next: Document, prefix = "", out = { updatedFields: {} as Document, removedFields: [] as string[] }) {
  for (const [key, value] of Object.entries(next)) {
    const before = previous[key];
    if (before !== undefined && isPlainObject(before) && isPlainObject(value)) describeUpdate(before, value, `${prefix}${key}.`, out);
    else if (before === undefined && !(key in previous)) out.updatedFields[`${prefix}${key}`] = value;
    else if (!sameValue(before, value)) out.updatedFields[`${prefix}${key}`] = value;
  }
  for (const key of Object.keys(previous)) if (!(key in next)) out.removedFields.push(`${prefix}${key}`);
  return out;
}
