// Linking a Discord guild to a store, through the real discord.js client of the Discord
// channel against the local Discord: `/niaga hubungkan|putuskan|status` and the bot's removal,
// with the store's audit log and the platform owner's events. Codes are issued as the store
// bot's `/discord` issues them (that side is tested through the Telegram emulator elsewhere).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { PermissionFlagsBits } from "discord.js";
import { DiscordChannel } from "../../adapters/discord/discord-channel.ts";
import { GuildDirectory } from "../../adapters/discord/guild-directory.ts";
import { GuildLinking } from "../../adapters/discord/guild-linking.ts";
import { createCommerce } from "../../bots/commerce.ts";
import { configureLogging, logger } from "../../bots/logger.ts";
import { Channels, Outbox } from "../../flows/engine/index.ts";
import { memberAudience } from "../../flows/engine/audience.ts";
import { createEngine } from "../../flows/engine/engine.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { t } from "../../locales/i18n.ts";
import { GUILD_AUDIT, linkGuild } from "../../storage/discord/guild-links.ts";
import { createMongoLinkCodes } from "../../storage/discord/link-codes.ts";
import { AuditLog, Member, Tenant } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { useTestDatabase } from "../support/mongo.ts";
import { seedStore } from "../support/stores.ts";
import { LocalDiscord, type LocalGuild, type LocalUser } from "../support/discord/index.ts";
import { Intent } from "../support/discord/gateway.ts";

useTestDatabase("discord_guild_linking");

describe("linking a Discord guild to a store", () => {
  let discord: LocalDiscord;
  let channel: DiscordChannel;
  const codes = createMongoLinkCodes();
  const events: string[] = [];
  let n = 0;

  /** A guild with the bot in it, its owner, a staff role and a staff channel. */
  function newGuild(name: string) {
    const owner = discord.user({ username: `pemilik${++n}`, locale: "id" });
    const guild = discord.guild({ name, owner });
    const staff = guild.role("Staf");
    const desk = discord.textChannel(guild, "staf");
    discord.addBot(guild);
    return { guild, owner, staff, desk };
  }
  const niaga = async (user: LocalUser, guild: LocalGuild, sub: string, options: Record<string, unknown> = {}) => {
    const record = discord.command(user, guild.defaultChannel, "niaga", options as never, { subcommand: sub });
    const answer = await record.waitForAnswer();
    assert.equal(record.ephemeral, true, "answered to the person only");
    assert.deepEqual(record.errors, [], "answered within Discord's rules");
    return answer.text();
  };
  const store = (name: string) => seedStore({ name, members: {}, memberChannel: "telegram" });
  const linkOf = async (tenantId: string) => (await Tenant.findById(tenantId).lean())?.channels?.discord;
  const audits = (tenantId: string, action: string) => AuditLog.find({ tenantId, action } as never).sort({ at: 1 }).lean<{ actor: { userId: string }; target: { id: string }; before?: unknown; after?: Record<string, unknown>; where: string }[]>();

  before(async () => {
    configureLogging({ level: "error" });
    discord = await LocalDiscord.start();
    const channels = new Channels();
    const commerce = createCommerce({ outbox: new Outbox(channels), files: channels, encryptionKey: randomBytes(32), payPageUrl: () => "http://127.0.0.1:9" });
    const engine = createEngine({ ...commerce.flows, sessions: new MongoSessionStore(), audienceOf: memberAudience() });
    const linking = new GuildLinking({
      directory: new GuildDirectory(),
      codes,
      log: logger,
      events: {
        onLinked: (s, link, by) => void events.push(`linked ${s.slug} ${link.guildId} by ${by}`),
        onUnlinked: (s, guildId, reason, by) => void events.push(`unlinked ${s.slug} ${guildId} ${reason} by ${by}`),
      },
    });
    channel = new DiscordChannel({ engine, token: discord.application.token, applicationId: discord.application.id, apiRoot: discord.apiRoot, guilds: linking, log: logger });
    channels.add(channel);
    await channel.start();
  });
  after(async () => {
    await channel?.stop(1000);
    await discord?.close();
  });

  it("a code from the store's owner links the guild with its staff role and channel; the redeemer becomes an owner; audited and announced", async () => {
    const shop = await store("Toko Anggrek");
    const { guild, owner, staff, desk } = newGuild("Anggrek");
    const { code } = await codes.issue(shop.id, "telegram:111");
    const text = await niaga(owner, guild, "hubungkan", { peran: staff, kanal: desk, kode: code.toLowerCase() });
    assert.equal(text, t("id", "guild.answer.linked", { store: "Toko Anggrek", role: `<@&${staff.id}>`, channel: `<#${desk.id}>` }));
    const link = await linkOf(shop.id);
    assert.deepEqual({ guildId: link?.guildId, staffRoleId: link?.staffRoleId, staffChannelId: link?.staffChannelId, linkedBy: link?.linkedBy }, { guildId: guild.id, staffRoleId: staff.id, staffChannelId: desk.id, linkedBy: `discord:${owner.id}` });
    const member = await Member.findOne({ tenantId: shop.id, channel: "discord", channelUserId: owner.id } as never).lean<{ role: string }>();
    assert.equal(member?.role, "owner");
    const [linked] = await audits(shop.id, GUILD_AUDIT.link);
    assert.deepEqual(linked?.after, { guildId: guild.id, staffRoleId: staff.id, staffChannelId: desk.id });
    assert.equal(linked?.actor.userId, owner.id);
    assert.ok(events.includes(`linked ${shop.slug} ${guild.id} by discord:${owner.id}`), events.join("\n"));

    assert.equal(await niaga(owner, guild, "status"), t("id", "guild.answer.status", { store: "Toko Anggrek", slug: shop.slug, role: `<@&${staff.id}>`, channel: `<#${desk.id}>` }));
  });

  it("a code works once: used again, wrong or expired it answers the same and links nothing", async () => {
    const shop = await store("Toko Bakung");
    const first = newGuild("Bakung");
    const second = newGuild("Bakung 2");
    const { code } = await codes.issue(shop.id, "telegram:111");
    await niaga(first.owner, first.guild, "hubungkan", { peran: first.staff, kanal: first.desk, kode: code });
    const again = await niaga(second.owner, second.guild, "hubungkan", { peran: second.staff, kanal: second.desk, kode: code });
    const wrong = await niaga(second.owner, second.guild, "hubungkan", { peran: second.staff, kanal: second.desk, kode: "ZZZZ2345" });
    assert.equal(again, t("id", "guild.answer.bad_code"));
    assert.equal(wrong, again);
    assert.equal((await linkOf(shop.id))?.guildId, first.guild.id);
  });

  it("someone without Manage Server cannot link, even when the server lets them see /niaga; the code still works after", async () => {
    const shop = await store("Toko Cempaka");
    const { guild, owner, staff, desk } = newGuild("Cempaka");
    const helper = discord.user({ username: "pembantu", locale: "id" });
    guild.member(helper, { roles: [staff] });
    const { code } = await codes.issue(shop.id, "telegram:111");
    assert.equal(await niaga(helper, guild, "hubungkan", { peran: staff, kanal: desk, kode: code }), t("id", "guild.answer.needs_manage_guild"));
    assert.equal(await linkOf(shop.id), undefined);
    const manager = discord.user({ username: "pengelola", locale: "en-US" });
    guild.member(manager, { permissions: PermissionFlagsBits.ManageGuild });
    const text = await niaga(manager, guild, "hubungkan", { peran: staff, kanal: desk, kode: code });
    assert.match(text, /^✅ This server is now linked to the store Toko Cempaka/, "in the person's own language");
    assert.equal((await linkOf(shop.id))?.guildId, guild.id);
    void owner;
  });

  it("a guild linked to one store refuses another store's code; a store moving to a new guild leaves its old one, audited", async () => {
    const mine = await store("Toko Dahlia");
    const theirs = await store("Toko Edelweis");
    const a = newGuild("Dahlia");
    const b = newGuild("Dahlia Baru");
    await niaga(a.owner, a.guild, "hubungkan", { peran: a.staff, kanal: a.desk, kode: (await codes.issue(mine.id, "telegram:1")).code });
    const refused = await niaga(a.owner, a.guild, "hubungkan", { peran: a.staff, kanal: a.desk, kode: (await codes.issue(theirs.id, "telegram:2")).code });
    assert.equal(refused, t("id", "guild.answer.guild_taken", { store: "Toko Dahlia" }));
    assert.equal((await linkOf(mine.id))?.guildId, a.guild.id);
    assert.equal(await linkOf(theirs.id), undefined);

    const moved = await niaga(b.owner, b.guild, "hubungkan", { peran: b.staff, kanal: b.desk, kode: (await codes.issue(mine.id, "telegram:1")).code });
    assert.match(moved, new RegExp(t("id", "guild.answer.moved", { old: a.guild.id }).replace(/[()]/g, "\\$&")));
    assert.equal((await linkOf(mine.id))?.guildId, b.guild.id);
    const [unlinked] = await audits(mine.id, GUILD_AUDIT.unlink);
    assert.equal(unlinked?.target.id, a.guild.id);
    assert.equal(unlinked?.after?.reason, "moved");
    assert.equal(await niaga(a.owner, a.guild, "status"), t("id", "guild.answer.not_linked"), "the old guild is no longer the store's");
  });

  it("/niaga putuskan: refused to a plain member, done by Manage Server or an owner of the store, audited and announced", async () => {
    const shop = await store("Toko Flamboyan");
    const { guild, owner, staff, desk } = newGuild("Flamboyan");
    await niaga(owner, guild, "hubungkan", { peran: staff, kanal: desk, kode: (await codes.issue(shop.id, "telegram:1")).code });
    const member = discord.user({ username: "anggota", locale: "id" });
    guild.member(member, { roles: [staff] });
    assert.equal(await niaga(member, guild, "putuskan"), t("id", "guild.answer.unlink_denied"));
    assert.equal((await linkOf(shop.id))?.guildId, guild.id);
    // The owner holds the store's owner membership on Discord: without Manage Server that is enough.
    await Member.create({ tenantId: shop.id, channel: "discord", channelUserId: member.id, role: "owner" } as never);
    assert.equal(await niaga(member, guild, "putuskan"), t("id", "guild.answer.unlinked", { store: "Toko Flamboyan" }));
    assert.equal(await linkOf(shop.id), undefined);
    const [unlinked] = await audits(shop.id, GUILD_AUDIT.unlink);
    assert.deepEqual({ by: unlinked?.actor.userId, reason: unlinked?.after?.reason, where: unlinked?.where }, { by: member.id, reason: "unlinked", where: `discord:${guild.id}` });
    assert.ok(events.includes(`unlinked ${shop.slug} ${guild.id} unlinked by discord:${member.id}`), events.join("\n"));
    assert.equal(await niaga(member, guild, "status"), t("id", "guild.answer.not_linked"));
  });

  it("a guild the operator bound from the shell takes its role and channel without a code; an unbound one is told to get a code", async () => {
    const shop = await store("Toko Gardenia");
    const { guild, owner, staff, desk } = newGuild("Gardenia");
    assert.equal(await niaga(owner, guild, "hubungkan", { peran: staff, kanal: desk }), t("id", "guild.answer.needs_code"));
    await linkGuild({ tenantId: shop.id, guildId: guild.id, actor: { channel: "cli", userId: "operator" }, where: "cli" });
    assert.equal(await niaga(owner, guild, "hubungkan", { peran: staff, kanal: desk }), t("id", "guild.answer.staff_set", { store: "Toko Gardenia", role: `<@&${staff.id}>`, channel: `<#${desk.id}>` }));
    const link = await linkOf(shop.id);
    assert.deepEqual({ role: link?.staffRoleId, channel: link?.staffChannelId, by: link?.linkedBy }, { role: staff.id, channel: desk.id, by: "cli:operator" });
    assert.equal((await audits(shop.id, GUILD_AUDIT.staff)).length, 1);
    assert.equal(await Member.countDocuments({ tenantId: shop.id, channel: "discord" } as never), 0, "setting the role makes nobody an owner");
  });

  it("the bot removed from the guild unlinks it, audited and announced; a guild that only goes unavailable stays linked", async () => {
    const shop = await store("Toko Heliconia");
    const kept = await store("Toko Iris");
    const gone = newGuild("Heliconia");
    const outage = newGuild("Iris");
    await niaga(gone.owner, gone.guild, "hubungkan", { peran: gone.staff, kanal: gone.desk, kode: (await codes.issue(shop.id, "telegram:1")).code });
    await niaga(outage.owner, outage.guild, "hubungkan", { peran: outage.staff, kanal: outage.desk, kode: (await codes.issue(kept.id, "telegram:1")).code });

    discord.gateway.dispatch("GUILD_DELETE", { id: outage.guild.id, unavailable: true }, { guildId: outage.guild.id, intent: Intent.Guilds });
    discord.removeBot(gone.guild);
    await eventually(async () => (await linkOf(shop.id)) === undefined, "the removed guild unlinked");
    const [unlinked] = await audits(shop.id, GUILD_AUDIT.unlink);
    assert.deepEqual({ guild: unlinked?.target.id, reason: unlinked?.after?.reason }, { guild: gone.guild.id, reason: "bot-removed" });
    assert.ok(events.some((e) => e.startsWith(`unlinked ${shop.slug} ${gone.guild.id} bot-removed`)), events.join("\n"));
    // The unavailable guild's packet came first: had it unlinked, it would have by now.
    assert.equal((await linkOf(kept.id))?.guildId, outage.guild.id);
    assert.equal((await audits(kept.id, GUILD_AUDIT.unlink)).length, 0);
  });

  it("an unlinked guild gets the clear store-free answer to /toko", async () => {
    const { guild, owner } = newGuild("Tanpa Toko");
    const record = discord.command(owner, guild.defaultChannel, "toko");
    const answer = await record.waitForAnswer();
    assert.equal(answer.text(), t("id", "discord.unlinked_guild"));
  });
});
