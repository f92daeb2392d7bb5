// Messages a store sends on its own — goods after a payment, "your order expired", an SNK
// reminder, a broadcast — through `StoreBots.sendTo`, against the Bot API emulator holding
// the bots to Telegram's flood limits where a test says so.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "grammy/types";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import { Channels, Outbox, withTimeout } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";
import { Customer, Tenant } from "../../storage/models/index.ts";
import type { Outbound } from "../../flows/engine/message.ts";
import { startStores, words, type Stores } from "./store-fixture.ts";
import { eventually } from "../support/eventually.ts";

const TELEGRAM_LIMITS = { perChatPerSecond: 1, perBotPerSecond: 30 };

const say = (id: string, en = id): Outbound => ({ text: { inline: { id, en } } });

describe("messages a store sends outside a conversation", () => {
  let stores: Stores;
  before(async () => {
    stores = await startStores();
  });
  after(() => stores.close());

  /** Runs `work` with the emulator refusing what Telegram's flood control would. */
  async function underTelegramLimits<T>(work: () => Promise<T>): Promise<T> {
    stores.tg.enforceFloodLimits(TELEGRAM_LIMITS);
    try {
      return await work();
    } finally {
      stores.tg.enforceFloodLimits(undefined);
    }
  }

  it("reach one customer in the order given, batch after batch, with no 429 under Telegram's limits", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Urut" });
    await bots.start(store.id);
    const sari = stores.user();
    tg.openChat(store.token, sari);

    const [first, second] = await underTelegramLimits(() =>
      Promise.all([
        bots.sendTo(store.id, String(sari.id), [say("Pesanan INV-1 dibayar"), say("Barangmu:\nKODE-AAA-111"), say("Terima kasih!")]),
        bots.sendTo(store.id, String(sari.id), [say("Pengingat SNK"), say("Balas 'oke' jika sudah dicek")]),
      ]),
    );

    assert.deepEqual([first.ok, first.sent, second.ok, second.sent], [true, 3, true, 2]);
    assert.deepEqual(tg.sent(store.token, sari).map(words), [
      "Pesanan INV-1 dibayar", "Barangmu:\nKODE-AAA-111", "Terima kasih!", "Pengingat SNK", "Balas 'oke' jika sudah dicek",
    ]);
    assert.deepEqual(first.messages.map((m) => m.messageIds.length), [1, 1, 1]);
    assert.deepEqual(tg.floodRefusals(store.token), [], "Telegram never had to refuse a message");
  });

  it("a burst to 40 customers finishes with every message delivered and no 429 under Telegram's limits", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Ramai" });
    await bots.start(store.id);
    const customers = Array.from({ length: 40 }, (_, i) => stores.user({ first_name: `Pelanggan ${i + 1}` }));
    for (const customer of customers) tg.openChat(store.token, customer);

    const reports = await underTelegramLimits(() =>
      Promise.all(customers.map((customer, i) => bots.sendTo(store.id, String(customer.id), [say(`Promo untukmu, pelanggan ${i + 1}`)]))),
    );

    assert.ok(reports.every((r) => r.ok && r.sent === 1), JSON.stringify(reports.filter((r) => !r.ok)));
    for (const [i, customer] of customers.entries()) assert.deepEqual(tg.sent(store.token, customer).map(words), [`Promo untukmu, pelanggan ${i + 1}`]);
    assert.deepEqual(tg.floodRefusals(store.token), []);
  });

  it("a 429 in one chat holds the store's whole bot for its retry_after, then every message goes out once", async () => {
    const { tg, bots, log } = stores;
    const store = await stores.createStore({ name: "Toko Banjir" });
    await bots.start(store.id);
    const [ani, budi, cici] = ["Ani", "Budi", "Cici"].map((first_name) => stores.user({ first_name }));
    for (const customer of [ani, budi, cici]) tg.openChat(store.token, customer);

    tg.failNext(store.token, "sendMessage", { status: 429, retryAfter: 1 });
    const toAni = bots.sendTo(store.id, String(ani.id), [say("Untuk Ani")]);
    // Once the bot has heard the 429 (it logs that it waits), nothing may reach Telegram for a second.
    await eventually(() => log.some((l) => l.meta.slug === store.slug && /flood limit; waiting/.test(l.message)), "the bot to hear the 429");
    const others = await Promise.all([budi, cici].map((c) => bots.sendTo(store.id, String(c.id), [say(`Untuk ${c.first_name}`)])));

    assert.ok((await toAni).ok && others.every((r) => r.ok));
    const calls = tg.calls(store.token, "sendMessage");
    const flood = calls.find((c) => c.response?.error_code === 429)!;
    const afterwards = calls.filter((c) => c !== flood && c.receivedAt > flood.answeredAt!);
    assert.equal(afterwards.length, 3, "Ani's retry, Budi's and Cici's messages");
    for (const call of afterwards) assert.ok(call.receivedAt >= flood.answeredAt! + 1000, `a message reached Telegram ${Math.round(call.receivedAt - flood.answeredAt!)} ms into the flood wait`);
    for (const c of [ani, budi, cici]) assert.deepEqual(tg.sent(store.token, c).map(words), [`Untuk ${c.first_name}`]);
  });

  it("a customer who blocked the bot is reported and recorded, without an exception, and the rest of the batch is not tried", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Sepi" });
    await bots.start(store.id);
    const dewi = stores.user({ first_name: "Dewi" });
    const sent = await tg.sendCommand(store.token, dewi, "/start");
    await tg.waitForSent(store.token, dewi, (m) => m.message_id > sent.message_id);
    // Blocked while the bot was not looking: Telegram's answer to the next message is the first sign.
    tg.failNext(store.token, "sendMessage", { status: 403, description: "Forbidden: bot was blocked by the user" });
    const before = tg.calls(store.token, "sendMessage").length;

    const report = await bots.sendTo(store.id, String(dewi.id), [say("Pesananmu kedaluwarsa"), say("Silakan pesan lagi")]);

    assert.equal(report.ok, false);
    assert.equal(report.reason, "blocked");
    assert.equal(report.sent, 0);
    assert.deepEqual(report.messages.map((m) => [m.status, m.reason]), [["failed", "blocked"], ["skipped", "blocked"]]);
    assert.match(report.detail ?? "", /blocked by the user/);
    assert.equal(tg.calls(store.token, "sendMessage").length - before, 1, "one attempt, no retry, the second message not tried");
    const customer = await eventually(async () => {
      const doc = await Customer.findOne({ tenantId: store.id, channel: "telegram", channelUserId: String(dewi.id) }).lean().exec();
      return doc?.blocked ? doc : undefined;
    }, "Dewi recorded as blocked");
    assert.equal(customer.blockedReason, "blocked-bot");
  });

  it("speaks the customer's chosen language unless told otherwise, and signs buttons as in a conversation", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Dua Bahasa" });
    await bots.start(store.id);
    const eka = stores.user({ first_name: "Eka", language_code: "id" });
    tg.openChat(store.token, eka);
    await Customer.create({ tenantId: store.id, channel: "telegram", channelUserId: String(eka.id), locale: "en" } as never);

    await bots.sendTo(store.id, String(eka.id), [say("Pesananmu sudah dikirim", "Your order is on its way")]);
    await bots.sendTo(store.id, String(eka.id), [say("Pesananmu sudah dikirim", "Your order is on its way")], { locale: "id" });
    const confirm: Outbound = { ...say("Barang sudah dicek?", "Checked the goods?"), choices: [{ id: "ok", label: { inline: { id: "Sudah", en: "Done" } } }] };
    const asked = await bots.sendTo(store.id, String(eka.id), [confirm]);

    assert.deepEqual(tg.sent(store.token, eka).map(words), ["Your order is on its way", "Pesananmu sudah dikirim", "Checked the goods?"]);
    const withButton = tg.sent(store.token, eka).at(-1) as Message;
    assert.equal(String(withButton.message_id), asked.messages[0].messageIds[0]);
    await tg.pressButton(store.token, eka, withButton, { text: "Done" });
    await tg.waitForCall(store.token, "answerCallbackQuery");
    assert.notEqual(tg.callbackAnswers(store.token).at(-1)?.text, t("en", "telegram.button_invalid"), "the button is signed for this store and chat");
  });

  it("sends for an active store whose bot is not running here, and refuses for a suspended one without calling Telegram", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Diam" });
    const fajar = stores.user({ first_name: "Fajar" });
    tg.openChat(store.token, fajar);

    const idle = await bots.sendTo(store.id, String(fajar.id), [say("Pesanan dikirim")]);
    assert.equal(idle.ok, true);
    assert.equal(bots.status(store.id), undefined, "sending did not start the bot");

    await Tenant.updateOne({ _id: store.id }, { $set: { status: "suspended" } }).exec();
    const before = tg.calls(store.token).length;
    const suspended = await bots.sendTo(store.id, String(fajar.id), [say("Tidak terkirim"), say("Juga tidak")]);
    assert.deepEqual([suspended.ok, suspended.reason, suspended.sent], [false, "store-unavailable", 0]);
    assert.deepEqual(suspended.messages.map((m) => m.status), ["failed", "skipped"]);
    assert.equal(tg.calls(store.token).length, before);

    const unknown = await bots.sendTo("0123456789abcdef01234567", String(fajar.id), [say("Siapa?")]);
    assert.equal(unknown.reason, "store-unavailable");
    const badChat = await bots.sendTo(store.id, "not-a-chat", [say("Siapa?")]);
    assert.equal(badChat.reason, "unreachable");
  });

  it("go through the outbox as the Telegram channel: a report with the reason when not sent, never quoting the goods", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Antar" });
    await bots.start(store.id);
    const gilang = stores.user({ first_name: "Gilang" });
    tg.openChat(store.token, gilang);
    const outbox = new Outbox(new Channels([new TelegramChannel(bots)])).use(withTimeout(10_000));
    const to = { tenantId: store.id, channel: "telegram", chatId: String(gilang.id) };

    assert.equal((await outbox.send(to, [say("Barangmu: KODE-1", "Your goods: KODE-1")], { locale: "en" })).ok, true);
    assert.deepEqual(tg.sent(store.token, gilang).map(words), ["Your goods: KODE-1"]);

    tg.blockBy(store.token, gilang);
    const blocked = await outbox.send(to, [say("Barangmu: KODE-2", "Your goods: KODE-2")], { locale: "en" });
    assert.equal(blocked.ok, false);
    assert.equal(blocked.reason, "blocked");
    assert.doesNotMatch(JSON.stringify(blocked), /KODE-2/, "the report never quotes the goods");
    const elsewhere = await outbox.send({ ...to, channel: "whatsapp" }, [say("x")]);
    assert.equal(elsewhere.reason, "no-channel");
  });
});
