/**
 * Writing a backup's database part into a database: each collection's documents go into
 * `<name>__restoring` in batches and its indexes are built there. Only once the whole file has
 * been read, its GCM tag checked and its SHA-256 matched against the manifest again (the file
 * may have changed since it was verified) is each live collection replaced in one step
 * (`renameCollection` with `dropTarget`). A failure before that drops the `__restoring`
 * collections and leaves the live ones as they were. Call it on a verified backup.
 *
 * `rewrite` may change each document on its way in (migrations of an older schema, scheduled
 * jobs' locks released), or leave it out by returning `null`.
 */
import { createHash } from "node:crypto";
import type { Db, Document } from "mongodb";
import type { BackupDestination, DestinationName } from "./destination.ts";
import { RESTORING, type CollectionHeader } from "./dump.ts";
import { BackupError } from "./errors.ts";
import { DATABASE_FILE, type ManifestFile } from "./manifest.ts";
import type { DocumentMigration } from "./migrations.ts";
import type { OnBackupProgress } from "./progress.ts";
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

export interface ApplyOptions {
  /** The database file's entry in the manifest: its size and SHA-256 are checked again before anything is replaced. */
  expected?: ManifestFile;
  /** How each document of a collection changes on its way in; `undefined`: as it is. */
  rewrite?: (collection: string) => DocumentMigration | undefined;
  /** Documents per collection (the manifest's), for progress totals. */
  totals?: Record<string, number>;
  onProgress?: OnBackupProgress;
}

/** Restores every collection of the backup into `db`; returns the documents written per collection. */
export async function applyDatabase(destination: BackupDestination, id: string, key: Buffer, db: Db, opts: ApplyOptions = {}): Promise<Record<string, number>> {
  const { expected, rewrite, totals, onProgress } = opts;
  const where: DestinationName = destination.name;
  const written: Record<string, number> = {};
  const filled: string[] = [];
  const hash = createHash("sha256");
  let size = 0;
  let current: CollectionHeader | undefined;
  let batch: Document[] = [];
  let change: DocumentMigration | undefined;
  let read = 0;
  const report = () => current && onProgress?.({ phase: "restore", destination: where, collection: current.name, done: read, total: totals?.[current.name] });

  const temp = (name: string) => `${name}${RESTORING}`;
  const flush = async () => {
    if (current && batch.length > 0) await db.collection(temp(current.name)).insertMany(batch, { ordered: true });
    batch = [];
    report();
  };
  const finish = async () => {
    if (!current) return;
    await flush();
    const specs = indexSpecs(current.indexes);
    if (specs.length > 0) await db.collection(temp(current.name)).createIndexes(specs as never);
    current = undefined;
  };

  try {
    const onBytes = (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    };
    for await (const line of databaseLines(destination, id, key, onBytes)) {
      if ("c" in line) {
        await finish();
        current = line.c;
        filled.push(current.name);
        change = rewrite?.(current.name);
        read = 0;
        written[current.name] = 0;
        await dropIfThere(db, temp(current.name));
        await db.createCollection(temp(current.name), current.options);
        report();
      } else if (current) {
        read++;
        const doc = change ? change(line.d) : line.d;
        if (doc !== null) {
          batch.push(doc);
          written[current.name]++;
        }
        if (read % BATCH === 0) await flush();
      }
    }
    await finish();
    if (expected && (size !== expected.size || hash.digest("hex") !== expected.sha256)) {
      throw new BackupError("tampered", `${id}/${DATABASE_FILE} changed while it was being restored (its SHA-256 no longer matches the manifest)`, { id, file: DATABASE_FILE });
    }
  } catch (err) {
    for (const name of filled) await dropIfThere(db, temp(name)).catch(() => undefined);
    throw err;
  }
  for (const name of filled) await db.renameCollection(temp(name), name, { dropTarget: true });
  return written;
}
