// The SLA watch with a real Agenda on the test database and a clock the test moves: a
// normal ticket nobody answers becomes high at 80 % of its first-response target and
// critical at 90 %, the owner and admins hear each once, and the breach at 100 % is
// recorded once — with the platform restarted between the stages.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mongoose from "mongoose";
import { configureLogging } from "../../bots/logger.ts";
import { createScheduler, JOBS_COLLECTION, type PlatformScheduler } from "../../bots/scheduler.ts";
import { createTicketing, defineTicketJobs, setSlaTargets, slaJobTimers, TICKET_JOBS, type Ticketing, type TicketView } from "../../flows/ticketing/index.ts";
import { AuditLog, Tenant } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { seedStore, type SeededStore } from "../support/stores.ts";

// The scheduler logs its starts at info; the test report needs only problems.
configureLogging({ level: "error" });

let db: TestDatabase;
let store: SeededStore;
before(async () => {
  db = await openTestDatabase("ticketing_sla");
  store = await seedStore({ name: "Toko SLA", members: { "owner-1": "owner", "admin-1": "admin", "staff-1": "staff" }, memberChannel: "telegram" });
});
after(async () => {
  await db.close();
});

const MINUTE = 60_000;
let now = new Date();
const clock = () => now;
const advanceTo = (from: Date, minutes: number) => {
  now = new Date(from.getTime() + minutes * MINUTE);
};

const jobs = () => mongoose.connection.db!.collection(JOBS_COLLECTION);
const jobsOf = (ticket: TicketView) => jobs().find({ name: TICKET_JOBS.slaCheck, "data.ticketId": ticket.id }).sort({ "data.stage": 1 }).toArray();
/** The checks that are due by the test's clock run now: the real wait, skipped. */
const bringDueChecksForward = (ticket: TicketView) =>
  jobs().updateMany({ name: TICKET_JOBS.slaCheck, "data.ticketId": ticket.id, nextRunAt: { $lte: now } }, { $set: { nextRunAt: new Date() } });

interface Instance {
  scheduler: PlatformScheduler;
  tickets: Ticketing;
  outbox: RecordingOutbox;
}

const instances: Instance[] = [];
async function startInstance(name: string): Promise<Instance> {
  const scheduler = createScheduler({ db: mongoose.connection.db!, processEvery: 150, lockLifetimeMs: 2_000, name });
  const outbox = new RecordingOutbox();
  const tickets = createTicketing({ outbox, clock, sla: slaJobTimers(scheduler.agenda) });
  defineTicketJobs(scheduler.agenda, tickets);
  await scheduler.start();
  const instance = { scheduler, tickets, outbox };
  instances.push(instance);
  return instance;
}
after(async () => {
  for (const instance of instances) await instance.scheduler.stop();
});

/** Every alert of `key` about ticket `number`, across every instance that ever ran. */
const alerts = (key: string, number: number) => instances.flatMap((i) => i.outbox.withKey(key)).filter((m) => m.message.text.params?.number === number);
const ticketNow = async (number: number) => (await instances.at(-1)!.tickets.get(store.tenantId, number))!;

let customers = 0;
const customer = () => ({ channel: "telegram", chatId: `sla-${++customers}`, userId: `sla-${customers}`, locale: "id" as const });
const member = { channel: "telegram", userId: "staff-1" };

describe("a ticket nobody answers", () => {
  test("is raised to high at 80 % and to critical at 90 % of its first-response target, once each, across restarts; the breach at 100 % is recorded once", { timeout: 90_000 }, async () => {
    now = new Date();
    const first = await startInstance("sla-a");
    const opened = await first.tickets.open({ tenantId: store.tenantId, customer: customer(), category: "order", text: "Belum sampai" });
    const scheduled = await jobsOf(opened);
    assert.deepEqual(
      scheduled.map((j) => [j.data.target, j.data.stage, (j.nextRunAt.getTime() - opened.openedAt.getTime()) / MINUTE]),
      [
        ["first-response", 80, 192],
        ["first-response", 90, 216],
        ["first-response", 100, 240],
      ],
      "checks at 80, 90 and 100 % of the 240-minute target",
    );
    // Scheduling again (a retried request) keeps one job per stage.
    await slaJobTimers(first.scheduler.agenda).schedule({ tenantId: store.tenantId, ticketId: opened.id, round: 0, target: "first-response", stages: [{ stage: 80, at: scheduled[0]!.nextRunAt }] });
    assert.equal((await jobsOf(opened)).length, 3);

    // The platform stops; 80 % of the target passes while it is down; a new instance takes over.
    await first.scheduler.stop();
    advanceTo(opened.openedAt, 193);
    const second = await startInstance("sla-b");
    await bringDueChecksForward(opened);
    await eventually(async () => (await ticketNow(opened.number)).priority === "high", "raised to high at 80 %");
    await eventually(async () => alerts("tickets.alert.escalated", opened.number).length === 2, "the owner and the admin are told");
    assert.deepEqual(alerts("tickets.alert.escalated", opened.number).map((m) => m.to.chatId).sort(), ["admin-1", "owner-1"], "not the staff");
    // Agenda removes a finished job after its handler returns, so after the alerts.
    await eventually(async () => (await jobsOf(opened)).map((j) => j.data.stage).join() === "90,100", "the finished check to be gone");

    // The same check again (a second instance, a retry): nothing more happens.
    assert.equal(await second.tickets.checkSla({ tenantId: store.tenantId, ticketId: opened.id, target: "first-response", stage: 80, round: 0 }), "unchanged");

    // Another restart; 90 % passes.
    await second.scheduler.stop();
    advanceTo(opened.openedAt, 217);
    const third = await startInstance("sla-c");
    await bringDueChecksForward(opened);
    await eventually(async () => (await ticketNow(opened.number)).priority === "critical", "raised to critical at 90 %");
    await eventually(async () => alerts("tickets.alert.escalated", opened.number).length === 4, "told again");
    const escalated = await ticketNow(opened.number);
    assert.deepEqual(
      escalated.escalations.map((e) => [e.target, e.stage, e.from, e.to]),
      [
        ["first-response", 80, "normal", "high"],
        ["first-response", 90, "high", "critical"],
      ],
    );
    assert.equal(escalated.firstResponseDueAt?.getTime(), opened.firstResponseDueAt?.getTime(), "a raise keeps the promised due time");
    const lastAlert = alerts("tickets.alert.escalated", opened.number).at(-1)!.message.text.params!;
    assert.equal(lastAlert.from, "Tinggi");
    assert.equal(lastAlert.to, "Kritis");
    assert.equal(lastAlert.stage, 90);
    assert.deepEqual(alerts("tickets.alert.escalated", opened.number).at(-1)!.message.choices?.map((c) => c.id), [`cmd:tiket:${opened.number}`], "a button opens the ticket");

    // 100 %: a breach, once, even when the check runs twice at once.
    advanceTo(opened.openedAt, 241);
    await bringDueChecksForward(opened);
    await eventually(async () => (await ticketNow(opened.number)).breaches.length === 1, "the breach is recorded");
    const again = await Promise.all([0, 1].map(() => third.tickets.checkSla({ tenantId: store.tenantId, ticketId: opened.id, target: "first-response", stage: 100, round: 0 })));
    assert.deepEqual(again, ["done", "done"]);
    assert.deepEqual((await ticketNow(opened.number)).breaches.map((b) => b.target), ["first-response"]);
    await eventually(async () => alerts("tickets.alert.breached", opened.number).length === 2, "the owner and admin hear of the breach");
    assert.equal(alerts("tickets.alert.escalated", opened.number).length, 4, "no escalation was told twice");
    const audit = await AuditLog.find({ tenantId: store.tenant, "target.id": String(opened.number), "actor.userId": "sla" }).lean().exec();
    assert.deepEqual(audit.map((a) => a.action).sort(), ["escalate", "escalate", "breach"].map((v) => `ticket${"."}${v}`).sort());
    await eventually(async () => (await jobsOf(opened)).length === 0, "every check to be gone");
    await third.scheduler.stop();
  });
});

describe("the SLA checks follow the ticket", () => {
  test("a check before its time does nothing; the first answer moves the watch to the resolution target; closing drops it", async () => {
    now = new Date();
    const { tickets, scheduler } = await startInstance("sla-d");
    await scheduler.stop();
    const opened = await tickets.open({ tenantId: store.tenantId, customer: customer(), category: "other", text: "Halo" });
    assert.equal(await tickets.checkSla({ tenantId: store.tenantId, ticketId: opened.id, target: "first-response", stage: 80, round: 0 }), "not_yet");
    advanceTo(opened.openedAt, 100);
    assert.ok((await tickets.staffReply(store.tenantId, opened.number, member, "Halo, ada yang bisa dibantu?")).ok);
    assert.deepEqual(
      (await jobsOf(opened)).map((j) => [j.data.target, j.data.stage, (j.nextRunAt.getTime() - opened.openedAt.getTime()) / MINUTE]),
      [
        ["resolution", 80, 2304],
        ["resolution", 90, 2592],
        ["resolution", 100, 2880],
      ],
    );
    advanceTo(opened.openedAt, 250);
    assert.equal(await tickets.checkSla({ tenantId: store.tenantId, ticketId: opened.id, target: "first-response", stage: 100, round: 0 }), "stale", "answered in time: no breach");
    assert.ok((await tickets.close(store.tenantId, opened.number, member, "Selesai")).ok);
    assert.equal((await jobsOf(opened)).length, 0);
    advanceTo(opened.openedAt, 3000);
    assert.equal(await tickets.checkSla({ tenantId: store.tenantId, ticketId: opened.id, target: "resolution", stage: 100, round: 0 }), "done");
    assert.deepEqual((await ticketNow(opened.number)).breaches, []);
  });

  test("re-prioritising measures from the change with the new targets; the old round's checks do nothing; a high ticket is not raised at 80 %", async () => {
    now = new Date();
    const { tickets, scheduler } = await startInstance("sla-e");
    await scheduler.stop();
    const opened = await tickets.open({ tenantId: store.tenantId, customer: customer(), category: "payment", text: "Transfer belum dicek" });
    advanceTo(opened.openedAt, 30);
    const changedAt = now;
    const raised = await tickets.setPriority(store.tenantId, opened.number, member, "high");
    assert.ok(raised.ok);
    const scheduled = await jobsOf(opened);
    assert.deepEqual(scheduled.map((j) => [j.data.stage, j.data.round, (j.nextRunAt.getTime() - changedAt.getTime()) / MINUTE]), [
      [80, 1, 48],
      [90, 1, 54],
      [100, 1, 60],
    ]);
    advanceTo(changedAt, 49);
    assert.equal(await tickets.checkSla({ tenantId: store.tenantId, ticketId: opened.id, target: "first-response", stage: 80, round: 0 }), "stale");
    assert.equal(await tickets.checkSla({ tenantId: store.tenantId, ticketId: opened.id, target: "first-response", stage: 80, round: 1 }), "unchanged");
    advanceTo(changedAt, 55);
    assert.equal(await tickets.checkSla({ tenantId: store.tenantId, ticketId: opened.id, target: "first-response", stage: 90, round: 1 }), "escalated");
    assert.equal((await ticketNow(opened.number)).priority, "critical");
  });
});

describe("a store's own SLA targets", () => {
  test("are validated, audited, and used for new tickets", async () => {
    now = new Date();
    const own = await seedStore({ name: "Toko Cepat" });
    const actor = { channel: "telegram", userId: "owner-9" };
    const targets = {
      normal: { firstResponseMinutes: 60, resolutionMinutes: 600 },
      high: { firstResponseMinutes: 30, resolutionMinutes: 300 },
      critical: { firstResponseMinutes: 10, resolutionMinutes: 60 },
    };
    assert.equal((await setSlaTargets(own.tenantId, { ...targets, normal: { firstResponseMinutes: 0, resolutionMinutes: 10 } }, actor)).ok, false);
    assert.equal((await setSlaTargets(own.tenantId, { ...targets, high: { firstResponseMinutes: 400, resolutionMinutes: 300 } }, actor)).ok, false, "a first response due after the resolution");
    assert.deepEqual(await setSlaTargets(own.tenantId, targets, actor), { ok: true, targets });
    const saved = await Tenant.findById(own.tenant).lean().exec();
    assert.deepEqual(saved?.settings?.tickets?.sla?.normal, { firstResponseMinutes: 60, resolutionMinutes: 600 });
    assert.equal(await AuditLog.countDocuments({ tenantId: own.tenant, action: `settings${"."}sla` }).exec(), 1);
    const tickets = createTicketing({ outbox: new RecordingOutbox(), clock });
    const opened = await tickets.open({ tenantId: own.tenantId, customer: customer(), category: "other", text: "Cepat ya" });
    assert.equal((opened.firstResponseDueAt!.getTime() - opened.openedAt.getTime()) / MINUTE, 60);
    assert.equal((opened.resolutionDueAt!.getTime() - opened.openedAt.getTime()) / MINUTE, 600);
  });
});
