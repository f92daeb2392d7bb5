/**
 * `niaga backup create|list|verify|restore`: backups of the whole platform database (plus the
 * environment file and recent logs) in BACKUP_DIR, encrypted under BACKUP_KEY. A backup that
 * cannot be trusted (wrong key, truncated, tampered, newer schema) is reported in one line and
 * nothing is changed; the work itself lives in storage/backup. `extract` writes a backup's
 * environment file or logs to stdout.
 */
import { existsSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { MongoClient, type Db } from "mongodb";
import mongoose from "mongoose";
import { pipeline } from "node:stream/promises";
import { createBackup } from "../../storage/backup/archive.ts";
import { extractFile } from "../../storage/backup/extract.ts";
import { ENV_FILE, LOGS_FILE } from "../../storage/backup/manifest.ts";
import { BackupError } from "../../storage/backup/errors.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import { restoreBackup } from "../../storage/backup/restore.ts";
import { verifyBackup } from "../../storage/backup/verify.ts";
import { requireBackupKey } from "../config.ts";
import { parseFlags } from "./args.ts";
import type { CliContext } from "./context.ts";
import { UsageError } from "./usage-error.ts";

const TIMEOUT_MS = 10_000;
const dirFlag = { dir: { type: "string" } } as const;

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

function destination(dir: string | undefined, ctx: CliContext): LocalDestination {
  return new LocalDestination(dir?.trim() || ctx.config().backupDir);
}

function liveDb(): Db {
  const db = mongoose.connection.db;
  if (!db) throw new Error("the database connection is not open");
  return db;
}

async function create(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags(argv, { ...dirFlag, "env-file": { type: "string" } }, "cli.usage_backup_create");
  const config = ctx.config();
  const backupKey = requireBackupKey(config);
  const dest = destination(values.dir, ctx);
  const envFile = values["env-file"] ?? (existsSync(".env") ? ".env" : undefined);
  const manifest = await ctx.withDatabase(() =>
    createBackup(liveDb(), dest, {
      backupKey,
      envFile,
      logDir: config.logDir,
      onProgress: (step) => ctx.out(ctx.t(`cli.backup_step_${step}`)),
    }),
  );
  const docs = Object.values(manifest.collections).reduce((a, b) => a + b, 0);
  const bytes = manifest.files.reduce((a, f) => a + f.size, 0);
  ctx.out(ctx.t("cli.backup_created", { id: manifest.id, collections: Object.keys(manifest.collections).length, documents: docs, size: megabytes(bytes), where: dest.describe }));
  return 0;
}

function megabytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(2);
}

async function list(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags(argv, dirFlag, "cli.usage_backup");
  const dest = destination(values.dir, ctx);
  const backups = await dest.list();
  if (backups.length === 0) {
    ctx.out(ctx.t("cli.backup_none", { where: dest.describe }));
    return 0;
  }
  for (const b of backups) {
    const complete = b.files.some((f) => f.name === "manifest.json");
    ctx.out(ctx.t(complete ? "cli.backup_list_line" : "cli.backup_list_incomplete", { id: b.id, size: megabytes(b.files.reduce((a, f) => a + f.size, 0)), files: b.files.length }));
  }
  return 0;
}

async function newestId(dest: LocalDestination, ctx: CliContext, usage: string): Promise<string> {
  const newest = (await dest.list())[0];
  if (!newest) throw new UsageError("cli.backup_none", { where: dest.describe }, usage);
  ctx.out(ctx.t("cli.backup_newest", { id: newest.id }));
  return newest.id;
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_backup_verify";
  const { values, positionals } = parseFlags(argv, { ...dirFlag, scratch: { type: "string" } }, usage, 1);
  if (values.scratch !== undefined && !/^mongodb(\+srv)?:\/\/\S+/.test(values.scratch)) throw new UsageError("cli.backup_bad_uri", { uri: values.scratch }, usage);
  const backupKey = requireBackupKey(ctx.config());
  const dest = destination(values.dir, ctx);
  const id = positionals[0] ?? (await newestId(dest, ctx, usage));
  const report = await verifyBackup(dest, id, { backupKey, scratchUri: values.scratch, timeoutMs: TIMEOUT_MS });
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
    { ...dirFlag, into: { type: "string" }, "dry-run": { type: "boolean" }, yes: { type: "boolean" } },
    usage,
    1,
  );
  const id = positionals[0];
  if (!id) throw new UsageError("cli.backup_missing_id", {}, usage);
  if (values.into !== undefined && !/^mongodb(\+srv)?:\/\/\S+/.test(values.into)) throw new UsageError("cli.backup_bad_uri", { uri: values.into }, usage);
  const dryRun = values["dry-run"] === true;
  if (!dryRun && !values.yes && !process.stdin.isTTY) throw new UsageError("cli.backup_restore_needs_yes", {}, usage);
  const backupKey = requireBackupKey(ctx.config());
  const dest = destination(values.dir, ctx);

  return withTarget(values.into, ctx, async (into) => {
    const plan = await restoreBackup(dest, id, { backupKey, into, dryRun: true });
    ctx.out(ctx.t("cli.backup_plan_header", { id, createdAt: plan.manifest.createdAt, app: plan.manifest.appVersion }));
    for (const c of plan.collections) ctx.out(ctx.t("cli.backup_plan_line", c));
    for (const name of plan.untouched) ctx.out(ctx.t("cli.backup_plan_untouched", { name }));
    if (dryRun) {
      ctx.out(ctx.t("cli.backup_dry_run_done"));
      return 0;
    }
    if (!values.yes && !(await confirm(ctx, id))) {
      ctx.out(ctx.t("cli.backup_restore_cancelled"));
      return 1;
    }
    await restoreBackup(dest, id, {
      backupKey,
      into,
      dryRun: false,
      onProgress: (step, name) => step === "collection" && ctx.out(ctx.t("cli.backup_restoring", { name })),
    });
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
  const body = await extractFile(destination(values.dir, ctx), id, file, backupKey);
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
