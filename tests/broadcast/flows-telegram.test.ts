// A broadcast written in a Telegram store bot and delivered through it, against the Bot API
// emulator with real grammY: the owner composes with the buttons, each customer gets the
// message once with its opt-out button, the owner's progress message is edited in place
// (counted at the emulator's editMessageText) and the final report follows.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Message, User } from "grammy/types";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import { createBroadcastFlows } from "../../flows/broadcast/broadcast-flows.ts";
import { Broadcast, createBroadcasting, type Broadcasting } from "../../flows/broadcast/index.ts";
import { broadcastProgress } from "../../flows/broadcast/progress-notices.ts";
import { memberAudience } from "../../flows/engine/audience.ts";
import { createEngine } from "../../flows/engine/engine.ts";
import { combineFlowBundles } from "../../flows/engine/flow-bundle.ts";
import { Channels, Outbox } from "../../flows/engine/index.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { catalogFlows } from "../../flows/ordering/catalog-flows.ts";
import { createAdminFlows } from "../../flows/tenant-admin/admin-flows.ts";
import { NO_PLATFORM_OWNERS, withPlatformOwners } from "../../flows/tenant-admin/permissions.ts";
import { t } from "../../locales/i18n.ts";
import { Customer, Member } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { samplePng } from "../support/telegram-emulator.ts";
import { startStores, storeChat, words, type Store, type Stores } from "../telegram/store-fixture.ts";

describe("a broadcast in a Telegram store bot", () => {
  let stores: Stores;
  let store: Store;
  let owner: User;
  let broadcasting: Broadcasting;
  const customers: User[] = [];
  const chat = storeChat(() => stores, () => store);

  before(async () => {
    // The seller's photo is fetched through the bots, which need the engine: read once both exist.
    const files = { fetchFile: (from: { tenantId: string }, fileRef: string, { maxBytes }: { maxBytes: number }) => stores.bots.downloadFile(from.tenantId, fileRef, { maxBytes }) };
    const bundle = combineFlowBundles(catalogFlows, createAdminFlows({ files }), createBroadcastFlows({ broadcasts: () => broadcasting, files }));
    const engine = createEngine({ ...bundle, sessions: new MongoSessionStore(), audienceOf: withPlatformOwners(memberAudience(), NO_PLATFORM_OWNERS) });
    stores = await startStores({ engine });
    const channels = new Channels([new TelegramChannel(stores.bots)]);
    const outbox = new Outbox(channels);
    const log = { info: () => undefined, warn: () => undefined, error: (message: string) => assert.fail(message) };
    const progress = broadcastProgress(outbox, () => broadcasting, log, { capabilitiesOf: (name) => channels.get(name)?.capabilities, minEditIntervalMs: 0 });
    broadcasting = createBroadcasting({ outbox, onEvent: progress, progressEveryMs: 0 });
    store = await stores.createStore({ name: "Toko Kilat" });
    owner = stores.user({ first_name: "Pemilik" });
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(owner.id), role: "owner" } as never);
    for (let i = 0; i < 5; i++) {
      const customer = stores.user({ first_name: `Pelanggan ${i + 1}` });
      stores.tg.openChat(store.token, customer);
      await Customer.create({ tenantId: store.id, channel: "telegram", channelUserId: String(customer.id) } as never);
      customers.push(customer);
    }
    await stores.bots.start(store.id);
  });
  after(() => stores.close());

  const press = async (message: Message, key: string, count = 1) => chat.press(owner, message, t("id", key), count);

  it("is composed with buttons, reaches each customer once, and the owner's progress message is edited in place before the report", async () => {
    const [menu] = await chat.send(owner, "/siaran");
    assert.equal(words(menu!), t("id", "broadcast.menu.title"));
    const [askText] = await press(menu!, "broadcast.menu.new");
    assert.equal(words(askText!), t("id", "broadcast.compose.ask_text"));
    const [imageChoice] = await chat.send(owner, "Promo 12.12 🎉\nSemua voucher diskon 12%!");
    const [askImage] = await press(imageChoice!, "broadcast.compose.add_image");
    assert.equal(words(askImage!), t("id", "broadcast.compose.ask_image"));
    const photo = await stores.tg.sendPhoto(store.token, owner, samplePng());
    const [buttons] = await chat.botMessagesAfter(owner, photo.message_id, 1);
    const [audience] = await press(buttons!, "broadcast.compose.button_done");
    const [review, , preview, decide] = await press(audience!, "broadcast.audience.all", 4);
    // The owner talked to the bot, so the store knows them as a customer too: they get it as well.
    assert.match(words(review!), /Jumlah sekarang: 6 \(Telegram 6\)/);
    assert.match(words(preview!), /^Promo 12\.12 🎉\nSemua voucher diskon 12%!/);
    assert.ok(preview!.photo, "the preview carries the image, as customers get it");
    const [started] = await press(decide!, "broadcast.compose.send_now");
    assert.equal(words(started!), t("id", "broadcast.compose.started", { number: 1, total: "6" }));

    await eventually(async () => (await Broadcast.findOne({ tenantId: store.id, number: 1 } as never).lean().exec())?.status === "sending", "the broadcast to be sending");
    await broadcasting.runOnce();

    for (const customer of customers) {
      const got = stores.tg.sent(store.token, customer);
      assert.equal(got.length, 1, `${customer.first_name} got ${got.length} messages`);
      assert.match(words(got[0]!), /^Promo 12\.12 🎉/);
      assert.ok(got[0]!.photo, "with the seller's image");
      assert.deepEqual(got[0]!.reply_markup?.inline_keyboard.flat().map((b) => b.text), [t("id", "bcmsg.button.stop")]);
    }
    const report = await eventually(() => stores.tg.sent(store.token, owner).find((m) => words(m).startsWith("✅ Siaran #1 selesai.")), "the final report");
    assert.match(words(report), /Terkirim: 6 dari 6/);
    const progressMessages = stores.tg.sent(store.token, owner).filter((m) => words(m).startsWith("📣 Siaran #1 sedang dikirim"));
    assert.equal(progressMessages.length, 1, "one progress message");
    const edits = stores.tg.calls(store.token, "editMessageText").filter((c) => (c.params as { message_id?: number }).message_id === progressMessages[0]!.message_id);
    assert.ok(edits.length >= 1, "the progress message was edited in place");
    assert.match(words(progressMessages[0]!), /✅ 6 terkirim · ❌ 0 gagal · ⏭ 0 dilewati · ⏳ 0 sisa \(dari 6\)/);
  });

  it("a customer presses the opt-out button under the broadcast and is told how to come back", async () => {
    const [customer] = customers;
    const [message] = stores.tg.sent(store.token, customer!);
    const before = chat.lastId(customer!);
    await stores.tg.pressButton(store.token, customer!, message!, { text: t("id", "bcmsg.button.stop") });
    const [answer] = await chat.botMessagesAfter(customer!, before, 1);
    assert.equal(words(answer!), t("id", "broadcast.subscription.stopped", { store: "Toko Kilat", command: "langganan" }));
    assert.equal((await Customer.findOne({ tenantId: store.id, channelUserId: String(customer!.id) } as never).lean().exec())?.broadcastOptOut, true);
  });
});
