// Owner alerts (admin-bot/owner-alerts.ts): stored, de-duplicated, resolved, delivered once per
// owner chat through a real outbox — and retried until the owner's channel takes them.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { alertKey, OwnerAlerts } from "../../admin-bot/owner-alerts.ts";
import { initI18n } from "../../locales/i18n.ts";
import { createInProcessRateLimiter } from "../../storage/rate-limit.ts";
import { OwnerAlertRecord, OwnerNoticeRecord } from "../../storage/models/index.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { useTestDatabase } from "../support/mongo.ts";
import { alertText, forgetOwnerAlerts } from "../support/owner-alerts.ts";

const db = useTestDatabase("owner_alerts");
const store = { tenantId: "t1", slug: "toko-a", name: "Toko Anggrek" };
const lines: Array<{ level: string; message: string; meta?: object }> = [];
const log = {
  info: (message: string, meta?: object) => lines.push({ level: "info", message, ...(meta && { meta }) }),
  warn: (message: string, meta?: object) => lines.push({ level: "warn", message, ...(meta && { meta }) }),
  error: (message: string, meta?: object) => lines.push({ level: "error", message, ...(meta && { meta }) }),
};

const textOf = (outbound: { text: unknown }, locale: "id" | "en" = "id") => alertText(outbound, locale);

before(async () => {
  await initI18n();
});
beforeEach(async () => {
  db();
  await forgetOwnerAlerts();
  lines.length = 0;
});

describe("owner alerts", () => {
  test("an alert reaches every owner chat once, naming the store; raising it again counts, resolving it says so once", async () => {
    const { outbox, channel } = recordingOutbox({ channel: "owner" });
    const alerts = new OwnerAlerts({ log, outbox, ownerChatIds: [11, 22], locale: "id", limiter: createInProcessRateLimiter() });
    for (let i = 0; i < 3; i++) await alerts.raise({ kind: "token-revoked", store, params: { slug: store.slug } });
    await alerts.flush();
    assert.equal(channel.sends.length, 2);
    assert.deepEqual(channel.sends.map((s) => s.to.chatId).sort(), ["11", "22"]);
    assert.match(textOf(channel.sends[0]!.outbounds[0]!), /Toko Anggrek \(toko-a\)/);
    assert.match(textOf(channel.sends[0]!.outbounds[0]!, "en"), /Bot token revoked/);
    const stored = await OwnerAlertRecord.find({}).lean().exec();
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.count, 3);

    await alerts.resolve(alertKey("token-revoked", store.slug));
    await alerts.resolve(alertKey("token-revoked", store.slug));
    await alerts.flush();
    assert.equal(channel.sends.length, 4);
    assert.match(textOf(channel.sends[3]!.outbounds[0]!), /pulih/);

    await alerts.raise({ kind: "token-revoked", store, params: { slug: store.slug } });
    await alerts.flush();
    assert.equal(await OwnerAlertRecord.countDocuments({}).exec(), 2, "after a resolve, the same key opens a new alert");
    assert.equal(channel.sends.length, 6);
  });

  test("two instances delivering at once send each message once", async () => {
    const { outbox, channel } = recordingOutbox({ channel: "owner" });
    const a = new OwnerAlerts({ log, outbox, ownerChatIds: [11], locale: "en", instance: "a" });
    const b = new OwnerAlerts({ log, outbox, ownerChatIds: [11], locale: "en", instance: "b" });
    for (let i = 0; i < 10; i++) await a.raise({ kind: "delivery-failed", store, params: { orderCode: `ORD-${i}` }, key: alertKey("delivery-failed", store.slug, `ORD-${i}`) });
    await Promise.all([a.flush(), b.flush(), a.flush(), b.flush()]);
    assert.equal(channel.sends.length, 10);
    assert.equal(new Set(channel.sends.map((s) => textOf(s.outbounds[0]!, "en"))).size, 10);
  });

  test("a message the owner's channel refuses stays pending and goes out once the channel is back", async () => {
    const { outbox, channel } = recordingOutbox({ channel: "owner" });
    channel.failFor({ tenantId: "platform", chatId: "11" } as never, "unreachable");
    let later = 0;
    const alerts = new OwnerAlerts({ log, outbox, ownerChatIds: [11], locale: "id", now: () => new Date(Date.now() + later) });
    await alerts.raise({ kind: "dependency-down", params: { dependency: "Redis", reason: "timeout" }, key: alertKey("dependency-down", undefined, "redis") });
    await alerts.flush();
    assert.equal(channel.sends.length, 1);
    assert.equal(channel.sends[0]!.report.ok, false);
    assert.equal((await OwnerNoticeRecord.findOne({}).lean().exec())!.state, "pending");
    channel.recoverFor({ tenantId: "platform", chatId: "11" } as never);
    await alerts.flush();
    assert.equal(channel.sends.length, 1, "not before its back-off ran out");
    later = 5 * 60_000;
    await alerts.flush();
    assert.equal(channel.sends.filter((s) => s.report.ok).length, 1);
    assert.equal((await OwnerNoticeRecord.findOne({}).lean().exec())!.state, "sent");
    await alerts.flush();
    assert.equal(channel.sends.filter((s) => s.report.ok).length, 1, "sent once");
  });

  test("without an owner bot, alerts go to the log and nobody is said to hear them", async () => {
    const alerts = new OwnerAlerts({ log, ownerChatIds: [], locale: "id" });
    assert.equal(alerts.heard, false);
    await alerts.raise({ kind: "token-revoked", store, params: { slug: store.slug } });
    await alerts.flush();
    const line = lines.find((l) => l.message.startsWith("owner alert:"));
    assert.ok(line, JSON.stringify(lines));
    assert.equal(line.level, "error");
    assert.match(line.message, /Toko Anggrek \(toko-a\)/);
  });
});

after(() => undefined);
