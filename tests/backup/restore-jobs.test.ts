// Scheduled jobs after a restore, with the real scheduler (Agenda on the embedded MongoDB): the
// backup job was running, so locked, when its own backup was made; restored, it runs again as
// soon as the scheduler starts, not once its lock lapses (LOCK_MS after the backup).
//
// Agenda re-checks a running job's lock on a timer of half the lock lifetime that it never
// clears, so the file's process lingers that long after the last test: LOCK_MS is the shortest
// lifetime that still lies well past the wait for the run (WAIT_MS).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose from "mongoose";
import type { Db } from "mongodb";
import { createScheduler, JOBS_COLLECTION } from "../../bots/scheduler.ts";
import { createBackup } from "../../storage/backup/archive.ts";
import { releaseJobLock } from "../../storage/backup/job-locks.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import type { Manifest } from "../../storage/backup/manifest.ts";
import { restoreBackup } from "../../storage/backup/restore.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

const JOB = "nightly-backup";
const LOCK_MS = 20_000;
const WAIT_MS = 8_000;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe("a restore releases the locks of jobs that were running when the backup was made", () => {
  let test: TestDatabase;
  let db: Db;
  let dir: string;
  let local: LocalDestination;
  const backupKey = randomBytes(32);
  let manifest: Manifest;

  before(async () => {
    test = await openTestDatabase("backup_jobs");
    db = mongoose.connection.db!;
    dir = await mkdtemp(join(tmpdir(), "niaga-backup-jobs-"));
    local = new LocalDestination(join(dir, "backups"));

    // The platform's daily backup job, running: the backup it makes holds the job locked.
    const first = createScheduler({ db, processEvery: 100, lockLifetimeMs: LOCK_MS, name: "before", log: quiet });
    let made: Manifest | undefined;
    first.agenda.define(JOB, async () => {
      made ??= await createBackup(db, local, { backupKey });
    });
    await first.start();
    await first.agenda.every("1 day", JOB);
    await eventually(() => made, "the scheduled backup");
    await first.stop();
    manifest = made!;
  });
  after(async () => {
    await test.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("the backup holds the job locked", async () => {
    await restoreBackup(local, manifest.id, { backupKey, into: db, dryRun: false });
    const job = await db.collection(JOBS_COLLECTION).findOne({ name: JOB });
    assert.ok(job?.lockedAt instanceof Date, "restored as it was, without jobsCollection");
    assert.ok(job.nextRunAt > new Date(), "next run tomorrow");
  });

  it("restored with the jobs collection named, the job is unlocked and runs at once under a new scheduler", async () => {
    await restoreBackup(local, manifest.id, { backupKey, into: db, dryRun: false, jobsCollection: JOBS_COLLECTION });
    const job = await db.collection(JOBS_COLLECTION).findOne({ name: JOB });
    assert.ok(job, "the job is restored");
    assert.equal(job.lockedAt, undefined);
    assert.ok(job.nextRunAt <= new Date(), "due now");

    const second = createScheduler({ db, processEvery: 100, lockLifetimeMs: LOCK_MS, name: "after", log: quiet });
    let runs = 0;
    second.agenda.define(JOB, async () => {
      runs++;
    });
    await second.start();
    try {
      await eventually(() => runs === 1, "the restored backup job to run (its old lock would hold for 20 s)", { timeoutMs: WAIT_MS });
      const after = await eventually(async () => {
        const doc = await db.collection(JOBS_COLLECTION).findOne({ name: JOB });
        return doc && doc.lockedAt == null && runs === 1 ? doc : undefined;
      }, "the run to finish");
      assert.ok(after.nextRunAt > new Date(), "and is scheduled for tomorrow again");
    } finally {
      await second.stop();
    }
  });

  it("releasing a lock: due when it was locked, or earlier if it already was; unlocked jobs are left alone", () => {
    const lockedAt = new Date("2026-12-02T01:00:00Z");
    const earlier = new Date("2026-12-02T00:59:00Z");
    const tomorrow = new Date("2026-12-03T01:00:00Z");
    assert.deepEqual(releaseJobLock({ name: "a", lockedAt, nextRunAt: tomorrow }), { name: "a", nextRunAt: lockedAt });
    assert.deepEqual(releaseJobLock({ name: "b", lockedAt, nextRunAt: null }), { name: "b", nextRunAt: lockedAt });
    assert.deepEqual(releaseJobLock({ name: "c", lockedAt, nextRunAt: earlier }), { name: "c", nextRunAt: earlier });
    const free = { name: "d", nextRunAt: tomorrow };
    assert.equal(releaseJobLock(free), free);
    assert.deepEqual(releaseJobLock({ name: "e", lockedAt: null, nextRunAt: tomorrow }), { name: "e", nextRunAt: tomorrow });
  });
});
