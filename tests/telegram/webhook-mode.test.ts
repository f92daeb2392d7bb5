// Store bots in webhook mode behind the platform's HTTP server, and moving a store between
// long polling and webhook while customers keep writing.
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Update, User } from "grammy/types";
import { Customer, Tenant } from "../../storage/models/index.ts";
import { StoreBotError, StoreBots } from "../../adapters/telegram/store-bots.ts";
import { buttonLabels, startStores, words, type Store, type Stores } from "./store-fixture.ts";
import { eventually } from "../support/eventually.ts";

describe("store bots in webhook mode", () => {
  let stores: Stores;
  before(async () => {
    stores = await startStores();
  });
  after(() => stores.close());

  function post(slug: string, secret: string | undefined, update: unknown): Promise<Response> {
    return fetch(`${stores.publicUrl}/telegram/${slug}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(secret !== undefined && { "x-telegram-bot-api-secret-token": secret }) },
      body: JSON.stringify(update),
    });
  }

  function textUpdate(user: User, text: string, updateId = 900_000_001): Update {
    return {
      update_id: updateId,
      message: {
        message_id: 9001, date: Math.floor(Date.now() / 1000), chat: { id: user.id, type: "private", first_name: user.first_name }, from: user, text,
        ...(text.startsWith("/") && { entities: [{ type: "bot_command", offset: 0, length: text.split(" ")[0].length }] }),
      },
    } as Update;
  }

  async function webhookSecretOf(store: Store): Promise<string> {
    const call = await stores.tg.waitForCall(store.token, "setWebhook");
    return String(call.params.secret_token);
  }

  it("sets the webhook with a secret and answers what Telegram posts, buttons included", async () => {
    const { tg, bots, publicUrl } = stores;
    const store = await stores.createStore({ name: "Toko Webhook", mode: "webhook" });
    const status = await bots.start(store.id);
    assert.equal(status.mode, "webhook");
    const call = await tg.waitForCall(store.token, "setWebhook");
    assert.equal(call.params.url, `${publicUrl}/telegram/${store.slug}`);
    assert.match(String(call.params.secret_token), /^[A-Za-z0-9_-]{32,256}$/);
    const saved = await Tenant.findById(store.id).lean().exec();
    assert.ok(saved?.channels?.telegram?.webhookSecret && saved.channels.telegram.webhookSecret !== call.params.secret_token, "the secret is stored sealed");

    const sari = stores.user();
    await tg.sendCommand(store.token, sari, "/start");
    const menu = await tg.waitForSent(store.token, sari, (m) => words(m).includes("Toko Webhook"));
    await tg.pressButton(store.token, sari, menu, { text: "Belanja" });
    const list = await tg.waitForSent(store.token, sari, (m) => words(m) === "Pilih produk:");
    assert.equal(buttonLabels(list).length, 4);
    await eventually(() => tg.pendingUpdates(store.token).length === 0, "every update acknowledged");
  });

  it("refuses a wrong or missing secret with 401 and processes nothing", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Rahasia", mode: "webhook" });
    await bots.start(store.id);
    const secret = await webhookSecretOf(store);
    const mallory = stores.user({ first_name: "Mallory" });
    tg.openChat(store.token, mallory);

    for (const wrong of [undefined, "", `${secret}x`, secret.slice(1), "a".repeat(secret.length)]) {
      const response = await post(store.slug, wrong, textUpdate(mallory, "/start"));
      assert.equal(response.status, 401, `secret ${JSON.stringify(wrong)}`);
      await response.body?.cancel();
    }
    assert.equal(await Customer.countDocuments({ tenantId: store.id, channelUserId: String(mallory.id) }).exec(), 0, "the update never reached the bot");
    assert.equal(tg.sent(store.token, mallory).length, 0);

    const ok = await post(store.slug, secret, textUpdate(mallory, "/start"));
    assert.equal(ok.status, 200);
    await tg.waitForSent(store.token, mallory, (m) => words(m).includes("Toko Rahasia"));
    const again = await post(store.slug, secret, textUpdate(mallory, "/start"));
    assert.equal(again.status, 200);
    assert.equal(tg.sent(store.token, mallory).length, 1, "a redelivered update is handled once");
  });

  it("settles who is asking before reading the body: a stranger's 2 MB gets the 401, the store's own secret a 413", async () => {
    const { bots } = stores;
    const store = await stores.createStore({ name: "Toko Besar", mode: "webhook" });
    await bots.start(store.id);
    const secret = await webhookSecretOf(store);
    const huge = JSON.stringify({ update_id: 900_000_009, padding: "x".repeat(2 << 20) });
    const post = (secretToken?: string) =>
      fetch(`${stores.publicUrl}/telegram/${store.slug}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(secretToken !== undefined && { "x-telegram-bot-api-secret-token": secretToken }) },
        body: huge,
      });
    const stranger = await post(`${secret}x`);
    assert.equal(stranger.status, 401);
    assert.deepEqual(await stranger.json(), { error: "unauthorized" });
    const own = await post(secret);
    assert.equal(own.status, 413);
    assert.deepEqual(await own.json(), { error: "request body too large" });
  });

  it("answers 400 for a body that is no update, 410 to a suspended store's own secret, 503 while its bot runs elsewhere", async () => {
    const { bots } = stores;
    const store = await stores.createStore({ name: "Toko Libur", mode: "webhook" });
    await bots.start(store.id);
    const secret = await webhookSecretOf(store);
    const user = stores.user();

    const bad = await post(store.slug, secret, { hello: "world" });
    assert.equal(bad.status, 400);
    // Stopped here (another instance may run it): Telegram must keep the update and retry.
    await bots.stop(store.id);
    const elsewhere = await post(store.slug, secret, textUpdate(user, "/start", 900_000_003));
    assert.equal(elsewhere.status, 503);
    await bots.suspend(store.id);
    const gone = await post(store.slug, secret, textUpdate(user, "/start", 900_000_002));
    assert.equal(gone.status, 410);
    assert.equal(await Customer.countDocuments({ tenantId: store.id }).exec(), 0);
  });

  it("tells a stranger nothing about which stores exist: an unknown store and every wrong secret get the same answer", async () => {
    const { bots } = stores;
    const running = await stores.createStore({ name: "Toko Jalan", mode: "webhook" });
    const stopped = await stores.createStore({ name: "Toko Berhenti", mode: "webhook" });
    const suspended = await stores.createStore({ name: "Toko Ditangguhkan", mode: "webhook" });
    const polling = await stores.createStore({ name: "Toko Polling", mode: "polling" });
    for (const store of [running, stopped, suspended, polling]) await bots.start(store.id);
    const secrets = await Promise.all([running, stopped, suspended].map(webhookSecretOf));
    await bots.stop(stopped.id);
    await bots.suspend(suspended.id);
    const user = stores.user({ first_name: "Mallory" });

    const answer = async (slug: string, secret: string | undefined) => {
      const res = await post(slug, secret, textUpdate(user, "/start"));
      return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
    };
    const answers = {
      unknownStore: await answer("toko-yang-tidak-ada", secrets[0]),
      unknownStoreNoSecret: await answer("toko-yang-tidak-ada", undefined),
      runningWrongSecret: await answer(running.slug, `${secrets[0]}x`),
      runningOtherStoresSecret: await answer(running.slug, secrets[1]),
      stoppedWrongSecret: await answer(stopped.slug, "a".repeat(43)),
      suspendedWrongSecret: await answer(suspended.slug, secrets[0]),
      pollingNoSecret: await answer(polling.slug, undefined),
    };
    for (const [name, got] of Object.entries(answers)) assert.deepEqual(got, answers.runningWrongSecret, name);
    assert.equal(answers.runningWrongSecret.status, 401);
    assert.equal(await Customer.countDocuments({ channelUserId: String(user.id) }).setOptions({ crossTenant: true }).exec(), 0);
  });

  it("moves a store between polling and webhook at run time, with no update lost or handled twice", async () => {
    const { tg, bots } = stores;
    const store = await stores.createStore({ name: "Toko Pindah", mode: "polling" });
    const other = await stores.createStore({ name: "Toko Tetap", mode: "polling" });
    await bots.start(store.id);
    await bots.start(other.id);
    const tono = stores.user({ first_name: "Tono" });
    const asked = await tg.sendCommand(store.token, tono, "/repeat");
    await tg.waitForSent(store.token, tono, (m) => m.message_id > asked.message_id);

    const said: string[] = [];
    const say = async (text: string) => {
      said.push(text);
      await tg.sendText(store.token, tono, text);
    };
    const echoes = () => tg.sent(store.token, tono).map(words).filter((w) => w.startsWith("Echo: ")).map((w) => w.slice(6));

    await say("satu");
    await say("dua");
    const switching = bots.switchMode(store.id, "webhook");
    await say("tiga");
    await switching;
    assert.equal(bots.status(store.id)?.mode, "webhook");
    await say("empat");
    await eventually(() => echoes().length === 4, "four echoes");
    const back = bots.switchMode(store.id, "polling");
    await say("lima");
    await back;
    assert.equal(bots.status(store.id)?.mode, "polling");
    await say("enam");
    await eventually(() => echoes().length >= 6, "six echoes");
    // Let anything duplicated show up before counting.
    await tg.sendCommand(store.token, tono, "/cancel");
    await tg.waitForSent(store.token, tono, (m) => words(m).startsWith("Oke, dibatalkan"));

    assert.deepEqual(echoes(), said, "each message answered once, in order");
    assert.equal((await Tenant.findById(store.id).lean().exec())?.channels?.telegram?.mode, "polling", "the mode is saved");
    assert.equal(bots.status(other.id)?.mode, "polling", "the other store did not move");
    const webhookCalls = tg.calls(store.token).filter((c) => /webhook/i.test(c.method)).map((c) => c.method);
    assert.ok(webhookCalls.includes("setWebhook") && webhookCalls.includes("deleteWebhook"));
  });

  it("refuses webhook mode without a public URL, before touching Telegram", async () => {
    const { tg } = stores;
    const noUrl = new StoreBots({ engine: stores.engine, encryptionKey: randomBytes(32), apiRoot: tg.apiRoot, logFor: () => ({ info() {}, warn() {}, error() {} }) });
    const store = await stores.createStore({ name: "Toko Lokal", mode: "webhook" });
    await assert.rejects(noUrl.start(store.id), (error: unknown) => error instanceof StoreBotError && error.reason === "no-public-url");
    assert.equal(tg.calls(store.token).length, 0);
    await assert.rejects(noUrl.switchMode(store.id, "webhook"), (error: unknown) => error instanceof StoreBotError && error.reason === "no-public-url");
  });
});
