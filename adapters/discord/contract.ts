/**
 * The seams of the Discord channel, so its parts can be read (and built) apart:
 *
 * | part | file(s) | what it does |
 * |---|---|---|
 * | the channel | `adapters/discord/discord-channel.ts` | `Channel` on one discord.js `Client` for the platform's application: gateway + REST (`DISCORD_API_ROOT`), interactions routed to their store by guild, sends outside a turn (DMs, the staff channel, ticket threads) |
 * | rendering | `adapters/discord/render.ts`, `custom-ids.ts` | an `Outbound` → message payloads (choices as buttons, or a select menu past 25; long lists paged; a question gets an "Answer" button that opens a modal); custom ids ↔ `InboundMessage` |
 * | commands | `adapters/discord/slash-commands.ts` | the global slash commands from the engine's flows (customers' and sellers'), `/niaga` for linking, `/toko`, `/bantuan`, `/tiket`; autocomplete for product, order and ticket codes |
 * | guilds | `adapters/discord/guilds.ts`, `storage/discord/` | which store a guild belongs to (`channels.discord` on the tenant), one-time link codes, `/niaga hubungkan KODE`, unlinking, a guild that removed the bot; staff-role holders as the store's staff |
 * | the staff desk | `adapters/discord/ticket-desk.ts` | tickets as threads in the store's staff channel (`TicketDesk`), sellers' alerts with action buttons |
 * | tests | `tests/support/discord/` | a local Discord (gateway WebSocket + REST) the real discord.js client talks to |
 *
 * Every interaction is answered (or deferred) within Discord's 3 s; permissions are checked
 * here against the store's members, never left to Discord's command permissions.
 */
import type { ChatInputCommandInteraction } from "discord.js";
import type { Locale } from "../../flows/engine/index.ts";

/** `Inbound.channel`, `Customer.channel`, `Member.channel` for Discord. */
export const DISCORD_CHANNEL = "discord";

/**
 * Chat ids on Discord, as `ChannelAddress.chatId` and the session key carry them:
 *
 * - a person: their user id (`"80351110224678912"`). Their session is the same in the
 *   store's guild (slash commands, ephemeral answers) and in a direct message; the outbox
 *   reaches them by DM, and while an interaction of theirs is fresh (< 14 min) by an
 *   ephemeral follow-up when their DMs are closed.
 * - a guild channel or thread: `#` and its id (`"#1045678901234567890"`): the staff channel,
 *   a ticket's thread. Only the outbox sends there; nobody has a session in it.
 */
export type DiscordChatId = string;

export function channelChatId(channelId: string): DiscordChatId {
  return `#${channelId}`;
}

export function parseChatId(chatId: DiscordChatId): { kind: "user"; userId: string } | { kind: "channel"; channelId: string } | undefined {
  if (/^#\d{5,25}$/.test(chatId)) return { kind: "channel", channelId: chatId.slice(1) };
  if (/^\d{5,25}$/.test(chatId)) return { kind: "user", userId: chatId };
  return undefined;
}

/** Where a store's guild stands; saved on the tenant as `channels.discord`. */
export interface DiscordStoreLink {
  guildId: string;
  /** Members holding this role count as the store's staff (unless they are members with a higher role). */
  staffRoleId?: string;
  /** Where tickets' threads and sellers' alerts go. */
  staffChannelId?: string;
  linkedAt?: Date;
  /** `"<channel>:<userId>"` of who linked it (the Discord user who redeemed the code, or `cli`). */
  linkedBy?: string;
}

/** A guild's store as the router sees it; `undefined` when the guild is not linked (the answer says so and shows no store data). */
export interface GuildStore {
  tenantId: string;
  slug: string;
  name: string;
  locale: Locale;
  status: "active" | "suspended";
  link: DiscordStoreLink;
}

/** What an autocomplete asks for: the store's codes matching what was typed so far. */
export type AutocompleteSource = "product" | "order" | "ticket";

/** A choice shown while typing an option (at most 25). */
export interface AutocompleteChoice {
  name: string;
  value: string;
}

/**
 * The platform's services the Discord channel needs but must not import (they live in
 * `flows/`; `bots/channels.ts` passes them in). Each may be absent: the channel then
 * answers politely that the feature is not available.
 */
export interface DiscordServices {
  /** The store's codes for an autocomplete; only what `userId` may see (a customer sees their own orders and tickets). */
  autocomplete?(input: { tenantId: string; userId: string; source: AutocompleteSource; query: string; audience: "customer" | "seller" }): Promise<AutocompleteChoice[]>;
  /** A staff member wrote in a ticket's thread: the reply goes to the customer. Checks the writer's permission. */
  staffWroteInThread?(input: { tenantId: string; threadId: string; user: { id: string; name?: string }; text: string }): Promise<"sent" | "not-allowed" | "no-ticket" | "closed">;
}

/**
 * Linking guilds to stores (`adapters/discord/guild-linking.ts`): the channel hands it every
 * `/niaga …` interaction and every guild the bot left, and asks it which store a guild is.
 */
export interface DiscordGuildAdmin {
  /** `/niaga hubungkan|putuskan|status`; answers (or defers) the interaction itself within 3 s. */
  handle(interaction: ChatInputCommandInteraction): Promise<void>;
  /** The bot was removed from a guild, or the guild was deleted (GUILD_DELETE without `unavailable`): unlinks and audits. */
  guildRemoved(guildId: string): Promise<void>;
  /** The store a guild is linked to; `undefined` when none (or the store is gone). Cached; `forget` drops a guild's entry. */
  storeOf(guildId: string): Promise<GuildStore | undefined>;
  forget(guildId?: string): void;
}

/** Names of Discord's own error codes the channel reacts to. */
export const DISCORD_ERRORS = {
  unknownInteraction: 10062,
  alreadyAcknowledged: 40060,
  cannotMessageUser: 50007,
  unknownChannel: 10003,
  missingAccess: 50001,
  missingPermissions: 50013,
} as const;
