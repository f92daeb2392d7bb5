// Broadcasts as the platform wires them (bots/commerce.ts): the runner sends through the
// outbox to real store bots on the Telegram emulator, committing each message right before
// it goes out, the seller follows it in their chat, and a channel's restriction reaches the
// platform owner as an alert that recovers when the broadcast goes on.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { User } from "grammy/types";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import { alertKey, type AlertSink, type OwnerAlertInput } from "../../admin-bot/owner-alerts.ts";
import { createCommerce, type Commerce } from "../../bots/commerce.ts";
import { Broadcast, BroadcastRecipient } from "../../flows/broadcast/index.ts";
import { Channels, Outbox } from "../../flows/engine/index.ts";
import { Customer } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { startStores, words, type Store, type Stores } from "../telegram/store-fixture.ts";

/** What the owner was told: alerts raised, and the keys that recovered. */
function ownerInbox(): AlertSink & { raised: OwnerAlertInput[]; resolved: string[] } {
  const raised: OwnerAlertInput[] = [];
  const resolved: string[] = [];
  return {
    raised,
    resolved,
    raise: async (alert) => void raised.push(alert),
    resolve: async (key) => void resolved.push(key),
  };
}

describe("broadcasts as the platform wires them", () => {
  let stores: Stores;
  let commerce: Commerce;
  const owner = ownerInbox();
  before(async () => {
    stores = await startStores();
    const channels = new Channels([new TelegramChannel(stores.bots)]);
    commerce = createCommerce({
      outbox: new Outbox(channels),
      files: channels,
      encryptionKey: randomBytes(32),
      payPageUrl: () => "http://127.0.0.1:9",
      alerts: owner,
      broadcast: { pace: { telegram: 50 }, capabilitiesOf: (name) => channels.get(name)?.capabilities },
    });
    commerce.broadcasts.start();
  });
  after(async () => {
    await commerce.broadcasts.stop(1_000);
    await stores.close();
  });

  /** A running store bot, its seller's chat and `count` customers who started the bot. */
  async function storeWithCustomers(count: number): Promise<{ store: Store; seller: User; customers: User[] }> {
    const store = await stores.createStore();
    await stores.bots.start(store.id);
    const seller = stores.user({ first_name: "Penjual" });
    stores.tg.openChat(store.token, seller);
    const customers = Array.from({ length: count }, (_, i) => stores.user({ first_name: `Pelanggan ${i + 1}` }));
    for (const customer of customers) {
      stores.tg.openChat(store.token, customer);
      await Customer.create({ tenantId: store.id, channel: "telegram", channelUserId: String(customer.id) } as never);
    }
    return { store, seller, customers };
  }

  async function sendNow(store: Store, seller: User, text: string): Promise<number> {
    const actor = { channel: "telegram", userId: String(seller.id), name: "Penjual" };
    const saved = await commerce.broadcasts.saveDraft(store.id, actor, { content: { text, buttons: [] }, audience: { kind: "all" } });
    assert.ok(saved.ok, JSON.stringify(saved));
    const scheduled = await commerce.broadcasts.schedule(store.id, saved.broadcast.number, actor, { progressChat: { channel: "telegram", chatId: String(seller.id), locale: "id" } });
    assert.ok(scheduled.ok, JSON.stringify(scheduled));
    return saved.broadcast.number;
  }

  const statusOf = async (store: Store, number: number) => (await Broadcast.findOne({ tenantId: store.id, number }).lean().exec())?.status;

  test("reaches every customer once through their store's bot, recorded with Telegram's message ids, and the seller gets progress and the report", async () => {
    const { store, seller, customers } = await storeWithCustomers(6);

    const number = await sendNow(store, seller, "Promo akhir pekan: diskon 10%!");

    await eventually(async () => (await statusOf(store, number)) === "done", "the broadcast to finish", { timeoutMs: 30_000 });
    for (const customer of customers) {
      const got = stores.tg.sent(store.token, customer).map(words);
      assert.equal(got.length, 1, `${customer.first_name}: ${JSON.stringify(got)}`);
      assert.match(got[0]!, /^Promo akhir pekan: diskon 10%!/);
    }
    const ledger = await BroadcastRecipient.find({ tenantId: store.id }).lean().exec();
    for (const row of ledger) {
      const [message] = stores.tg.sent(store.token, Number(row.chatId));
      assert.deepEqual([row.state, row.messageIds], ["sent", [String(message!.message_id)]]);
    }
    const toSeller = await eventually(() => {
      const texts = stores.tg.sent(store.token, seller).map(words);
      return texts.length >= 2 ? texts : undefined;
    }, "the seller's progress message and report");
    assert.match(toSeller.at(-1)!, new RegExp(`#${number}`));
  });

  test("a flood wait beyond what a broadcast sits out pauses it as restricted and tells the owner, naming store and channel; resuming recovers the alert", async () => {
    const { store, seller } = await storeWithCustomers(3);
    stores.tg.failNext(store.token, "sendMessage", { status: 429, retryAfter: 600 });

    const number = await sendNow(store, seller, "Promo kilat");

    await eventually(async () => (await statusOf(store, number)) === "paused", "the broadcast to pause");
    const key = alertKey("broadcast-restricted", store.slug, `#${number}`);
    const alert = await eventually(() => owner.raised.find((a) => a.key === key), "the owner alert");
    assert.equal(alert.kind, "broadcast-restricted");
    assert.deepEqual(alert.store, { tenantId: store.id, slug: store.slug, name: store.name });
    assert.equal(alert.params?.channel, "telegram");
    assert.equal(alert.params?.number, number);
    assert.match(String(alert.params?.detail), /600/);
    assert.equal(owner.raised.filter((a) => a.key === key).length, 1, "once per broadcast");

    const resumed = await commerce.broadcasts.resume(store.id, number, { channel: "telegram", userId: String(seller.id) });
    assert.ok(resumed.ok, JSON.stringify(resumed));
    await eventually(() => owner.resolved.includes(key), "the alert to recover");
  });
});
