// What the platform owner and a store's owners hear about the store's WhatsApp number, through
// the real owner bot and the store's real bot on the Telegram emulator: the sessions' events
// (`whatsappAlerts`, as `niaga start` wires them) become owner alerts naming the store; a
// number logged out or restricted is also told to the store's owners — not its admins — in
// their chat with the store bot; a new link clears the open alerts; and `/store SLUG` and
// `/status` show the number's state.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { whatsappAlerts } from "../../bots/channels.ts";
import { Outbox } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";
import { Member, OwnerAlertRecord, Tenant } from "../../storage/models/index.ts";
import { startOwnerBotWorld, type OwnerBotWorld } from "../admin-bot/owner-bot-fixture.ts";
import { eventually } from "../support/eventually.ts";

let world: OwnerBotWorld;
before(async () => {
  world = await startOwnerBotWorld();
});
after(async () => {
  await world?.close();
});

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

describe("a store's WhatsApp number, as the owners hear and see it", () => {
  test("logged out: the platform owner gets one alert naming the store, the store's owner is told in the store bot, its admin is not; a new link recovers it", async () => {
    const { stores } = world;
    const store = await stores.createStore({ name: "Toko Kenanga" });
    const seller = stores.user({ first_name: "Bu Rina" });
    const admin = stores.user({ first_name: "Admin" });
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(seller.id), role: "owner" } as never);
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(admin.id), role: "admin" } as never);
    for (const user of [seller, admin]) stores.tg.openChat(store.token, user);
    await stores.bots.start(store.id);
    await world.ask(world.owner, "/start");
    const ref = { id: store.id, slug: store.slug, name: store.name };
    const events = whatsappAlerts(world.alerts, new Outbox(world.channels), quiet);

    events.onLoggedOut!(ref);
    events.onLoggedOut!(ref);
    const alert = await world.stores.tg.waitForSent(world.ownerToken, world.owner, (m) => (m.text ?? "").includes(t("id", "owner.kind.whatsapp-logged-out.title")));
    assert.match(alert.text!, new RegExp(`Toko Kenanga \\(${store.slug}\\)`));
    assert.match(alert.text!, new RegExp(`niaga whatsapp link --tenant ${store.slug}`));
    const told = await stores.tg.waitForSent(store.token, seller, (m) => (m.text ?? "").includes("WhatsApp"));
    assert.equal(told.text, t("id", "admin.whatsapp.lost.logged_out", { store: "Toko Kenanga" }));
    await eventually(async () => ((await OwnerAlertRecord.findOne({ kind: "whatsapp-logged-out" }).lean())?.count ?? 0) === 2, "the second raise counted on the same alert");
    assert.equal(world.stores.tg.sent(world.ownerToken, world.owner).filter((m) => (m.text ?? "").includes(t("id", "owner.kind.whatsapp-logged-out.title"))).length, 1, "one message for the alert");
    assert.equal(stores.tg.sent(store.token, admin).length, 0, "admins are not told");
    await eventually(() => stores.tg.sent(store.token, seller).length === 2, "the owner told each time the number is lost");

    events.onLinked!(ref, "6281234567890");
    const recovered = await world.stores.tg.waitForSent(world.ownerToken, world.owner, (m) => (m.text ?? "").startsWith("✅") && (m.text ?? "").includes(t("id", "owner.kind.whatsapp-logged-out.title")));
    assert.match(recovered.text!, /Toko Kenanga/);
    const linked = await world.stores.tg.waitForSent(world.ownerToken, world.owner, (m) => (m.text ?? "").includes(t("id", "owner.kind.whatsapp-linked.title")));
    assert.match(linked.text!, /\+62 812-3456-7890/);
  });

  test("restricted, slowed, unreachable: each an alert naming the store; reconnecting clears unreachable", async () => {
    const store = await world.stores.createStore({ name: "Toko Teratai" });
    const ref = { id: store.id, slug: store.slug, name: store.name };
    const events = whatsappAlerts(world.alerts, new Outbox(world.channels), quiet);
    events.onRestricted!(ref, { code: 403, reason: "blocked" });
    events.onSlowed!(ref, { reason: "3 failed sends in 10 minutes" });
    events.onUnreachable!(ref, { since: new Date("2026-12-03T06:30:00Z"), lastCode: 428 });
    for (const [kind, detail] of [["whatsapp-restricted", /403: blocked/], ["whatsapp-slowed", /3 failed sends/], ["whatsapp-unreachable", /2026-12-03 06:30 UTC.*428/]] as const) {
      const message = await world.stores.tg.waitForSent(world.ownerToken, world.owner, (m) => (m.text ?? "").includes(t("id", `owner.kind.${kind}.title`)) && (m.text ?? "").includes(store.slug));
      assert.match(message.text!, detail, kind);
    }
    events.onReconnected!(ref);
    await world.stores.tg.waitForSent(world.ownerToken, world.owner, (m) => (m.text ?? "").startsWith("✅") && (m.text ?? "").includes(t("id", "owner.kind.whatsapp-unreachable.title")) && (m.text ?? "").includes(store.slug));
  });

  test("/store SLUG and /status show the store's number and its state", async () => {
    const store = await world.stores.createStore({ name: "Toko Cempaka" });
    await Tenant.updateOne({ _id: store.id }, { $set: { "channels.whatsapp.status": "logged-out", "channels.whatsapp.phone": "6281299990000" } }).exec();
    const [shown] = await world.ask(world.owner, `/store ${store.slug}`);
    assert.match(shown!, /WhatsApp \+62 812-9999-0000: keluar dari ponsel — tautkan lagi/);
    const [status] = await world.ask(world.owner, "/status");
    assert.match(status!, new RegExp(`${store.slug} — Toko Cempaka.* · WhatsApp \\+62 812-9999-0000: keluar dari ponsel`));
  });
});
