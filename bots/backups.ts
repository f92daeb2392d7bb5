/**
 * The platform's backups as configured: a {@link BackupService} over the live database, the
 * local directory (`BACKUP_DIR`) and offsite S3 storage (`BACKUP_S3_*`), and its two scheduled
 * jobs. Used by `niaga start` and by `niaga backup`.
 *
 * ```ts
 * const backups = platformBackups(config, { db, alerts, log });   // undefined without BACKUP_KEY
 * if (backups) defineBackupJobs(scheduler.agenda, backups, log);   // before scheduler.start()
 * await scheduleBackupJobs(scheduler.agenda, config);               // after it
 * ```
 *
 * - `backups.scheduled-run` runs on `BACKUP_CRON` (in `BACKUP_TIMEZONE`): a backup, its verification
 *   in every destination (restored into the scratch database), pruning, and the age check. Its
 *   job lock is touched while it runs, and the `backup` lease keeps any second run out.
 * - `backups.age-check` runs every hour: the owner hears when no verified backup is newer
 *   than `BACKUP_MAX_AGE_HOURS` — also when the scheduled job stopped running at all.
 */
import { existsSync } from "node:fs";
import { JOBS_COLLECTION, type PlatformScheduler } from "./scheduler.ts";
type Agenda = PlatformScheduler["agenda"];
import type { Db } from "mongodb";
import { LocalDestination } from "../storage/backup/local-destination.ts";
import { S3Destination } from "../storage/backup/s3-destination.ts";
import { BackupService, type BackupAlerts } from "../storage/backup/service.ts";
import { createMongoLeases } from "../storage/leases.ts";
import type { Config } from "./config.ts";

export const BACKUP_JOBS = { run: "backups.scheduled-run", check: "backups.age-check" } as const;

interface Log {
  info(message: string, meta?: object): unknown;
  warn(message: string, meta?: object): unknown;
  error(message: string, meta?: object): unknown;
}

/** The scratch database verification restores into: `BACKUP_SCRATCH_URI`, else `<name>_backup_verify` on the platform's server. */
export function scratchUriFor(config: Pick<Config, "mongodbUri" | "backupSchedule">): string {
  if (config.backupSchedule.scratchUri) return config.backupSchedule.scratchUri;
  const url = new URL(config.mongodbUri);
  const name = decodeURIComponent(url.pathname.replace(/^\//, "")) || "test";
  url.pathname = `/${name}_backup_verify`;
  return url.toString();
}

/** The environment file kept in backups: `BACKUP_ENV_FILE`, else `.env` when there is one. */
export function backupEnvFile(config: Pick<Config, "backupSchedule">): string | undefined {
  return config.backupSchedule.envFile ?? (existsSync(".env") ? ".env" : undefined);
}

export interface PlatformBackupsOptions {
  db: Db;
  alerts?: BackupAlerts;
  log?: Log;
  /** Overrides `BACKUP_DIR` (the CLI's `--dir`). */
  dir?: string;
  /** Overrides the environment file kept (the CLI's `--env-file`). */
  envFile?: string;
}

/** The backups of this platform, or undefined when BACKUP_KEY is not set. */
export function platformBackups(config: Config, options: PlatformBackupsOptions): BackupService | undefined {
  if (!config.backupKey) return undefined;
  const offsite = config.offsiteBackup;
  return new BackupService({
    db: options.db,
    backupKey: config.backupKey,
    local: new LocalDestination(options.dir?.trim() || config.backupDir),
    ...(offsite && { offsite: new S3Destination(offsite) }),
    leases: createMongoLeases(),
    ...(options.alerts && { alerts: options.alerts }),
    ...(options.log && { log: options.log }),
    envFile: options.envFile ?? backupEnvFile(config),
    logDir: config.logDir,
    retention: config.backupSchedule.keep,
    timeZone: config.backupSchedule.timeZone,
    maxAgeHours: config.backupSchedule.maxAgeHours,
    scratchUri: scratchUriFor(config),
    jobsCollection: JOBS_COLLECTION,
  });
}

/** Defines the backup jobs (before the scheduler starts). */
export function defineBackupJobs(agenda: Agenda, backups: BackupService, log: Log): void {
  agenda.define(BACKUP_JOBS.run, async (job) => {
    // A backup may outlast the job lock: keep it, so no other instance takes the job over.
    const touching = setInterval(() => void job.touch().catch(() => undefined), 20_000);
    try {
      const result = await backups.runScheduled();
      if (result.created) {
        const where = Object.entries(result.created.destinations).map(([name, d]) => `${name}:${d?.state}`);
        log.info("scheduled backup done", { backupId: result.created.id, destinations: where, verified: result.verified?.ok });
      }
    } finally {
      clearInterval(touching);
    }
  });
  agenda.define(BACKUP_JOBS.check, async () => {
    await backups.check();
  });
}

/** Schedules the backup jobs on `BACKUP_CRON`, or removes the schedule when it is `off` (after the scheduler started). */
export async function scheduleBackupJobs(agenda: Agenda, config: Pick<Config, "backupSchedule">): Promise<void> {
  const { cron, timeZone } = config.backupSchedule;
  if (cron) await agenda.every(cron, BACKUP_JOBS.run, undefined, { timezone: timeZone, skipImmediate: true });
  else await agenda.cancel({ name: BACKUP_JOBS.run });
  await agenda.every("1 hour", BACKUP_JOBS.check, undefined, { skipImmediate: true });
}
