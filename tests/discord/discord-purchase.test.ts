// A whole purchase on Discord through the real discord.js client and the local Discord, with
// the platform's own flows: a shopper opens the store with /toko in its guild, buys with
// buttons and the "Answer" modal, sends the transfer proof as a photo in their DM; a staff
// member (by the store's staff role) approves with /setujui; the goods arrive in the shopper's
// DM exactly once. The same staff member cannot run an owner command Discord shows them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createCommerce } from "../../bots/commerce.ts";
import { Channels, createEngine, memberAudience, MongoSessionStore, Outbox } from "../../flows/engine/index.ts";
import { Order } from "../../flows/ordering/order.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { AuditLog, Member } from "../../storage/models/index.ts";
import type { DiscordChannel } from "../../adapters/discord/discord-channel.ts";
import { Turns } from "../conformance/channel-suite.ts";
import { LocalDiscord } from "../support/discord/index.ts";
import type { InteractionRecord, LocalMessage, LocalUser } from "../support/discord/index.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { payloadFor } from "../support/stores.ts";
import { samplePng } from "../support/telegram-emulator.ts";
import { controlLabelled, openDiscordChannel, seedLinkedStore, type LinkedStore } from "./harness.ts";

describe("buying on Discord", () => {
  let db: TestDatabase;
  let discord: LocalDiscord;
  let channel: DiscordChannel;
  let linked: LinkedStore;
  const turns = new Turns();

  before(async () => {
    await initI18n();
    db = await openTestDatabase("discord_purchase");
    discord = await LocalDiscord.start();
    const channels = new Channels();
    const commerce = createCommerce({ outbox: new Outbox(channels), files: channels, encryptionKey: randomBytes(32), payPageUrl: () => "http://127.0.0.1:9" });
    const engine = turns.wrap(createEngine({ ...commerce.flows, sessions: new MongoSessionStore(), audienceOf: memberAudience() }));
    channel = openDiscordChannel(discord, engine);
    channels.add(channel);
    linked = await seedLinkedStore(discord, {
      name: "Toko Discord",
      settings: { ordering: { paymentMethods: ["manual"], paymentInstructions: "Transfer ke BCA 123.", snkText: "" } },
      products: [{ code: "voucher-dc", name: "Voucher Discord", price: 25_000, stock: 3 }],
    });
    await channel.start();
  });
  after(async () => {
    await channel?.stop(2000);
    await discord?.close();
    await db?.close();
  });

  /** Runs an interaction and waits for its turn; returns what the person saw, in order. */
  async function act(user: LocalUser, start: () => InteractionRecord): Promise<LocalMessage[]> {
    let record!: InteractionRecord;
    await turns.handled(user.id, async () => (record = start()).waitForAck());
    await record.waitForAnswer();
    return [record.original, ...record.followUps].filter((m): m is LocalMessage => m !== undefined && !m.deleted);
  }

  const lastWithControls = (messages: LocalMessage[]) => {
    const found = messages.findLast((m) => m.controls().length > 0);
    if (!found) throw new Error(`nothing to press in: ${messages.map((m) => m.text()).join(" | ")}`);
    return found;
  };
  const labelMatching = (message: LocalMessage, pattern: RegExp) => {
    const label = message.controls().map((c) => c.label ?? "").find((l) => pattern.test(l));
    if (!label) throw new Error(`no control matching ${pattern} on "${message.text()}" (${message.controls().map((c) => c.label).join(", ")})`);
    return label;
  };

  it("a shopper buys with /toko and buttons, pays with a photo in their DM, a staff member approves, and the goods arrive in the DM once", async () => {
    const { guild, staffRole, store } = linked;
    const sari = discord.user({ username: "sari", globalName: "Sari", locale: "id" });
    guild.member(sari);
    const where = guild.defaultChannel;

    let shown = await act(sari, () => discord.command(sari, where, "toko"));
    assert.ok(shown[0]!.ephemeral, "the store's answer in the guild is for the shopper alone");
    assert.match(shown[0]!.text(), /Toko Discord/);
    let menu = lastWithControls(shown);
    shown = await act(sari, () => discord.press(sari, menu, controlLabelled(menu, labelMatching(menu, /Katalog/i))));
    menu = lastWithControls(shown);
    shown = await act(sari, () => discord.press(sari, menu, controlLabelled(menu, labelMatching(menu, /Voucher Discord/))));
    menu = lastWithControls(shown);
    shown = await act(sari, () => discord.press(sari, menu, controlLabelled(menu, t("id", "catalog.buy"))));
    const question = lastWithControls(shown);
    assert.match(question.text(), /Mau beli berapa Voucher Discord/);
    const answer = discord.press(sari, question, controlLabelled(question, t("id", "discord.answer")));
    const modal = await answer.waitForModal();
    assert.equal(answer.acks[0]?.type, 9, "the Answer button opens its modal as its first answer, undeferred");
    shown = await act(sari, () => discord.submitModal(sari, answer, modal.custom_id as string, { answer: "2" }));
    menu = lastWithControls(shown);
    shown = await act(sari, () => discord.press(sari, menu, controlLabelled(menu, labelMatching(menu, /Transfer|Manual/i))));
    assert.match(shown.map((m) => m.text()).join("\n"), /kirim foto bukti transfernya/);
    const order = await eventually(() => Order.findOne({ tenantId: store.tenant } as never).lean<{ code: string }>().exec(), "the order");

    // The proof goes where files can be sent: the shopper's DM with the bot.
    const before = discord.dmsOf(sari).length;
    await turns.handled(sari.id, async () => discord.write(sari, sari, "", { attachments: [{ name: "bukti.png", data: samplePng({ width: 8, height: 6, seed: 7 }), contentType: "image/png" }] }));
    const received = await eventually(() => discord.dmsOf(sari).slice(before).find((m) => m.text().includes(order.code)), "the proof acknowledged in the DM");
    assert.match(received.text(), /sudah kami terima/);

    const staff = discord.user({ username: "staf", globalName: "Staf", locale: "id" });
    guild.member(staff, { roles: [staffRole] });
    shown = await act(staff, () => discord.command(staff, where, "setujui", { args: order.code }));
    assert.equal(shown[0]!.text(), t("id", "admin.orders.approved_delivered", { code: order.code }));
    assert.ok(await Member.exists({ tenantId: store.tenant, channel: "discord", channelUserId: staff.id, role: "staff", addedBy: "discord-role" } as never), "the staff role holder became a staff member");

    const goods = [payloadFor(store.slug, "voucher-dc", 0), payloadFor(store.slug, "voucher-dc", 1)];
    await eventually(() => goods.every((g) => discord.dmsOf(sari).some((m) => m.text().includes(g))), "the goods in the shopper's DM");
    for (const g of goods) assert.equal(discord.dmsOf(sari).filter((m) => m.text().includes(g)).length, 1, "each item once");
    for (const g of goods) assert.ok(!discord.messagesIn(where, { ephemeral: false }).some((m) => m.text().includes(g)), "never in the guild's channel");

    // Discord shows every command to everyone; the store's roles decide. Staff cannot add staff.
    shown = await act(staff, () => discord.command(staff, where, "tambahstaf"));
    assert.equal(shown[0]!.text(), t("id", "admin.denied.role", { role: t("id", "admin.roles.staff") }));
    assert.ok(await AuditLog.exists({ tenantId: store.tenant, action: "staff.add", "target.id": `discord:${staff.id}` } as never), "the new member is audited");
  });
});
