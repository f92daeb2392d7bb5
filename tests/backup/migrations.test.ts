// Restoring a backup made by an older schema: the migrations of storage/backup/migrations.ts
// run as it streams in, the dry run names them, and a gap in the chain refuses the restore.
// Also: a restore handed its dry run's verification does not read the whole backup again.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose from "mongoose";
import type { Db, Document } from "mongodb";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { createBackup } from "../../storage/backup/archive.ts";
import { BackupError } from "../../storage/backup/errors.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import { DATABASE_FILE } from "../../storage/backup/manifest.ts";
import { collectionMigrations, migrationPath, MIGRATIONS, type MigrationStep } from "../../storage/backup/migrations.ts";
import { restoreBackup } from "../../storage/backup/restore.ts";

/** Schema 0 called a customer's name `fullName` and kept `obsolete` drafts; schema 1 calls it `name` and has no drafts. */
const renameFullName: MigrationStep = {
  from: 0,
  to: 1,
  describe: "customers: fullName becomes name; drafts are dropped",
  collections: {
    customers: ({ fullName, ...rest }) => (rest.obsolete ? null : { ...rest, name: fullName }),
  },
};

async function documents(db: Db, name: string): Promise<Document[]> {
  return db.collection(name).find({}, { projection: { _id: 0 } }).sort({ n: 1 }).toArray();
}

/** A local directory that counts how often the database file is read. */
class CountingDestination extends LocalDestination {
  reads = 0;
  override get(id: string, file: string) {
    if (file === DATABASE_FILE) this.reads++;
    return super.get(id, file);
  }
}

describe("restoring a backup of an older schema", () => {
  let test: TestDatabase;
  let db: Db;
  let dir: string;
  let local: CountingDestination;
  const backupKey = randomBytes(32);
  let old = "";

  before(async () => {
    test = await openTestDatabase("backup_migrations");
    db = mongoose.connection.db!;
    dir = await mkdtemp(join(tmpdir(), "niaga-migrations-"));
    local = new CountingDestination(join(dir, "backups"));
    await db.collection("customers").insertMany([
      { n: 1, fullName: "Siti Rahma" },
      { n: 2, fullName: "Budi Santoso" },
      { n: 3, fullName: "draft", obsolete: true },
    ]);
    await db.collection("customers").createIndex({ fullName: 1 }, { name: "by_full_name" });
    await db.collection("notes").insertOne({ n: 1, fullName: "not a customer: left alone" });
    old = (await createBackup(db, local, { backupKey, schemaVersion: 0 })).id;
  });
  after(async () => {
    await test.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("the dry run names the migrations that will run and changes nothing", async () => {
    const plan = await restoreBackup(local, old, { backupKey, into: db, dryRun: true, migrations: [renameFullName] });
    assert.equal(plan.manifest.schemaVersion, 0);
    assert.deepEqual(plan.migrations, [{ from: 0, to: 1, describe: "customers: fullName becomes name; drafts are dropped" }]);
    assert.equal((await documents(db, "customers"))[0]?.fullName, "Siti Rahma");
  });

  it("the restored documents are migrated; other collections and the indexes come back as they were", async () => {
    await db.collection("customers").deleteMany({});
    await restoreBackup(local, old, { backupKey, into: db, dryRun: false, migrations: [renameFullName] });
    assert.deepEqual(await documents(db, "customers"), [
      { n: 1, name: "Siti Rahma" },
      { n: 2, name: "Budi Santoso" },
    ]);
    assert.deepEqual(await documents(db, "notes"), [{ n: 1, fullName: "not a customer: left alone" }]);
    const indexes = (await db.collection("customers").listIndexes().toArray()).map((ix) => ix.name);
    assert.ok(indexes.includes("by_full_name"), indexes.join(", "));
  });

  it("with no migration from the backup's schema (the app's registry has none from 0), it refuses and changes nothing", async () => {
    await db.collection("customers").insertOne({ n: 9, name: "after the restore" });
    const before = await documents(db, "customers");
    const reads = local.reads;
    await assert.rejects(restoreBackup(local, old, { backupKey, into: db, dryRun: false }), (err: unknown) => {
      assert.ok(err instanceof BackupError, String(err));
      assert.equal(err.reason, "no_migration");
      assert.equal(err.params.version, 0);
      assert.match(err.message, new RegExp(`${old} has schema 0, and this version of Niaga \\(schema 1\\) has no migration from schema 0 to 1`));
      return true;
    });
    assert.equal(MIGRATIONS.length, 0);
    assert.equal(local.reads, reads, "refused before reading the database file");
    assert.deepEqual(await documents(db, "customers"), before);
  });

  it("a chain runs its steps in order and stops at its first gap", () => {
    const step = (from: number, field: string): MigrationStep => ({
      from,
      to: from + 1,
      describe: `add ${field}`,
      collections: { things: (doc) => ({ ...doc, trail: [...(doc.trail as string[]), field] }) },
    });
    const chain = [step(2, "c"), step(0, "a"), step(1, "b")];
    const path = migrationPath("b1", 0, 3, chain);
    assert.deepEqual(path.map((s) => s.from), [0, 1, 2]);
    assert.deepEqual(collectionMigrations(path)("things")?.({ trail: [] }), { trail: ["a", "b", "c"] });
    assert.equal(collectionMigrations(path)("others"), undefined);
    assert.throws(() => migrationPath("b1", 0, 3, [step(0, "a"), step(2, "c")]), (err: unknown) => err instanceof BackupError && err.reason === "no_migration" && err.params.version === 1);
    assert.deepEqual(migrationPath("b1", 3, 3, []), []);
  });
});

describe("a restore handed its dry run's verification", () => {
  let test: TestDatabase;
  let db: Db;
  let dir: string;
  const backupKey = randomBytes(32);

  before(async () => {
    test = await openTestDatabase("backup_verified_once");
    db = mongoose.connection.db!;
    dir = await mkdtemp(join(tmpdir(), "niaga-verified-"));
    await db.collection("orders").insertMany([{ n: 1 }, { n: 2 }]);
  });
  after(async () => {
    await test.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the database file once more (to restore it), not three times; a report of another backup is not trusted", async () => {
    const local = new CountingDestination(join(dir, "backups"));
    const { id } = await createBackup(db, local, { backupKey });
    const other = await createBackup(db, local, { backupKey });
    const plan = await restoreBackup(local, id, { backupKey, into: db, dryRun: true });
    assert.equal(plan.report.ok, true);
    assert.equal(local.reads, 2, "the dry run checks the SHA-256, then decrypts and counts");

    await restoreBackup(local, id, { backupKey, into: db, dryRun: false, verified: plan.report });
    assert.equal(local.reads, 3, "the restore itself, which checks the SHA-256 again on the way");

    const otherPlan = await restoreBackup(local, other.id, { backupKey, into: db, dryRun: true });
    local.reads = 0;
    await restoreBackup(local, id, { backupKey, into: db, dryRun: false, verified: otherPlan.report });
    assert.equal(local.reads, 3, "verified again, then restored");
    assert.deepEqual(await documents(db, "orders"), [{ n: 1 }, { n: 2 }]);
  });
});
