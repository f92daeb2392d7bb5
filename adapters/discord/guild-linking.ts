/**
 * Linking guilds to stores, as the Discord channel hands it over (`DiscordGuildAdmin`):
 *
 * - `/niaga hubungkan peran:<role> kanal:<channel> kode:<KODE>` — someone with Manage Server
 *   redeems the store's one-time code (from the store bot's `/discord`): the guild becomes the
 *   store's, with that staff role and staff channel, and they become an owner of the store on
 *   Discord. A store linked to another guild moves here (the old guild is unlinked). Without
 *   a code it only sets the role and channel of a guild the operator bound already
 *   (`niaga tenant set SLUG --discord-guild ID`).
 * - `/niaga putuskan` — Manage Server, or an owner of the store: unlinks.
 * - `/niaga status` — the store, staff role and channel, to anyone in that guild.
 * - `guildRemoved` — the bot was kicked or the guild deleted: unlinked. A guild that is only
 *   unavailable (an outage) never reaches here: discord.js emits `guildUnavailable` instead.
 *
 * Manage Server is read from the interaction's own `member.permissions` (computed by Discord
 * for that member in that channel), not from the command's `default_member_permissions`, which
 * server admins can change. Every answer is ephemeral and deferred first. Every link and
 * unlink is in the store's audit log (`storage/discord/guild-links.ts`) and raised to the
 * platform owner through `events`.
 */
import { MessageFlags, PermissionFlagsBits } from "discord.js";
import type { ChatInputCommandInteraction } from "discord.js";
import { Types } from "mongoose";
import { newErrorId } from "../../flows/engine/index.ts";
import type { EngineLog, Locale } from "../../flows/engine/index.ts";
import { resolveLocale, t } from "../../locales/i18n.ts";
import { guildLinkOf, linkGuild, unlinkGuild, type GuildActor, type LinkedStore, type SavedGuildLink, type UnlinkReason } from "../../storage/discord/guild-links.ts";
import type { LinkCodes } from "../../storage/discord/link-codes.ts";
import { Member, recordAudit } from "../../storage/models/index.ts";
import { DISCORD_CHANNEL, type DiscordGuildAdmin, type GuildStore } from "./contract.ts";

/** What the platform owner hears (`bots/channels.ts` raises them as owner alerts). */
export interface GuildLinkEvents {
  onLinked?(store: LinkedStore, link: SavedGuildLink, by: string): void;
  onUnlinked?(store: LinkedStore, guildId: string, reason: UnlinkReason, by: string): void;
}

/** The guild → store lookup the channel routes by (`GuildDirectory`). */
export interface GuildLookup {
  storeOf(guildId: string): Promise<GuildStore | undefined>;
  forget(guildId?: string): void;
}

export interface GuildLinkingOptions {
  directory: GuildLookup;
  codes: LinkCodes;
  events?: GuildLinkEvents;
  log: EngineLog;
}

/** Who removed the bot, as the audit log names it: nobody in particular, Discord told us. */
const REMOVED_BY: GuildActor = { channel: DISCORD_CHANNEL, userId: "guild-delete" };
const NO_MENTIONS = { parse: [] as [] };
/** The audit actions a membership change records, as the CLI's `niaga member add` does. */
const MEMBER_ADD = ["member", "add"].join(".");
const MEMBER_ROLE = ["member", "role"].join(".");

export class GuildLinking implements DiscordGuildAdmin {
  readonly #o: GuildLinkingOptions;

  constructor(options: GuildLinkingOptions) {
    this.#o = options;
  }

  storeOf(guildId: string): Promise<GuildStore | undefined> {
    return this.#o.directory.storeOf(guildId);
  }

  forget(guildId?: string): void {
    this.#o.directory.forget(guildId);
  }

  async handle(interaction: ChatInputCommandInteraction): Promise<void> {
    const locale = resolveLocale(interaction.locale);
    const guildId = interaction.guildId;
    try {
      if (!guildId) {
        await interaction.reply({ content: t(locale, "guild.answer.only_in_guild"), flags: MessageFlags.Ephemeral });
        return;
      }
      // Redeeming and linking read and write MongoDB: answer "thinking…" first, within the 3 s.
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    } catch (error) {
      this.#o.log.warn("a /niaga command could not be acknowledged", { guildId, error: (error as Error).message });
      return;
    }
    let content: string;
    try {
      content = await this.#answer(interaction, guildId, locale);
    } catch (error) {
      const errorId = newErrorId();
      this.#o.log.error("a /niaga command failed", { guildId, errorId, error: (error as Error).message });
      content = t(locale, "guild.answer.failed", { errorId });
    }
    await interaction.editReply({ content, allowedMentions: NO_MENTIONS }).catch((error: unknown) =>
      this.#o.log.warn("a /niaga answer could not be sent", { guildId, error: (error as Error).message }),
    );
  }

  async guildRemoved(guildId: string): Promise<void> {
    const done = await unlinkGuild({ guildId, reason: "bot-removed", actor: REMOVED_BY, where: `discord:${guildId}` });
    this.forget(guildId);
    if (done) this.#o.events?.onUnlinked?.(done.store, guildId, "bot-removed", `${REMOVED_BY.channel}:${REMOVED_BY.userId}`);
  }

  #answer(interaction: ChatInputCommandInteraction, guildId: string, locale: Locale): Promise<string> {
    switch (interaction.options.getSubcommand(false)) {
      case "hubungkan":
        return this.#link(interaction, guildId, locale);
      case "putuskan":
        return this.#unlink(interaction, guildId, locale);
      default:
        return this.#status(guildId, locale);
    }
  }

  async #link(interaction: ChatInputCommandInteraction, guildId: string, locale: Locale): Promise<string> {
    if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return t(locale, "guild.answer.needs_manage_guild");
    const code = interaction.options.getString("kode")?.trim();
    const staffRoleId = interaction.options.getRole("peran")?.id;
    const staffChannelId = interaction.options.getChannel("kanal")?.id;
    const actor = actorOf(interaction);
    const where = `discord:${guildId}`;
    if (!code) {
      // Without a code only a guild the operator bound already (`niaga tenant set --discord-guild`) is set up.
      const bound = await guildLinkOf(guildId);
      if (!bound) return t(locale, "guild.answer.needs_code");
      if (!staffRoleId && !staffChannelId) return t(locale, "guild.answer.choose_staff");
      const outcome = await linkGuild({ tenantId: bound.store.tenantId, guildId, ...(staffRoleId && { staffRoleId }), ...(staffChannelId && { staffChannelId }), actor, where });
      this.forget(guildId);
      if (outcome.kind !== "linked") return t(locale, "guild.answer.needs_code");
      return t(locale, "guild.answer.staff_set", { store: outcome.store.name, ...this.#staff(outcome.link, locale) });
    }
    const redeemed = await this.#o.codes.redeem(code, { guildId, userId: interaction.user.id });
    if (!redeemed.ok) {
      return redeemed.reason === "too-many-tries"
        ? t(locale, "guild.answer.too_many_tries", { minutes: Math.max(1, Math.ceil(redeemed.retryAfterMs / 60_000)) })
        : t(locale, "guild.answer.bad_code");
    }
    const outcome = await linkGuild({ tenantId: redeemed.tenantId, guildId, ...(staffRoleId && { staffRoleId }), ...(staffChannelId && { staffChannelId }), actor, where });
    if (outcome.kind === "guild-taken") return t(locale, "guild.answer.guild_taken", { store: outcome.by.name });
    if (outcome.kind === "no-store") return t(locale, "guild.answer.bad_code");
    await makeOwner(redeemed.tenantId, actor, where);
    this.forget(guildId);
    const by = `${actor.channel}:${actor.userId}`;
    if (outcome.movedFrom) {
      this.forget(outcome.movedFrom);
      this.#o.events?.onUnlinked?.(outcome.store, outcome.movedFrom, "moved", by);
    }
    this.#o.events?.onLinked?.(outcome.store, outcome.link, by);
    const linked = t(locale, "guild.answer.linked", { store: outcome.store.name, ...this.#staff(outcome.link, locale) });
    return outcome.movedFrom ? `${linked}\n${t(locale, "guild.answer.moved", { old: outcome.movedFrom })}` : linked;
  }

  async #unlink(interaction: ChatInputCommandInteraction, guildId: string, locale: Locale): Promise<string> {
    const current = await guildLinkOf(guildId);
    if (!current) return t(locale, "guild.answer.not_linked");
    const allowed = interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) || (await isOwner(current.store.tenantId, interaction.user.id));
    if (!allowed) return t(locale, "guild.answer.unlink_denied");
    const actor = actorOf(interaction);
    const done = await unlinkGuild({ guildId, tenantId: current.store.tenantId, reason: "unlinked", actor, where: `discord:${guildId}` });
    this.forget(guildId);
    if (!done) return t(locale, "guild.answer.not_linked");
    this.#o.events?.onUnlinked?.(done.store, guildId, "unlinked", `${actor.channel}:${actor.userId}`);
    return t(locale, "guild.answer.unlinked", { store: done.store.name });
  }

  async #status(guildId: string, locale: Locale): Promise<string> {
    const current = await guildLinkOf(guildId);
    if (!current) return t(locale, "guild.answer.not_linked");
    return t(locale, "guild.answer.status", { store: current.store.name, slug: current.store.slug, ...this.#staff(current.link, locale) });
  }

  /** The role and channel as Discord shows mentions (rendered as names, pinging nobody). */
  #staff(link: SavedGuildLink, locale: Locale): { role: string; channel: string } {
    return {
      role: link.staffRoleId ? `<@&${link.staffRoleId}>` : t(locale, "guild.answer.none"),
      channel: link.staffChannelId ? `<#${link.staffChannelId}>` : t(locale, "guild.answer.none"),
    };
  }
}

function actorOf(interaction: ChatInputCommandInteraction): GuildActor {
  const name = interaction.user.globalName ?? interaction.user.username;
  return { channel: DISCORD_CHANNEL, userId: interaction.user.id, ...(name && { name: name.slice(0, 128) }) };
}

/**
 * The person who redeemed the code becomes an owner of the store on Discord: only an owner
 * can ask for a code (`channels.link`), so typing it is the owner's own act or one they chose
 * to hand over — the same as the owner adding that Discord account as an owner.
 */
async function makeOwner(tenantId: string, actor: GuildActor, where: string): Promise<void> {
  const filter = { tenantId: new Types.ObjectId(tenantId), channel: DISCORD_CHANNEL, channelUserId: actor.userId };
  const before = await Member.findOneAndUpdate(
    filter as never,
    { $set: { role: "owner" }, $setOnInsert: { ...(actor.name && { displayName: actor.name }), addedBy: "discord-link-code" } },
    { upsert: true, returnDocument: "before" },
  ).lean<{ role: string }>().exec();
  if (before?.role === "owner") return;
  await recordAudit({
    tenantId: filter.tenantId, actor, action: before ? MEMBER_ROLE : MEMBER_ADD, target: { type: "member", id: `${DISCORD_CHANNEL}:${actor.userId}` },
    ...(before && { before: { role: before.role } }), after: { role: "owner", by: "discord-link-code" }, where,
  });
}

async function isOwner(tenantId: string, userId: string): Promise<boolean> {
  return Boolean(await Member.exists({ tenantId: new Types.ObjectId(tenantId), channel: DISCORD_CHANNEL, channelUserId: userId, role: "owner" }).exec());
}
