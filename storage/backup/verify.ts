/**
 * Checking a backup where it is kept: the manifest's HMAC, every file's size and SHA-256, then
 * the database part decrypted (GCM tag) and decompressed with its documents counted per
 * collection against the manifest; with `scratchUri`, also restored into that scratch database
 * (which is dropped afterwards) and counted there.
 *
 * ```ts
 * const report = await verifyBackup(destination, id, { backupKey });
 * if (!report.ok) for (const p of report.problems) say(p.reason, p.message);
 * ```
 */
import { MongoClient } from "mongodb";
import { applyDatabase, type ApplyOptions } from "./apply.ts";
import type { BackupDestination } from "./destination.ts";
import { BackupError } from "./errors.ts";
import { DATABASE_FILE, type Manifest } from "./manifest.ts";
import { PROGRESS_EVERY, type OnBackupProgress } from "./progress.ts";
import { checkFile, databaseLines, readManifest, toBackupError } from "./read-backup.ts";

export interface VerifyOptions {
  backupKey: Buffer;
  /** A database to restore into as a test; dropped afterwards. */
  scratchUri?: string;
  /** Per call to the scratch server. Default 10 s. */
  timeoutMs?: number;
  /** Bytes of each file while its SHA-256 is checked, then documents per collection while they are counted (of the manifest's). */
  onProgress?: OnBackupProgress;
}

export interface VerifyReport {
  id: string;
  ok: boolean;
  manifest?: Manifest;
  /** Documents read back per collection. */
  counts: Record<string, number>;
  /** Documents counted in the scratch database, when one was given. */
  scratchCounts?: Record<string, number>;
  problems: BackupError[];
}

function compareCounts(id: string, expected: Record<string, number>, actual: Record<string, number>, where: string): BackupError[] {
  const problems: BackupError[] = [];
  for (const name of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    const e = expected[name] ?? 0;
    const a = actual[name];
    if (a === undefined || a !== e || !(name in expected)) {
      problems.push(new BackupError("count_mismatch", `${name}: ${a ?? "missing"} documents ${where}, the manifest says ${name in expected ? e : "none"}`, { id, collection: name, expected: e, actual: a ?? 0 }));
    }
  }
  return problems;
}

/** Counts the documents of the database part per collection (decrypting and decompressing it). */
export async function countDatabase(
  destination: BackupDestination,
  id: string,
  key: Buffer,
  progress?: { totals: Record<string, number>; onProgress: OnBackupProgress },
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let current = "";
  const report = () =>
    current && progress?.onProgress({ phase: "verify", destination: destination.name, collection: current, done: counts[current], total: progress.totals[current] });
  for await (const line of databaseLines(destination, id, key)) {
    if ("c" in line) {
      report();
      counts[(current = line.c.name)] = 0;
      report();
    } else if (++counts[current]! % PROGRESS_EVERY === 0) report();
  }
  report();
  return counts;
}

export async function verifyBackup(destination: BackupDestination, id: string, opts: VerifyOptions): Promise<VerifyReport> {
  const report: VerifyReport = { id, ok: false, counts: {}, problems: [] };
  try {
    report.manifest = await readManifest(destination, id, opts.backupKey);
  } catch (err) {
    report.problems.push(toBackupError(err, id, "manifest.json"));
    return report;
  }
  const onProgress = opts.onProgress;
  for (const file of report.manifest.files) {
    try {
      onProgress?.({ phase: "verify", destination: destination.name, done: 0, total: file.size });
      await checkFile(destination, id, file, onProgress && ((done) => onProgress({ phase: "verify", destination: destination.name, done, total: file.size })));
    } catch (err) {
      report.problems.push(toBackupError(err, id, file.name));
    }
  }
  if (report.problems.length > 0) return report;
  try {
    report.counts = await countDatabase(destination, id, opts.backupKey, onProgress && { totals: report.manifest.collections, onProgress });
  } catch (err) {
    report.problems.push(toBackupError(err, id, DATABASE_FILE));
    return report;
  }
  report.problems.push(...compareCounts(id, report.manifest.collections, report.counts, "in the backup"));
  if (report.problems.length === 0 && opts.scratchUri) {
    try {
      report.scratchCounts = await restoreIntoScratch(destination, id, opts.backupKey, opts.scratchUri, opts.timeoutMs ?? 10_000, {
        totals: report.manifest.collections,
        onProgress,
      });
      report.problems.push(...compareCounts(id, report.manifest.collections, report.scratchCounts, "in the scratch database"));
    } catch (err) {
      report.problems.push(toBackupError(err, id, DATABASE_FILE));
    }
  }
  report.ok = report.problems.length === 0;
  return report;
}

async function restoreIntoScratch(
  destination: BackupDestination,
  id: string,
  key: Buffer,
  uri: string,
  timeoutMs: number,
  progress: Pick<ApplyOptions, "totals" | "onProgress">,
): Promise<Record<string, number>> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs, socketTimeoutMS: timeoutMs * 6 });
  await client.connect();
  try {
    const db = client.db();
    await db.dropDatabase();
    const names = Object.keys(await applyDatabase(destination, id, key, db, progress));
    const counts: Record<string, number> = {};
    for (const name of names) counts[name] = await db.collection(name).countDocuments({});
    await db.dropDatabase();
    return counts;
  } finally {
    await client.close();
  }
}
