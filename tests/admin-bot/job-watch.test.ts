// Job alerts (admin-bot/job-watch.ts) with a real Agenda on the embedded MongoDB: a job that
// keeps failing, and jobs that nobody runs.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import mongoose from "mongoose";
import { watchJobs, type JobWatch } from "../../admin-bot/job-watch.ts";
import { OwnerAlerts } from "../../admin-bot/owner-alerts.ts";
import { createScheduler, JOBS_COLLECTION, type PlatformScheduler } from "../../bots/scheduler.ts";
import { initI18n } from "../../locales/i18n.ts";
import { OwnerAlertRecord } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { alertText, forgetOwnerAlerts } from "../support/owner-alerts.ts";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const textOf = (outbound: { text: unknown }) => alertText(outbound);

let db: TestDatabase;
let scheduler: PlatformScheduler;
let watch: JobWatch | undefined;

before(async () => {
  await initI18n();
  db = await openTestDatabase("job_watch");
  scheduler = createScheduler({ db: mongoose.connection.db!, processEvery: 100, lockLifetimeMs: 5_000, log: quiet });
});
after(async () => {
  await scheduler.stop({ drainMs: 1_000 });
  await db.close();
});
beforeEach(async () => {
  await watch?.stop();
  await forgetOwnerAlerts();
  await mongoose.connection.db!.collection(JOBS_COLLECTION).deleteMany({});
});

describe("job alerts", () => {
  test("a job that fails three times in a row raises one alert with the count and the error; its next success resolves it", async () => {
    const { outbox, channel } = recordingOutbox({ channel: "owner" });
    const alerts = new OwnerAlerts({ log: quiet, outbox, ownerChatIds: [7], locale: "en" });
    watch = watchJobs({ agenda: scheduler.agenda, jobs: mongoose.connection.db!.collection(JOBS_COLLECTION), alerts, log: quiet });
    let failing = true;
    let runs = 0;
    scheduler.agenda.define("test.flaky-export", async () => {
      runs++;
      if (failing) throw new Error(`export server said 503 (run ${runs})`);
    });
    let completed = 0;
    scheduler.agenda.on("complete:test.flaky-export", () => completed++);
    await scheduler.start();
    const runOnce = async (n: number) => {
      await scheduler.agenda.now("test.flaky-export", {});
      // "complete" comes after "fail" or "success", which the watch hears.
      await eventually(() => completed >= n, `run ${n}`, { timeoutMs: 15_000 });
    };
    await runOnce(1);
    await runOnce(2);
    await alerts.flush();
    assert.equal(channel.sends.length, 0, "two failures are not yet a pattern");
    await runOnce(3);
    await runOnce(4);
    await alerts.flush();
    assert.equal(channel.sends.length, 1, "one alert, however many failures follow");
    assert.match(textOf(channel.sends[0]!.outbounds[0]!), /Platform · Job keeps failing\nScheduled job test\.flaky-export failed 3× in a row: export server said 503 \(run 3\)/);
    const alert = await OwnerAlertRecord.findOne({ key: "job-failing:platform:test.flaky-export" }).lean().exec();
    assert.equal(alert?.count, 2);
    assert.deepEqual(watch.state().failing.map((f) => [f.job, f.count]), [["test.flaky-export", 4]]);

    failing = false;
    await runOnce(5);
    await alerts.flush();
    assert.equal(channel.sends.length, 2);
    assert.match(textOf(channel.sends[1]!.outbounds[0]!), /Job keeps failing: recovered/);
    assert.deepEqual(watch.state().failing, []);
  });

  test("jobs due long ago that nobody runs raise one overdue alert naming them, resolved when none is left", async () => {
    const { outbox, channel } = recordingOutbox({ channel: "owner" });
    const alerts = new OwnerAlerts({ log: quiet, outbox, ownerChatIds: [7], locale: "en" });
    const jobs = mongoose.connection.db!.collection(JOBS_COLLECTION);
    watch = watchJobs({ agenda: scheduler.agenda, jobs, alerts, log: quiet, overdueAfterMs: 5 * 60_000 });
    const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    // Names no instance defines: the scheduler leaves them alone, as it would if it were stuck.
    await scheduler.agenda.schedule(ago(10), "ordering.expire-order-stuck", { orderId: "a" });
    await scheduler.agenda.schedule(ago(12), "ordering.expire-order-stuck", { orderId: "b" });
    await scheduler.agenda.schedule(ago(2), "ordering.snk-reminder-stuck", {});
    await jobs.insertOne({ name: "broadcast.send-running", nextRunAt: ago(30), lockedAt: new Date(), type: "normal", priority: 0, data: {} });

    await watch.check();
    await watch.check();
    await alerts.flush();
    assert.equal(channel.sends.length, 1);
    assert.match(textOf(channel.sends[0]!.outbounds[0]!), /2 scheduled jobs \(ordering\.expire-order-stuck\) have not run 5 minutes after they were due/);
    assert.equal(watch.state().overdue.count, 2);

    await jobs.deleteMany({ name: "ordering.expire-order-stuck" });
    await watch.check();
    await alerts.flush();
    assert.equal(channel.sends.length, 2);
    assert.match(textOf(channel.sends[1]!.outbounds[0]!), /Jobs overdue: recovered/);
  });

  test("an overdue check that gets no answer changes nothing and does not hang", async () => {
    const alerts = new OwnerAlerts({ log: quiet, ownerChatIds: [], locale: "en" });
    const never = { find: () => ({ limit: () => ({ toArray: () => new Promise<never>(() => undefined) }) }) };
    watch = watchJobs({ agenda: scheduler.agenda, jobs: never as never, alerts, log: quiet, checkTimeoutMs: 50 });
    await watch.check();
    assert.equal(watch.state().overdue.checkedAt, undefined);
    assert.equal(await OwnerAlertRecord.countDocuments({}).exec(), 0);
  });
});
