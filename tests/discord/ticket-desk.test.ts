// Tickets as threads in the store's Discord staff channel, through the real discord.js client
// of the Discord channel and the local Discord: a card with its button and one thread per
// ticket (also across a restart), the customer's words in the thread, a staff member's
// answer in the thread reaching the customer, strangers and closed tickets answered, and
// closing archiving the thread.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createCommerce } from "../../bots/commerce.ts";
import { discordTicketDesk, staffThreadReplies } from "../../bots/discord-desk.ts";
import type { DiscordChannel } from "../../adapters/discord/discord-channel.ts";
import type { DiscordTicketDesk } from "../../adapters/discord/ticket-desk.ts";
import { createEngine, memberAudience, MemorySessionStore, type Outbox } from "../../flows/engine/index.ts";
import { createTicketing, type Ticketing, type TicketEvent } from "../../flows/ticketing/index.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { Tenant } from "../../storage/models/index.ts";
import { LocalDiscord, type LocalChannel, type LocalUser } from "../support/discord/index.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { openDiscordChannel, quietLog, seedLinkedStore, shownOf, type LinkedStore } from "./harness.ts";

let db: TestDatabase;
let discord: LocalDiscord;
let channel: DiscordChannel;
let tickets: Ticketing;
let desk: DiscordTicketDesk;
/** The customers' own chats (console): what the store's answers look like to them. */
const customers = new RecordingOutbox();
/** The time the ticketing domain goes by: the SLA test moves it. */
let now = new Date();
/** Every event the desk was handed, and the promise of its showing. */
const shown: Promise<void>[] = [];

before(async () => {
  await initI18n();
  db = await openTestDatabase("discord_ticket_desk");
  discord = await LocalDiscord.start();
  const outbox: Pick<Outbox, "send"> = { send: (to, outbounds, options) => (to.channel === "discord" ? channel.send(to, outbounds, options) : customers.send(to, outbounds, options)) };
  tickets = createTicketing({ outbox, clock: () => now, onEvent: (event) => void shown.push(desk.ticketEvent(event)) });
  const commerce = createCommerce({ outbox, encryptionKey: db.encryptionKey, payPageUrl: () => "http://127.0.0.1:9" });
  const engine = createEngine({ ...commerce.flows, sessions: new MemorySessionStore(), audienceOf: memberAudience() });
  channel = openDiscordChannel(discord, engine, { services: { staffWroteInThread: staffThreadReplies(() => tickets) } });
  desk = discordTicketDesk([channel], () => tickets, quietLog);
  await channel.start();
});

after(async () => {
  await channel.stop(2_000);
  await discord.close();
  await db.close();
});

/** Waits until every event handed to the desk so far has been shown. */
async function deskIdle(): Promise<void> {
  let count = -1;
  while (count !== shown.length) {
    count = shown.length;
    await Promise.all(shown);
  }
}

interface Desk {
  linked: LinkedStore;
  staffer: LocalUser;
  customer: { channel: string; chatId: string; userId: string; name: string };
}

async function storeWithDesk(): Promise<Desk> {
  const linked = await seedLinkedStore(discord);
  const staffer = discord.user({ username: "staf-toko", globalName: "Rina", locale: "id" });
  linked.guild.member(staffer, { roles: [linked.staffRole] });
  const n = Math.random().toString(36).slice(2, 8);
  return { linked, staffer, customer: { channel: "console", chatId: `c-${n}`, userId: `u-${n}`, name: "Sari" } };
}

function threadsOf(linked: LinkedStore): LocalChannel[] {
  return discord.threadsIn(linked.staffChannel);
}

function linesIn(thread: LocalChannel): string[] {
  return discord.messagesIn(thread).map((m) => m.text());
}

function textsTo(chatId: string): string[] {
  return customers.sent.filter((s) => s.to.chatId === chatId).map((s) => t("id", (s.message.text as { key: string }).key, (s.message.text as { params?: Record<string, unknown> }).params));
}

describe("the ticket desk in the Discord staff channel", () => {
  test("a new ticket becomes one card with its button and one thread, saved on the ticket; a restart does not start a second", async () => {
    const { linked, customer } = await storeWithDesk();
    const ticket = await tickets.open({ tenantId: linked.store.tenantId, customer, category: "goods", orderCode: "INV-000007", text: "Kode vouchernya tidak bisa dipakai" });
    await deskIdle();

    const [thread] = threadsOf(linked);
    assert.equal(threadsOf(linked).length, 1);
    assert.equal((await tickets.get(linked.store.tenantId, ticket.number))?.desk?.ref, thread!.id);
    const card = discord.messagesIn(linked.staffChannel).find((m) => m.id === thread!.id)!;
    const params = { number: ticket.number, priority: "Normal", status: t("id", "desk.status.open"), category: t("id", "desk.category.goods"), order: "INV-000007", customer: "Sari", channel: t("id", "desk.channel.console"), assignee: t("id", "desk.ticket.nobody"), subject: ticket.subject };
    assert.deepEqual(shownOf(card), { text: t("id", "desk.ticket.card", params), buttons: [t("id", "desk.action.open")] });
    assert.deepEqual(linesIn(thread!), [t("id", "desk.thread.first", { name: "Sari", text: ticket.subject })]);

    // Another process (or this one after a restart) hears the same ticket again.
    const restarted = discordTicketDesk([channel], () => tickets, quietLog);
    const again = await tickets.get(linked.store.tenantId, ticket.number);
    await restarted.ticketEvent({ type: "opened", tenantId: linked.store.tenantId, ticket: { ...again!, desk: undefined } } as TicketEvent);
    await tickets.customerWrote(linked.store.tenantId, ticket.number, customer, "Ini tangkapan layarnya");
    await deskIdle();
    assert.equal(threadsOf(linked).length, 1, "still one thread");
    assert.equal(linesIn(thread!).at(-1), t("id", "desk.line.customer", { name: "Sari", text: "Ini tangkapan layarnya" }));
  });

  test("a staff member answers in the thread and the customer gets it; the customer's reply comes back to the thread; closing archives it", async () => {
    const { linked, staffer, customer } = await storeWithDesk();
    const ticket = await tickets.open({ tenantId: linked.store.tenantId, customer, category: "order", text: "Pesanan saya belum sampai" });
    await deskIdle();
    const [thread] = threadsOf(linked);

    // The staff-role holder has never used a command: writing in the thread is enough.
    discord.write(staffer, thread!, "Sudah kami kirim ulang, coba cek lagi ya");
    const answered = await eventually(() => textsTo(customer.chatId).find((text) => text.includes("Sudah kami kirim ulang")), "the staff answer in the customer's chat");
    assert.ok(answered);
    const afterAnswer = await tickets.get(linked.store.tenantId, ticket.number);
    assert.equal(afterAnswer?.status, "answered");
    assert.ok(afterAnswer?.firstResponseAt, "the first response is recorded");

    await tickets.customerWrote(linked.store.tenantId, ticket.number, customer, "Sudah masuk, terima kasih!");
    await deskIdle();
    assert.deepEqual(linesIn(thread!).slice(-2), ["Sudah kami kirim ulang, coba cek lagi ya", t("id", "desk.line.customer", { name: "Sari", text: "Sudah masuk, terima kasih!" })]);

    await tickets.close(linked.store.tenantId, ticket.number, { channel: "discord", userId: staffer.id, name: "Rina" }, "Kode dikirim ulang");
    await deskIdle();
    assert.equal(linesIn(thread!).at(-1), t("id", "desk.line.closed", { by: "Rina", resolution: "Kode dikirim ulang" }));
    assert.equal(discord.channel(thread!.id)?.archived, true);
    const card = discord.messagesIn(linked.staffChannel).find((m) => m.id === thread!.id)!;
    assert.deepEqual(shownOf(card).buttons, [], "a closed ticket's card has nothing to press");
    assert.match(card.text(), new RegExp(t("id", "desk.status.closed")));

    // Writing in the closed ticket's thread: the writer is told, the customer hears nothing.
    const before = textsTo(customer.chatId).length;
    discord.write(staffer, thread!, "Halo lagi?");
    await eventually(() => linesIn(thread!).includes(t("id", "desk.thread.closed")), "the closed-ticket notice in the thread");
    assert.equal(textsTo(customer.chatId).length, before);
  });

  test("someone without the staff role writing in a ticket's thread is told, and the customer hears nothing", async () => {
    const { linked, customer } = await storeWithDesk();
    await tickets.open({ tenantId: linked.store.tenantId, customer, category: "other", text: "Halo admin" });
    await deskIdle();
    const [thread] = threadsOf(linked);
    const visitor = discord.user({ username: "pengunjung" });
    linked.guild.member(visitor);
    discord.write(visitor, thread!, "Saya bukan staf");
    await eventually(() => linesIn(thread!).includes(t("id", "desk.thread.not_allowed")), "the not-allowed notice in the thread");
    assert.equal(textsTo(customer.chatId).filter((text) => text.includes("Saya bukan staf")).length, 0);
  });

  test("an SLA escalation raises the card's priority, adds a line to the thread and is said in the staff channel with the ticket's button", async () => {
    const { linked, customer } = await storeWithDesk();
    const ticket = await tickets.open({ tenantId: linked.store.tenantId, customer, category: "payment", text: "Saldo terpotong dua kali" });
    await deskIdle();
    const [thread] = threadsOf(linked);
    now = new Date(ticket.openedAt.getTime() + 0.85 * 240 * 60_000);
    try {
      assert.equal(await tickets.checkSla({ tenantId: linked.store.tenantId, ticketId: ticket.id, target: "first-response", stage: 80, round: 0 }), "escalated");
    } finally {
      now = new Date();
    }
    await deskIdle();
    const params = { stage: 80, target: t("id", "desk.target.first-response"), from: "Normal", to: t("id", "desk.priority.high") };
    assert.equal(linesIn(thread!).at(-1), t("id", "desk.line.escalated", params));
    const card = discord.messagesIn(linked.staffChannel).find((m) => m.id === thread!.id)!;
    assert.match(card.text(), new RegExp(`#${ticket.number}\\*\\* · ${t("id", "desk.priority.high")}`));
    const alert = discord.messagesIn(linked.staffChannel).at(-1)!;
    assert.deepEqual(shownOf(alert), {
      text: t("id", "desk.alert.escalated", { number: ticket.number, to: t("id", "desk.priority.high"), target: t("id", "desk.target.first-response"), subject: ticket.subject }),
      buttons: [t("id", "desk.action.open")],
    });
  });

  test("a store whose guild has no staff channel: the desk shows nothing and the ticket stands", async () => {
    const { linked, customer } = await storeWithDesk();
    await Tenant.updateOne({ _id: linked.store.tenant }, { $unset: { "channels.discord.staffChannelId": "" } }).exec();
    const ticket = await tickets.open({ tenantId: linked.store.tenantId, customer, category: "payment", text: "Sudah transfer" });
    await deskIdle();
    assert.equal(threadsOf(linked).length, 0);
    assert.equal(discord.messagesIn(linked.staffChannel).length, 0);
    assert.equal((await tickets.get(linked.store.tenantId, ticket.number))?.desk, undefined);
  });
});

