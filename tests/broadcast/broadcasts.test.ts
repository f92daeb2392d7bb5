// The broadcast domain on a real database: who an audience reaches, the store's limits in
// its own calendar, what each status allows, the audit trail, and fixing the ledger twice.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createBroadcasting, type BroadcastActor, type BroadcastAudience, type BroadcastEvent } from "../../flows/broadcast/index.ts";
import { Broadcast, BroadcastRecipient } from "../../flows/broadcast/broadcast-model.ts";
import { renderText, i18nTexts } from "../../flows/engine/texts.ts";
import { AuditLog, Customer, Tenant } from "../../storage/models/index.ts";
import { seedCustomers, seedOrder } from "../support/broadcast-audience.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { seedStore, SMALL_CATALOGUE, type SeededStore } from "../support/stores.ts";

let db: TestDatabase;
before(async () => {
  db = await openTestDatabase("broadcasts");
});
after(async () => {
  await db.close();
});

const seller: BroadcastActor = { channel: "telegram", userId: "owner-1", name: "Sari" };
const DAY = 86_400_000;

function service(start = new Date("2026-03-10T05:00:00Z")) {
  const clock = { now: start };
  const events: BroadcastEvent[] = [];
  const { outbox } = recordingOutbox();
  const broadcasting = createBroadcasting({ outbox, clock: () => clock.now, onEvent: (e) => void events.push(e) });
  return { broadcasting, events, clock };
}

async function draft(store: SeededStore, audience: BroadcastAudience = { kind: "all" }, text = "Promo akhir pekan: diskon 20%!") {
  const { broadcasting } = service();
  const saved = await broadcasting.saveDraft(store.tenantId, seller, { content: { text, buttons: [] }, audience });
  assert.ok(saved.ok);
  return saved.broadcast.number;
}

const audited = async (store: SeededStore, number: number) =>
  (await AuditLog.find({ tenantId: store.tenant, "target.type": "broadcast", "target.id": String(number) }).sort({ at: 1, _id: 1 }).lean().exec()).map((a) => a.action);

describe("who an audience reaches", () => {
  test("all: every reachable customer, by channel; opted-out and blocked customers never", async () => {
    const store = await seedStore();
    await seedCustomers(store, 5, { channel: "telegram" });
    await seedCustomers(store, 3, { channel: "whatsapp" });
    await seedCustomers(store, 2, { channel: "telegram", fields: { broadcastOptOut: true } });
    await seedCustomers(store, 2, { channel: "whatsapp", fields: { blocked: true, blockedReason: "blocked-bot" } });
    const { broadcasting } = service();
    assert.deepEqual(await broadcasting.audienceSize(store.tenantId, { kind: "all" }), { total: 8, byChannel: { telegram: 5, whatsapp: 3 } });
    assert.deepEqual(await broadcasting.audienceSize(store.tenantId, { kind: "all", channel: "whatsapp" }), { total: 3, byChannel: { whatsapp: 3 } });
  });

  test("buyers of a product: paid, delivered and completed orders of that product; unpaid, expired and refunded ones not", async () => {
    const store = await seedStore({ products: SMALL_CATALOGUE });
    const [paid, delivered, completed, pending, refunded, other, optedOut] = await seedCustomers(store, 7);
    const at = new Date("2026-03-01T05:00:00Z");
    await seedOrder(store, paid, "pulsa-10k", at, "paid");
    await seedOrder(store, delivered, "pulsa-10k", at, "delivered");
    await seedOrder(store, completed, "pulsa-10k", at, "completed");
    await seedOrder(store, completed, "pulsa-10k", at, "completed");
    await seedOrder(store, pending, "pulsa-10k", at, "pending_payment");
    await seedOrder(store, refunded, "pulsa-10k", at, "refunded");
    await seedOrder(store, other, "netflix-1m", at, "paid");
    await seedOrder(store, optedOut, "pulsa-10k", at, "paid");
    await Customer.updateOne({ tenantId: store.tenant, _id: optedOut._id }, { $set: { broadcastOptOut: true } }).exec();
    const { broadcasting } = service();
    assert.deepEqual(await broadcasting.audienceSize(store.tenantId, { kind: "buyers", productCode: "pulsa-10k" }), { total: 3, byChannel: { telegram: 3 } });
    assert.equal((await broadcasting.audienceSize(store.tenantId, { kind: "buyers", productCode: "pulsa-10k", channel: "whatsapp" })).total, 0);
  });

  test("a period is the store's calendar days: an order at 23:30 in Jakarta belongs to that day, not the next", async () => {
    const store = await seedStore();
    const [late, early, outside] = await seedCustomers(store, 3);
    await seedOrder(store, late, "x", new Date("2026-03-09T16:30:00Z"), "paid"); // 9 March, 23:30 WIB
    await seedOrder(store, early, "x", new Date("2026-03-09T17:30:00Z"), "paid"); // 10 March, 00:30 WIB
    await seedOrder(store, outside, "x", new Date("2026-03-11T17:30:00Z"), "paid"); // 12 March, 00:30 WIB
    const { broadcasting } = service();
    const day = (iso: string) => new Date(iso);
    assert.equal((await broadcasting.audienceSize(store.tenantId, { kind: "period", from: day("2026-03-10T12:00:00Z"), to: day("2026-03-11T12:00:00Z") })).total, 1);
    assert.equal((await broadcasting.audienceSize(store.tenantId, { kind: "period", from: day("2026-03-09T05:00:00Z"), to: day("2026-03-09T05:00:00Z") })).total, 1);
    assert.equal((await broadcasting.audienceSize(store.tenantId, { kind: "period", from: day("2026-03-09T05:00:00Z"), to: day("2026-03-12T05:00:00Z") })).total, 3);
  });

  test("lapsed: bought before, not in the last N days; never-buyers and recent buyers are left out", async () => {
    const store = await seedStore();
    const [gone, back, never] = await seedCustomers(store, 3);
    const now = new Date("2026-03-10T05:00:00Z");
    await seedOrder(store, gone, "x", new Date(now.getTime() - 40 * DAY), "completed");
    await seedOrder(store, back, "x", new Date(now.getTime() - 40 * DAY), "completed");
    await seedOrder(store, back, "x", new Date(now.getTime() - 5 * DAY), "paid");
    void never;
    const { broadcasting } = service(now);
    assert.deepEqual(await broadcasting.audienceSize(store.tenantId, { kind: "lapsed", days: 30 }), { total: 1, byChannel: { telegram: 1 } });
    assert.equal((await broadcasting.audienceSize(store.tenantId, { kind: "lapsed", days: 3 })).total, 2);
  });
});

describe("the store's limits", () => {
  test("broadcasts per day count in the store's calendar: a full day refuses with the limit, the next day (00:30 WIB) does not, a cancelled scheduled one frees its place", async () => {
    const store = await seedStore();
    await Tenant.updateOne({ _id: store.tenant }, { $set: { "limits.broadcast.perDay": 2 } }).exec();
    await seedCustomers(store, 2);
    // 10 March, 22:00 WIB.
    const { broadcasting } = service(new Date("2026-03-10T15:00:00Z"));
    const inAnHour = new Date("2026-03-10T16:00:00Z");
    const first = await draft(store);
    const second = await draft(store);
    const third = await draft(store);
    assert.ok((await broadcasting.schedule(store.tenantId, first, seller, { at: inAnHour })).ok);
    assert.ok((await broadcasting.schedule(store.tenantId, second, seller, { at: inAnHour })).ok);
    assert.deepEqual(await broadcasting.schedule(store.tenantId, third, seller, { at: inAnHour }), { ok: false, reason: "daily_limit", limit: 2 });
    // 11 March, 00:30 WIB: another day in Jakarta, though still 10 March in UTC.
    assert.ok((await broadcasting.schedule(store.tenantId, third, seller, { at: new Date("2026-03-10T17:30:00Z") })).ok);
    const fourth = await draft(store);
    assert.equal((await broadcasting.schedule(store.tenantId, fourth, seller, { at: inAnHour })).ok, false);
    assert.ok((await broadcasting.cancel(store.tenantId, first, seller)).ok);
    assert.ok((await broadcasting.schedule(store.tenantId, fourth, seller, { at: inAnHour })).ok, "the cancelled one no longer counts");
    assert.ok((await broadcasting.schedule(store.tenantId, second, seller, { at: new Date("2026-03-10T16:30:00Z") })).ok, "moving a scheduled one within its day is no new broadcast");
  });

  test("recipients per broadcast: the store's own limit, else the platform's defaults; refused with the limit and the size", async () => {
    const store = await seedStore();
    await seedCustomers(store, 5);
    const number = await draft(store);
    const { outbox } = recordingOutbox();
    const strict = createBroadcasting({ outbox, defaults: { perDay: 3, maxRecipients: 4 } });
    assert.deepEqual(await strict.schedule(store.tenantId, number, seller, { at: new Date(Date.now() + 3_600_000) }), { ok: false, reason: "too_many_recipients", limit: 4, size: 5 });
    await Tenant.updateOne({ _id: store.tenant }, { $set: { "limits.broadcast.maxRecipients": 10 } }).exec();
    assert.ok((await strict.schedule(store.tenantId, number, seller, { at: new Date(Date.now() + 3_600_000) })).ok, "the store's own limit replaces the default");
  });

  test("the audience is checked again at the start: grown past the limit, the broadcast is cancelled and nobody is queued", async () => {
    const store = await seedStore();
    await Tenant.updateOne({ _id: store.tenant }, { $set: { "limits.broadcast.maxRecipients": 3 } }).exec();
    await seedCustomers(store, 3);
    const { broadcasting, clock, events } = service();
    const number = await draft(store);
    const scheduled = await broadcasting.schedule(store.tenantId, number, seller, { at: new Date(clock.now.getTime() + 60_000) });
    assert.ok(scheduled.ok);
    await seedCustomers(store, 2);
    clock.now = new Date(clock.now.getTime() + 120_000);
    assert.equal(await broadcasting.startDue(store.tenantId, scheduled.broadcast.id), "too_many_recipients");
    const view = await broadcasting.get(store.tenantId, number);
    assert.equal(view?.status, "cancelled");
    assert.equal(await BroadcastRecipient.countDocuments({ tenantId: store.tenant, broadcastId: view!.id, state: { $in: ["queued", "claimed"] } }), 0);
    assert.equal(events.at(-1)?.type, "cancelled");
  });

  test("a time in the past or more than 30 days ahead is refused; an empty audience is refused", async () => {
    const store = await seedStore();
    await seedCustomers(store, 1, { channel: "telegram" });
    const { broadcasting, clock } = service();
    const number = await draft(store);
    assert.deepEqual(await broadcasting.schedule(store.tenantId, number, seller, { at: new Date(clock.now.getTime() - 2 * 3_600_000) }), { ok: false, reason: "bad_time" });
    assert.deepEqual(await broadcasting.schedule(store.tenantId, number, seller, { at: new Date(clock.now.getTime() + 31 * DAY) }), { ok: false, reason: "bad_time" });
    const nobody = await draft(store, { kind: "all", channel: "discord" });
    assert.deepEqual(await broadcasting.schedule(store.tenantId, nobody, seller, { at: new Date(clock.now.getTime() + DAY) }), { ok: false, reason: "empty_audience", size: 0 });
  });
});

describe("what each status allows, and the audit trail", () => {
  test("draft → scheduled → moved → cancelled; a cancelled one cannot be cancelled, paused or resumed; every action audited", async () => {
    const store = await seedStore();
    await seedCustomers(store, 2);
    const { broadcasting, clock, events } = service();
    const number = await draft(store);
    const edited = await broadcasting.saveDraft(store.tenantId, seller, { content: { text: "Promo baru", buttons: [{ kind: "catalog" }] }, audience: { kind: "all" } }, number);
    assert.ok(edited.ok);
    assert.equal(edited.broadcast.content.text, "Promo baru");
    assert.deepEqual(await broadcasting.pause(store.tenantId, number, seller), { ok: false, reason: "wrong_status" });
    const at = new Date(clock.now.getTime() + 3_600_000);
    const scheduled = await broadcasting.schedule(store.tenantId, number, seller, { at });
    assert.ok(scheduled.ok);
    assert.equal(scheduled.broadcast.status, "scheduled");
    assert.equal(scheduled.broadcast.scheduledAt?.getTime(), at.getTime());
    assert.equal((await broadcasting.saveDraft(store.tenantId, seller, { content: { text: "x", buttons: [] }, audience: { kind: "all" } }, number)).ok, false, "a scheduled one is no draft to edit");
    const later = new Date(at.getTime() + 3_600_000);
    const moved = await broadcasting.schedule(store.tenantId, number, seller, { at: later });
    assert.ok(moved.ok);
    assert.equal(moved.broadcast.scheduledAt?.getTime(), later.getTime());
    assert.deepEqual(await broadcasting.resume(store.tenantId, number, seller), { ok: false, reason: "wrong_status" });
    const cancelled = await broadcasting.cancel(store.tenantId, number, seller);
    assert.ok(cancelled.ok);
    assert.equal(cancelled.broadcast.status, "cancelled");
    assert.deepEqual(await broadcasting.cancel(store.tenantId, number, seller), { ok: false, reason: "wrong_status" });
    assert.deepEqual(await broadcasting.cancel(store.tenantId, 9999, seller), { ok: false, reason: "not_found" });
    assert.deepEqual(await audited(store, number), ["broadcast.draft", "broadcast.edit", "broadcast.schedule", "broadcast.reschedule", "broadcast.cancel"]);
    assert.deepEqual(events.map((e) => e.type), ["cancelled"]);
    assert.equal(await Broadcast.countDocuments({ tenantId: store.tenant, number, status: "cancelled" }), 1);
  });

  test("a started broadcast pauses and resumes once each, with events; two sellers pausing at once: one wins", async () => {
    const store = await seedStore();
    await seedCustomers(store, 3);
    const { broadcasting, clock, events } = service();
    const number = await draft(store);
    const scheduled = await broadcasting.schedule(store.tenantId, number, seller, { at: new Date(clock.now.getTime() + 60_000) });
    assert.ok(scheduled.ok);
    assert.equal(await broadcasting.startDue(store.tenantId, scheduled.broadcast.id), "not_due", "not before its time");
    clock.now = new Date(clock.now.getTime() + 61_000);
    assert.equal(await broadcasting.startDue(store.tenantId, scheduled.broadcast.id), "started");
    const started = await broadcasting.get(store.tenantId, number);
    assert.equal(started?.status, "sending");
    assert.equal(started?.counts?.total, 3);
    assert.equal(started?.counts?.queued, 3);
    const both = await Promise.all([broadcasting.pause(store.tenantId, number, seller), broadcasting.pause(store.tenantId, number, { channel: "discord", userId: "admin-2" })]);
    assert.deepEqual(both.map((r) => r.ok).sort(), [false, true]);
    assert.deepEqual(await broadcasting.pause(store.tenantId, number, seller), { ok: false, reason: "wrong_status" });
    const resumed = await broadcasting.resume(store.tenantId, number, seller);
    assert.ok(resumed.ok);
    assert.equal(resumed.broadcast.status, "sending");
    assert.deepEqual(await broadcasting.resume(store.tenantId, number, seller), { ok: false, reason: "wrong_status" });
    assert.deepEqual(events.map((e) => e.type), ["started", "paused", "resumed"]);
    assert.deepEqual(await audited(store, number), ["broadcast.draft", "broadcast.schedule", "broadcast.start", "broadcast.pause", "broadcast.resume"]);
  });

  test("drafts are checked: no text, a text too long (for a caption), more than three buttons, a product code no button can carry", async () => {
    const store = await seedStore();
    const { broadcasting } = service();
    const all: BroadcastAudience = { kind: "all" };
    const image = { data: new Uint8Array(100), fileName: "promo.jpg", mime: "image/jpeg" };
    const refused = async (content: Parameters<typeof broadcasting.saveDraft>[2]["content"]) =>
      assert.deepEqual(await broadcasting.saveDraft(store.tenantId, seller, { content, audience: all }), { ok: false, reason: "invalid" });
    await refused({ text: "  ", buttons: [] });
    await refused({ text: "x".repeat(3501), buttons: [] });
    await refused({ text: "x".repeat(901), image, buttons: [] });
    await refused({ text: "x", buttons: [{ kind: "catalog" }, { kind: "catalog" }, { kind: "catalog" }, { kind: "catalog" }] });
    await refused({ text: "x", buttons: [{ kind: "product", productCode: "a".repeat(30) }] });
    assert.deepEqual(await broadcasting.saveDraft(store.tenantId, seller, { content: { text: "x", buttons: [] }, audience: { kind: "lapsed", days: 0 } }), { ok: false, reason: "invalid" });
    const ok = await broadcasting.saveDraft(store.tenantId, seller, { content: { text: "x".repeat(900), image, buttons: [] }, audience: all });
    assert.ok(ok.ok);
    assert.equal(ok.broadcast.content.hasImage, true);
  });
});

describe("the message and opting out", () => {
  test("one message: the seller's text, the opt-out line in the recipient's language, the image with its bytes, the seller's buttons and the opt-out button as commands", async () => {
    const store = await seedStore({ products: SMALL_CATALOGUE });
    const { broadcasting } = service();
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]);
    const saved = await broadcasting.saveDraft(store.tenantId, seller, {
      content: { text: "Netflix *murah* hari ini!", image: { data: bytes, fileName: "promo.jpg", mime: "image/jpeg" }, buttons: [{ kind: "product", productCode: "netflix-1m" }, { kind: "catalog" }] },
      audience: { kind: "all" },
    });
    assert.ok(saved.ok);
    const message = await broadcasting.messageFor(store.tenantId, saved.broadcast.number, "telegram", "id");
    assert.ok(message);
    assert.equal(renderText(message.text, "id", i18nTexts), "Netflix *murah* hari ini!\n\n— Ketik /berhenti untuk berhenti menerima siaran dari toko ini.");
    assert.match(renderText(message.text, "en", i18nTexts), /Type \/berhenti to stop/);
    assert.equal(message.media?.type, "photo");
    assert.deepEqual([...message.media!.data!], [...bytes]);
    assert.deepEqual(message.choices?.map((c) => c.id), ["cmd:katalog:netflix-1m", "cmd:katalog", "cmd:berhenti"]);
    assert.equal(renderText(message.choices![0].label, "id", i18nTexts), "Lihat Netflix 1 Bulan");
  });

  test("a customer opts out and in again: each changes once, and only their own store", async () => {
    const store = await seedStore();
    const elsewhere = await seedStore();
    const [customer] = await seedCustomers(store, 1, { prefix: "same" });
    await seedCustomers(elsewhere, 1, { prefix: "same" });
    const { broadcasting } = service();
    const who = { channel: customer.channel, userId: customer.channelUserId };
    assert.equal(await broadcasting.subscribed(store.tenantId, who), true);
    assert.equal(await broadcasting.optOut(store.tenantId, who), true);
    assert.equal(await broadcasting.optOut(store.tenantId, who), false);
    assert.equal(await broadcasting.subscribed(store.tenantId, who), false);
    assert.equal(await broadcasting.subscribed(elsewhere.tenantId, who), true);
    assert.equal((await broadcasting.audienceSize(store.tenantId, { kind: "all" })).total, 0);
    assert.equal(await broadcasting.optIn(store.tenantId, who), true);
    assert.equal(await broadcasting.optIn(store.tenantId, who), false);
    assert.equal(await broadcasting.subscribed(store.tenantId, who), true);
    const entries = await AuditLog.find({ tenantId: store.tenant, "target.type": "customer" }).sort({ at: 1, _id: 1 }).lean().exec();
    assert.deepEqual(entries.map((e) => [e.action, e.target?.id]), [["broadcast.opt-out", `telegram:${customer.channelUserId}`], ["broadcast.opt-in", `telegram:${customer.channelUserId}`]]);
  });
});

describe("fixing the ledger", () => {
  test("a start that crashed half-way is taken over once its lease runs out, and adds only who is missing", async () => {
    const store = await seedStore();
    const customers = await seedCustomers(store, 1200);
    const { broadcasting, clock, events } = service();
    const number = await draft(store);
    const scheduled = await broadcasting.schedule(store.tenantId, number, seller, { at: new Date(clock.now.getTime() + 60_000) });
    assert.ok(scheduled.ok);
    const broadcastId = scheduled.broadcast.id;
    // What a process that died while writing the ledger leaves: preparing, a lease, part of the recipients.
    await Broadcast.updateOne({ tenantId: store.tenant, number }, { $set: { status: "preparing", preparingUntil: new Date(clock.now.getTime() + 120_000) } }).exec();
    await BroadcastRecipient.insertMany(customers.slice(0, 700).map((c) => ({ tenantId: store.tenant, broadcastId, customerId: c._id, channel: c.channel, chatId: c.channelUserId, state: "queued" })));
    clock.now = new Date(clock.now.getTime() + 90_000);
    assert.equal(await broadcasting.startDue(store.tenantId, broadcastId), "not_due", "the preparer's lease still holds");
    clock.now = new Date(clock.now.getTime() + 60_000);
    const outcomes = await Promise.all([broadcasting.startDue(store.tenantId, broadcastId), broadcasting.startDue(store.tenantId, broadcastId)]);
    assert.deepEqual(outcomes.sort(), ["not_due", "started"]);
    const view = await broadcasting.get(store.tenantId, number);
    assert.equal(view?.status, "sending");
    assert.equal(view?.counts?.total, 1200);
    assert.equal(await BroadcastRecipient.countDocuments({ tenantId: store.tenant, broadcastId }), 1200);
    const distinct = await BroadcastRecipient.distinct("chatId", { tenantId: store.tenant, broadcastId });
    assert.equal(distinct.length, 1200);
    assert.deepEqual(events.filter((e) => e.type === "started").length, 1);
  });
});
