// The ticketing domain on a real database: a ticket from opening to rating, what staff may
// and may not do to it, and two people acting on one ticket at once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createTicketing, type TicketEvent, type TicketCustomer } from "../../flows/ticketing/index.ts";
import { Ticket, TicketMessage } from "../../flows/ticketing/ticket-model.ts";
import { AuditLog } from "../../storage/models/index.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { seedStore, type SeededStore } from "../support/stores.ts";

let db: TestDatabase;
let store: SeededStore;
before(async () => {
  db = await openTestDatabase("ticketing");
  store = await seedStore({ name: "Toko Tiket", members: { "owner-1": "owner", "staff-1": "staff" } });
});
after(async () => {
  await db.close();
});

let customers = 0;
function customer(locale: "id" | "en" = "id"): TicketCustomer {
  const id = `cust-${++customers}`;
  return { channel: "telegram", chatId: id, userId: id, name: `Pelanggan ${customers}`, locale };
}
const staff = { channel: "discord", userId: "staff-1", name: "Budi" };
const other = { channel: "telegram", userId: "owner-1", name: "Sari" };

function service() {
  const outbox = new RecordingOutbox();
  const events: TicketEvent[] = [];
  const tickets = createTicketing({ outbox, onEvent: (e) => void events.push(e) });
  return { tickets, outbox, events };
}

const audited = async (number: number) =>
  (await AuditLog.find({ tenantId: store.tenant, "target.type": "ticket", "target.id": String(number) }).sort({ at: 1, _id: 1 }).lean().exec()).map((a) => a.action);

describe("a ticket from opening to rating", () => {
  test("the customer opens, staff answer in the customer's channel, the customer writes back, staff close, the customer rates once", async () => {
    const { tickets, outbox, events } = service();
    const buyer = customer();
    const opened = await tickets.open({ tenantId: store.tenantId, customer: buyer, category: "order", orderCode: "INV-000001", text: "Pesanan saya belum sampai, tolong dicek" });
    assert.equal(opened.status, "open");
    assert.equal(opened.priority, "normal");
    assert.equal(opened.subject, "Pesanan saya belum sampai, tolong dicek");
    assert.ok(opened.number >= 1);
    assert.equal(opened.firstResponseDueAt!.getTime() - opened.openedAt.getTime(), 240 * 60_000, "the default normal first-response target");
    assert.equal(opened.resolutionDueAt!.getTime() - opened.openedAt.getTime(), 2880 * 60_000);
    assert.equal(events.at(-1)?.type, "opened");

    const replied = await tickets.staffReply(store.tenantId, opened.number, staff, "Sudah kami cek, sedang dikirim ulang.");
    assert.ok(replied.ok);
    assert.equal(replied.ticket.status, "answered");
    assert.ok(replied.ticket.firstResponseAt);
    assert.equal(replied.ticket.firstResponseDueAt, undefined, "the first-response clock stopped");
    const notice = outbox.withKey("tickets.notice.reply").at(-1)!;
    assert.deepEqual(notice.to, { tenantId: store.tenantId, channel: "telegram", chatId: buyer.chatId });
    assert.equal(notice.locale, "id");
    assert.deepEqual(notice.message.text, { key: "tickets.notice.reply", params: { store: "Toko Tiket", number: opened.number, text: "Sudah kami cek, sedang dikirim ulang." } });
    assert.equal(notice.message.choices?.[0]?.id, `cmd:balas:${opened.number}`, "the answer button runs /balas N");
    const firstAt = replied.ticket.firstResponseAt;
    const again = await tickets.staffReply(store.tenantId, opened.number, staff, "Satu lagi");
    assert.ok(again.ok);
    assert.equal(again.ticket.firstResponseAt?.getTime(), firstAt!.getTime(), "only the first answer is the first response");

    assert.deepEqual(await tickets.customerWrote(store.tenantId, opened.number, { channel: "telegram", chatId: "someone-else" }, "halo"), { ok: false, reason: "not_yours" });
    const wrote = await tickets.customerWrote(store.tenantId, opened.number, buyer, "Terima kasih, sudah masuk");
    assert.ok(wrote.ok);
    assert.equal(wrote.ticket.status, "open", "the customer's answer gives the turn back to the store");
    const messageEvent = events.at(-1);
    assert.equal(messageEvent?.type, "message");
    assert.equal(messageEvent?.type === "message" && messageEvent.message.from, "customer");

    const closed = await tickets.close(store.tenantId, opened.number, staff, "Pesanan sudah diterima");
    assert.ok(closed.ok);
    assert.equal(closed.ticket.status, "closed");
    assert.equal(closed.ticket.resolutionDueAt, undefined);
    const closing = outbox.withKey("tickets.notice.closed").at(-1)!;
    assert.equal(closing.to.chatId, buyer.chatId);
    assert.deepEqual(
      closing.message.choices?.map((c) => c.id),
      [1, 2, 3, 4, 5].map((r) => `cmd:nilai:${opened.number}:${r}`).concat(`cmd:nilai:${opened.number}:lewati`),
    );
    assert.deepEqual(await tickets.customerWrote(store.tenantId, opened.number, buyer, "lagi"), { ok: false, reason: "closed" });
    assert.deepEqual(await tickets.staffReply(store.tenantId, opened.number, staff, "lagi"), { ok: false, reason: "closed" });

    assert.deepEqual(await tickets.rate(store.tenantId, opened.number, buyer, 6), { ok: false, reason: "invalid" });
    assert.deepEqual(await tickets.rate(store.tenantId, opened.number, { channel: "telegram", chatId: "someone-else" }, 5), { ok: false, reason: "not_yours" });
    const rated = await tickets.rate(store.tenantId, opened.number, buyer, 4, "Cepat");
    assert.ok(rated.ok);
    assert.equal(rated.ticket.rating, 4);
    assert.equal(rated.ticket.ratingComment, "Cepat");
    assert.deepEqual(await tickets.rate(store.tenantId, opened.number, buyer, 5), { ok: false, reason: "already_rated" });

    const conversation = await tickets.messages(store.tenantId, opened.number);
    assert.deepEqual(
      conversation.map((m) => [m.from, m.text]),
      [
        ["customer", "Pesanan saya belum sampai, tolong dicek"],
        ["staff", "Sudah kami cek, sedang dikirim ulang."],
        ["staff", "Satu lagi"],
        ["customer", "Terima kasih, sudah masuk"],
      ],
    );
    assert.equal(conversation[1]!.author?.userId, "staff-1");
    assert.equal(await TicketMessage.countDocuments({ tenantId: store.tenant, ticketNumber: opened.number }).exec(), 4, "each message is its own document");
    assert.deepEqual(await audited(opened.number), ["open", "reply", "reply", "close", "rate"].map((v) => `ticket${"."}${v}`));
    assert.deepEqual(
      events.map((e) => e.type),
      ["opened", "message", "message", "message", "closed", "rated"],
    );
  });

  test("a customer writing in English is answered in English", async () => {
    const { tickets, outbox } = service();
    const buyer = customer("en");
    const opened = await tickets.open({ tenantId: store.tenantId, customer: buyer, category: "payment", text: "I paid twice" });
    assert.ok((await tickets.staffReply(store.tenantId, opened.number, staff, "Refunded")).ok);
    assert.equal(outbox.withKey("tickets.notice.reply").at(-1)?.locale, "en");
  });
});

describe("staff work on a ticket", () => {
  test("assign, re-prioritise (new due times from then), and refusals for what cannot be done", async () => {
    const { tickets, events } = service();
    const buyer = customer();
    const opened = await tickets.open({ tenantId: store.tenantId, customer: buyer, category: "goods", text: "Akun tidak bisa login" });
    const assigned = await tickets.assign(store.tenantId, opened.number, other, staff);
    assert.ok(assigned.ok);
    assert.equal(assigned.ticket.assignee?.userId, "staff-1");
    assert.deepEqual((await tickets.list(store.tenantId, { assigneeUserId: "staff-1" })).map((t) => t.number), [opened.number]);

    const raised = await tickets.setPriority(store.tenantId, opened.number, other, "critical");
    assert.ok(raised.ok);
    assert.equal(raised.ticket.priority, "critical");
    const fromThen = raised.ticket.firstResponseDueAt!.getTime() - 15 * 60_000;
    assert.ok(fromThen >= opened.openedAt.getTime(), "the critical targets count from the change");
    assert.equal(raised.ticket.resolutionDueAt!.getTime() - fromThen, 240 * 60_000);
    assert.deepEqual(events.slice(-2).map((e) => e.type), ["assigned", "reprioritised"]);
    assert.ok((await tickets.setPriority(store.tenantId, opened.number, other, "critical")).ok, "the same priority again is no change");
    assert.equal(events.at(-1)?.type, "reprioritised");
    assert.equal(events.filter((e) => e.type === "reprioritised").length, 1);

    assert.deepEqual(await tickets.setPriority(store.tenantId, opened.number, other, "urgent" as never), { ok: false, reason: "invalid" });
    assert.deepEqual(await tickets.staffReply(store.tenantId, opened.number, staff, "   "), { ok: false, reason: "invalid" });
    assert.deepEqual(await tickets.close(store.tenantId, opened.number, staff, ""), { ok: false, reason: "invalid" });
    assert.deepEqual(await tickets.staffReply(store.tenantId, 999_999, staff, "halo"), { ok: false, reason: "not_found" });
    assert.deepEqual(await tickets.rate(store.tenantId, opened.number, buyer, 5), { ok: false, reason: "invalid" }, "an open ticket cannot be rated");
    assert.deepEqual(await audited(opened.number), ["open", "assign", "priority"].map((v) => `ticket${"."}${v}`));
  });

  test("merging a duplicate closes it into the other, whose conversation then shows both", async () => {
    const { tickets, outbox, events } = service();
    const buyer = customer();
    const first = await tickets.open({ tenantId: store.tenantId, customer: buyer, category: "order", text: "Pesanan belum sampai" });
    const second = await tickets.open({ tenantId: store.tenantId, customer: buyer, category: "order", text: "Halo? Pesanan saya mana" });
    assert.deepEqual(await tickets.merge(store.tenantId, first.number, first.number, staff), { ok: false, reason: "same_ticket" });
    const merged = await tickets.merge(store.tenantId, second.number, first.number, staff);
    assert.ok(merged.ok);
    assert.equal(merged.ticket.status, "merged");
    assert.equal(merged.ticket.mergedInto, first.number);
    const event = events.at(-1);
    assert.equal(event?.type === "merged" && event.into.number, first.number);
    assert.deepEqual(outbox.withKey("tickets.notice.merged").at(-1)?.message.text.params, { store: "Toko Tiket", number: second.number, into: first.number });
    const texts = (await tickets.messages(store.tenantId, first.number)).map((m) => m.text);
    assert.ok(texts.includes("Pesanan belum sampai") && texts.includes("Halo? Pesanan saya mana"));
    assert.deepEqual(await tickets.merge(store.tenantId, second.number, first.number, staff), { ok: false, reason: "merged" });
    assert.deepEqual(await tickets.merge(store.tenantId, first.number, second.number, staff), { ok: false, reason: "merged" }, "nothing merges into a merged ticket");
    assert.deepEqual(await tickets.customerWrote(store.tenantId, second.number, buyer, "?"), { ok: false, reason: "merged" });
    assert.deepEqual((await tickets.openOf(store.tenantId, buyer)).map((t) => t.number), [first.number]);
  });

  test("the desk's reference finds its ticket", async () => {
    const { tickets } = service();
    const opened = await tickets.open({ tenantId: store.tenantId, customer: customer(), category: "other", text: "Jam buka?" });
    await tickets.setDeskRef(store.tenantId, opened.number, { channel: "discord", ref: "1234567890" });
    assert.equal((await tickets.byDeskRef(store.tenantId, { channel: "discord", ref: "1234567890" }))?.number, opened.number);
    assert.equal(await tickets.byDeskRef(store.tenantId, { channel: "discord", ref: "999" }), undefined);
  });

  test("a listener that throws does not stop the service", async () => {
    const outbox = new RecordingOutbox();
    const tickets = createTicketing({
      outbox,
      onEvent: () => {
        throw new Error("desk down");
      },
    });
    const opened = await tickets.open({ tenantId: store.tenantId, customer: customer(), category: "other", text: "Halo" });
    assert.ok((await tickets.staffReply(store.tenantId, opened.number, staff, "Halo juga")).ok);
    const rejecting = createTicketing({ outbox, onEvent: () => Promise.reject(new Error("desk down")) });
    assert.ok((await rejecting.close(store.tenantId, opened.number, staff, "Selesai")).ok);
  });
});

describe("two at once", () => {
  test("two members closing one ticket: one closes it, the other is told it is closed, the customer hears once", async () => {
    const { tickets, outbox } = service();
    const opened = await tickets.open({ tenantId: store.tenantId, customer: customer(), category: "other", text: "Tolong bantu" });
    const results = await Promise.all([tickets.close(store.tenantId, opened.number, staff, "Beres A"), tickets.close(store.tenantId, opened.number, other, "Beres B")]);
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.deepEqual(results.find((r) => !r.ok), { ok: false, reason: "closed" });
    assert.equal(outbox.withKey("tickets.notice.closed").filter((m) => m.message.text.params?.number === opened.number).length, 1);
    assert.equal((await audited(opened.number)).filter((a) => a.endsWith("close")).length, 1);
  });

  test("two claims for one order at once make one ticket; once it is closed a new claim opens a new one", async () => {
    const { tickets, events } = service();
    const buyer = customer();
    const claim = { tenantId: store.tenantId, customer: buyer, category: "goods" as const, orderCode: "INV-000777", text: "Akun salah password", source: "claim" as const };
    const [a, b, c] = await Promise.all([tickets.open(claim), tickets.open(claim), tickets.open(claim)]);
    assert.equal(a.number, b.number);
    assert.equal(b.number, c.number);
    assert.equal(await Ticket.countDocuments({ tenantId: store.tenant, orderCode: "INV-000777" }).exec(), 1);
    assert.equal(events.filter((e) => e.type === "opened").length, 1);
    assert.ok((await tickets.close(store.tenantId, a.number, staff, "Diganti")).ok);
    const next = await tickets.open(claim);
    assert.notEqual(next.number, a.number);
    // A customer's own ticket about the same order is not a claim ticket and is always new.
    const own = await tickets.open({ ...claim, source: "customer" });
    assert.notEqual(own.number, next.number);
  });
});
