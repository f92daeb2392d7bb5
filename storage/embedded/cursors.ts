// Server-side cursors: results are computed when the cursor opens, then handed out in
// batches by getMore. Projection runs per batch so a large result is only projected as far
// as the client actually reads it.
import { Long, calculateObjectSize } from "bson";
import type { Document } from "bson";
import { CommandError } from "./errors.ts";
import type { Projector } from "./projection.ts";

/** mongod's default first batch: 101 documents. */
const DEFAULT_FIRST_BATCH = 101;
/** Leave room for the reply envelope under the 16 MiB BSON limit. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 64 * 1024;
/** mongod's cursorTimeoutMillis default. */
export const CURSOR_IDLE_TIMEOUT_MS = 10 * 60 * 1000;

interface OpenCursor {
  ns: string;
  docs: Document[];
  position: number;
  project: Projector;
  lastUsed: number;
}

export interface Batch {
  id: Long;
  ns: string;
  docs: Document[];
}

/** Open cursors by id: killed on request, reaped once idle for `CURSOR_IDLE_TIMEOUT_MS`. */
export class CursorTable<C extends { lastUsed: number }> {
  protected readonly cursors = new Map<number, C>();

  kill(ids: number[]): { killed: number[]; notFound: number[] } {
    const killed: number[] = [];
    const notFound: number[] = [];
    for (const id of ids) (this.cursors.delete(id) ? killed : notFound).push(id);
    return { killed, notFound };
  }

  reapIdle(now: number): void {
    for (const [id, cursor] of this.cursors) if (now - cursor.lastUsed > CURSOR_IDLE_TIMEOUT_MS) this.cursors.delete(id);
  }

  clear(): void {
    this.cursors.clear();
  }

  get size(): number {
    return this.cursors.size;
  }
}

export class CursorRegistry extends CursorTable<OpenCursor> {

  /** Returns the first batch; the cursor stays open only if documents remain. */
  open(ns: string, docs: Document[], project: Projector, batchSize: number | undefined, singleBatch = false): Batch {
    const cursor: OpenCursor = { ns, docs, position: 0, project, lastUsed: Date.now() };
    // batchSize 0 asks for an empty first batch: the cursor is opened, nothing is returned yet.
    const first = batchSize === 0 ? [] : this.take(cursor, batchSize ?? DEFAULT_FIRST_BATCH);
    if (singleBatch || cursor.position >= docs.length) return { id: Long.ZERO, ns, docs: first };
    const id = this.newId();
    this.cursors.set(id, cursor);
    return { id: Long.fromNumber(id), ns, docs: first };
  }

  getMore(id: number, ns: string, batchSize: number | undefined): Batch {
    const cursor = this.cursors.get(id);
    if (!cursor) throw new CommandError("CursorNotFound", `cursor id ${id} not found`);
    if (cursor.ns !== ns) {
      throw new CommandError("BadValue", `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.ns}`);
    }
    cursor.lastUsed = Date.now();
    const docs = this.take(cursor, batchSize ?? 0);
    if (cursor.position >= cursor.docs.length) {
      this.cursors.delete(id);
      return { id: Long.ZERO, ns, docs };
    }
    return { id: Long.fromNumber(id), ns, docs };
  }

  /** For getMore, batchSize 0 (or none) means "as many as fit in one reply". */
  private take(cursor: OpenCursor, batchSize: number): Document[] {
    const limit = batchSize > 0 ? batchSize : Number.POSITIVE_INFINITY;
    const out: Document[] = [];
    let bytes = 0;
    while (cursor.position < cursor.docs.length && out.length < limit) {
      const [doc] = cursor.project([cursor.docs[cursor.position]]);
      const size = calculateObjectSize(doc);
      if (out.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      out.push(doc);
      bytes += size;
      cursor.position += 1;
    }
    return out;
  }

  has(id: number): boolean {
    return this.cursors.has(id);
  }

  private newId(): number {
    return newCursorId((id) => this.cursors.has(id));
  }
}

/** Random like mongod's, but within 2^53 so the driver's Long comes back as a safe number. */
export function newCursorId(taken: (id: number) => boolean): number {
  let id: number;
  do id = Math.floor(Math.random() * 2 ** 52) + 1;
  while (taken(id));
  return id;
}
