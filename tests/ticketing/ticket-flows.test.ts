// The ticket flows on the console channel, where choices are numbered and typed: a customer
// opens a ticket, a staff member (also at a console) answers, re-prioritises and closes it,
// the store's notices print in the customer's terminal with their numbered choices, and the
// customer answers and rates with the commands the notices name. The ticketing is the one
// `createCommerce` builds, with the console channel behind its outbox.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { before, describe, test } from "node:test";
import { Types } from "mongoose";
import { ConsoleChannel } from "../../adapters/console/console-channel.ts";
import { createCommerce, type Commerce } from "../../bots/commerce.ts";
import { Channels, Outbox } from "../../flows/engine/index.ts";
import { Ticket, TicketMessage } from "../../flows/ticketing/index.ts";
import { t } from "../../locales/i18n.ts";
import { adminEngine, person, seedShop } from "../tenant-admin/admin-fixture.ts";
import { eventually } from "../support/eventually.ts";
import { useTestDatabase } from "../support/mongo.ts";
import type { ChatUser } from "../engine/chat-harness.ts";

useTestDatabase("ticket_flows");

describe("tickets on the console, with numbered choices", () => {
  let commerce: Commerce;
  const channels = new Channels();
  const terminal = new ConsoleChannel();
  channels.add(terminal);

  before(() => {
    commerce = createCommerce({ outbox: new Outbox(channels), encryptionKey: randomBytes(32), payPageUrl: () => "http://127.0.0.1:9" });
  });

  /** What the store printed in a person's terminal outside their turns. */
  function screenOf(tenantId: string, chatId: string): () => string {
    const output = new PassThrough();
    let printed = "";
    output.on("data", (chunk: Buffer) => (printed += chunk.toString("utf8")));
    terminal.attach({ tenantId, chatId, locale: "id", output });
    return () => printed;
  }

  test("a customer opens, is answered, writes back and rates; staff list, re-prioritise and close — all by typing", async () => {
    const shop = await seedShop({ name: "Toko Konsol", members: { sinta: "staff" } });
    // Sellers' and customers' flows with the commerce's ticketing behind them; members are sellers.
    const { engine } = adminEngine({}, commerce.tickets);
    const customer: ChatUser = person(engine, shop, "rina");
    const staff: ChatUser = person(engine, shop, "sinta");
    const customerScreen = screenOf(shop.id, "chat-rina");

    assert.deepEqual(await customer.say("/bantuan"), [
      [t("id", "support.open.ask_category"), ...["order", "payment", "goods", "other"].map((c, i) => `  ${i + 1}. ${t("id", `support.category.${c}`)} [${c}]`)].join("\n"),
    ]);
    assert.deepEqual(await customer.say("4"), [t("id", "support.open.ask_text")]);
    await customer.say("Bisa minta faktur pajak?");
    assert.deepEqual(await customer.say("2"), [t("id", "support.open.opened", { number: 1 })]);

    // Staff: the list by number, the ticket, then "4" (priority) → "2" (high).
    const list = await staff.say("/tiket");
    assert.equal(list[0], t("id", "support.desk.header", { filter: t("id", "support.desk.filter_all_name"), count: 1 }));
    assert.match(list[1]!, /1\. ⚪ #1 · \d+ mnt · Bisa minta faktur pajak\? \[t1\]/);
    const shown = await staff.say("1");
    assert.match(shown[0]!, /^🎫 Tiket #1 · menunggu toko/);
    await staff.say("4");
    assert.deepEqual(await staff.say("2"), [t("id", "support.desk.priority_set", { number: 1, priority: "Tinggi" })]);
    assert.equal((await Ticket.findOne({ tenantId: new Types.ObjectId(shop.id), number: 1 }).lean().exec())?.priority, "high");

    // A reply: "/tiket 1" → "1" (reply) → the text. It prints in the customer's terminal with its numbered choice.
    await staff.say("/tiket 1");
    assert.deepEqual(await staff.say("1"), [t("id", "support.desk.ask_reply", { ticketNumber: 1 })]);
    assert.deepEqual(await staff.say("Bisa, kirim NPWP ya."), [t("id", "support.desk.replied", { number: 1 })]);
    await eventually(() => customerScreen().includes("Bisa, kirim NPWP ya."), "the answer in the customer's terminal");
    assert.ok(customerScreen().includes(`1) ${t("id", "tickets.notice.answer", { number: 1 })}`), customerScreen());

    // The customer answers with the command the notice names.
    assert.deepEqual(await customer.say("/balas 1"), [t("id", "support.answer.ask_text", { ticketNumber: 1 })]);
    assert.deepEqual(await customer.say("NPWP 01.234.567.8-901.000"), [t("id", "support.answer.sent", { number: 1 })]);

    // Staff close it: "6" is "Tutup".
    await staff.say("/tiket 1");
    assert.deepEqual(await staff.say("6"), [t("id", "support.desk.ask_resolution")]);
    assert.deepEqual(await staff.say("Faktur dikirim lewat email"), [t("id", "support.desk.closed", { number: 1 })]);
    await eventually(() => customerScreen().includes("Faktur dikirim lewat email"), "the closing notice in the customer's terminal");

    // The customer rates: /nilai 1 → "5" → "2" (no comment).
    assert.match((await customer.say("/nilai 1"))[0]!, new RegExp(`^${t("id", "support.rate.ask", { ticketNumber: 1 }).replace(/[?]/g, "\\?")}`));
    assert.deepEqual(await customer.say("5"), [
      [t("id", "support.rate.want_comment"), `  1. ${t("id", "support.rate.write_comment")} [write]`, `  2. ${t("id", "support.rate.no_comment")} [skip]`].join("\n"),
    ]);
    assert.deepEqual(await customer.say("2"), [t("id", "support.rate.thanks", { number: 1, rating: 5 })]);

    const done = await Ticket.findOne({ tenantId: new Types.ObjectId(shop.id), number: 1 }).lean().exec();
    assert.equal(done?.status, "closed");
    assert.equal(done?.rating, 5);
    assert.equal(done?.ratingComment ?? undefined, undefined);
    const said = await TicketMessage.find({ tenantId: new Types.ObjectId(shop.id), ticketNumber: 1 } as never).sort({ at: 1 }).lean<{ from: string; text: string }[]>().exec();
    assert.deepEqual(said.filter((m) => m.from !== "system").map((m) => `${m.from}: ${m.text}`), [
      "customer: Bisa minta faktur pajak?",
      "staff: Bisa, kirim NPWP ya.",
      "customer: NPWP 01.234.567.8-901.000",
    ]);
  });

  test("merging a duplicate: staff name the number, the customer's duplicate says where it continues", async () => {
    const shop = await seedShop({ name: "Toko Gabung", members: { sinta: "staff" } });
    const first = await commerce.tickets.open({ tenantId: shop.id, customer: { channel: "console", chatId: "chat-budi", userId: "budi" }, category: "other", text: "Pertanyaan pertama" });
    const second = await commerce.tickets.open({ tenantId: shop.id, customer: { channel: "console", chatId: "chat-budi", userId: "budi" }, category: "other", text: "Pertanyaan yang sama" });
    const { engine } = adminEngine({}, commerce.tickets);
    const staff = person(engine, shop, "sinta");
    const customer = person(engine, shop, "budi");
    await staff.say(`/tiket ${second.number}`);
    assert.deepEqual(await staff.say("5"), [t("id", "support.desk.ask_merge", { ticketNumber: second.number })]);
    assert.deepEqual(await staff.say(String(second.number)), [t("id", "support.refused.same_ticket", { number: second.number })]);
    await staff.say(`/tiket ${second.number}`);
    await staff.say("5");
    assert.deepEqual(await staff.say(String(first.number)), [t("id", "support.desk.merged", { number: second.number, into: first.number })]);
    assert.deepEqual(await customer.say(`/balas ${second.number}`), [t("id", "support.refused.merged", { number: second.number, into: first.number })]);
  });
});
