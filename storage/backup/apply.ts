/**
 * Writing a backup's database part into a database, collection by collection: documents go
 * into `<name>__restoring` in batches, the indexes are built there, and only then is the live
 * collection replaced in one step (`renameCollection` with `dropTarget`). Call it only on a
 * backup that has been verified whole.
 */
import type { Db, Document } from "mongodb";
import type { BackupDestination } from "./destination.ts";
import { RESTORING, type CollectionHeader } from "./dump.ts";
import { databaseLines } from "./read-backup.ts";

const BATCH = 500;

async function dropIfThere(db: Db, name: string): Promise<void> {
  const there = await db.listCollections({ name }, { nameOnly: true }).toArray();
  if (there.length > 0) await db.collection(name).drop();
}

function indexSpecs(indexes: Document[]): Document[] {
  return indexes
    .filter((ix) => ix.name !== "_id_")
    .map((ix) => {
      const { v: _v, ns: _ns, ...spec } = ix;
      return spec;
    });
}

/** Restores every collection of the backup into `db`; returns the documents written per collection. */
export async function applyDatabase(
  destination: BackupDestination,
  id: string,
  key: Buffer,
  db: Db,
  onCollection?: (name: string) => void,
): Promise<Record<string, number>> {
  const written: Record<string, number> = {};
  let current: CollectionHeader | undefined;
  let batch: Document[] = [];

  const temp = (name: string) => `${name}${RESTORING}`;
  const flush = async () => {
    if (current && batch.length > 0) await db.collection(temp(current.name)).insertMany(batch, { ordered: true });
    batch = [];
  };
  const finish = async () => {
    if (!current) return;
    await flush();
    const specs = indexSpecs(current.indexes);
    if (specs.length > 0) await db.collection(temp(current.name)).createIndexes(specs as never);
    await db.renameCollection(temp(current.name), current.name, { dropTarget: true });
    current = undefined;
  };

  try {
    for await (const line of databaseLines(destination, id, key)) {
      if ("c" in line) {
        await finish();
        current = line.c;
        onCollection?.(current.name);
        written[current.name] = 0;
        await dropIfThere(db, temp(current.name));
        await db.createCollection(temp(current.name), current.options);
      } else if (current) {
        batch.push(line.d);
        written[current.name]++;
        if (batch.length >= BATCH) await flush();
      }
    }
    await finish();
  } catch (err) {
    if (current) await dropIfThere(db, temp(current.name)).catch(() => undefined);
    throw err;
  }
  return written;
}
