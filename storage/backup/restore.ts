/**
 * Restoring a backup into a live database. The backup is verified whole first (manifest HMAC,
 * every SHA-256, GCM tag, counts): a wrong key, a truncated or a tampered backup, or one made
 * by a newer schema, throws a {@link BackupError} before anything is touched. The dry run
 * says what would be replaced.
 *
 * ```ts
 * const plan = await restoreBackup(dest, id, { backupKey, into: db, dryRun: true });
 * for (const c of plan.collections) say(c.name, c.current, c.backup);
 * ```
 */
import type { Db } from "mongodb";
import { applyDatabase } from "./apply.ts";
import type { BackupDestination } from "./destination.ts";
import { collectionsOf } from "./dump.ts";
import { BackupError } from "./errors.ts";
import { BACKUP_SCHEMA_VERSION, DATABASE_FILE, type Manifest } from "./manifest.ts";
import { readManifest } from "./read-backup.ts";
import { verifyBackup } from "./verify.ts";

export interface RestoreOptions {
  backupKey: Buffer;
  into: Db;
  dryRun: boolean;
  onProgress?: (step: "verify" | "collection", name?: string) => void;
}

export interface RestorePlan {
  id: string;
  dryRun: boolean;
  manifest: Manifest;
  /** Each collection of the backup: documents in the live database now, and in the backup. */
  collections: { name: string; current: number; backup: number }[];
  /** Collections of the live database the backup does not have: left as they are. */
  untouched: string[];
}

export async function restoreBackup(destination: BackupDestination, id: string, opts: RestoreOptions): Promise<RestorePlan> {
  const manifest = await readManifest(destination, id, opts.backupKey);
  if (manifest.schemaVersion > BACKUP_SCHEMA_VERSION) {
    throw new BackupError(
      "newer_schema",
      `${id} was made by a newer version of Niaga (schema ${manifest.schemaVersion}, app ${manifest.appVersion}); this one knows schema ${BACKUP_SCHEMA_VERSION}: upgrade first`,
      { id, version: manifest.schemaVersion },
    );
  }
  opts.onProgress?.("verify");
  const report = await verifyBackup(destination, id, { backupKey: opts.backupKey });
  if (!report.ok) throw report.problems[0] ?? new BackupError("tampered", `${id} did not verify`, { id });

  const live = new Set((await collectionsOf(opts.into)).map((c) => c.name));
  const collections = [];
  for (const [name, backup] of Object.entries(manifest.collections)) {
    const current = live.has(name) ? await opts.into.collection(name).countDocuments({}) : 0;
    collections.push({ name, current, backup });
  }
  const untouched = [...live].filter((name) => !(name in manifest.collections)).sort();
  const plan: RestorePlan = { id, dryRun: opts.dryRun, manifest, collections, untouched };
  if (opts.dryRun) return plan;

  const file = manifest.files.find((f) => f.name === DATABASE_FILE);
  await applyDatabase(destination, id, opts.backupKey, opts.into, file, (name) => opts.onProgress?.("collection", name));
  return plan;
}
