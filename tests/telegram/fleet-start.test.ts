// Starting many store bots fast: what Telegram already has (identity, webhook, menus) is
// remembered and not asked or set again; a token revoked while the platform was down is
// still found (first failed call, or the background identity check); and a customer whose
// store is still starting is answered as soon as that store's bot is up.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Api } from "grammy";
import { Member, Tenant } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { startStores, words, type Store, type Stores } from "./store-fixture.ts";

describe("starting the store bots", () => {
  let stores: Stores;
  before(async () => {
    // One store at a time, so the order of starts is what the test sets; the background
    // identity checks far apart, except where a test asks for them.
    stores = await startStores({ startConcurrency: 1, identityChecksPerSecond: 0.001 });
  });
  after(() => stores.close());

  /** Every Bot API call the store's bot made, by method, in order. */
  const methods = (store: Store, token = store.token) => stores.tg.calls(token).map((c) => c.method);

  it("a store that is starting answers a customer as soon as its own bot is up, its start moved ahead of the others", async () => {
    const { tg, bots, log } = stores;
    // Four stores whose first start waits 1.5 s on getMe each, then the store a customer writes to.
    const slow: Store[] = [];
    for (let i = 0; i < 4; i++) slow.push(await stores.createStore({ mode: "webhook" }));
    const store = await stores.createStore({ name: "Toko Tunggu", mode: "webhook" });
    await bots.start(store.id);
    await bots.menusSettled(store.id);
    await bots.stop(store.id);
    for (const s of slow) tg.failNext(s.token, "getMe", { delayMs: 1500 });

    const all = bots.startAll();
    await eventually(() => tg.calls(slow[0].token, "getMe").length > 0, "the first slow store starting");
    assert.equal(bots.status(store.id), undefined, "the store's bot is not up yet when the customer writes");
    const sari = stores.user();
    await tg.sendCommand(store.token, sari, "/start");
    const menu = await tg.waitForSent(store.token, sari, (m) => words(m).includes("Toko Tunggu"), 10_000);
    assert.ok(menu);
    const report = await all;
    assert.deepEqual(report.failed, []);
    assert.ok(report.started.includes(store.slug));

    const info = await new Api(store.token, { apiRoot: tg.apiRoot }).getWebhookInfo();
    assert.equal(info.last_error_message, undefined, "Telegram was never refused (no 503): the request was held, then answered");
    const startedAt = (slug: string) => log.findIndex((l) => l.message === "telegram store bot started" && l.meta.tenant === slug);
    assert.ok(startedAt(store.slug) < startedAt(slow[1].slug), "the waiting store started before the stores queued ahead of it");
  });

  it("a request without the store's secret is not held while the store starts: the same 401 as a stranger's", async () => {
    const { tg, bots, publicUrl } = stores;
    const slow = await stores.createStore({ mode: "webhook" });
    const store = await stores.createStore({ mode: "webhook" });
    await bots.start(store.id);
    await bots.stop(store.id);
    await bots.stopAll();
    tg.failNext(slow.token, "getMe", { delayMs: 1500 });
    const all = bots.startAll();
    await eventually(() => tg.calls(slow.token, "getMe").length > 0, "the slow store starting");
    const response = await fetch(`${publicUrl}/telegram/${store.slug}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "wrong-secret" },
      body: JSON.stringify({ update_id: 1 }),
    });
    assert.equal(response.status, 401);
    assert.equal(bots.status(store.id), undefined, "answered before the store's bot was up");
    await all;
  });

  it("a store started again asks Telegram nothing when its identity, webhook and menus are unchanged", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Ingat", mode: "webhook" });
    const sari = stores.user();
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(sari.id), role: "owner" } as never);
    await bots.start(store.id);
    await tg.sendCommand(store.token, sari, "/start");
    await tg.waitForSent(store.token, sari, (m) => words(m).includes("Toko Ingat"));
    // The member's chat exists now: this start sets every menu and remembers them all.
    await bots.restart(store.id);
    await bots.menusSettled(store.id);
    assert.ok(methods(store).filter((m) => m === "setMyCommands").length >= 4, "customer and member menus set");

    await bots.stop(store.id);
    const before = methods(store).length;
    const status = await bots.start(store.id);
    await bots.menusSettled(store.id);
    assert.equal(status.mode, "webhook");
    assert.deepEqual(methods(store).slice(before), [], "no getMe, setWebhook or setMyCommands");
    const saved = await Tenant.findById(store.id).lean().exec();
    assert.equal(saved?.channels?.telegram?.botUsername, status.botUsername);

    await tg.sendText(store.token, sari, "/start");
    await eventually(() => tg.sent(store.token, sari).filter((m) => words(m).includes("Toko Ingat")).length === 2, "the customer answered by the remembered bot");
  });

  it("a bot stopped while its menu is being set waits for that call and remembers it: the next start sets nothing", async () => {
    const { tg, bots, log } = stores;
    const store = await stores.createStore({ mode: "webhook" });
    tg.failNext(store.token, "setMyCommands", { delayMs: 400 });
    await bots.start(store.id);
    await eventually(() => tg.calls(store.token, "setMyCommands").length > 0 || undefined, "the menu being set");
    await bots.stop(store.id);
    const known = (await Tenant.findById(store.id).lean().exec())?.channels?.telegram?.known;
    assert.equal(typeof known?.commands, "string", "the customer menu set before the stop is remembered");
    assert.ok(!log.some((l) => l.message.includes("not remembered") && l.meta.tenant === store.slug), "nothing was cut off");

    const before = methods(store).length;
    await bots.start(store.id);
    await bots.menusSettled(store.id);
    assert.deepEqual(methods(store).slice(before), [], "no getMe, setWebhook or setMyCommands");
  });

  it("a bot stopped while its menus still wait in the background line stops at once, and they are skipped", async () => {
    const { tg, bots } = stores;
    // Eight stores whose menu calls are slow fill the line (eight at a time); a ninth waits behind them.
    const slow: Store[] = [];
    for (let i = 0; i < 8; i++) slow.push(await stores.createStore({ mode: "webhook" }));
    for (const s of slow) tg.failNext(s.token, "setMyCommands", { delayMs: 3000 });
    for (const s of slow) await bots.start(s.id);
    const queued = await stores.createStore({ mode: "webhook" });
    await bots.start(queued.id);
    let aheadDone = false;
    const ahead = Promise.all(slow.map((s) => bots.menusSettled(s.id).then(() => (aheadDone = true))));
    await bots.stop(queued.id);
    assert.equal(aheadDone, false, "the stop did not wait for a place in the line");
    await ahead;
    await bots.menusSettled(queued.id);
    assert.deepEqual(methods(queued).filter((m) => m === "setMyCommands"), [], "its menus were skipped");
    for (const s of slow) await bots.stop(s.id);
  });

  it("a new member from another process, a mode switch and a new token each make the start call Telegram again", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ mode: "webhook" });
    await bots.start(store.id);
    await bots.menusSettled(store.id);
    await bots.stop(store.id);

    // A member written by another process (`niaga member add`): their menu is set at the next start.
    const budi = stores.user({ first_name: "Budi" });
    await tg.sendText(store.token, budi, "halo");
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(budi.id), role: "staff" } as never);
    let before = methods(store).length;
    await bots.start(store.id);
    await bots.menusSettled(store.id);
    const memberMenus = tg.calls(store.token, "setMyCommands").slice(-2).map((c) => c.params.scope as { chat_id?: number } | undefined);
    assert.ok(methods(store).slice(before).includes("setMyCommands"), "the new member's menu is set");
    assert.equal(memberMenus[0]?.chat_id, budi.id);
    assert.ok(!methods(store).slice(before).includes("getMe"));

    // To polling and back: the webhook Telegram had was deleted, so it is set again.
    await bots.switchMode(store.id, "polling");
    await bots.switchMode(store.id, "webhook");
    await bots.stop(store.id);
    before = methods(store).length;
    await bots.start(store.id);
    assert.deepEqual(methods(store).slice(before), [], "the webhook set by the switch is remembered");
    const setWebhooks = tg.calls(store.token, "setWebhook").length;
    assert.ok(setWebhooks >= 2);

    // A new token: identity, webhook and menus are asked and set for it.
    const renewed = tg.revoke(store.token);
    await bots.retoken(store.id, renewed);
    await bots.menusSettled(store.id);
    const fresh = stores.tg.calls(renewed).map((c) => c.method);
    for (const method of ["getMe", "setWebhook", "setMyCommands"]) assert.ok(fresh.includes(method), `${method} with the new token`);
  });

  it("a token revoked while the platform was down: the start from memory makes no call, the first send gets the 401 and the owner is told", async () => {
    const { tg, bots, revoked } = stores;
    const store = await stores.createStore({ mode: "webhook" });
    const sari = stores.user();
    await bots.start(store.id);
    await tg.sendCommand(store.token, sari, "/start");
    await tg.waitForSent(store.token, sari, () => true);
    await bots.menusSettled(store.id);
    await bots.stop(store.id);

    tg.revoke(store.token);
    const getMes = tg.calls(store.token, "getMe").length;
    await bots.start(store.id);
    assert.equal(tg.calls(store.token, "getMe").length, getMes, "started from the remembered identity");
    assert.ok(bots.status(store.id));

    const report = await bots.sendTo(store.id, String(sari.id), [{ text: { inline: { id: "Pesanan siap", en: "Order ready" } } }]);
    assert.equal(report.ok, false);
    await eventually(() => revoked.includes(store.slug), "onTokenRevoked told");
    await eventually(() => bots.status(store.id) === undefined, "the bot stopped");
    const saved = await Tenant.findById(store.id).lean().exec();
    assert.ok(saved?.channels?.telegram?.revokedAt, "revokedAt recorded");
  });

  it("a bot started from memory that nobody writes to is checked in the background: a revoked token is found and told", async () => {
    const { tg, bots, revoked } = stores;
    const store = await stores.createStore({ mode: "webhook" });
    await bots.start(store.id);
    await bots.menusSettled(store.id);
    await bots.stop(store.id);
    tg.revoke(store.token);

    const checking = stores.instance("checks", { identityChecksPerSecond: 50 });
    await checking.start(store.id);
    await eventually(() => revoked.includes(store.slug), "onTokenRevoked told by the background check");
    const checks = tg.calls(store.token, "getMe").filter((c) => c.client === "checks");
    assert.equal(checks.length, 1, "one getMe, the background check's");
    assert.equal(checks[0].response?.error_code, 401);
    await eventually(() => checking.status(store.id) === undefined, "the bot stopped");
  });
});
