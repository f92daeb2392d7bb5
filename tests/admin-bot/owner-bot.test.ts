// The owner bot through the Telegram emulator, with real grammY: only the owners may use it,
// /status names every store and its state, and alerts reach the owner's chat once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { alertKey } from "../../admin-bot/owner-alerts.ts";
import { OwnerAlertRecord } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { startOwnerBotWorld, type OwnerBotWorld } from "./owner-bot-fixture.ts";

let world: OwnerBotWorld;
before(async () => {
  world = await startOwnerBotWorld();
});
after(async () => {
  await world?.close();
});

describe("the owner bot", () => {
  test("an owner's /status names every store with its state and mode", async () => {
    const { stores } = world;
    const running = await stores.createStore({ name: "Toko Anggrek" });
    const idle = await stores.createStore({ name: "Toko Melati" });
    await stores.bots.start(running.id);
    const [status] = await world.ask(world.owner, "/status");
    assert.match(status!, /Niaga 0\.1\.0/);
    assert.match(status!, /MongoDB: normal/);
    assert.match(status!, /Sumber daya: n\/a/);
    assert.match(status!, new RegExp(`${running.slug} — Toko Anggrek: aktif, bot jalan \\(polling\\), polling di `));
    assert.match(status!, new RegExp(`${idle.slug} — Toko Melati: aktif, bot berhenti \\(polling\\)`));
    await stores.bots.stop(running.id);
  });

  test("a stranger gets one polite line that says nothing about the platform; the attempt is logged and alerted", async () => {
    const { stores, tg } = { stores: world.stores, tg: world.stores.tg };
    const store = await stores.createStore({ name: "Toko Rahasia" });
    const stranger = tg.user({ first_name: "Orang", language_code: "id" });
    for (const text of ["/status", `/store ${store.slug}`, "halo"]) {
      const replies = await world.ask(stranger, text);
      assert.deepEqual(replies, ["Maaf, bot ini tidak melayani umum."]);
    }
    assert.equal(tg.sent(world.ownerToken, stranger).length, 3, "one line per message, nothing else");
    for (const message of tg.sent(world.ownerToken, stranger)) {
      assert.doesNotMatch(message.text ?? "", new RegExp(`${store.slug}|Toko Rahasia|Niaga`));
    }
    const refused = world.lines.filter((l) => l.message === "owner bot: refused someone who is not an owner");
    assert.equal(refused.length, 3);
    assert.equal(refused[0]!.meta!.userId, stranger.id);
    assert.ok(!JSON.stringify(refused).includes("halo"), "what the stranger wrote is not logged");
    const key = alertKey("stranger-access", undefined, String(stranger.id));
    await eventually(async () => (await OwnerAlertRecord.findOne({ key }).lean().exec())?.count === 3, "one stranger-access alert counting three attempts");
    const notice = await tg.waitForSent(world.ownerToken, world.owner, (m) => /Akses bot owner ditolak/.test(m.text ?? ""));
    assert.match(notice.text!, new RegExp(String(stranger.id)));
  });

  test("an alert raised for a store reaches the owner's chat once, naming the store, also when Telegram refused the first attempt", async () => {
    const { stores, tg } = { stores: world.stores, tg: world.stores.tg };
    const store = await stores.createStore({ name: "Toko Kenanga" });
    tg.failNext(world.ownerToken, "sendMessage", { status: 500, description: "Internal Server Error" });
    await world.alerts.raise({ kind: "delivery-failed", store: { tenantId: store.id, slug: store.slug, name: store.name }, params: { orderCode: "INV-000777" }, key: alertKey("delivery-failed", store.slug, "INV-000777") });
    const message = await tg.waitForSent(world.ownerToken, world.owner, (m) => /INV-000777/.test(m.text ?? ""), 15_000);
    assert.match(message.text!, new RegExp(`Toko Kenanga \\(${store.slug}\\)`));
    assert.ok(tg.calls(world.ownerToken, "sendMessage").some((c) => c.response?.error_code === 500), "the first attempt was refused");
    // Later passes find nothing more to send.
    await world.alerts.flush();
    await world.alerts.flush();
    assert.equal(tg.sent(world.ownerToken, world.owner).filter((m) => /INV-000777/.test(m.text ?? "")).length, 1);
  });

  test("a long answer is split into messages Telegram accepts, in order", async () => {
    const { stores } = world;
    for (let i = 0; i < 60; i++) await stores.createStore({ name: `Toko Panjang Sekali Namanya Nomor ${i} ${"x".repeat(20)}` });
    const replies = await world.ask(world.owner, "/status", 2);
    assert.ok(replies.every((r) => r.length <= 4096));
    assert.match(replies[0]!, /^Niaga/);
    assert.ok(replies.join("\n").split("\n").filter((l) => l.startsWith("• ")).length >= 60);
  });

  test("a send says what Telegram did: sent with message ids, blocked (403), rate-limited (429) with its wait, failed (5xx), rejected", async () => {
    const { tg } = world.stores;
    const to = { tenantId: "platform", channel: "owner", chatId: String(world.owner.id) };
    const note = { text: { inline: { id: "Catatan uji", en: "Test note" } } };
    const sent = await world.bot.send(to, [note, { text: { key: "ownerbot.maintenance.off" } }], { locale: "en" });
    assert.equal(sent.ok, true);
    assert.equal(sent.sent, 2);
    assert.equal(sent.messages[0]!.messageIds.length, 1);
    assert.equal((await tg.waitForSent(world.ownerToken, world.owner, (m) => m.text === "Test note")).text, "Test note");
    assert.ok(tg.sent(world.ownerToken, world.owner).some((m) => m.text === "Maintenance mode off; customers are served again."));

    const refusals: Array<[Parameters<typeof tg.failNext>[2], string]> = [
      [{ status: 403, description: "Forbidden: bot was blocked by the user" }, "blocked"],
      [{ status: 429, retryAfter: 7 }, "rate-limited"],
      [{ status: 502, description: "Bad Gateway" }, "failed"],
      [{ status: 400, description: "Bad Request: chat not found" }, "unreachable"],
      [{ status: 400, description: "Bad Request: message is too long" }, "rejected"],
    ];
    for (const [fault, reason] of refusals) {
      tg.failNext(world.ownerToken, "sendMessage", fault);
      const report = await world.bot.send(to, [note, note]);
      assert.equal(report.ok, false);
      assert.equal(report.reason, reason, JSON.stringify(fault));
      assert.equal(report.sent, 0);
      assert.deepEqual(report.messages.map((m) => m.status), ["failed", "skipped"]);
      if (reason === "rate-limited") assert.equal(report.retryAfterSec, 7);
    }
  });

  test("the command menu shows in the owners' chats only", async () => {
    const { tg } = world.stores;
    // Telegram knows the owner's chat once they wrote (the tests above did): then the menu is set.
    await tg.waitForCall(world.ownerToken, "setMyCommands", (c) => c.response?.ok === true);
    const menu = tg.commandsFor(world.ownerToken, { chat: world.owner }).map((c) => c.command);
    assert.ok(["status", "store", "maintenance", "newstore"].every((c) => menu.includes(c)), menu.join(", "));
    const stranger = tg.user({ first_name: "Orang" });
    assert.deepEqual(tg.commandsFor(world.ownerToken, { chat: stranger }), []);
  });
});
