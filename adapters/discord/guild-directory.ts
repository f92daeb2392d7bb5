/**
 * Which store a guild belongs to: the tenant whose `channels.discord.guildId` it is, active
 * or suspended, remembered for a short while (every interaction asks). `forget` drops one
 * guild's entry (after linking or unlinking it) or all of them (a store changed).
 *
 * ```ts
 * const guilds = new GuildDirectory();
 * const store = await guilds.storeOf(interaction.guildId);   // undefined: not linked
 * ```
 */
import { Tenant } from "../../storage/models/index.ts";
import type { Locale } from "../../flows/engine/index.ts";
import type { DiscordStoreLink, GuildStore } from "./contract.ts";

export interface GuildDirectoryOptions {
  /** How long an answer is reused. Default 30 000 ms. */
  ttlMs?: number;
  /** How many guilds are remembered. Default 10 000. */
  limit?: number;
  clock?: () => number;
}

interface TenantRow {
  _id: unknown;
  slug: string;
  name: string;
  locale?: string;
  status?: string;
  channels?: { discord?: DiscordStoreLink };
}

export class GuildDirectory {
  readonly #cache = new Map<string, { store: Promise<GuildStore | undefined>; at: number }>();
  readonly #ttlMs: number;
  readonly #limit: number;
  readonly #clock: () => number;

  constructor(options: GuildDirectoryOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#limit = options.limit ?? 10_000;
    this.#clock = options.clock ?? Date.now;
  }

  storeOf(guildId: string): Promise<GuildStore | undefined> {
    const now = this.#clock();
    const hit = this.#cache.get(guildId);
    if (hit && now - hit.at < this.#ttlMs) return hit.store;
    const store = loadStore(guildId);
    if (this.#cache.size >= this.#limit) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(guildId, { store, at: now });
    // A failed lookup is not remembered: the next interaction asks again.
    store.catch(() => {
      if (this.#cache.get(guildId)?.store === store) this.#cache.delete(guildId);
    });
    return store;
  }

  forget(guildId?: string): void {
    if (guildId === undefined) this.#cache.clear();
    else this.#cache.delete(guildId);
  }
}

async function loadStore(guildId: string): Promise<GuildStore | undefined> {
  const row = await Tenant.findOne({ "channels.discord.guildId": guildId, status: { $in: ["active", "suspended"] } }, { slug: 1, name: 1, locale: 1, status: 1, "channels.discord": 1 })
    .lean<TenantRow>().exec();
  return row ? guildStoreOf(row) : undefined;
}

export function guildStoreOf(row: TenantRow): GuildStore | undefined {
  const link = row.channels?.discord;
  if (!link?.guildId) return undefined;
  const locale: Locale = row.locale === "en" ? "en" : "id";
  return {
    tenantId: String(row._id), slug: row.slug, name: row.name, locale,
    status: row.status === "suspended" ? "suspended" : "active",
    link: {
      guildId: link.guildId,
      ...(link.staffRoleId && { staffRoleId: link.staffRoleId }),
      ...(link.staffChannelId && { staffChannelId: link.staffChannelId }),
      ...(link.linkedAt && { linkedAt: link.linkedAt }),
      ...(link.linkedBy && { linkedBy: link.linkedBy }),
    },
  };
}
