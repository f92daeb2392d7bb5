// What a store's Telegram bot tells the platform owner, through the platform's wiring
// (bots/channels.ts) into real owner alerts: a revoked token and its replacement, Telegram
// out of reach, someone else polling the token, a webhook that stopped delivering and the
// fallback to polling — each naming the store, once, and "recovered" once it clears.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Bot } from "grammy";
import { alertKey, OwnerAlerts, type AlertKind } from "../../admin-bot/owner-alerts.ts";
import { saveToken } from "../../adapters/telegram/bot-tokens.ts";
import { telegramAlerts, telegramWebhookAlerts } from "../../bots/channels.ts";
import { OwnerAlertRecord, Tenant } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { startStores, words, type Store, type Stores } from "./store-fixture.ts";
import { forgetOwnerAlerts } from "../support/owner-alerts.ts";

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A front for the platform's webhook endpoint that answers 502 while `broken`: a webhook Telegram cannot deliver to. */
class WebhookGate {
  broken = true;
  target = "";
  readonly server: Server = createServer((req, res) => {
    if (this.broken) {
      res.writeHead(502).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name === "content-type" || name.startsWith("x-telegram"))) as Record<string, string>;
      fetch(`${this.target}${req.url}`, { method: req.method!, headers, body: Buffer.concat(chunks), signal: AbortSignal.timeout(10_000) })
        .then(async (answer) => res.writeHead(answer.status, { "content-type": "application/json" }).end(Buffer.from(await answer.arrayBuffer())))
        .catch(() => res.writeHead(502).end());
    });
  });

  async open(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

describe("alerts from store bots", () => {
  let stores: Stores;
  const gate = new WebhookGate();
  const { outbox, channel } = recordingOutbox({ channel: "owner" });
  const alerts = new OwnerAlerts({ log: silent, outbox, ownerChatIds: [4242], locale: "en" });

  before(async () => {
    const gateUrl = await gate.open();
    stores = await startStores({
      publicUrl: gateUrl,
      pollingTimeoutSec: 1,
      unreachableAfterMs: 300,
      conflictRetryMs: 300,
      ...telegramAlerts(alerts),
      webhookHealth: { ...telegramWebhookAlerts(alerts), recentErrorMs: 60_000, fallbackAfterChecks: 3 },
    });
    gate.target = stores.publicUrl;
  });
  after(async () => {
    await stores.close();
    gate.server.closeAllConnections();
    await new Promise((resolve) => gate.server.close(resolve));
  });
  beforeEach(async () => {
    await forgetOwnerAlerts();
    channel.sends.length = 0;
  });

  /** The owner's messages, in English, once there are `count`; a moment later, to catch any extra. */
  async function ownerHeard(count: number): Promise<string[]> {
    const heard = async () => {
      await alerts.flush();
      return channel.delivered().map(({ outbound }) => (outbound.text as { inline: Record<string, string> }).inline.en!);
    };
    await eventually(async () => (await heard()).length >= count, `${count} messages to the owner`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return heard();
  }

  async function alertOf(kind: AlertKind, store: Store, state: "open" | "resolved") {
    return eventually(() => OwnerAlertRecord.findOne({ key: alertKey(kind, store.slug), state }).lean().exec(), `a ${state} ${kind} alert`);
  }

  it("a revoked token: one alert naming the store; a new token: recovered", async () => {
    const store = await stores.createStore({ name: "Toko Anggrek" });
    await stores.bots.start(store.id);
    const newToken = stores.tg.revoke(store.token);
    const open = await alertOf("token-revoked", store, "open");
    assert.deepEqual({ ...open.store }, { tenantId: store.id, slug: store.slug, name: "Toko Anggrek" });
    const heard = await ownerHeard(1);
    assert.equal(heard.length, 1);
    assert.match(heard[0]!, /Toko Anggrek/);
    assert.match(heard[0]!, /Bot token revoked/);

    await stores.bots.retoken(store.id, newToken);
    await alertOf("token-revoked", store, "resolved");
    const after = await ownerHeard(2);
    assert.equal(after.length, 2);
    assert.match(after[1]!, /Toko Anggrek.*recovered/);
    assert.equal(await OwnerAlertRecord.countDocuments({ kind: "token-revoked" }).exec(), 1);
  });

  it("a token replaced by another process (niaga tenant set): recovered once the running platform reconciles the store", async () => {
    const store = await stores.createStore({ name: "Toko Asoka" });
    await stores.bots.start(store.id);
    const newToken = stores.tg.revoke(store.token);
    await alertOf("token-revoked", store, "open");
    await saveToken(store.id, newToken, stores.tg.bot(newToken).username);
    await stores.bots.reconcile(store.id);
    await alertOf("token-revoked", store, "resolved");
    assert.equal(stores.bots.status(store.id)?.mode, "polling");
  });

  it("a store bot that cannot reach Telegram for a while: one alert naming the store, then recovered", async () => {
    const store = await stores.createStore({ name: "Toko Bakung" });
    await stores.bots.start(store.id);
    await stores.tg.waitForPoll(store.token);
    stores.tg.failNext(store.token, "getUpdates", { dropConnection: true, times: 16 });
    const open = await alertOf("telegram-unreachable", store, "open");
    assert.equal(open.store?.name, "Toko Bakung");
    await alertOf("telegram-unreachable", store, "resolved");
    const heard = await ownerHeard(2);
    assert.equal(heard.length, 2, heard.join("\n"));
    assert.match(heard[0]!, /Toko Bakung.*Telegram unreachable/s);
    assert.match(heard[1]!, /Toko Bakung.*recovered/);
    // And the bot still serves its customers.
    const sari = stores.user();
    await stores.tg.sendCommand(store.token, sari, "/start");
    await stores.tg.waitForSent(store.token, sari, (m) => words(m).includes("Toko Bakung"), 10_000);
  });

  it("someone else polling the store's token (409): one polling-conflict alert; polling works again: recovered", async () => {
    const store = await stores.createStore({ name: "Toko Cempaka" });
    await stores.bots.start(store.id);
    await stores.tg.waitForPoll(store.token);
    const intruder = new Bot(store.token, { client: { apiRoot: stores.tg.apiRoot } });
    // Its long poll cuts ours (409); ours, coming back, cuts its own.
    const intruding = intruder.api.getUpdates({ timeout: 2 }).catch(() => undefined);
    const open = await alertOf("polling-conflict", store, "open");
    assert.equal(open.store?.name, "Toko Cempaka");
    await intruding;
    await alertOf("polling-conflict", store, "resolved");
    assert.ok(stores.tg.conflicts(store.token).length >= 1);
    assert.equal(stores.bots.status(store.id)?.mode, "polling");
    const heard = await ownerHeard(2);
    assert.equal(heard.length, 2, heard.join("\n"));
    assert.match(heard[0]!, /Toko Cempaka.*Polling conflict/s);

    const sari = stores.user();
    await stores.tg.sendCommand(store.token, sari, "/start");
    await stores.tg.waitForSent(store.token, sari, (m) => words(m).includes("Toko Cempaka"), 10_000);
  });

  it("a webhook Telegram cannot deliver to: failing, then the store falls back to polling by itself; fixed and switched back: recovered", async () => {
    gate.broken = true;
    const store = await stores.createStore({ name: "Toko Dahlia", mode: "webhook" });
    await stores.bots.start(store.id);
    const sari = stores.user();
    await stores.tg.sendCommand(store.token, sari, "/start");
    // Telegram has tried (and failed) to deliver it by the time the first check runs.
    await eventually(async () => {
      const info = await new Bot(store.token, { client: { apiRoot: stores.tg.apiRoot } }).api.getWebhookInfo();
      return info.last_error_date !== undefined;
    }, "a delivery error at Telegram");

    await stores.bots.checkWebhooks();
    const failing = await alertOf("webhook-failing", store, "open");
    assert.equal(failing.store?.name, "Toko Dahlia");
    assert.equal((failing.message!.params as { pending: number }).pending, 1);
    await stores.bots.checkWebhooks();
    assert.equal(stores.bots.status(store.id)?.mode, "webhook", "not after two failing checks");
    await stores.bots.checkWebhooks();
    assert.equal(stores.bots.status(store.id)?.mode, "polling");
    assert.equal((await Tenant.findById(store.id).lean().exec())?.channels?.telegram?.mode, "polling", "the fallback is saved");
    await alertOf("webhook-fallback", store, "open");
    await alertOf("webhook-failing", store, "resolved");
    // The customer who wrote while the webhook failed gets the answer through polling.
    await stores.tg.waitForSent(store.token, sari, (m) => words(m).includes("Toko Dahlia"), 10_000);

    // The owner fixes the webhook and switches back (/mode SLUG webhook).
    gate.broken = false;
    await stores.bots.switchMode(store.id, "webhook");
    await stores.bots.checkWebhooks();
    await alertOf("webhook-fallback", store, "resolved");
    const heard = await ownerHeard(4);
    assert.equal(heard.length, 4, heard.join("\n"));
    assert.match(heard[0]!, /Toko Dahlia.*Webhook failing.*1 updates waiting/s);
    assert.match(heard.find((h) => h.includes("Switched to polling"))!, /Toko Dahlia.*\/mode .* webhook/s);
    assert.equal(heard.filter((h) => /recovered/.test(h)).length, 2);
  });
});
