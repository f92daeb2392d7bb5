// The whole ticket, end to end through a real `niaga start` child process, the
// Telegram emulator (real grammY) and the local Discord (real discord.js): a Telegram customer
// buys, claims in the SNK window, the claim becomes a ticket that appears as a thread in the
// store's Discord staff channel; a staff-role holder answers in the thread and the customer
// reads it in Telegram, replies with the button under it, and the reply appears in the
// thread; the staff member closes it from the card's button, and the customer rates it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Types } from "mongoose";
import type { Message, User } from "grammy/types";
import { Order } from "../../flows/ordering/order.ts";
import { Product } from "../../flows/ordering/product.ts";
import { addStockItems } from "../../flows/ordering/stock-item.ts";
import { Ticket } from "../../flows/ticketing/index.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { Member, sealTenantSecret, Tenant } from "../../storage/models/index.ts";
import { LocalDiscord, type InteractionRecord, type LocalChannel, type LocalMessage, type LocalUser } from "../support/discord/index.ts";
import { eventually } from "../support/eventually.ts";
import { freePort } from "../support/free-port.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { killIfRunning, type Niaga, startNiagaProcess } from "../support/niaga-process.ts";
import { samplePng, startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";

const key = randomBytes(32);
const ID = "id";
/** Replies through a child process on a busy machine: generous, never a sleep. */
const REPLY_MS = 20_000;

describe("a Telegram customer's claim worked as a ticket in the store's Discord staff channel", () => {
  let db: TestDatabase;
  let tg: TelegramEmulator;
  let discord: LocalDiscord;
  let platform: Niaga | undefined;
  let storeId: Types.ObjectId;
  let token: string;
  let staffChannel: LocalChannel;
  let staffer: LocalUser;
  let publicUrl: string;

  before(async () => {
    await initI18n();
    db = await openTestDatabase("niaga_discord_ticket", { indexes: false, encryptionKey: key });
    tg = await startTelegramEmulator();
    discord = await LocalDiscord.start();
    ({ token } = tg.bot());
    const tenant = new Tenant({ slug: "toko-tiket", name: "Toko Tiket", locale: "id" });
    tenant.set("channels.telegram.token", sealTenantSecret(tenant, "channels.telegram.token", token));
    tenant.set("settings.ordering.paymentMethods", ["manual", "simulator"]);
    tenant.set("settings.ordering.snkText", "Klaim paling lambat 24 jam.");
    // The guild as `/niaga hubungkan` leaves it (linking is tested on its own).
    const owner = discord.user({ username: "pemilik", locale: "id" });
    const guild = discord.guild({ name: "Toko Tiket", owner });
    discord.addBot(guild);
    const staffRole = guild.role("Staf");
    staffChannel = discord.textChannel(guild, "staf");
    tenant.set("channels.discord", { guildId: guild.id, staffRoleId: staffRole.id, staffChannelId: staffChannel.id, linkedAt: new Date(), linkedBy: "cli" });
    await tenant.save();
    storeId = tenant._id;
    staffer = discord.user({ username: "rina", globalName: "Rina", locale: "id" });
    guild.member(staffer, { roles: [staffRole] });
    const product = await Product.create({ tenantId: tenant._id, code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000 });
    await addStockItems(tenant._id, product._id, ["NF-AKUN-01", "NF-AKUN-02"]);
    await Member.create({ tenantId: tenant._id, channel: "telegram", channelUserId: "900001", role: "owner", displayName: "Pemilik" } as never);

    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    ({ platform } = await startNiagaProcess({
      MONGODB_URI: db.uri,
      ENCRYPTION_KEY: key.toString("base64"),
      TELEGRAM_API_ROOT: tg.apiRoot,
      DISCORD_TOKEN: discord.application.token,
      DISCORD_APP_ID: discord.application.id,
      DISCORD_API_ROOT: discord.apiRoot,
      HTTP_PORT: String(port),
      PUBLIC_URL: publicUrl,
      LOG_LEVEL: "info",
      NODE_ENV: "test",
    }));
    await eventually(() => discord.connectedSessions === 1, "the platform's gateway session", { timeoutMs: REPLY_MS });
  });
  after(async () => {
    killIfRunning(platform);
    await discord?.close();
    await tg?.stop();
    await db?.close();
  });

  const words = (m: Message) => m.text ?? m.caption ?? "";
  const labels = (m: Message) => (m.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.text);
  const said = (customer: User, check: (text: string) => boolean) => tg.waitForSent(token, customer, (m) => check(words(m)), REPLY_MS);
  const asked = (customer: User, label: string) => tg.waitForSent(token, customer, (m) => labels(m).includes(label), REPLY_MS);
  const press = (customer: User, message: Message, label: string) => tg.pressButton(token, customer, message, { text: label });

  /** The person's interaction answered with something to press matching `label`; that message. */
  const shownWith = (record: InteractionRecord, label: string) =>
    record.until(`a message with "${label}"`, () => [record.original, ...record.followUps].find((m): m is LocalMessage => !!m && m.controls().some((c) => c.label === label)), REPLY_MS);
  const customId = (message: LocalMessage, label: string) => message.controls().find((c) => c.label === label)!.customId!;

  it("buy, claim, a thread in Discord, an answer there, the customer's reply back there, closed from Discord, rated in Telegram", async () => {
    const customer = tg.user({ first_name: "Sari", language_code: "id" });

    // Buys on Telegram and pays on the simulator's page.
    await tg.sendCommand(token, customer, "/start");
    const menu = await said(customer, (text) => text === t(ID, "catalog.welcome", { store: "Toko Tiket" }));
    await press(customer, menu, t(ID, "catalog.menu.catalog"));
    const list = await said(customer, (text) => text === t(ID, "catalog.pick_product"));
    await press(customer, list, labels(list).find((l) => l.includes("Netflix"))!);
    const detail = await tg.waitForSent(token, customer, (m) => labels(m).includes(t(ID, "catalog.buy")), REPLY_MS);
    await press(customer, detail, t(ID, "catalog.buy"));
    await said(customer, (text) => text === t(ID, "ordering.checkout.ask_quantity", { product: { name: "Netflix 1 Bulan" }, maxQuantity: 2 }));
    await tg.sendText(token, customer, "1");
    const terms = await asked(customer, t(ID, "ordering.checkout.snk_accept"));
    await press(customer, terms, t(ID, "ordering.checkout.snk_accept"));
    const methods = await asked(customer, t(ID, "ordering.method.simulator"));
    await press(customer, methods, t(ID, "ordering.method.simulator"));
    const order = await eventually(async () => (await Order.findOne({ tenantId: storeId }).lean().exec())?.payment?.payUrl ? Order.findOne({ tenantId: storeId }).lean().exec() : undefined, "the order with its pay link", { timeoutMs: REPLY_MS });
    const paid = await fetch(order!.payment!.payUrl!, { method: "POST", redirect: "manual" });
    assert.equal(paid.status, 303);
    await said(customer, (text) => text.includes("NF-AKUN-0"));

    // Claims it in the SNK window, with a screenshot.
    await tg.sendText(token, customer, `/pesanansaya ${order!.code}`);
    const actions = await asked(customer, t(ID, "ordering.my_orders.claim"));
    await press(customer, actions, t(ID, "ordering.my_orders.claim"));
    await said(customer, (text) => text === t(ID, "ordering.claim.ask_text"));
    await tg.sendText(token, customer, "Akunnya tidak bisa login sama sekali");
    await said(customer, (text) => text === t(ID, "ordering.claim.ask_screenshot"));
    await tg.sendPhoto(token, customer, samplePng());
    await said(customer, (text) => text === t(ID, "ordering.claim.sent", { code: order!.code }));

    // The claim is a ticket, shown as a card and a thread in the staff channel.
    const ticket = await eventually(() => Ticket.findOne({ tenantId: storeId, orderCode: order!.code }).lean().exec(), "the claim's ticket", { timeoutMs: REPLY_MS });
    assert.equal(ticket.source, "claim");
    const thread = await eventually(() => discord.threadsIn(staffChannel)[0], "the ticket's thread in the staff channel", { timeoutMs: REPLY_MS });
    await eventually(async () => (await Ticket.findOne({ tenantId: storeId, _id: ticket._id }).lean().exec())?.desk?.ref === thread.id, "the thread saved on the ticket", { timeoutMs: REPLY_MS });
    const card = discord.messagesIn(staffChannel).find((m) => m.id === thread.id)!;
    assert.match(card.text(), new RegExp(`#${ticket.number}`));
    assert.match(card.text(), new RegExp(order!.code));

    // The staff member answers in the thread; the customer reads it in Telegram.
    discord.write(staffer, thread, "Maaf ya, akun pengganti sedang kami siapkan.");
    const notice = await said(customer, (text) => text.includes("Maaf ya, akun pengganti sedang kami siapkan."));
    await eventually(async () => (await Ticket.findOne({ tenantId: storeId, _id: ticket._id }).lean().exec())?.status === "answered", "the ticket answered", { timeoutMs: REPLY_MS });

    // The customer replies with the button under the answer; the reply appears in the thread.
    await press(customer, notice, t(ID, "tickets.notice.answer", { number: ticket.number }));
    await said(customer, (text) => text === t(ID, "support.answer.ask_text", { ticketNumber: ticket.number }));
    await tg.sendText(token, customer, "Baik, saya tunggu");
    await eventually(() => discord.messagesIn(thread).some((m) => m.text() === t(ID, "desk.line.customer", { name: "Sari", text: "Baik, saya tunggu" })), "the customer's reply in the thread", { timeoutMs: REPLY_MS });

    // The staff member closes it from the card: open the ticket, Close, the resolution in the Answer modal.
    const opened = discord.press(staffer, card, customId(card, t(ID, "desk.action.open")));
    const whatNext = await shownWith(opened, t(ID, "support.desk.close"));
    const closing = discord.press(staffer, whatNext, customId(whatNext, t(ID, "support.desk.close")));
    const question = await shownWith(closing, t(ID, "discord.answer"));
    const answer = discord.press(staffer, question, customId(question, t(ID, "discord.answer")));
    const modal = await answer.waitForModal(REPLY_MS);
    const submitted = discord.submitModal(staffer, answer, modal.custom_id as string, { answer: "Akun pengganti sudah dikirim" });
    await submitted.waitForAnswer(REPLY_MS);
    await eventually(async () => (await Ticket.findOne({ tenantId: storeId, _id: ticket._id }).lean().exec())?.status === "closed", "the ticket closed", { timeoutMs: REPLY_MS });
    await eventually(() => discord.channel(thread.id)?.archived === true, "the thread archived", { timeoutMs: REPLY_MS });

    // The customer is asked to rate it in Telegram, and does.
    const rating = await said(customer, (text) => text.includes("Akun pengganti sudah dikirim"));
    const five = labels(rating).find((l) => l.startsWith("5") || l.includes("⭐⭐⭐⭐⭐"))!;
    assert.ok(five, labels(rating).join(" | "));
    await press(customer, rating, five);
    const wantComment = await said(customer, (text) => text === t(ID, "support.rate.want_comment"));
    await press(customer, wantComment, labels(wantComment).find((l) => l !== t(ID, "support.rate.write_comment"))!);
    const rated = await eventually(async () => {
      const doc = await Ticket.findOne({ tenantId: storeId, _id: ticket._id }).lean().exec();
      return doc?.rating ? doc : undefined;
    }, "the rating recorded", { timeoutMs: REPLY_MS });
    assert.equal(rated.rating, 5);
    await eventually(() => discord.messagesIn(thread).some((m) => m.text().startsWith("⭐")), "the rating in the thread", { timeoutMs: REPLY_MS });
    assert.ok(!platform!.stderr.includes(discord.application.token), "the token is never logged");
  });
});
