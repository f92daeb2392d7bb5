/**
 * The database as a stream of EJSON lines (canonical, so every BSON type round-trips): per
 * collection one header line `{"c":{name, options, indexes}}`, then one `{"d":doc}` line per
 * document, read with a cursor in batches, numbers kept as their BSON types (Int32, Double, Long). Pulled by the consumer, so memory stays flat.
 *
 * ```ts
 * const counts: Record<string, number> = {};
 * await pipeline(Readable.from(dumpLines(db, counts)), createGzip(), …);
 * ```
 */
import { EJSON, type Document } from "bson";
import type { Db } from "mongodb";

export interface CollectionHeader {
  name: string;
  options: Document;
  indexes: Document[];
}

const BATCH = 500;
/** Suffix of the collection a restore fills before it replaces the live one; never backed up. */
export const RESTORING = "__restoring";

/** What is known of the backups themselves (storage/backup/service.ts): about the destinations, not the platform, so never backed up or restored. */
export const BACKUP_RECORDS = "backup_records";

/** Every collection of `db` (not views, system collections, or the backups' own records), by name. */
export async function collectionsOf(db: Db): Promise<{ name: string; options: Document }[]> {
  const infos = await db.listCollections({}, { nameOnly: false }).toArray();
  return infos
    .filter((c) => (c.type ?? "collection") === "collection" && !c.name.startsWith("system.") && !c.name.endsWith(RESTORING) && c.name !== BACKUP_RECORDS)
    .map((c) => ({ name: c.name, options: ("options" in c ? c.options : undefined) ?? {} }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function* dumpLines(db: Db, counts: Record<string, number>): AsyncGenerator<string> {
  for (const { name, options } of await collectionsOf(db)) {
    const indexes = await db.collection(name).listIndexes().toArray();
    const header: CollectionHeader = { name, options, indexes };
    yield EJSON.stringify({ c: header }, { relaxed: false }) + "\n";
    counts[name] = 0;
    const cursor = db.collection(name, { readPreference: "secondaryPreferred" }).find({}, { batchSize: BATCH, promoteValues: false, bsonRegExp: true });
    try {
      for await (const doc of cursor) {
        counts[name]++;
        yield EJSON.stringify({ d: doc }, { relaxed: false }) + "\n";
      }
    } finally {
      await cursor.close();
    }
  }
}

export type DumpLine = { c: CollectionHeader } | { d: Document };

export function parseLine(line: string): DumpLine {
  return EJSON.parse(line, { relaxed: false }) as DumpLine;
}
