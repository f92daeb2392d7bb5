// What making, verifying and restoring a backup report as they go (the `onProgress` of
// storage/backup): documents per collection against a total (the server's estimate when making,
// the manifest's counts when verifying and restoring), and bytes while files are checked.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose from "mongoose";
import type { Db } from "mongodb";
import { createBackup } from "../../storage/backup/archive.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import { DATABASE_FILE, type Manifest } from "../../storage/backup/manifest.ts";
import type { BackupProgress } from "../../storage/backup/progress.ts";
import { restoreBackup } from "../../storage/backup/restore.ts";
import { verifyBackup } from "../../storage/backup/verify.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

const ORDERS = 1_234;

/** The reports about one collection, as `done/total`. */
const of = (reports: BackupProgress[], phase: BackupProgress["phase"], collection: string) =>
  reports.filter((r) => r.phase === phase && r.collection === collection).map((r) => `${r.done}/${r.total}`);

describe("progress of long backup work", () => {
  let test: TestDatabase;
  let db: Db;
  let dir: string;
  let local: LocalDestination;
  const backupKey = randomBytes(32);
  let manifest: Manifest;
  const made: BackupProgress[] = [];

  before(async () => {
    test = await openTestDatabase("backup_progress");
    db = mongoose.connection.db!;
    dir = await mkdtemp(join(tmpdir(), "niaga-progress-"));
    local = new LocalDestination(join(dir, "backups"));
    await db.collection("orders").insertMany(Array.from({ length: ORDERS }, (_, n) => ({ n })));
    await db.createCollection("empty");
    manifest = await createBackup(db, local, { backupKey, onProgress: (p) => made.push(p) });
  });
  after(async () => {
    await test.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("making one: each part as it starts, and documents per collection every 500 against the estimated count", () => {
    assert.deepEqual(of(made, "database", "orders"), ["0/1234", "500/1234", "1000/1234", "1234/1234"]);
    assert.deepEqual(of(made, "database", "empty"), ["0/0", "0/0"]);
    assert.deepEqual(made.filter((r) => r.collection === undefined).map((r) => r.phase), ["database", "manifest"]);
    assert.ok(made.every((r) => r.destination === "local"));
  });

  it("verifying one: the bytes of each file as its SHA-256 is checked, then documents against the manifest's counts", async () => {
    const reports: BackupProgress[] = [];
    const report = await verifyBackup(local, manifest.id, { backupKey, onProgress: (p) => reports.push(p) });
    assert.equal(report.ok, true);
    const size = manifest.files.find((f) => f.name === DATABASE_FILE)!.size;
    const bytes = reports.filter((r) => r.collection === undefined);
    assert.ok(bytes.length >= 2 && bytes.every((r) => r.phase === "verify" && r.total === size), JSON.stringify(bytes.slice(0, 3)));
    assert.deepEqual([bytes[0]?.done, bytes.at(-1)?.done], [0, size]);
    assert.deepEqual(of(reports, "verify", "orders"), ["0/1234", "500/1234", "1000/1234", "1234/1234"]);
  });

  it("restoring one: documents per collection against the manifest's counts", async () => {
    const reports: BackupProgress[] = [];
    const plan = await restoreBackup(local, manifest.id, { backupKey, into: db, dryRun: true });
    await restoreBackup(local, manifest.id, { backupKey, into: db, dryRun: false, verified: plan.report, onProgress: (p) => reports.push(p) });
    assert.deepEqual(of(reports, "restore", "orders"), ["0/1234", "500/1234", "1000/1234", "1234/1234"]);
    assert.deepEqual(of(reports, "restore", "empty"), ["0/0", "0/0"]);
    assert.equal(reports.filter((r) => r.phase === "verify").length, 0, "the plan's verification is not repeated");
    assert.equal(await db.collection("orders").countDocuments(), ORDERS);
  });
});
