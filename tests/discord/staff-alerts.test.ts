// Sellers' alerts in the store's Discord staff channel: each alert is posted there once, with
// buttons that run the seller command for whoever presses them — checked against that
// person's own permissions, as if they had typed it. Members on Discord are not also
// messaged one by one; members on other channels still are.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createCommerce } from "../../bots/commerce.ts";
import { discordTeamRooms } from "../../bots/discord-desk.ts";
import type { DiscordChannel } from "../../adapters/discord/discord-channel.ts";
import { createEngine, memberAudience, MemorySessionStore, type Outbox } from "../../flows/engine/index.ts";
import { alertSellers } from "../../flows/tenant-admin/seller-alerts.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { Member } from "../../storage/models/index.ts";
import { LocalDiscord, type LocalUser } from "../support/discord/index.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { controlLabelled, openDiscordChannel, seedLinkedStore, shownOf, type LinkedStore } from "./harness.ts";

let db: TestDatabase;
let discord: LocalDiscord;
let channel: DiscordChannel;
/** What went to chats on other channels (a Telegram owner). */
const elsewhere = new RecordingOutbox();
let outbox: Pick<Outbox, "send">;

before(async () => {
  await initI18n();
  db = await openTestDatabase("discord_staff_alerts");
  discord = await LocalDiscord.start();
  outbox = { send: (to, outbounds, options) => (to.channel === "discord" ? channel.send(to, outbounds, options) : elsewhere.send(to, outbounds, options)) };
  const commerce = createCommerce({ outbox, encryptionKey: db.encryptionKey, payPageUrl: () => "http://127.0.0.1:9" });
  const engine = createEngine({ ...commerce.flows, sessions: new MemorySessionStore(), audienceOf: memberAudience() });
  channel = openDiscordChannel(discord, engine);
  await channel.start();
});

after(async () => {
  await channel.stop(2_000);
  await discord.close();
  await db.close();
});

interface Team {
  linked: LinkedStore;
  admin: LocalUser;
  staffer: LocalUser;
  telegramOwner: string;
}

async function storeWithTeam(): Promise<Team> {
  const admin = discord.user({ username: "admin-toko", locale: "id" });
  const staffer = discord.user({ username: "staf-toko", locale: "id" });
  const linked = await seedLinkedStore(discord, { members: { [admin.id]: "admin" }, memberChannel: "discord" });
  linked.guild.member(admin);
  linked.guild.member(staffer, { roles: [linked.staffRole] });
  const telegramOwner = `${linked.store.slug}-owner`;
  await Member.create({ tenantId: linked.store.tenant, channel: "telegram", channelUserId: telegramOwner, role: "owner" } as never);
  return { linked, admin, staffer, telegramOwner };
}

function alertsIn(linked: LinkedStore, fragment: string) {
  return discord.messagesIn(linked.staffChannel).filter((m) => m.text().includes(fragment));
}

describe("sellers' alerts in the Discord staff channel", () => {
  test("a transfer proof is posted once in the staff channel with approve, reject and details buttons; Discord members get no DM, the Telegram owner still hears it", async () => {
    const { linked, admin, telegramOwner } = await storeWithTeam();
    const code = "INV-000101";
    const told = await alertSellers({ type: "proof_submitted", tenantId: linked.store.tenantId, orderCode: code }, { ...outbox, teamRooms: discordTeamRooms([channel]) });
    assert.equal(told, 2, "the staff channel and the Telegram owner");
    const text = t("id", "admin.order_alert.proof_submitted", { code, store: linked.store.name });
    const posted = alertsIn(linked, code);
    assert.equal(posted.length, 1);
    assert.deepEqual(shownOf(posted[0]!), { text, buttons: ["approve", "reject", "details"].map((a) => t("id", `desk.alert_action.${a}`)) });
    assert.equal(discord.dmsOf(admin).length, 0, "the Discord admin reads it in the staff channel, not in a DM too");
    assert.deepEqual(elsewhere.sent.filter((s) => s.to.chatId === telegramOwner).map((s) => s.message.text), [{ key: "admin.order_alert.proof_submitted", params: { code, store: linked.store.name } }]);
  });

  test("a button runs its command for the person who presses it, with their permissions: a staff member cannot refund, an admin can look", async () => {
    const { linked, admin, staffer } = await storeWithTeam();
    const code = "INV-000102";
    await alertSellers({ type: "late_payment", tenantId: linked.store.tenantId, orderCode: code }, { ...outbox, teamRooms: discordTeamRooms([channel]) });
    const alert = await eventually(() => alertsIn(linked, code)[0], "the late-payment alert in the staff channel");
    assert.deepEqual(shownOf(alert).buttons, [t("id", "desk.alert_action.refund"), t("id", "desk.alert_action.details")]);

    // The staff role holder becomes a member (role staff) as they press; staff may not refund.
    const refused = discord.press(staffer, alert, controlLabelled(alert, t("id", "desk.alert_action.refund")));
    assert.equal((await refused.waitForAnswer()).text(), t("id", "admin.denied.role", { role: t("id", "admin.roles.staff") }));
    assert.equal(refused.ephemeral, true, "the refusal is shown only to who pressed");

    // The admin may: the refund command runs and looks the order up (there is none by that code).
    const looked = discord.press(admin, alert, controlLabelled(alert, t("id", "desk.alert_action.refund")));
    const answer = (await looked.waitForAnswer()).text();
    assert.notEqual(answer, t("id", "admin.denied.role", { role: t("id", "admin.roles.admin") }));
    assert.match(answer, new RegExp(code));
  });

  test("a store without a staff channel: every member is told in their own chat, as before", async () => {
    const { linked, admin } = await storeWithTeam();
    await Member.db.collection("tenants").updateOne({ _id: linked.store.tenant }, { $unset: { "channels.discord.staffChannelId": "" } });
    const code = "INV-000103";
    await alertSellers({ type: "claim_opened", tenantId: linked.store.tenantId, orderCode: code }, { ...outbox, teamRooms: discordTeamRooms([channel]) });
    const dms = await eventually(() => discord.dmsOf(admin).filter((m) => m.text().includes(code)).length > 0 && discord.dmsOf(admin), "the claim alert in the admin's DM");
    assert.equal(dms.length, 1);
    assert.equal(alertsIn(linked, code).length, 0);
  });
});
