// Scheduled starts on a real Agenda over the test database: one `broadcast-start` job per
// broadcast, moved when rescheduled, removed when cancelled, and the job fixing the ledger
// at its time with no runner polling.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mongoose from "mongoose";
import { configureLogging } from "../../bots/logger.ts";
import { createScheduler, JOBS_COLLECTION, type PlatformScheduler } from "../../bots/scheduler.ts";
import { BROADCAST_JOBS, createBroadcasting, defineBroadcastJobs } from "../../flows/broadcast/index.ts";
import { BroadcastRecipient } from "../../flows/broadcast/broadcast-model.ts";
import { seedCustomers } from "../support/broadcast-audience.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { seedStore } from "../support/stores.ts";

configureLogging({ level: "error" });

let db: TestDatabase;
let scheduler: PlatformScheduler;
before(async () => {
  db = await openTestDatabase("broadcast_jobs");
  scheduler = createScheduler({ db: mongoose.connection.db!, processEvery: 150, lockLifetimeMs: 2_000, name: "broadcast-jobs" });
});
after(async () => {
  await scheduler.stop();
  await db.close();
});

const seller = { channel: "telegram", userId: "owner-1" };
const jobsOf = (broadcastId: string) => mongoose.connection.db!.collection(JOBS_COLLECTION).find({ name: BROADCAST_JOBS.start, "data.broadcastId": broadcastId }).toArray();

describe("scheduled starts", () => {
  test("one job per broadcast: scheduling sets it, rescheduling moves it, cancelling removes it", async () => {
    const store = await seedStore();
    await seedCustomers(store, 2);
    const { outbox } = recordingOutbox();
    const broadcasting = createBroadcasting({ outbox, agenda: scheduler.agenda });
    const saved = await broadcasting.saveDraft(store.tenantId, seller, { content: { text: "Besok promo", buttons: [] }, audience: { kind: "all" } });
    assert.ok(saved.ok);
    const at = new Date(Date.now() + 3_600_000);
    assert.ok((await broadcasting.schedule(store.tenantId, saved.broadcast.number, seller, { at })).ok);
    let jobs = await jobsOf(saved.broadcast.id);
    assert.equal(jobs.length, 1);
    assert.equal((jobs[0].nextRunAt as Date).getTime(), at.getTime());
    assert.deepEqual(jobs[0].data, { tenantId: store.tenantId, broadcastId: saved.broadcast.id });
    const later = new Date(at.getTime() + 7_200_000);
    assert.ok((await broadcasting.schedule(store.tenantId, saved.broadcast.number, seller, { at: later })).ok);
    jobs = await jobsOf(saved.broadcast.id);
    assert.equal(jobs.length, 1, "moved, not added");
    assert.equal((jobs[0].nextRunAt as Date).getTime(), later.getTime());
    assert.ok((await broadcasting.cancel(store.tenantId, saved.broadcast.number, seller)).ok);
    assert.equal((await jobsOf(saved.broadcast.id)).length, 0);
  });

  test("at its time the job fixes the ledger and the broadcast is sending, with no runner looking", async () => {
    const store = await seedStore();
    await seedCustomers(store, 5);
    const { outbox } = recordingOutbox();
    const broadcasting = createBroadcasting({ outbox, agenda: scheduler.agenda });
    defineBroadcastJobs(scheduler.agenda, broadcasting);
    await scheduler.start();
    const saved = await broadcasting.saveDraft(store.tenantId, seller, { content: { text: "Sebentar lagi", buttons: [] }, audience: { kind: "all" } });
    assert.ok(saved.ok);
    assert.ok((await broadcasting.schedule(store.tenantId, saved.broadcast.number, seller, { at: new Date(Date.now() + 1500) })).ok);
    assert.equal((await broadcasting.get(store.tenantId, saved.broadcast.number))?.status, "scheduled");
    const started = await eventually(async () => {
      const view = await broadcasting.get(store.tenantId, saved.broadcast.number);
      return view?.status === "sending" && view;
    }, "the scheduled start", { timeoutMs: 20_000 });
    assert.equal(started.counts?.total, 5);
    assert.equal(await BroadcastRecipient.countDocuments({ tenantId: store.tenant, broadcastId: saved.broadcast.id, state: "queued" }), 5);
  });
});
