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
import type { Collection, Db } from "mongodb";
import type { Leases } from "../leases.ts";
import { settledWithin } from "../settled-within.ts";
import { createBackup } from "./archive.ts";
import type { BackupDestination, DestinationName, StoredBackup } from "./destination.ts";
import { BACKUP_RECORDS } from "./dump.ts";
import { BackupError } from "./errors.ts";
import { MANIFEST_FILE, type Manifest } from "./manifest.ts";
import { checkFile, readManifest } from "./read-backup.ts";
import { restoreBackup, type RestorePlan } from "./restore.ts";
import type { OnBackupProgress } from "./progress.ts";
import { keptByPolicy, type RetentionPolicy } from "./retention.ts";
import { verifyBackup } from "./verify.ts";

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

export type { BackupProgress, OnBackupProgress } from "./progress.ts";

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

export type { RetentionPolicy } from "./retention.ts";

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

// ---------------------------------------------------------------- the implementation

/** Where the service raises and resolves owner alerts (`OwnerAlerts` is one). */
export interface BackupAlerts {
  raise(alert: { kind: "backup-failed" | "backup-corrupt" | "backup-missing"; key: string; params: Record<string, unknown>; details?: Record<string, unknown> }): Promise<void>;
  resolve(key: string): Promise<void>;
}

interface Log {
  info(message: string, meta?: object): unknown;
  warn(message: string, meta?: object): unknown;
  error(message: string, meta?: object): unknown;
}

export interface BackupServiceOptions {
  /** The live platform database. */
  db: Db;
  backupKey: Buffer;
  local: BackupDestination;
  offsite?: BackupDestination;
  /** Who may run now: one `backup` lease for every instance and the CLI (MongoDB leases work for all of them). */
  leases: Leases;
  alerts?: BackupAlerts;
  log?: Log;
  /** The environment file kept in each backup. */
  envFile?: string;
  /** LOG_DIR: its last 7 days are kept in each backup. */
  logDir?: string;
  /** Default 7 daily, 4 weekly, 6 monthly. */
  retention?: RetentionPolicy;
  /** Time zone of the retention's days, weeks and months. Default Asia/Jakarta. */
  timeZone?: string;
  /** `check` alerts when no verified backup is newer. Default 26 hours. */
  maxAgeHours?: number;
  /** Verification restores each backup into this database (dropped after); without it, verification stops at the counts. */
  scratchUri?: string;
  /** Waits between offsite upload attempts. Default 2 s, 10 s, 30 s (four attempts). */
  uploadRetryDelaysMs?: readonly number[];
  /** The scheduler's collection: jobs locked when the backup was made are unlocked on restore, so they run at once. */
  jobsCollection?: string;
  /** The `backup` lease's lifetime, renewed while work runs. Default 60 s. */
  leaseMs?: number;
  now?: () => Date;
}

/** The lease every backup, verification, restore and prune holds while it runs. */
export const BACKUP_LEASE = "backup";

interface RecordDoc {
  _id: string;
  createdAt: Date;
  trigger?: BackupTrigger;
  by?: string;
  size?: number;
  documents?: number;
  collections?: number;
  appVersion?: string;
  schemaVersion?: number;
  destinations: Partial<Record<DestinationName, DestinationStatus>>;
}

const ID_TIME = /^niaga-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/;

/** When a backup was made, read from its id (`niaga-20261202T190000Z-3fa9`). */
export function backupTime(id: string): Date | undefined {
  const m = ID_TIME.exec(id);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

const INCOMPLETE_GRACE_MS = 24 * 3_600_000;

export class BackupService implements Backups {
  readonly destinations: readonly BackupDestination[];
  readonly #o: BackupServiceOptions;
  readonly #records: Collection<RecordDoc>;
  readonly #log: Log;

  constructor(options: BackupServiceOptions) {
    this.#o = options;
    this.destinations = options.offsite ? [options.local, options.offsite] : [options.local];
    this.#records = options.db.collection<RecordDoc>(BACKUP_RECORDS);
    this.#log = options.log ?? { info: () => undefined, warn: () => undefined, error: () => undefined };
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  #destination(name: DestinationName): BackupDestination | undefined {
    return this.destinations.find((d) => d.name === name);
  }

  /** Runs `work` holding the `backup` lease (renewed while it runs); `BackupBusy` when someone else holds it. */
  async #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const leaseMs = this.#o.leaseMs ?? 60_000;
    const taken = await settledWithin(this.#o.leases.acquire(BACKUP_LEASE, leaseMs), 10_000);
    if (taken.state === "rejected") throw taken.error;
    if (taken.state === "pending") throw new Error("taking the backup lease took longer than 10000 ms");
    if (!taken.value) {
      const holder = (await this.#o.leases.holders([BACKUP_LEASE]).catch(() => new Map<string, string>())).get(BACKUP_LEASE);
      throw new BackupBusy(`another backup, verification or restore is running${holder ? ` (${holder})` : ""}`);
    }
    const renew = setInterval(() => {
      this.#o.leases.renew([BACKUP_LEASE], leaseMs).catch((error: unknown) => this.#log.warn("the backup lease could not be renewed", { error: (error as Error).message }));
    }, Math.max(1_000, Math.floor(leaseMs / 3)));
    try {
      return await work();
    } finally {
      clearInterval(renew);
      await this.#o.leases.release([BACKUP_LEASE]).catch(() => undefined);
    }
  }

  async create(opts: { trigger: BackupTrigger; by?: string; onProgress?: OnBackupProgress }): Promise<BackupListing> {
    return this.#exclusive(() => this.#create(opts));
  }

  async #create(opts: { trigger: BackupTrigger; by?: string; onProgress?: OnBackupProgress }): Promise<BackupListing> {
    const { local, offsite } = this.#o;
    let manifest: Manifest;
    try {
      manifest = await createBackup(this.#o.db, local, {
        backupKey: this.#o.backupKey,
        envFile: this.#o.envFile,
        logDir: this.#o.logDir,
        now: this.#now(),
        onProgress: (progress) => opts.onProgress?.(progress),
      });
    } catch (error) {
      await this.#alertFailed("local", "-", error);
      throw error;
    }
    const size = manifest.files.reduce((sum, f) => sum + f.size, 0);
    const record: RecordDoc = {
      _id: manifest.id,
      createdAt: new Date(manifest.createdAt),
      trigger: opts.trigger,
      ...(opts.by !== undefined && { by: opts.by }),
      size,
      documents: Object.values(manifest.collections).reduce((a, b) => a + b, 0),
      collections: Object.keys(manifest.collections).length,
      appVersion: manifest.appVersion,
      schemaVersion: manifest.schemaVersion,
      destinations: { local: { state: "stored", size } },
    };
    await this.#records.insertOne(record);
    await this.#o.alerts?.resolve(alertKey("backup-failed", "local"));
    this.#log.info("backup made", { backupId: manifest.id, destination: local.describe, bytes: size, trigger: opts.trigger });
    if (offsite) {
      try {
        await this.#upload(manifest, offsite, opts.onProgress);
        record.destinations.offsite = { state: "stored", size };
        await this.#o.alerts?.resolve(alertKey("backup-failed", "offsite"));
        this.#log.info("backup copied offsite", { backupId: manifest.id, destination: offsite.describe });
      } catch (error) {
        record.destinations.offsite = { state: "failed", error: describe(error) };
        await this.#alertFailed("offsite", manifest.id, error);
      }
      await this.#records.updateOne({ _id: manifest.id }, { $set: { "destinations.offsite": record.destinations.offsite } });
    }
    return listingOf(record);
  }

  /** Copies a backup from the local directory offsite, file by file and the manifest last, retried with back-off; then reads it back and checks every SHA-256. */
  async #upload(manifest: Manifest, offsite: BackupDestination, onProgress?: OnBackupProgress): Promise<void> {
    const delays = this.#o.uploadRetryDelaysMs ?? [2_000, 10_000, 30_000];
    const files = [...manifest.files.map((f) => f.name), MANIFEST_FILE];
    const total = manifest.files.reduce((sum, f) => sum + f.size, 0);
    for (let attempt = 0; ; attempt++) {
      try {
        let done = 0;
        for (const name of files) {
          onProgress?.({ phase: "upload", destination: "offsite", done, total });
          await offsite.put(manifest.id, name, await this.#o.local.get(manifest.id, name));
          done += manifest.files.find((f) => f.name === name)?.size ?? 0;
        }
        onProgress?.({ phase: "verify", destination: "offsite", done: 0, total });
        await readManifest(offsite, manifest.id, this.#o.backupKey);
        for (const file of manifest.files) await checkFile(offsite, manifest.id, file);
        onProgress?.({ phase: "verify", destination: "offsite", done: total, total });
        return;
      } catch (error) {
        const wait = delays[attempt];
        if (wait === undefined) throw error;
        this.#log.warn("the offsite copy failed; trying again", { backupId: manifest.id, attempt: attempt + 1, inMs: wait, error: describe(error) });
        await sleep(wait);
      }
    }
  }

  async #alertFailed(where: DestinationName, id: string, error: unknown): Promise<void> {
    const destination = this.#destination(where);
    this.#log.error("a backup could not be stored", { backupId: id, destination: destination?.describe, error: describe(error) });
    await this.#o.alerts
      ?.raise({ kind: "backup-failed", key: alertKey("backup-failed", where), params: { id, where: destination?.describe ?? where, error: describe(error) } })
      .catch(() => undefined);
  }

  async list(): Promise<BackupListing[]> {
    const [records, stored] = await Promise.all([this.#records.find({}).toArray(), this.#stored()]);
    const byId = new Map<string, RecordDoc>(records.map((r) => [r._id, { ...r, destinations: { ...r.destinations } }]));
    for (const [name, backups] of stored) {
      if (backups === "unreachable") continue;
      const here = new Map(backups.filter((b) => b.files.some((f) => f.name === MANIFEST_FILE)).map((b) => [b.id, b]));
      for (const [id, backup] of here) {
        const record = byId.get(id) ?? { _id: id, createdAt: backupTime(id) ?? new Date(0), destinations: {} };
        byId.set(id, record);
        const size = backup.files.reduce((sum, f) => sum + f.size, 0);
        const known = record.destinations[name];
        record.destinations[name] = known && known.state !== "missing" ? { ...known, size } : { state: "stored", size };
        record.size = Math.max(record.size ?? 0, size);
      }
      for (const record of byId.values()) {
        const known = record.destinations[name];
        if (known && !here.has(record._id) && known.state !== "failed") record.destinations[name] = { ...known, state: "missing" };
      }
    }
    return [...byId.values()]
      .filter((r) => Object.keys(r.destinations).length > 0)
      .map(listingOf)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id));
  }

  /** What each destination holds, or "unreachable" when it did not answer. */
  async #stored(): Promise<Array<[DestinationName, StoredBackup[] | "unreachable"]>> {
    return Promise.all(
      this.destinations.map(async (d): Promise<[DestinationName, StoredBackup[] | "unreachable"]> => {
        try {
          return [d.name, await d.list()];
        } catch (error) {
          this.#log.warn("a backup destination could not be listed", { destination: d.describe, error: describe(error) });
          return [d.name, "unreachable"];
        }
      }),
    );
  }

  async verify(id?: string, opts: { onProgress?: OnBackupProgress; scratch?: boolean } = {}): Promise<VerifyOutcome> {
    return this.#exclusive(() => this.#verify(id, opts));
  }

  async #verify(id: string | undefined, opts: { onProgress?: OnBackupProgress; scratch?: boolean }): Promise<VerifyOutcome> {
    const listing = await this.list();
    const backup = id === undefined ? listing[0] : listing.find((b) => b.id === id);
    if (!backup) throw new BackupError("missing", id === undefined ? "there is no backup to verify" : `${id} is in no backup destination`, { id });
    const outcome: VerifyOutcome = { id: backup.id, ok: true, destinations: {} };
    for (const destination of this.destinations) {
      const status = backup.destinations[destination.name];
      if (!status || status.state === "failed") continue;
      let problems: BackupError[];
      if (status.state === "missing") {
        problems = [new BackupError("missing", `${backup.id} is no longer at ${destination.describe}`, { id: backup.id })];
      } else {
        opts.onProgress?.({ phase: "verify", destination: destination.name });
        const scratchUri = opts.scratch === false ? undefined : this.#o.scratchUri;
        problems = (await verifyBackup(destination, backup.id, { backupKey: this.#o.backupKey, scratchUri })).problems;
      }
      const ok = problems.length === 0;
      outcome.destinations[destination.name] = { ok, problems };
      outcome.ok &&= ok;
      const state: DestinationStatus = { ...status, state: ok ? "verified" : status.state === "missing" ? "missing" : "failed", verifiedAt: this.#now() };
      if (ok) delete state.error;
      else state.error = problems[0]!.message;
      await this.#records.updateOne(
        { _id: backup.id },
        { $set: { [`destinations.${destination.name}`]: state }, $setOnInsert: { createdAt: backup.createdAt } },
        { upsert: true },
      );
      const key = alertKey("backup-corrupt", destination.name);
      if (ok) await this.#o.alerts?.resolve(key).catch(() => undefined);
      else {
        this.#log.error("a backup did not verify", { backupId: backup.id, destination: destination.describe, reason: problems[0]!.reason, error: problems[0]!.message });
        await this.#o.alerts?.raise({ kind: "backup-corrupt", key, params: { id: backup.id, where: destination.describe, error: problems[0]!.message } }).catch(() => undefined);
      }
    }
    if (Object.keys(outcome.destinations).length === 0) throw new BackupError("missing", `${backup.id} has no copy that could be verified`, { id: backup.id });
    return outcome;
  }

  #source(id: string, from: DestinationName | undefined): BackupDestination {
    if (from) {
      const destination = this.#destination(from);
      if (!destination) throw new BackupError("missing", `there is no ${from} backup destination configured`, { id });
      return destination;
    }
    return this.#o.local;
  }

  async #pickSource(id: string, from: DestinationName | undefined): Promise<BackupDestination> {
    if (from || !this.#o.offsite) return this.#source(id, from);
    const local = await this.#o.local.list().catch(() => []);
    return local.some((b) => b.id === id && b.files.some((f) => f.name === MANIFEST_FILE)) ? this.#o.local : this.#o.offsite;
  }

  async plan(id: string, opts: { from?: DestinationName; into?: Db; onProgress?: OnBackupProgress } = {}): Promise<RestorePlan> {
    const source = await this.#pickSource(id, opts.from);
    return restoreBackup(source, id, { backupKey: this.#o.backupKey, into: opts.into ?? this.#o.db, dryRun: true });
  }

  async restore(id: string, opts: { from?: DestinationName; into?: Db; onProgress?: OnBackupProgress } = {}): Promise<RestorePlan> {
    return this.#exclusive(async () => {
      const source = await this.#pickSource(id, opts.from);
      this.#log.info("restoring a backup", { backupId: id, destination: source.describe });
      const plan = await restoreBackup(source, id, {
        backupKey: this.#o.backupKey,
        into: opts.into ?? this.#o.db,
        dryRun: false,
        jobsCollection: this.#o.jobsCollection,
        onProgress: (progress) => opts.onProgress?.({ destination: source.name, ...progress }),
      });
      this.#log.info("backup restored", { backupId: id, destination: source.describe, collections: plan.collections.length });
      return plan;
    });
  }

  async prune(): Promise<PruneOutcome> {
    return this.#exclusive(() => this.#prune());
  }

  async #prune(): Promise<PruneOutcome> {
    const outcome: PruneOutcome = { removed: {}, kept: [] };
    const listing = await this.list();
    const byId = new Map(listing.map((b) => [b.id, b]));
    const policy = this.#o.retention ?? { daily: 7, weekly: 4, monthly: 6 };
    const timeZone = this.#o.timeZone ?? "Asia/Jakarta";
    const now = this.#now().getTime();
    for (const [name, stored] of await this.#stored()) {
      if (stored === "unreachable") continue;
      const destination = this.#destination(name)!;
      const complete = stored.filter((b) => b.files.some((f) => f.name === MANIFEST_FILE)).map((b) => ({ id: b.id, createdAt: backupTime(b.id) ?? new Date(0) }));
      const keep = keptByPolicy(complete, policy, timeZone);
      const newestVerified = listing.find((b) => b.destinations[name]?.state === "verified");
      const removed: string[] = [];
      for (const backup of stored) {
        const isComplete = backup.files.some((f) => f.name === MANIFEST_FILE);
        if (!isComplete) {
          // A backup that never got its manifest (a crash mid-way): gone after a day.
          if (now - (backupTime(backup.id)?.getTime() ?? 0) > INCOMPLETE_GRACE_MS) removed.push(backup.id);
          continue;
        }
        if (keep.has(backup.id)) continue;
        if (backup.id === newestVerified?.id) {
          outcome.kept.push({ id: backup.id, destination: name, why: "newest-verified" });
          continue;
        }
        const offsiteState = byId.get(backup.id)?.destinations.offsite?.state;
        if (name === "local" && this.#o.offsite && offsiteState !== "stored" && offsiteState !== "verified") {
          outcome.kept.push({ id: backup.id, destination: name, why: "offsite-unverified" });
          continue;
        }
        removed.push(backup.id);
      }
      for (const id of removed) {
        await destination.remove(id);
        await this.#records.updateOne({ _id: id }, { $unset: { [`destinations.${name}`]: "" } });
      }
      if (removed.length > 0) {
        outcome.removed[name] = removed;
        this.#log.info("old backups pruned", { destination: destination.describe, backupIds: removed });
      }
    }
    await this.#records.deleteMany({ $or: [{ destinations: {} }, { destinations: { $exists: false } }] });
    return outcome;
  }

  async check(): Promise<void> {
    const listing = await this.list();
    const maxAgeHours = this.#o.maxAgeHours ?? 26;
    const newest = listing.find((b) => Object.values(b.destinations).some((d) => d?.state === "verified"));
    const key = alertKey("backup-missing");
    if (newest && this.#now().getTime() - newest.createdAt.getTime() <= maxAgeHours * 3_600_000) {
      await this.#o.alerts?.resolve(key);
      return;
    }
    await this.#o.alerts?.raise({ kind: "backup-missing", key, params: { hours: maxAgeHours, newest: newest?.id ?? "-" } });
  }

  /**
   * The scheduled run: a backup, its verification in every destination, pruning, and the
   * age check, under one lease. Each failure is logged and alerted, never thrown, so the
   * job itself does not also count as failing. Resolves with what happened.
   */
  async runScheduled(): Promise<{ created?: BackupListing; verified?: VerifyOutcome; pruned?: PruneOutcome; busy?: boolean }> {
    try {
      return await this.#exclusive(async () => {
        const result: { created?: BackupListing; verified?: VerifyOutcome; pruned?: PruneOutcome } = {};
        result.created = await this.#create({ trigger: "schedule" }).catch(() => undefined);
        if (result.created) result.verified = await this.#verify(result.created.id, {}).catch((error: unknown) => void this.#log.error("the backup could not be verified", { error: describe(error) }));
        result.pruned = await this.#prune().catch((error: unknown) => void this.#log.error("old backups could not be pruned", { error: describe(error) }));
        await this.check().catch((error: unknown) => this.#log.error("the backup age check failed", { error: describe(error) }));
        return result;
      });
    } catch (error) {
      if (!(error instanceof BackupBusy)) throw error;
      this.#log.info("the scheduled backup is skipped: another one runs", { error: error.message });
      return { busy: true };
    }
  }
}

function listingOf(r: RecordDoc): BackupListing {
  return {
    id: r._id,
    createdAt: r.createdAt,
    size: r.size ?? 0,
    ...(r.documents !== undefined && { documents: r.documents }),
    ...(r.collections !== undefined && { collections: r.collections }),
    ...(r.appVersion !== undefined && { appVersion: r.appVersion }),
    ...(r.schemaVersion !== undefined && { schemaVersion: r.schemaVersion }),
    ...(r.trigger !== undefined && { trigger: r.trigger }),
    ...(r.by !== undefined && { by: r.by }),
    destinations: r.destinations,
  };
}

/** Same format as the owner bot's `alertKey` (`kind:platform:what`). */
function alertKey(kind: "backup-failed" | "backup-corrupt" | "backup-missing", what?: string): string {
  return [kind, "platform", ...(what === undefined ? [] : [what])].join(":");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0]! : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}
