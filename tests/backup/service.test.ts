// The backups service (storage/backup/service.ts) on the embedded MongoDB, a local directory and a
// real S3-compatible server (s3rver): copies to both destinations, an offsite outage retried and
// alerted with the local copy kept, one run at a time, verification and its alerts, retention, and
// the age check — alerts through the real OwnerAlerts, stored in owner_alerts.
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose from "mongoose";
import type { Db } from "mongodb";
import { OwnerAlerts } from "../../admin-bot/owner-alerts.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import { DATABASE_FILE } from "../../storage/backup/manifest.ts";
import { keptByPolicy } from "../../storage/backup/retention.ts";
import { S3Destination } from "../../storage/backup/s3-destination.ts";
import { BackupBusy, BackupService, type BackupServiceOptions } from "../../storage/backup/service.ts";
import { createMongoLeases } from "../../storage/leases.ts";
import { OwnerAlertRecord } from "../../storage/models/index.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { forgetOwnerAlerts } from "../support/owner-alerts.ts";
import { startS3Server, type TestS3Server } from "../support/s3-server.ts";
import { seedStore, SMALL_CATALOGUE } from "../support/stores.ts";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const backupKey = randomBytes(32);

let testDb: TestDatabase;
let db: Db;
let s3: TestS3Server;
let dir: string;
let prefixes = 0;
let alerts: OwnerAlerts;

before(async () => {
  await initI18n();
  testDb = await openTestDatabase("backup_service");
  db = mongoose.connection.db!;
  s3 = await startS3Server();
  dir = await mkdtemp(join(tmpdir(), "niaga-backup-service-"));
  await seedStore({ name: "Toko Melati", products: SMALL_CATALOGUE, members: { "owner-1": "owner" } });
});
after(async () => {
  await s3?.stop();
  await testDb?.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await forgetOwnerAlerts();
  await db.collection("backup_records").deleteMany({});
  alerts = new OwnerAlerts({ log: quiet, ownerChatIds: [], locale: "en" });
});

function offsite(endpoint = s3.endpoint): S3Destination {
  return new S3Destination({ endpoint, bucket: s3.bucket, region: s3.region, ...s3.credentials, forcePathStyle: true, prefix: `svc-${++prefixes}/`, connectTimeoutMs: 2_000 });
}

function service(options: Partial<BackupServiceOptions> = {}): BackupService {
  return new BackupService({
    db,
    backupKey,
    local: new LocalDestination(join(dir, `local-${++prefixes}`)),
    offsite: offsite(),
    leases: createMongoLeases(),
    alerts,
    log: quiet,
    uploadRetryDelaysMs: [10, 10],
    ...options,
  });
}

async function openAlerts(kind: string) {
  const open = await OwnerAlertRecord.find({ kind, state: "open" }).lean().exec();
  return open.map((a) => ({ key: a.key, message: t("en", a.message!.key, a.message!.params ?? {}) }));
}

describe("the backups service", () => {
  test("a backup goes to the local directory and offsite, each copy read back; the list shows both", async () => {
    const backups = service();
    const phases = new Set<string>();
    const made = await backups.create({ trigger: "cli", by: "test", onProgress: (p) => phases.add(`${p.phase}${p.destination ? `:${p.destination}` : ""}`) });
    assert.equal(made.destinations.local?.state, "stored");
    assert.equal(made.destinations.offsite?.state, "stored");
    assert.ok(made.documents! > 0 && made.size > 0);
    for (const phase of ["database:local", "manifest:local", "upload:offsite", "verify:offsite"]) assert.ok(phases.has(phase), `${phase} in ${[...phases].join(", ")}`);
    for (const destination of backups.destinations) {
      const ids = (await destination.list()).map((b) => b.id);
      assert.deepEqual(ids, [made.id], destination.name);
    }
    const [listed] = await backups.list();
    assert.equal(listed?.id, made.id);
    assert.deepEqual(Object.keys(listed!.destinations).sort(), ["local", "offsite"]);
    assert.equal(listed?.trigger, "cli");
  });

  test("an offsite outage is retried, then alerted naming offsite; the local copy stays and pruning keeps it", async () => {
    // A port nobody listens on: every attempt is refused.
    const backups = service({ offsite: offsite("http://127.0.0.1:9"), retention: { daily: 0, weekly: 0, monthly: 0 } });
    const made = await backups.create({ trigger: "schedule" });
    assert.equal(made.destinations.local?.state, "stored");
    assert.equal(made.destinations.offsite?.state, "failed");
    assert.ok(made.destinations.offsite?.error);
    const [failed] = await openAlerts("backup-failed");
    assert.equal(failed?.key, "backup-failed:platform:offsite");
    assert.match(failed!.message, new RegExp(`Backup ${made.id} could not be stored in s3://`));

    const pruned = await backups.prune();
    assert.deepEqual(pruned.removed, {});
    assert.deepEqual(pruned.kept, [{ id: made.id, destination: "local", why: "offsite-unverified" }]);
    assert.deepEqual((await backups.destinations[0]!.list()).map((b) => b.id), [made.id]);
  });

  test("two runs at once: the second is refused as busy, and nothing is half made", async () => {
    const backups = service();
    const other = service({ local: backups.destinations[0] as LocalDestination });
    const results = await Promise.allSettled([backups.create({ trigger: "cli" }), other.create({ trigger: "owner-bot" })]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.ok(refused.reason instanceof BackupBusy, String(refused.reason));
    assert.equal((await backups.list()).length, 1);
  });

  test("verification reads every copy back, restores it into a scratch database, and alerts about the one that is corrupt", async () => {
    const scratchUri = testDb.uri.replace(/\/([^/?]+)(\?|$)/, "/$1_scratch$2");
    const backups = service({ scratchUri });
    const made = await backups.create({ trigger: "cli" });
    const first = await backups.verify();
    assert.equal(first.id, made.id);
    assert.equal(first.ok, true, JSON.stringify(first));
    const [listed] = await backups.list();
    assert.equal(listed?.destinations.local?.state, "verified");
    assert.equal(listed?.destinations.offsite?.state, "verified");
    assert.ok(listed?.destinations.offsite?.verifiedAt);

    // The local copy is cut short, as by a full disk.
    const local = backups.destinations[0] as LocalDestination;
    await truncate(join(local.describe, made.id, DATABASE_FILE), 100);
    const second = await backups.verify(made.id);
    assert.equal(second.ok, false);
    assert.equal(second.destinations.local?.ok, false);
    assert.equal(second.destinations.local?.problems[0]?.reason, "truncated");
    assert.equal(second.destinations.offsite?.ok, true);
    const [corrupt] = await openAlerts("backup-corrupt");
    assert.equal(corrupt?.key, "backup-corrupt:platform:local");
    assert.match(corrupt!.message, /did not verify: .*truncated/);
    assert.equal((await backups.list())[0]?.destinations.local?.state, "failed");

    // Gone from offsite: missing, and alerted too.
    await backups.destinations[1]!.remove(made.id);
    const third = await backups.verify(made.id);
    assert.equal(third.destinations.offsite?.problems[0]?.reason, "missing");
    assert.ok((await openAlerts("backup-corrupt")).some((a) => a.key === "backup-corrupt:platform:offsite"));
  });

  test("the age check alerts when no verified backup is recent, and resolves once one is", async () => {
    const backups = service({ maxAgeHours: 1 });
    await backups.check();
    const [missing] = await openAlerts("backup-missing");
    assert.match(missing!.message, /No verified backup is newer than 1 hours \(newest verified: -\)/);
    const made = await backups.create({ trigger: "cli" });
    await backups.check();
    assert.equal((await openAlerts("backup-missing")).length, 1, "made but not verified yet");
    await backups.verify(made.id, { scratch: false });
    await backups.check();
    assert.equal((await openAlerts("backup-missing")).length, 0);
  });

  test("pruning keeps what the policy says in each destination, and never the newest verified backup", async () => {
    let now = new Date("2026-11-01T03:00:00Z");
    const backups = service({ now: () => now, retention: { daily: 2, weekly: 0, monthly: 0 }, timeZone: "Asia/Jakarta" });
    const made: string[] = [];
    for (let day = 0; day < 4; day++) {
      now = new Date(Date.UTC(2026, 10, 1 + day, 3));
      made.push((await backups.create({ trigger: "schedule" })).id);
    }
    // Only the oldest is verified: it is the newest verified one, so it stays.
    await backups.verify(made[0], { scratch: false });
    const pruned = await backups.prune();
    assert.deepEqual(pruned.removed.local, [made[1]]);
    assert.deepEqual(pruned.removed.offsite, [made[1]]);
    assert.ok(pruned.kept.some((k) => k.id === made[0] && k.why === "newest-verified"));
    for (const destination of backups.destinations) {
      assert.deepEqual((await destination.list()).map((b) => b.id).sort(), [made[0], made[2], made[3]].sort(), destination.name);
    }
    assert.deepEqual((await backups.list()).map((b) => b.id), [made[3], made[2], made[0]]);
  });

  test("the scheduled run makes, verifies and prunes in one go; the backups' own records are not in the backup", async () => {
    const backups = service({ maxAgeHours: 24 });
    await db.collection("backup_records").insertOne({ _id: "marker" as never, createdAt: new Date(), destinations: {} });
    const result = await backups.runScheduled();
    assert.ok(result.created, "made");
    assert.equal(result.verified?.ok, true);
    assert.deepEqual(result.pruned?.removed, {});
    assert.equal((await openAlerts("backup-missing")).length, 0);
    const plan = await backups.plan(result.created.id);
    assert.ok(!plan.collections.some((c) => c.name === "backup_records"), "backup_records is not backed up");
    assert.ok(plan.collections.some((c) => c.name === "tenants"));
  });

  test("a restore reads from offsite when the local copy is gone, or when told to", async () => {
    const backups = service();
    const made = await backups.create({ trigger: "cli" });
    await backups.destinations[0]!.remove(made.id);
    const into = mongoose.connection.getClient().db(`${db.databaseName}_restored`);
    try {
      const plan = await backups.restore(made.id, { into });
      assert.equal(plan.id, made.id);
      assert.equal(await into.collection("tenants").countDocuments({}), await db.collection("tenants").countDocuments({}));
      await assert.rejects(backups.plan(made.id, { from: "local", into }), /missing|not at/);
    } finally {
      await into.dropDatabase();
    }
  });
});

describe("retention", () => {
  const at = (iso: string, n: number) => ({ id: `b${n}`, createdAt: new Date(iso) });
  test("keeps the newest of each of the last N days, ISO weeks and months, in the time zone given", () => {
    const backups = [
      at("2026-12-02T20:00:00Z", 1), // 3 Dec in Jakarta
      at("2026-12-02T10:00:00Z", 2), // 2 Dec
      at("2026-12-02T01:00:00Z", 3), // 2 Dec, older
      at("2026-11-30T10:00:00Z", 4), // Monday of week 49
      at("2026-11-29T10:00:00Z", 5), // Sunday of week 48
      at("2026-10-15T10:00:00Z", 6),
      at("2026-09-15T10:00:00Z", 7),
    ];
    assert.deepEqual([...keptByPolicy(backups, { daily: 2, weekly: 0, monthly: 0 }, "Asia/Jakarta")].sort(), ["b1", "b2"]);
    assert.deepEqual([...keptByPolicy(backups, { daily: 2, weekly: 0, monthly: 0 }, "UTC")].sort(), ["b1", "b4"]);
    assert.deepEqual([...keptByPolicy(backups, { daily: 0, weekly: 2, monthly: 0 }, "Asia/Jakarta")].sort(), ["b1", "b5"]);
    assert.deepEqual([...keptByPolicy(backups, { daily: 0, weekly: 0, monthly: 3 }, "Asia/Jakarta")].sort(), ["b1", "b4", "b6"]);
    assert.deepEqual(keptByPolicy(backups, { daily: 0, weekly: 0, monthly: 0 }, "UTC").size, 0);
  });
});


