/**
 * Which store a Discord guild belongs to (`channels.discord` on the tenant), changed in one
 * place for every way it changes: a redeemed code in the guild, the operator's
 * `niaga tenant set --discord-guild`, the owner's "unlink" in the store bot, the bot removed
 * from the guild. Each change is one conditional update and one entry in the store's audit log.
 *
 * ```ts
 * const done = await linkGuild({ tenantId, guildId, staffRoleId, staffChannelId, actor, where: "discord:1045…" });
 * if (done.kind === "guild-taken") …                       // another store has this guild
 * if (done.kind === "linked" && done.movedFrom) …          // the store left its old guild
 * await unlinkGuild({ guildId, actor, where, reason: "bot-removed" });
 * ```
 *
 * A guild belongs to at most one store (a unique index on the tenant); a store has at most
 * one guild, so linking a store to a new guild unlinks its old one.
 */
import { Types } from "mongoose";
import { recordAudit, Tenant } from "../models/index.ts";

/** The audit log's actions; built from parts so they cannot be mistaken for text keys. */
export const GUILD_AUDIT = { link: ["discord", "link"].join("."), unlink: ["discord", "unlink"].join("."), staff: ["discord", "staff"].join(".") } as const;

/** A Discord id: a snowflake of 17–20 digits. */
export const SNOWFLAKE = /^\d{17,20}$/;

export interface GuildActor {
  channel: string;
  userId: string;
  name?: string;
}

/** The store a change concerned, as alerts name it. */
export interface LinkedStore {
  tenantId: string;
  slug: string;
  name: string;
}

export interface SavedGuildLink {
  guildId: string;
  staffRoleId?: string;
  staffChannelId?: string;
  linkedAt?: Date;
  linkedBy?: string;
}

export type LinkOutcome =
  | { kind: "linked"; store: LinkedStore; link: SavedGuildLink; movedFrom?: string }
  | { kind: "guild-taken"; by: LinkedStore }
  | { kind: "no-store" };

export type UnlinkReason = "unlinked" | "bot-removed" | "moved";

type TenantRow = { _id: Types.ObjectId; slug: string; name: string; channels?: { discord?: SavedGuildLink | null } | null };

const storeOf = (row: TenantRow): LinkedStore => ({ tenantId: String(row._id), slug: row.slug, name: row.name });
const linkOf = (row: TenantRow | null): SavedGuildLink | undefined => (row?.channels?.discord?.guildId ? row.channels.discord : undefined);
const PROJECTION = { slug: 1, name: 1, "channels.discord": 1 };

/** The store linked to `guildId`, with its link; undefined when none. */
export async function guildLinkOf(guildId: string): Promise<{ store: LinkedStore; link: SavedGuildLink } | undefined> {
  const row = await Tenant.findOne({ "channels.discord.guildId": guildId }, PROJECTION).lean<TenantRow>().exec();
  const link = linkOf(row);
  return row && link ? { store: storeOf(row), link } : undefined;
}

/** The store's link; undefined when it has none (or there is no such store). */
export async function storeGuildLink(tenantId: string): Promise<{ store: LinkedStore; link?: SavedGuildLink } | undefined> {
  const row = await Tenant.findById(tenantId, PROJECTION).lean<TenantRow>().exec();
  if (!row) return undefined;
  const link = linkOf(row);
  return { store: storeOf(row), ...(link && { link }) };
}

/**
 * Links the store to the guild, with its staff role and channel. Linking the guild it already
 * has keeps the role and channel not given. Refused when another store has the guild.
 */
export async function linkGuild(input: { tenantId: string; guildId: string; staffRoleId?: string; staffChannelId?: string; actor: GuildActor; where: string }, attempt = 0): Promise<LinkOutcome> {
  const { guildId, actor, where } = input;
  const tenantId = new Types.ObjectId(input.tenantId);
  const other = await Tenant.findOne({ "channels.discord.guildId": guildId, _id: { $ne: tenantId } }, PROJECTION).lean<TenantRow>().exec();
  if (other) return { kind: "guild-taken", by: storeOf(other) };
  const current = await Tenant.findById(tenantId, PROJECTION).lean<TenantRow>().exec();
  if (!current) return { kind: "no-store" };
  const before = linkOf(current);
  const same = before?.guildId === guildId;
  const staffRoleId = input.staffRoleId ?? (same ? before?.staffRoleId : undefined);
  const staffChannelId = input.staffChannelId ?? (same ? before?.staffChannelId : undefined);
  const link: SavedGuildLink = {
    guildId,
    ...(staffRoleId && { staffRoleId }),
    ...(staffChannelId && { staffChannelId }),
    linkedAt: same && before?.linkedAt ? before.linkedAt : new Date(),
    linkedBy: same && before?.linkedBy ? before.linkedBy : `${actor.channel}:${actor.userId}`.slice(0, 128),
  };
  try {
    // Conditional on the link read above: of two links of one store at once, the second is told the guild moved under it.
    const written = await Tenant.updateOne({ _id: tenantId, "channels.discord.guildId": before?.guildId ?? { $exists: false } }, { $set: { "channels.discord": link } }).exec();
    if (written.matchedCount === 0) {
      if (attempt >= 3) throw new Error("the store's Discord link kept changing while it was being linked; try again");
      return linkGuild(input, attempt + 1);
    }
  } catch (error) {
    if ((error as { code?: number }).code !== 11000) throw error;
    const taken = await guildLinkOf(guildId);
    return taken ? { kind: "guild-taken", by: taken.store } : { kind: "no-store" };
  }
  const store = storeOf(current);
  if (before && !same) {
    await recordAudit({ tenantId, actor, action: GUILD_AUDIT.unlink, target: { type: "discord-guild", id: before.guildId }, before: { guildId: before.guildId }, after: { reason: "moved", to: guildId }, where });
  }
  await recordAudit({
    tenantId,
    actor,
    action: same ? GUILD_AUDIT.staff : GUILD_AUDIT.link,
    target: { type: "discord-guild", id: guildId },
    before: before ? { guildId: before.guildId, staffRoleId: before.staffRoleId, staffChannelId: before.staffChannelId } : { guildId: null },
    after: { guildId, staffRoleId: link.staffRoleId, staffChannelId: link.staffChannelId },
    where,
  });
  return { kind: "linked", store, link, ...(before && !same && { movedFrom: before.guildId }) };
}

/**
 * Unlinks a guild from its store (or, with only `tenantId`, the store from whatever guild it
 * has). Conditional on the guild: a late "bot removed" for a guild the store already left
 * unlinks nothing. Resolves with the store and the guild unlinked, or undefined.
 */
export async function unlinkGuild(input: { guildId?: string; tenantId?: string; reason: UnlinkReason; actor: GuildActor; where: string }): Promise<{ store: LinkedStore; guildId: string } | undefined> {
  const filter: Record<string, unknown> = input.guildId !== undefined ? { "channels.discord.guildId": input.guildId } : { "channels.discord.guildId": { $type: "string" } };
  if (input.tenantId !== undefined) filter._id = new Types.ObjectId(input.tenantId);
  if (input.guildId === undefined && input.tenantId === undefined) throw new Error("unlinkGuild needs a guildId or a tenantId");
  const before = await Tenant.findOneAndUpdate(filter, { $unset: { "channels.discord": 1 } }, { returnDocument: "before", projection: PROJECTION }).lean<TenantRow>().exec();
  const link = linkOf(before);
  if (!before || !link) return undefined;
  await recordAudit({
    tenantId: before._id,
    actor: input.actor,
    action: GUILD_AUDIT.unlink,
    target: { type: "discord-guild", id: link.guildId },
    before: { guildId: link.guildId, staffRoleId: link.staffRoleId, staffChannelId: link.staffChannelId },
    after: { reason: input.reason },
    where: input.where,
  });
  return { store: storeOf(before), guildId: link.guildId };
}
