// Many stores' bots in one process: each store's messages stay in its own bot, and what
// happens to one store (stopped, suspended, token revoked, re-tokened) leaves the others
// answering. Faults Telegram answers with are recorded against the right store or customer.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { User } from "grammy/types";
import { Customer, Tenant } from "../../storage/models/index.ts";
import { StoreBotError } from "../../adapters/telegram/store-bots.ts";
import type { TelegramEmulator } from "../support/telegram-emulator.ts";
import { startStores, words, type Store, type Stores } from "./store-fixture.ts";
import { eventually } from "../support/eventually.ts";

/** Sends /start and waits for the store's greeting. */
async function greeted(tg: TelegramEmulator, store: Store, user: User): Promise<void> {
  const sent = await tg.sendCommand(store.token, user, "/start");
  await tg.waitForSent(store.token, user, (m) => m.message_id > sent.message_id && words(m).includes(store.name));
}

describe("many stores in one process", () => {
  let stores: Stores;
  before(async () => {
    stores = await startStores();
  });
  after(() => stores.close());

  it("keeps each store's customers, sessions and replies in its own bot", async () => {
    const { tg, bots } = stores;
    const a = await stores.createStore({ name: "Toko Anggrek" });
    const b = await stores.createStore({ name: "Toko Bakung" });
    await bots.start(a.id);
    await bots.start(b.id);
    const sari = stores.user();

    await tg.sendCommand(a.token, sari, "/note");
    await tg.waitForSent(a.token, sari, (m) => words(m) === "Tulis catatanmu.");
    await greeted(tg, b, sari);
    const typed = await tg.sendText(a.token, sari, "untuk toko A saja");
    await tg.waitForSent(a.token, sari, (m) => m.message_id > typed.message_id && words(m) === "Catatan: untuk toko A saja");

    assert.deepEqual(tg.sent(b.token, sari).map(words), ["Selamat datang di Toko Bakung! Mau apa?"], "B saw only its own conversation");
    assert.ok(tg.sent(a.token, sari).every((m) => !words(m).includes("Bakung")));
    const customers = await Promise.all([a, b].map((s) => Customer.countDocuments({ tenantId: s.id, channelUserId: String(sari.id) }).exec()));
    assert.deepEqual(customers, [1, 1], "one customer record per store");
  });

  it("stopping, suspending and restarting one store leaves the other answering, and loses nothing", async () => {
    const { tg, bots } = stores;
    const a = await stores.createStore({ name: "Toko Cempaka" });
    const b = await stores.createStore({ name: "Toko Dahlia" });
    await bots.start(a.id);
    await bots.start(b.id);
    const budi = stores.user({ first_name: "Budi" });
    await greeted(tg, a, budi);

    await bots.stop(a.id);
    assert.equal(bots.status(a.id), undefined);
    const waiting = await tg.sendCommand(a.token, budi, "/start");
    await greeted(tg, b, budi);
    assert.ok(tg.pendingUpdates(a.token).some((u) => u.message?.message_id === waiting.message_id), "A's update waits at Telegram");

    await bots.start(a.id);
    await tg.waitForSent(a.token, budi, (m) => m.message_id > waiting.message_id && words(m).includes("Cempaka"));

    await bots.suspend(a.id, "tagihan belum dibayar");
    assert.equal((await Tenant.findById(a.id).lean().exec())?.status, "suspended");
    await assert.rejects(bots.start(a.id), (error: unknown) => error instanceof StoreBotError && error.reason === "suspended");
    await greeted(tg, b, budi);
    await bots.resume(a.id);
    await greeted(tg, a, budi);
  });

  it("a revoked token marks that store revoked and stops only its bot, without a retry storm; a new token brings it back", async () => {
    const { tg, bots, log } = stores;
    const a = await stores.createStore({ name: "Toko Edelweis" });
    const b = await stores.createStore({ name: "Toko Flamboyan" });
    await bots.start(a.id);
    await bots.start(b.id);
    await tg.waitForPoll(a.token);
    const cici = stores.user({ first_name: "Cici" });

    const revokedToken = a.token;
    const newToken = tg.revoke(a.token);
    const tenant = await eventually(async () => {
      const doc = await Tenant.findById(a.id).lean().exec();
      return doc?.channels?.telegram?.revokedAt ? doc : undefined;
    }, "revokedAt to be recorded");
    assert.ok(tenant.channels?.telegram?.revokedAt instanceof Date);
    await eventually(() => bots.status(a.id) === undefined, "A's bot to stop");
    const unauthorizedCalls = tg.calls(newToken).filter((c) => c.response?.error_code === 401).length;
    assert.ok(unauthorizedCalls <= 2, `Telegram was asked ${unauthorizedCalls} times with the revoked token`);
    await greeted(tg, b, cici);
    await assert.rejects(bots.start(a.id), (error: unknown) => error instanceof StoreBotError && error.reason === "token-revoked");
    assert.ok(log.some((l) => l.level === "error" && l.meta.tenant === a.slug && /token/.test(l.message)));
    assert.deepEqual(stores.revoked, [a.slug], "the owner is told once");
    assert.ok(!JSON.stringify(log).includes(revokedToken.split(":")[1]), "no token in the log");

    await assert.rejects(bots.retoken(a.id, revokedToken), (error: unknown) => error instanceof StoreBotError && error.reason === "token-rejected");
    await bots.retoken(a.id, newToken);
    const saved = await Tenant.findById(a.id).lean().exec();
    assert.equal(saved?.channels?.telegram?.revokedAt, undefined);
    assert.notEqual(saved?.channels?.telegram?.token, newToken, "the token is stored sealed");
    await greeted(tg, { ...a, token: newToken }, cici);
    await greeted(tg, b, cici);
  });

  it("a 429 with retry_after and a 500 during a reply are retried and the reply arrives once", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Gardenia" });
    await bots.start(store.id);
    const dodi = stores.user({ first_name: "Dodi" });
    await tg.sendCommand(store.token, dodi, "/note");
    await tg.waitForSent(store.token, dodi, (m) => words(m) === "Tulis catatanmu.");
    tg.failNext(store.token, "sendMessage", { status: 429, retryAfter: 1 });
    tg.failNext(store.token, "sendMessage", { status: 500 });
    const typed = await tg.sendText(store.token, dodi, "kirim sekali saja");
    await tg.waitForSent(store.token, dodi, (m) => m.message_id > typed.message_id);
    const outcomes = tg.calls(store.token, "sendMessage").filter((c) => c.params.text === "Catatan: kirim sekali saja").map((c) => c.response?.error_code ?? "ok");
    assert.deepEqual(outcomes, [429, 500, "ok"]);
    assert.equal(tg.sent(store.token, dodi).filter((m) => words(m) === "Catatan: kirim sekali saja").length, 1);
  });

  it("a customer who blocked the bot is marked blocked (403), and unmarked when they write again", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Kenanga" });
    await bots.start(store.id);
    const euis = stores.user({ first_name: "Euis" });
    const fikri = stores.user({ first_name: "Fikri" });
    const record = (user: User) => Customer.findOne({ tenantId: store.id, channel: "telegram", channelUserId: String(user.id) }).lean().exec();

    // A reply that meets a 403: Telegram's answer when the customer blocked the bot meanwhile.
    tg.failNext(store.token, "sendMessage", { status: 403, description: "Forbidden: bot was blocked by the user" });
    await tg.sendCommand(store.token, euis, "/note");
    const blocked = await eventually(async () => {
      const doc = await record(euis);
      return doc?.blocked ? doc : undefined;
    }, "Euis marked blocked");
    assert.equal(blocked.blockedReason, "blocked-bot");
    assert.equal(tg.calls(store.token, "sendMessage").filter((c) => c.response?.error_code === 403).length, 1, "a 403 is not retried");

    const again = await tg.sendCommand(store.token, euis, "/start");
    await tg.waitForSent(store.token, euis, (m) => m.message_id > again.message_id);
    await eventually(async () => (await record(euis))?.blocked === false, "Euis reachable again");

    // Blocking in the app tells the bot too (my_chat_member).
    await greeted(tg, store, fikri);
    tg.blockBy(store.token, fikri);
    const doc = await eventually(async () => {
      const found = await record(fikri);
      return found?.blocked ? found : undefined;
    }, "Fikri marked blocked");
    assert.equal(doc.blockedReason, "blocked-bot");
  });

  it("reconcile makes a running bot follow what another process wrote (a CLI suspend, a new mode)", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Melati" });
    await bots.start(store.id);
    await Tenant.updateOne({ _id: store.id }, { $set: { status: "suspended" } }).exec();
    assert.equal(await bots.reconcile(store.id), undefined);
    assert.equal(bots.status(store.id), undefined);
    await Tenant.updateOne({ _id: store.id }, { $set: { status: "active", "channels.telegram.mode": "webhook" } }).exec();
    assert.equal((await bots.reconcile(store.id))?.mode, "webhook");
    await Tenant.updateOne({ _id: store.id }, { $set: { "channels.telegram.mode": "polling" } }).exec();
    assert.equal((await bots.reconcile(store.id))?.mode, "polling");
    await greeted(tg, store, stores.user({ first_name: "Gani" }));
  });
});
