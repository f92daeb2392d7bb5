/**
 * Restoring a backup into a live database. The backup is verified whole first (manifest HMAC,
 * every SHA-256, GCM tag, counts): a wrong key, a truncated or a tampered backup, one made by a
 * newer schema, or one made by an older schema no chain of migrations leads from, throws a
 * {@link BackupError} before anything is touched. The dry run says what would be replaced and
 * which migrations would run.
 *
 * ```ts
 * const plan = await restoreBackup(dest, id, { backupKey, into: db, dryRun: true });
 * for (const c of plan.collections) say(c.name, c.current, c.backup);
 * await restoreBackup(dest, id, { backupKey, into: db, dryRun: false, verified: plan.report, jobsCollection: "agenda_jobs" });
 * ```
 *
 * Passing the plan's verification report as `verified` skips a second full read of the backup
 * when its manifest is still the one verified; the database file's SHA-256 is checked again
 * while it is restored anyway, before any live collection is replaced.
 */
import type { Db } from "mongodb";
import { applyDatabase } from "./apply.ts";
import type { BackupDestination } from "./destination.ts";
import { collectionsOf } from "./dump.ts";
import { BackupError } from "./errors.ts";
import { releaseJobLock } from "./job-locks.ts";
import { BACKUP_SCHEMA_VERSION, DATABASE_FILE, type Manifest } from "./manifest.ts";
import { collectionMigrations, migrationPath, MIGRATIONS, type DocumentMigration, type MigrationStep } from "./migrations.ts";
import type { OnBackupProgress } from "./progress.ts";
import { readManifest } from "./read-backup.ts";
import { verifyBackup, type VerifyReport } from "./verify.ts";

export interface RestoreOptions {
  backupKey: Buffer;
  into: Db;
  dryRun: boolean;
  /** The migrations known; default the app's registry ({@link MIGRATIONS}). */
  migrations?: readonly MigrationStep[];
  /** The scheduler's jobs collection (`agenda_jobs`): jobs locked at backup time are released so they run at once. */
  jobsCollection?: string;
  /** A report of this backup that verified (a dry run's `plan.report`): not read whole again when the manifest is unchanged. */
  verified?: VerifyReport;
  onProgress?: OnBackupProgress;
}

export interface RestorePlan {
  id: string;
  dryRun: boolean;
  manifest: Manifest;
  /** Each collection of the backup: documents in the live database now, and in the backup. */
  collections: { name: string; current: number; backup: number }[];
  /** Collections of the live database the backup does not have: left as they are. */
  untouched: string[];
  /** Migrations from the backup's schema to this app's, in the order they run (none when the same). */
  migrations: { from: number; to: number; describe: string }[];
  /** The verification this plan rests on. */
  report: VerifyReport;
}

function sameManifest(a: Manifest | undefined, b: Manifest): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

async function verified(destination: BackupDestination, id: string, manifest: Manifest, opts: RestoreOptions): Promise<VerifyReport> {
  const earlier = opts.verified;
  if (earlier?.ok && earlier.id === id && sameManifest(earlier.manifest, manifest)) return earlier;
  const report = await verifyBackup(destination, id, { backupKey: opts.backupKey, onProgress: opts.onProgress });
  if (!report.ok) throw report.problems[0] ?? new BackupError("tampered", `${id} did not verify`, { id });
  return report;
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
  const steps = migrationPath(id, manifest.schemaVersion, BACKUP_SCHEMA_VERSION, opts.migrations ?? MIGRATIONS);
  const report = await verified(destination, id, manifest, opts);

  const live = new Set((await collectionsOf(opts.into)).map((c) => c.name));
  const collections = [];
  for (const [name, backup] of Object.entries(manifest.collections)) {
    const current = live.has(name) ? await opts.into.collection(name).countDocuments({}) : 0;
    collections.push({ name, current, backup });
  }
  const untouched = [...live].filter((name) => !(name in manifest.collections)).sort();
  const migrations = steps.map(({ from, to, describe }) => ({ from, to, describe }));
  const plan: RestorePlan = { id, dryRun: opts.dryRun, manifest, collections, untouched, migrations, report };
  if (opts.dryRun) return plan;

  const migrate = collectionMigrations(steps);
  const rewrite = (name: string): DocumentMigration | undefined => {
    const fn = migrate(name);
    if (name !== opts.jobsCollection) return fn;
    return (doc) => {
      const migrated = fn ? fn(doc) : doc;
      return migrated && releaseJobLock(migrated);
    };
  };
  await applyDatabase(destination, id, opts.backupKey, opts.into, {
    expected: manifest.files.find((f) => f.name === DATABASE_FILE),
    rewrite,
    totals: manifest.collections,
    onProgress: opts.onProgress,
  });
  return plan;
}
