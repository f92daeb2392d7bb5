// `niaga start` with Discord configured, as a real child process: DISCORD_API_ROOT points it
// at the local Discord, where it logs in through the gateway it finds there and registers
// the global commands. The store's owner gets a code from the store's Telegram bot (the
// Telegram emulator), links the store's guild with `/niaga hubungkan`, and a shopper's `/toko`
// there opens the store; a guild linked to nothing gets the store-free answer; removing the
// bot from the guild unlinks it, audited.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Types } from "mongoose";
import type { User } from "grammy/types";
import { initI18n, t } from "../../locales/i18n.ts";
import { GUILD_AUDIT } from "../../storage/discord/guild-links.ts";
import { AuditLog, Member, sealTenantSecret, Tenant } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { freePort } from "../support/free-port.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { killIfRunning, type Niaga, startNiagaProcess } from "../support/niaga-process.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { LocalDiscord } from "../support/discord/index.ts";

const key = randomBytes(32);
const REPLY_MS = 20_000;

describe("niaga start on Discord", () => {
  let db: TestDatabase;
  let tg: TelegramEmulator;
  let discord: LocalDiscord;
  let platform: Niaga | undefined;
  let storeId: Types.ObjectId;
  let token: string;
  let seller: User;

  before(async () => {
    await initI18n();
    db = await openTestDatabase("niaga_discord_start", { indexes: false, encryptionKey: key });
    tg = await startTelegramEmulator();
    discord = await LocalDiscord.start();
    seller = tg.user({ first_name: "Pemilik", language_code: "id" });
    ({ token } = tg.bot());
    const tenant = new Tenant({ slug: "toko-seruni", name: "Toko Seruni", locale: "id" });
    tenant.set("channels.telegram.token", sealTenantSecret(tenant, "channels.telegram.token", token));
    await tenant.save();
    storeId = tenant._id;
    await Member.create({ tenantId: tenant._id, channel: "telegram", channelUserId: String(seller.id), role: "owner", displayName: "Pemilik" } as never);
    tg.openChat(token, seller);
    const port = await freePort();
    ({ platform } = await startNiagaProcess({
      MONGODB_URI: db.uri,
      ENCRYPTION_KEY: key.toString("base64"),
      TELEGRAM_API_ROOT: tg.apiRoot,
      DISCORD_TOKEN: discord.application.token,
      DISCORD_APP_ID: discord.application.id,
      DISCORD_API_ROOT: discord.apiRoot,
      HTTP_PORT: String(port),
      LOG_LEVEL: "info",
      NODE_ENV: "test",
    }));
  });
  after(async () => {
    killIfRunning(platform);
    await discord?.close();
    await tg?.stop();
    await db?.close();
  });

  it("connects to the gateway and registers the global commands, /niaga and /toko among them", async () => {
    await eventually(() => discord.connectedSessions === 1, "the platform's gateway session", { timeoutMs: REPLY_MS });
    await eventually(() => discord.globalCommands().length > 0, "the global commands", { timeoutMs: REPLY_MS });
    const names = discord.globalCommands().map((c) => c.name);
    for (const name of ["niaga", "toko"]) assert.ok(names.includes(name), `/${name} in ${names.join(", ")}`);
    assert.ok(!platform!.stderr.includes(discord.application.token), "the token is never logged");
  });

  it("links the guild with the code from the store's Telegram bot; /toko there opens the store; a guild of no store hears so", async () => {
    const owner = discord.user({ username: "pemilik", locale: "id" });
    const guild = discord.guild({ name: "Seruni", owner });
    const staff = guild.role("Staf");
    const desk = discord.textChannel(guild, "staf");
    discord.addBot(guild);
    const lonely = discord.guild({ name: "Tanpa Toko", owner });
    discord.addBot(lonely);

    await tg.sendText(token, seller, "/discord");
    const codeMessage = await tg.waitForSent(token, seller, (m) => /kode:[0-9A-Z]{8}/.test(m.text ?? ""), REPLY_MS);
    const code = /kode:([0-9A-Z]{8})/.exec(codeMessage.text ?? "")![1]!;

    const link = discord.command(owner, guild.defaultChannel, "niaga", { peran: staff, kanal: desk, kode: code }, { subcommand: "hubungkan" });
    const linked = await link.waitForAnswer(REPLY_MS);
    assert.equal(linked.text(), t("id", "guild.answer.linked", { store: "Toko Seruni", role: `<@&${staff.id}>`, channel: `<#${desk.id}>` }));
    assert.equal(link.ephemeral, true);
    assert.deepEqual(link.errors, [], "answered within Discord's 3 s, once");
    assert.equal((await Tenant.findById(storeId).lean())?.channels?.discord?.guildId, guild.id);
    assert.equal(await AuditLog.countDocuments({ tenantId: storeId, action: GUILD_AUDIT.link } as never), 1);
    // Without an owner bot the platform owner's alerts go to the log.
    await platform!.waitForLog((l) => l.alert === "discord-linked" && l.tenant === "toko-seruni", "the discord-linked owner alert", REPLY_MS);

    const shopper = discord.user({ username: "pembeli", locale: "id" });
    guild.member(shopper);
    const opened = discord.command(shopper, guild.defaultChannel, "toko");
    assert.match((await opened.waitForAnswer(REPLY_MS)).text(), /Toko Seruni/);
    assert.deepEqual(opened.errors, []);

    const stranger = discord.command(owner, lonely.defaultChannel, "toko");
    assert.equal((await stranger.waitForAnswer(REPLY_MS)).text(), t("id", "discord.unlinked_guild"));
  });

  it("unlinks the guild the bot was removed from, audited", async () => {
    const guildId = (await Tenant.findById(storeId).lean())?.channels?.discord?.guildId;
    assert.ok(guildId);
    discord.removeBot(discord.botGuild(guildId)!);
    await eventually(async () => (await Tenant.findById(storeId).lean())?.channels?.discord?.guildId === undefined, "the guild unlinked", { timeoutMs: REPLY_MS });
    // The audit record is written right after the link is cleared: wait for it, do not race it.
    const unlinkAudit = () => AuditLog.findOne({ tenantId: storeId, action: GUILD_AUDIT.unlink } as never).lean<{ after?: { reason?: string } }>();
    await eventually(async () => (await unlinkAudit()) !== null, "the unlink audited", { timeoutMs: REPLY_MS });
    assert.equal((await unlinkAudit())?.after?.reason, "bot-removed");
    const alert = await platform!.waitForLog((l) => l.alert === "discord-unlinked" && l.tenant === "toko-seruni", "the discord-unlinked owner alert", REPLY_MS);
    assert.match(String(alert.message), /bot-removed/);
  });
});
