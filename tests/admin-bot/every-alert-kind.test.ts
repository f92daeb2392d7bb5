// Every kind of owner alert, end to end: raised about a store (or the platform), stored, and
// delivered by the real owner bot through the Telegram emulator to the owner's chat — once per
// kind however often it is raised, naming the store, in the owner's language; then one
// "recovered" message each, within the owner chat's rate limit.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ALERT_KINDS, alertKey, type AlertKind } from "../../admin-bot/owner-alerts.ts";
import { t } from "../../locales/i18n.ts";
import { OwnerNoticeRecord } from "../../storage/models/index.ts";
import { startOwnerBotWorld, type OwnerBotWorld } from "./owner-bot-fixture.ts";

const KINDS = Object.keys(ALERT_KINDS) as AlertKind[];
// Every kind's first message fits in the owner chat's minute; the recoveries over it wait their turn.
const PER_MINUTE = KINDS.length + 3;

let world: OwnerBotWorld;
before(async () => {
  world = await startOwnerBotWorld({ alertsPerMinute: PER_MINUTE });
});
after(async () => {
  await world?.close();
});

// Parameters every kind's text may ask for; each text uses some of them.
const params = { slug: "x", reason: "ECONNREFUSED", pending: 3, orderCode: "INV-000901", count: 3, total: 4, inRow: 3, gateway: "simulator", job: "ordering.expire-order", error: "boom", jobs: "a", minutes: 7, dependency: "MongoDB", what: "disk", value: "1", threshold: "2", errorId: "3FA9C2D1", first: "Rina", second: "Budi", target: "SNK", user: 42, id: "niaga-20261202T023000Z-3fa9", where: "offsite", hours: 26, newest: "-", phone: "+62 812-3456-7890", code: 403, since: "03/12 06:30", guild: "1045678901234567890", by: "discord:80351110224678912", number: 7, channel: "telegram", setting: "BROADCAST_RATE_TELEGRAM", detail: "flood wait of 300 s" };

describe("every kind of owner alert through the owner bot", () => {
  test("arrives once in the owner's chat naming the store, however often it is raised, and recovers once", async () => {
    const { tg } = world.stores;
    const created = await world.stores.createStore({ name: "Toko Seroja" });
    const store = { tenantId: created.id, slug: created.slug, name: created.name };
    // Telegram lets a bot write only to someone who started it: the owner has.
    await world.ask(world.owner, "/start");
    const messages = () => tg.sent(world.ownerToken, world.owner).map((m) => m.text ?? "");
    const before = messages().length;

    for (let round = 0; round < 2; round++) {
      for (const kind of KINDS) await world.alerts.raise({ kind, store, params: { ...params, slug: store.slug } });
    }
    await world.alerts.flush();
    const raised = messages().slice(before);
    assert.equal(raised.length, KINDS.length, raised.join("\n---\n"));
    for (const kind of KINDS) {
      const title = t("id", `owner.kind.${kind}.title`, params);
      const about = raised.filter((text) => text.includes(title));
      assert.equal(about.length, 1, `one message for ${kind}`);
      assert.match(about[0]!, new RegExp(`Toko Seroja \\(${store.slug}\\)`), kind);
    }

    for (const kind of KINDS) await world.alerts.resolve(alertKey(kind, store.slug));
    await world.alerts.flush();
    // At most PER_MINUTE messages a minute reach one owner chat: the recoveries over that wait their turn.
    const recovered = messages().slice(before + KINDS.length);
    const waiting = await OwnerNoticeRecord.countDocuments({ type: "resolved", chatId: String(world.owner.id), state: "pending" }).exec();
    assert.equal(recovered.length + waiting, KINDS.length, recovered.join("\n---\n"));
    assert.ok(raised.length + recovered.length <= PER_MINUTE, `${raised.length + recovered.length} messages within the minute`);
    assert.ok(recovered.every((text) => text.startsWith("✅") && text.includes("Toko Seroja")));
    assert.equal(new Set(recovered).size, recovered.length, "each recovery once");
  });
});
