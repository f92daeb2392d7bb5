// No infrastructure alert ever reaches a store's members: every alert kind, raised through
// the platform's wiring (bots/channels.ts, bots/store-alerts.ts) about a store whose owner
// and admin chat with its running Telegram bot, goes to the owner bot's channel only — the
// members' chats get nothing, from the store bot or anywhere else.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ALERT_KINDS, alertKey, OWNER_CHANNEL, OwnerAlerts, PLATFORM_TENANT, type AlertKind } from "../../admin-bot/owner-alerts.ts";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import { telegramAlerts, telegramWebhookAlerts } from "../../bots/channels.ts";
import { platformOutbox } from "../../bots/platform-engine.ts";
import { ownerConcurrentEditAlerts, ownerOrderingAlerts } from "../../bots/store-alerts.ts";
import { Channels } from "../../flows/engine/index.ts";
import { OwnerAlertRecord } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { RecordingChannel } from "../support/recording-outbox.ts";
import { seedStore } from "../support/stores.ts";
import { startStores, words, type Stores } from "./store-fixture.ts";

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const OWNER_CHAT = 4242;

describe("owner alerts stay with the platform owner", () => {
  let stores: Stores;
  const ownerBot = new RecordingChannel(OWNER_CHANNEL);
  let alerts: OwnerAlerts;

  before(async () => {
    // Raised through the store bots' own hooks too: the registry's options are wired to `alerts`, made below.
    const sink = { raise: (a: Parameters<OwnerAlerts["raise"]>[0]) => alerts.raise(a), resolve: (k: string) => alerts.resolve(k) };
    stores = await startStores({ ...telegramAlerts(sink) });
    // The platform's outbox: every channel, the store bots' Telegram and the owner bot's.
    const outbox = platformOutbox(new Channels([new TelegramChannel(stores.bots), ownerBot]));
    alerts = new OwnerAlerts({ log: silent, outbox, ownerChatIds: [OWNER_CHAT], locale: "id" });
  });
  after(() => stores.close());

  it("every kind of alert about a store reaches the owner bot, and not one reaches the store's owner or admin", async () => {
    const { tg } = stores;
    const owner = stores.user({ first_name: "Rina" });
    const admin = stores.user({ first_name: "Budi" });
    const { token } = tg.bot();
    const seeded = await seedStore({ name: "Toko Mawar", telegram: { token }, members: { [String(owner.id)]: "owner", [String(admin.id)]: "admin" }, memberChannel: "telegram" });
    const store = { id: seeded.id, slug: seeded.slug, name: "Toko Mawar" };
    await stores.bots.start(store.id);
    for (const member of [owner, admin]) {
      await tg.sendCommand(token, member, "/start");
      await tg.waitForSent(token, member, (m) => words(m).includes("Toko Mawar"));
    }
    const before = { owner: tg.sent(token, owner).length, admin: tg.sent(token, admin).length, calls: tg.calls(token).length };

    // Through the wiring: the store's token revoked (by Telegram) and replaced …
    const newToken = tg.revoke(token);
    await eventually(() => OwnerAlertRecord.exists({ key: alertKey("token-revoked", store.slug) }).exec(), "the token-revoked alert");
    await stores.bots.retoken(store.id, newToken);
    // … the store bot's troubles and its webhook …
    const bot = telegramAlerts(alerts);
    bot.onBotTrouble!(store, { kind: "telegram-unreachable", detail: "ECONNREFUSED" });
    bot.onBotTrouble!(store, { kind: "polling-conflict", detail: "Conflict: terminated by other getUpdates request" });
    const webhook = telegramWebhookAlerts(alerts);
    webhook.onFailing!(store, { reason: "delivery-error", pending: 12, lastError: "Connection refused", checks: 1 });
    webhook.onFellBack!(store, { reason: "delivery-error", pending: 12, lastError: "Connection refused", checks: 3 });
    // … the orders and payments …
    const orders = ownerOrderingAlerts({ alerts, thresholds: { inRow: 2 } });
    await orders({ type: "delivery_failed", tenantId: store.id, orderCode: "ORD-1" });
    for (const code of ["ORD-2", "ORD-3"]) await orders({ type: "payment_failed", tenantId: store.id, orderCode: code, gateway: "simulator" });
    // … two sellers editing at once …
    await ownerConcurrentEditAlerts(alerts)({ tenantId: store.id, target: { type: "setting", id: "snk", label: "SNK" }, first: "Rina", second: "Budi" });
    // … and the rest, each naming the store, as the platform's other parts raise them.
    const wired: ReadonlySet<AlertKind> = new Set(["token-revoked", "telegram-unreachable", "polling-conflict", "webhook-failing", "webhook-fallback", "delivery-failed", "payments-failing", "concurrent-edit"]);
    const alertStore = { tenantId: store.id, slug: store.slug, name: store.name };
    for (const kind of Object.keys(ALERT_KINDS) as AlertKind[]) {
      if (!wired.has(kind)) await alerts.raise({ kind, store: alertStore, params: { what: "uji", count: 1 } });
    }

    await eventually(async () => (await OwnerAlertRecord.distinct("kind").exec()).length === Object.keys(ALERT_KINDS).length, "every kind stored");
    await alerts.flush();
    for (const kind of Object.keys(ALERT_KINDS) as AlertKind[]) {
      await alerts.resolve((await OwnerAlertRecord.findOne({ kind }).lean().exec())!.key);
    }
    await alerts.flush();

    const sent = ownerBot.delivered();
    assert.ok(sent.length >= 2 * Object.keys(ALERT_KINDS).length, `every kind raised and resolved at the owner bot (${sent.length} messages)`);
    for (const { to } of sent) assert.deepEqual({ tenantId: to.tenantId, chatId: to.chatId }, { tenantId: PLATFORM_TENANT, chatId: String(OWNER_CHAT) });
    for (const { outbound } of sent) assert.match(JSON.stringify(outbound.text), /Toko Mawar/);

    // Give a wrong turn every chance to show: nothing went to the members, through any bot.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(tg.sent(newToken, owner).length, before.owner, "the store's owner got no alert");
    assert.equal(tg.sent(newToken, admin).length, before.admin, "the store's admin got no alert");
    const toMembers = tg.calls(newToken).slice(before.calls).filter((c) => [owner.id, admin.id].includes(Number(c.params.chat_id)) && /^(send|copy|forward)/.test(c.method));
    assert.deepEqual(toMembers.map((c) => c.method), [], "no message to a member's chat");
  });
});
