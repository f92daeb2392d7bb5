/**
 * `niaga backup create|list|verify|restore`: backups of the whole platform database (plus the
 * environment file and recent logs) in BACKUP_DIR and, when configured, offsite storage over
 * the S3 API, encrypted under BACKUP_KEY. `list` shows both; `verify` and `restore` read from
 * either (`--from local|offsite`; default: local when it holds the backup). A backup that
 * cannot be trusted (wrong key, truncated, tampered, newer schema, no migration) is reported in
 * one line and nothing is changed; the work itself lives in storage/backup. Long work draws a
 * progress bar on stderr. `extract` writes a backup's environment file or logs to stdout.
 */
import { createInterface } from "node:readline/promises";
import { pipeline } from "node:stream/promises";
import { MongoClient, type Db } from "mongodb";
import mongoose from "mongoose";
import type { BackupDestination, DestinationName } from "../../storage/backup/destination.ts";
import { BackupError } from "../../storage/backup/errors.ts";
import { extractFile } from "../../storage/backup/extract.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import { ENV_FILE, LOGS_FILE, MANIFEST_FILE } from "../../storage/backup/manifest.ts";
import { restoreBackup } from "../../storage/backup/restore.ts";
import { S3Destination } from "../../storage/backup/s3-destination.ts";
import { verifyBackup } from "../../storage/backup/verify.ts";
import { requireBackupKey, type Config } from "../config.ts";
import { JOBS_COLLECTION } from "../scheduler.ts";
import { platformBackups } from "../backups.ts";
import { parseFlags } from "./args.ts";
import type { CliContext } from "./context.ts";
import { progressReporter } from "./progress.ts";
import { UsageError } from "./usage-error.ts";

const TIMEOUT_MS = 10_000;
const dirFlag = { dir: { type: "string" } } as const;
const sourceFlags = { ...dirFlag, from: { type: "string" } } as const;

export interface BackupDestinations {
  local: LocalDestination;
  /** Present when `BACKUP_S3_*` is configured. */
  offsite?: S3Destination;
}

/** Where backups are kept: `BACKUP_DIR` (or `dir`), and offsite storage when configured. */
export function backupDestinations(config: Config, dir?: string): BackupDestinations {
  const local = new LocalDestination(dir?.trim() || config.backupDir);
  const s3 = config.offsiteBackup;
  return { local, ...(s3 && { offsite: new S3Destination(s3) }) };
}

export async function backupCommand(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  const run = { create, list, verify, restore, extract }[sub as "create"];
  if (!run) throw new UsageError(sub ? "cli.unknown_subcommand" : "cli.missing_subcommand", { sub: sub ?? "" }, "cli.usage_backup");
  try {
    return await run(rest, ctx);
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    ctx.err(`niaga: ${describeProblem(err, ctx)}`);
    return 1;
  }
}

function describeProblem(err: BackupError, ctx: CliContext): string {
  return ctx.t(`cli.backup_error_${err.reason}`, { file: "", collection: "", ...err.params, detail: err.message });
}

function liveDb(): Db {
  const db = mongoose.connection.db;
  if (!db) throw new Error("the database connection is not open");
  return db;
}

function progressBar(ctx: CliContext) {
  return progressReporter(process.stderr, ctx.t);
}

async function create(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags(argv, { ...dirFlag, "env-file": { type: "string" } }, "cli.usage_backup_create");
  const config = ctx.config();
  requireBackupKey(config);
  const progress = progressBar(ctx);
  // The same service as the scheduled job: local first, then offsite when configured, under the backup lease.
  const made = await ctx
    .withDatabase(() => {
      const backups = platformBackups(config, { db: liveDb(), dir: values.dir, ...(values["env-file"] !== undefined && { envFile: values["env-file"] }) })!;
      return backups.create({ trigger: "cli", by: "cli", onProgress: progress.update }).then((listing) => ({ listing, where: backups.destinations }));
    })
    .finally(() => progress.end());
  const { listing } = made;
  for (const destination of made.where) {
    const state = listing.destinations[destination.name];
    ctx.out(ctx.t("cli.backup_created", { id: listing.id, collections: listing.collections ?? 0, documents: listing.documents ?? 0, size: megabytes(listing.size), where: destination.describe }));
    if (state?.state === "failed") {
      ctx.err(ctx.t("cli.backup_offsite_failed", { id: listing.id, where: destination.describe, error: state.error ?? "" }));
      return 1;
    }
  }
  return 0;
}

function megabytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(2);
}

function named(destinations: BackupDestinations): BackupDestination[] {
  return destinations.offsite ? [destinations.local, destinations.offsite] : [destinations.local];
}

interface Held {
  id: string;
  size: number;
  files: number;
  /** Each destination holding it, and whether its copy is finished (has its manifest). */
  at: { name: DestinationName; complete: boolean }[];
}

/** Every backup in `destinations`, newest first; a destination that cannot be listed is reported in `failed`. */
async function holdings(destinations: BackupDestination[]): Promise<{ backups: Held[]; failed: { where: BackupDestination; error: Error }[] }> {
  const byId = new Map<string, Held>();
  const failed: { where: BackupDestination; error: Error }[] = [];
  for (const dest of destinations) {
    const stored = await dest.list().catch((error: Error) => void failed.push({ where: dest, error }));
    for (const b of stored ?? []) {
      const held = byId.get(b.id) ?? { id: b.id, size: 0, files: 0, at: [] };
      held.size = Math.max(held.size, b.files.reduce((a, f) => a + f.size, 0));
      held.files = Math.max(held.files, b.files.length);
      held.at.push({ name: dest.name, complete: b.files.some((f) => f.name === MANIFEST_FILE) });
      byId.set(b.id, held);
    }
  }
  return { backups: [...byId.values()].sort((a, b) => b.id.localeCompare(a.id)), failed };
}

async function list(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags(argv, dirFlag, "cli.usage_backup_list");
  const destinations = named(backupDestinations(ctx.config(), values.dir));
  const { backups, failed } = await holdings(destinations);
  for (const { where, error } of failed) ctx.err(`niaga: ${ctx.t("cli.backup_list_failed", { where: where.describe, detail: error.message.split("\n")[0] })}`);
  if (backups.length === 0) ctx.out(ctx.t("cli.backup_none", { where: destinations.map((d) => d.describe).join(", ") }));
  for (const b of backups) {
    const where = b.at.map((a) => ctx.t(a.complete ? `cli.backup_where_${a.name}` : "cli.backup_where_unfinished", { where: ctx.t(`cli.backup_where_${a.name}`) }));
    ctx.out(ctx.t("cli.backup_list_line", { id: b.id, size: megabytes(b.size), files: b.files, where: where.join(", ") }));
  }
  return failed.length > 0 ? 1 : 0;
}

/**
 * The destination to read `id` from (default: the newest finished backup): `--from`, else
 * local when it holds the backup whole, else offsite.
 */
async function source(
  values: { dir?: string; from?: DestinationName },
  id: string | undefined,
  ctx: CliContext,
  usage: string,
): Promise<{ dest: BackupDestination; id: string }> {
  const from = values.from;
  const destinations = backupDestinations(ctx.config(), values.dir);
  if (from === "offsite" && !destinations.offsite) throw new UsageError("cli.backup_no_offsite", {}, usage);
  const candidates = from ? [destinations[from]!] : named(destinations);
  const { backups } = await holdings(candidates);
  const finished = backups.filter((b) => b.at.some((a) => a.complete));
  if (!id) {
    const newest = finished[0];
    if (!newest) throw new UsageError("cli.backup_none", { where: candidates.map((d) => d.describe).join(", ") }, usage);
    ctx.out(ctx.t("cli.backup_newest", { id: newest.id }));
    id = newest.id;
  }
  const held = finished.find((b) => b.id === id);
  const name: DestinationName = from ?? (held?.at.find((a) => a.complete)?.name ?? "local");
  const dest = destinations[name]!;
  ctx.out(ctx.t("cli.backup_source", { where: ctx.t(`cli.backup_where_${name}`), describe: dest.describe }));
  return { dest, id };
}

/** `--from`: local, offsite or not given. */
function fromFlag(values: { dir?: string; from?: string }, usage: string): { dir?: string; from?: DestinationName } {
  const from = values.from;
  if (from !== undefined && from !== "local" && from !== "offsite") throw new UsageError("cli.backup_bad_from", { from }, usage);
  return { dir: values.dir, from };
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_backup_verify";
  const { values, positionals } = parseFlags(argv, { ...sourceFlags, scratch: { type: "string" } }, usage, 1);
  if (values.scratch !== undefined && !/^mongodb(\+srv)?:\/\/\S+/.test(values.scratch)) throw new UsageError("cli.backup_bad_uri", { uri: values.scratch }, usage);
  const where = fromFlag(values, usage);
  const backupKey = requireBackupKey(ctx.config());
  const { dest, id } = await source(where, positionals[0], ctx, usage);
  const progress = progressBar(ctx);
  const report = await verifyBackup(dest, id, { backupKey, scratchUri: values.scratch, timeoutMs: TIMEOUT_MS, onProgress: progress.update }).finally(() => progress.end());
  if (!report.ok) {
    for (const problem of report.problems) ctx.err(`niaga: ${describeProblem(problem, ctx)}`);
    ctx.err(ctx.t("cli.backup_verify_failed", { id }));
    return 1;
  }
  for (const [name, count] of Object.entries(report.counts)) ctx.out(ctx.t("cli.backup_count_line", { name, count }));
  ctx.out(ctx.t(report.scratchCounts ? "cli.backup_verified_scratch" : "cli.backup_verified", { id, files: report.manifest?.files.length ?? 0 }));
  return 0;
}

async function restore(argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_backup_restore";
  const { values, positionals } = parseFlags(
    argv,
    { ...sourceFlags, into: { type: "string" }, "dry-run": { type: "boolean" }, yes: { type: "boolean" } },
    usage,
    1,
  );
  const given = positionals[0];
  if (!given) throw new UsageError("cli.backup_missing_id", {}, usage);
  const where = fromFlag(values, usage);
  if (values.into !== undefined && !/^mongodb(\+srv)?:\/\/\S+/.test(values.into)) throw new UsageError("cli.backup_bad_uri", { uri: values.into }, usage);
  const dryRun = values["dry-run"] === true;
  if (!dryRun && !values.yes && !process.stdin.isTTY) throw new UsageError("cli.backup_restore_needs_yes", {}, usage);
  const backupKey = requireBackupKey(ctx.config());
  const { dest, id } = await source(where, given, ctx, usage);

  return withTarget(values.into, ctx, async (into) => {
    const progress = progressBar(ctx);
    const plan = await restoreBackup(dest, id, { backupKey, into, dryRun: true, onProgress: progress.update }).finally(() => progress.end());
    ctx.out(ctx.t("cli.backup_plan_header", { id, createdAt: plan.manifest.createdAt, app: plan.manifest.appVersion }));
    for (const c of plan.collections) ctx.out(ctx.t("cli.backup_plan_line", c));
    for (const name of plan.untouched) ctx.out(ctx.t("cli.backup_plan_untouched", { name }));
    if (plan.migrations.length > 0) ctx.out(ctx.t("cli.backup_plan_migrations"));
    for (const m of plan.migrations) ctx.out(ctx.t("cli.backup_plan_migration", m));
    if (dryRun) {
      ctx.out(ctx.t("cli.backup_dry_run_done"));
      return 0;
    }
    if (!values.yes && !(await confirm(ctx, id))) {
      ctx.out(ctx.t("cli.backup_restore_cancelled"));
      return 1;
    }
    // The plan verified the whole backup just now: the restore does not read it twice.
    await restoreBackup(dest, id, { backupKey, into, dryRun: false, verified: plan.report, jobsCollection: JOBS_COLLECTION, onProgress: progress.update }).finally(() =>
      progress.end(),
    );
    ctx.out(ctx.t("cli.backup_restored", { id, collections: plan.collections.length }));
    return 0;
  });
}

async function extract(argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_backup_extract";
  const { values, positionals } = parseFlags(argv, dirFlag, usage, 2);
  const [id, what] = positionals;
  const file = { env: ENV_FILE, logs: LOGS_FILE }[what as "env"];
  if (!id || !file) throw new UsageError("cli.backup_extract_what", {}, usage);
  const backupKey = requireBackupKey(ctx.config());
  const body = await extractFile(backupDestinations(ctx.config(), values.dir).local, id, file, backupKey);
  await pipeline(body, process.stdout, { end: false });
  return 0;
}

async function withTarget<T>(uri: string | undefined, ctx: CliContext, fn: (db: Db) => Promise<T>): Promise<T> {
  if (!uri) return ctx.withDatabase(() => fn(liveDb()));
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: TIMEOUT_MS, connectTimeoutMS: TIMEOUT_MS });
  await client.connect();
  try {
    return await fn(client.db());
  } finally {
    await client.close();
  }
}

async function confirm(ctx: CliContext, id: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(ctx.t("cli.backup_restore_confirm", { id }) + " ");
    return /^(y|yes|ya)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
