// The TTL monitor: deletes documents whose indexed date is older than the index's
// expireAfterSeconds. mongod runs it every 60 s; tests can make it faster.
import type { Store } from "./store.ts";

function earliestDate(value: unknown): number | undefined {
  const dates = (Array.isArray(value) ? value : [value]).filter((v): v is Date => v instanceof Date);
  return dates.length ? Math.min(...dates.map((d) => d.getTime())) : undefined;
}

function valueAtPath(doc: Record<string, unknown>, path: string): unknown {
  let node: unknown = doc;
  for (const part of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

export function sweepExpired(store: Store, now: number): number {
  let removed = 0;
  for (const database of store.databases.values()) {
    for (const coll of database.collections.values()) {
      for (const index of coll.indexes.values()) {
        const ttl = index.ttlSeconds;
        if (ttl === undefined) continue;
        const field = index.fields[0];
        const expired = [...coll.docs.values()].filter((doc) => {
          const at = earliestDate(valueAtPath(doc, field));
          return at !== undefined && at + ttl * 1000 <= now;
        });
        for (const doc of expired) coll.remove(doc);
        removed += expired.length;
      }
    }
  }
  return removed;
}
