// The store owner gets a guild link code from the store's Telegram bot (real grammY against
// the Bot API emulator, the platform's commerce wiring): `/discord` shows where the link
// stands, a code that redeems to this store with the line to type, and "unlink" once linked.
// Only owners may use it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { User } from "grammy/types";
import { configureLogging } from "../../bots/logger.ts";
import type { GuildLinkChange } from "../../flows/tenant-admin/admin-services.ts";
import { t } from "../../locales/i18n.ts";
import { GUILD_AUDIT, linkGuild } from "../../storage/discord/guild-links.ts";
import { createMongoLinkCodes } from "../../storage/discord/link-codes.ts";
import { AuditLog, Tenant } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { ownerAndAdminStore } from "../telegram/owner-store.ts";
import { storeChat, words, type Store, type Stores } from "../telegram/store-fixture.ts";

const GUILD = "1045678901234567890";

describe("a guild link code from the store's Telegram bot", () => {
  let stores: Stores;
  let store: Store;
  let owner: User;
  let admin: User;
  const changes: GuildLinkChange[] = [];

  const { send, press } = storeChat(() => stores, () => store);
  const label = (key: string) => t("id", key);

  before(async () => {
    configureLogging({ level: "error" });
    ({ stores, store, owner, admin } = await ownerAndAdminStore("Toko Kenanga", {
      discord: { inviteUrl: "https://discord.com/oauth2/authorize?client_id=1122334455667788990&scope=bot+applications.commands", onLinkChanged: (change) => void changes.push(change) },
    }));
  });
  after(async () => {
    await stores?.close();
  });

  it("shows an unlinked store, the bot's invite link and a code that names this store, once", async () => {
    const [status, invite, codeMessage, menu] = await send(owner, "/discord", 4);
    assert.equal(words(status!), label("guild.store_bot.status.unlinked"));
    assert.match(words(invite!), /discord\.com\/oauth2\/authorize\?client_id=1122334455667788990/);
    const code = /kode:([0-9A-Z]{8})/.exec(words(codeMessage!))?.[1];
    assert.ok(code, words(codeMessage!));
    assert.match(words(codeMessage!), new RegExp(`/niaga hubungkan kode:${code} peran:<peran staf> kanal:<kanal staf>`));
    assert.deepEqual(menu!.reply_markup?.inline_keyboard.flat().map((b) => b.text), [label("guild.store_bot.choices.done")]);
    const [done] = await press(owner, menu!, label("guild.store_bot.choices.done"));
    assert.equal(words(done!), label("guild.store_bot.done"));

    const codes = createMongoLinkCodes();
    const someone = { guildId: GUILD, userId: "80351110224678912" };
    assert.deepEqual(await codes.redeem(code!, someone), { ok: true, tenantId: store.id, issuedBy: `telegram:${owner.id}` });
    assert.equal((await codes.redeem(code!, someone)).ok, false);
  });

  it("is refused to an admin: only owners link the store's server", async () => {
    const [refused] = await send(admin, "/discord");
    assert.equal(words(refused!), t("id", "admin.denied.role", { role: t("id", "admin.roles.admin") }));
  });

  it("once linked shows the server and unlinks it, audited and announced", async () => {
    const linked = await linkGuild({ tenantId: store.id, guildId: GUILD, staffRoleId: "1045678901234567001", staffChannelId: "1045678901234567002", actor: { channel: "discord", userId: "80351110224678912" }, where: "test" });
    assert.equal(linked.kind, "linked");
    const [status, , , menu] = await send(owner, "/discord", 4);
    assert.equal(words(status!), t("id", "guild.store_bot.status.linked", { guild: GUILD, role: "1045678901234567001", channel: "1045678901234567002" }));
    const [confirm] = await press(owner, menu!, label("guild.store_bot.choices.unlink"));
    assert.equal(words(confirm!), label("guild.store_bot.confirm_unlink"));
    const [unlinked] = await press(owner, confirm!, label("guild.store_bot.choices.unlink_yes"));
    assert.equal(words(unlinked!), t("id", "guild.store_bot.unlinked", { guild: GUILD }));
    assert.equal((await Tenant.findById(store.id).lean())?.channels?.discord?.guildId, undefined);
    const audit = await AuditLog.findOne({ tenantId: store.id, action: GUILD_AUDIT.unlink } as never).lean<{ actor: { channel: string; userId: string }; after: unknown }>();
    assert.deepEqual({ channel: audit?.actor.channel, userId: audit?.actor.userId }, { channel: "telegram", userId: String(owner.id) });
    assert.deepEqual(audit?.after, { reason: "unlinked" });
    await eventually(() => changes.length === 1, "the unlink announced");
    assert.deepEqual(changes[0], { kind: "unlinked", store: { tenantId: store.id, slug: store.slug, name: "Toko Kenanga" }, guildId: GUILD, by: `telegram:${owner.id}` });
  });
});
