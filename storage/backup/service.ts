/**
 * Backups as the platform runs them: one {@link BackupService} made at start-up (and by the
 * CLI) over the live database, the local directory and, when configured, offsite S3 storage.
 * The scheduled job, `niaga backup …` and the owner bot's `/backup`, `/backups`, `/verify`
 * and `/restore` all go through it.
 *
 * ```ts
 * const backups = new BackupService({ db, backupKey, local, offsite, alerts, leases });
 * const record = await backups.create({ trigger: "owner-bot", by: "owner:7", onProgress });
 * const listing = await backups.list();                 // newest first, with where and verified
 * const outcome = await backups.verify(record.id);      // every destination, scratch restore
 * const plan = await backups.plan(record.id, { from: "offsite" });
 * await backups.restore(record.id, { from: "offsite", onProgress });
 * await backups.prune();                                 // retention, per destination
 * await backups.check();                                 // alerts when the newest is too old
 * ```
 *
 * - `create` writes the backup to the local directory first, then copies it offsite (retried
 *   with back-off), then reads the offsite copy back and checks every SHA-256. An offsite
 *   failure keeps the local copy (pruning skips a local backup whose offsite copy is not
 *   verified) and raises `backup-failed`. Two runs never overlap, on any instance: a run holds
 *   the `backup` lease, and a second one gets {@link BackupBusy}.
 * - What is known of each backup (where it is, when it was verified and how it went) is kept
 *   in `backup_records`; that collection is not part of the backups themselves.
 */
import type { Db } from "mongodb";
import type { BackupDestination, DestinationName } from "./destination.ts";
import type { BackupError } from "./errors.ts";
import type { RestorePlan } from "./restore.ts";

/** Who started a backup. */
export type BackupTrigger = "schedule" | "owner-bot" | "cli";

/** What is known of one backup at one destination. */
export interface DestinationStatus {
  /** `stored`: written whole; `verified`: read back and checked; `failed`: could not be written or did not check; `missing`: gone from there. */
  state: "stored" | "verified" | "failed" | "missing";
  size?: number;
  /** When the last verification ran and what it found (reason of the first problem, in words). */
  verifiedAt?: Date;
  error?: string;
}

/** One backup, merged across destinations; newest first in lists. */
export interface BackupListing {
  id: string;
  createdAt: Date;
  /** Total bytes of its files (the largest copy). */
  size: number;
  documents?: number;
  collections?: number;
  appVersion?: string;
  schemaVersion?: number;
  trigger?: BackupTrigger;
  by?: string;
  destinations: Partial<Record<DestinationName, DestinationStatus>>;
}

/** Progress of long work, for a progress bar or a message updated as it goes. */
export interface BackupProgress {
  phase: "database" | "env" | "logs" | "manifest" | "upload" | "verify" | "restore" | "prune";
  destination?: DestinationName;
  /** The collection being read or written, when there is one. */
  collection?: string;
  /** Work done and total, in the phase's unit (documents, or bytes for upload and verify), when known. */
  done?: number;
  total?: number;
}

export type OnBackupProgress = (progress: BackupProgress) => void;

export interface VerifyOutcome {
  id: string;
  ok: boolean;
  /** Per destination that holds it: ok, or the problems found. */
  destinations: Partial<Record<DestinationName, { ok: boolean; problems: BackupError[] }>>;
}

export interface PruneOutcome {
  /** Backup ids removed, per destination. */
  removed: Partial<Record<DestinationName, string[]>>;
  /** Ids kept although the policy would drop them, and why. */
  kept: Array<{ id: string; destination: DestinationName; why: "newest-verified" | "offsite-unverified" }>;
}

/** Keep this many of the newest backups per day, ISO week and month (the first one kept of each wins). */
export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

/** Another backup, verification or restore is running (here or on another instance). */
export class BackupBusy extends Error {
  override name = "BackupBusy";
}

/** The platform's backups; see the module comment. */
export interface Backups {
  /** The destinations in use: local always, offsite when configured. */
  readonly destinations: readonly BackupDestination[];
  /** Makes a backup now. Rejects with `BackupBusy` when one runs; with a `BackupError` or the cause otherwise (alerted). */
  create(opts: { trigger: BackupTrigger; by?: string; onProgress?: OnBackupProgress }): Promise<BackupListing>;
  /** Every backup in any destination, newest first. */
  list(): Promise<BackupListing[]>;
  /** Reads `id` (default: the newest) back from each destination that holds it, checks it and restores it into a scratch database; alerts when it fails. */
  verify(id?: string, opts?: { onProgress?: OnBackupProgress; scratch?: boolean }): Promise<VerifyOutcome>;
  /** What a restore of `id` would replace (verifies the backup first). Default source: local when it is there, else offsite. */
  plan(id: string, opts?: { from?: DestinationName; into?: Db; onProgress?: OnBackupProgress }): Promise<RestorePlan>;
  /** Restores `id` into the live database (or `into`). */
  restore(id: string, opts?: { from?: DestinationName; into?: Db; onProgress?: OnBackupProgress }): Promise<RestorePlan>;
  /** Applies the retention policy to each destination. */
  prune(): Promise<PruneOutcome>;
  /** Raises `backup-missing` when no verified backup is newer than the allowed age, resolves it otherwise. */
  check(): Promise<void>;
}
