// `reconcileChanged`: the running bots follow what other processes write to the stores —
// `niaga tenant suspend|resume`, a new store, a new token, a new mode — without a restart,
// touching only the stores that changed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { User } from "grammy/types";
import { sealTenantSecret, Tenant } from "../../storage/models/index.ts";
import type { TelegramEmulator } from "../support/telegram-emulator.ts";
import { startStores, words, type Store, type Stores } from "./store-fixture.ts";

async function greeted(tg: TelegramEmulator, store: Store, user: User): Promise<void> {
  const sent = await tg.sendCommand(store.token, user, "/start");
  await tg.waitForSent(store.token, user, (m) => m.message_id > sent.message_id && words(m).includes(store.name));
}

describe("the reconcile sweep", () => {
  let stores: Stores;
  before(async () => {
    // A store whose Telegram does not answer gives up quickly here.
    stores = await startStores({ startTimeoutMs: 1000 });
  });
  after(() => stores.close());

  it("stops a store suspended elsewhere and starts it again when resumed, leaving the others alone", async () => {
    const { tg, bots } = stores;
    const a = await stores.createStore({ name: "Toko Asri" });
    const b = await stores.createStore({ name: "Toko Bersih" });
    const started = await bots.startAll();
    assert.ok(started.started.includes(a.slug) && started.started.includes(b.slug));
    assert.equal((await bots.reconcileChanged()).reconciled, 0, "nothing changed, nothing touched");

    // What `niaga tenant suspend` writes, from another process.
    await Tenant.updateOne({ _id: a.id }, { $set: { status: "suspended", suspendedReason: "tagihan" } }).exec();
    const suspended = await bots.reconcileChanged();
    assert.deepEqual([suspended.reconciled, suspended.stopped, suspended.started], [1, [a.slug], []]);
    assert.equal(bots.status(a.id), undefined);
    assert.equal(bots.status(b.id)?.mode, "polling");

    const gita = stores.user({ first_name: "Gita" });
    const waiting = await tg.sendCommand(a.token, gita, "/start");
    await greeted(tg, b, gita);
    await Tenant.updateOne({ _id: a.id }, { $set: { status: "active" }, $unset: { suspendedReason: 1 } }).exec();
    assert.deepEqual((await bots.reconcileChanged()).started, [a.slug]);
    const answer = await tg.waitForSent(a.token, gita, (m) => m.message_id > waiting.message_id);
    assert.match(words(answer), /Toko Asri/, "the message sent while suspended is answered after the resume");
  });

  it("starts a store created after the start, follows a new token and a new mode", async () => {
    const { tg, bots } = stores;
    const c = await stores.createStore({ name: "Toko Cerah" });
    assert.deepEqual((await bots.reconcileChanged()).started, [c.slug]);
    await greeted(tg, c, stores.user({ first_name: "Hadi" }));

    const { token } = tg.bot();
    await Tenant.updateOne({ _id: c.id }, { $set: { "channels.telegram.token": sealTenantSecret({ _id: c.id }, "channels.telegram.token", token) } }).exec();
    const retokened = await bots.reconcileChanged();
    assert.equal(retokened.reconciled, 1);
    await greeted(tg, { ...c, token }, stores.user({ first_name: "Indah" }));

    await Tenant.updateOne({ _id: c.id }, { $set: { "channels.telegram.mode": "webhook" } }).exec();
    await bots.reconcileChanged();
    assert.equal(bots.status(c.id)?.mode, "webhook");
    await greeted(tg, { ...c, token }, stores.user({ first_name: "Joko" }));

    await Tenant.updateOne({ _id: c.id }, { $set: { name: "Toko Cerah Ceria" } }).exec();
    await bots.reconcileChanged();
    await greeted(tg, { ...c, token, name: "Toko Cerah Ceria" }, stores.user({ first_name: "Kiki" }));
  });

  it("stops the bot of a store that is gone, and tries a store that failed to start again later, not at every sweep", async () => {
    const { tg, bots } = stores;
    const d = await stores.createStore({ name: "Toko Dulu" });
    await bots.start(d.id);
    await Tenant.deleteOne({ _id: d.id }).exec();
    const gone = await bots.reconcileChanged();
    assert.deepEqual(gone.stopped, [d.slug]);

    const e = await stores.createStore({ name: "Toko Enggan" });
    tg.failNext(e.token, "getMe", { status: 502, times: 1_000 });
    const first = await bots.reconcileChanged();
    assert.deepEqual(first.failed.map((f) => f.slug), [e.slug]);
    assert.match(first.failed[0].reason, /did not answer getMe/);
    const second = await bots.reconcileChanged();
    assert.equal(second.reconciled, 0, "a failed store waits for its back-off");
  });
});
