/**
 * The channels this platform runs: the one file in `bots/` that names a channel or
 * imports a channel adapter. Everything else in `bots/` loops over `platformChannels`
 * through the engine's `Channel` contract.
 *
 * Adding a channel: a folder under `adapters/` whose class implements `Channel`
 * (flows/engine/channel.ts), and one line in `CHANNELS` below.
 */
import { TELEGRAM_CHANNEL } from "../adapters/telegram/customer-records.ts";
import type { StoreBotsOptions } from "../adapters/telegram/store-bots.ts";
import { TelegramChannel } from "../adapters/telegram/telegram-channel.ts";
import { StoreBotError } from "../adapters/telegram/bot-status.ts";
import { checkNewToken } from "../adapters/telegram/bot-tokens.ts";
import { pollingLeaseKey } from "../adapters/telegram/polling-leases.ts";
import { alertKey } from "../admin-bot/owner-alerts.ts";
import { OwnerControlError } from "../admin-bot/owner-control.ts";
import type { AlertSink } from "../admin-bot/owner-alerts.ts";
import type { WhatsAppLinking, WhatsAppSessionEvents } from "../adapters/whatsapp/contract.ts";
import { WhatsAppChannel } from "../adapters/whatsapp/whatsapp-channel.ts";
import type { SocketSettings } from "../adapters/whatsapp/store-session.ts";
import { createMongoWhatsAppSessionStore } from "../storage/whatsapp/auth-state.ts";
import { createMongoWhatsAppIdentities } from "../storage/whatsapp/identities.ts";
import { createMongoWhatsAppMessageLog } from "../storage/whatsapp/message-log.ts";
import { DiscordChannel } from "../adapters/discord/discord-channel.ts";
import { GuildDirectory } from "../adapters/discord/guild-directory.ts";
import { GuildLinking, type GuildLinkEvents } from "../adapters/discord/guild-linking.ts";
import { createMongoLinkCodes } from "../storage/discord/link-codes.ts";
import type { GuildLinkChange } from "../flows/tenant-admin/admin-services.ts";
import type { Channel, Engine, EngineLog, Outbox } from "../flows/engine/index.ts";
import { roleMayStart } from "../flows/tenant-admin/admin-flows.ts";
import { displayPhone } from "../flows/tenant-admin/phone-numbers.ts";
import { tellTeam } from "../flows/tenant-admin/seller-alerts.ts";
import type { PlatformOwners } from "../flows/tenant-admin/permissions.ts";
import type { TicketService } from "../flows/ticketing/contract.ts";
import type { Coordination } from "../storage/coordination.ts";
import { createMongoLeases } from "../storage/leases.ts";
import type { Config } from "./config.ts";
import { discordServices } from "./discord.ts";
import { staffThreadReplies } from "./discord-desk.ts";
import type { PlatformHttp } from "./http-server.ts";

export { ConsoleChannel } from "../adapters/console/console-channel.ts";
export { CONSOLE_CHANNEL } from "../adapters/console/console-chat.ts";
export { openStoreChat, runChatCommand } from "../adapters/console/chat-command.ts";
export type { ChatIo, ChatSession, OpenChatEngine } from "../adapters/console/chat-command.ts";

/** What a channel of `niaga start` is made from: the engine it feeds and the platform's services. */
export interface ChannelSetup {
  engine: Engine;
  config: Config;
  encryptionKey: Buffer;
  /** Not listening yet: channels mount their webhooks on it. */
  http: PlatformHttp;
  coordination: Coordination;
  /** The platform owner's alerts (the owner bot). */
  alerts: AlertSink;
  /** Every send outside a turn: a store's owners hear through it that their WhatsApp number was lost. */
  outbox?: Pick<Outbox, "send">;
  /** False while MongoDB does not answer. */
  databaseAnswers: () => boolean;
  log: EngineLog;
  logFor: (slug: string) => EngineLog;
  /** Customers' tickets: staff answers written in a ticket's Discord thread go through them. */
  tickets?: TicketService;
}

/** Every channel `niaga start` runs, in start order; one that is not configured makes nothing. */
const CHANNELS: ReadonlyArray<(setup: ChannelSetup) => Channel | undefined> = [
  (s) =>
    new TelegramChannel({
      engine: s.engine,
      encryptionKey: s.encryptionKey,
      apiRoot: s.config.telegramApiRoot,
      ...(s.config.publicUrl !== undefined && { publicUrl: s.config.publicUrl }),
      http: s.http,
      log: s.log,
      logFor: s.logFor,
      // One instance polls each polling-mode store; the others stand by for its lease.
      leases: s.coordination.leases,
      // Several instances share each bot's flood budget through Redis.
      ...(s.coordination.pace && { sharedPace: s.coordination.pace }),
      ...(s.config.pollLeaseMs !== undefined && { pollLeaseMs: s.config.pollLeaseMs }),
      // The leases live in MongoDB.
      leaseStoreAnswers: s.databaseAnswers,
      // Each member's command menu lists what their role may start.
      sellerMenu: roleMayStart,
      ...telegramAlerts(s.alerts),
      ...(s.config.telegramUnreachableAfterMs !== undefined && { unreachableAfterMs: s.config.telegramUnreachableAfterMs }),
      ...(s.config.telegramStartConcurrency !== undefined && { startConcurrency: s.config.telegramStartConcurrency }),
      webhookHealth: {
        ...telegramWebhookAlerts(s.alerts),
        ...(s.config.webhookCheckEveryMs !== undefined && { everyMs: s.config.webhookCheckEveryMs }),
        ...(s.config.webhookMaxPending !== undefined && { maxPending: s.config.webhookMaxPending }),
        ...(s.config.webhookFallbackAfterChecks !== undefined && { fallbackAfterChecks: s.config.webhookFallbackAfterChecks }),
      },
    }),
  // Always built: idle until a store links a number (`niaga whatsapp link`, the store bot's /whatsapp).
  (s) =>
    new WhatsAppChannel({
      engine: s.engine,
      // One instance runs each store's session; the others take it over when its lease lapses.
      leases: s.coordination.leases,
      ...(s.config.whatsappSessionLeaseMs !== undefined && { leaseMs: s.config.whatsappSessionLeaseMs }),
      store: createMongoWhatsAppSessionStore(),
      messages: createMongoWhatsAppMessageLog(),
      identities: createMongoWhatsAppIdentities(),
      ...(s.config.whatsappPacing && { pacing: s.config.whatsappPacing }),
      socket: { webSocketUrl: s.config.whatsappWebUrl },
      events: whatsappAlerts(s.alerts, s.outbox, s.log),
      log: s.log,
      logFor: s.logFor,
    }),
  // With DISCORD_TOKEN and DISCORD_APP_ID: one client for the platform's application, serving every linked guild.
  (s) => {
    const { discordToken: token, discordAppId: applicationId } = s.config;
    if (token === undefined || applicationId === undefined) return undefined;
    const guilds = new GuildLinking({
      directory: new GuildDirectory(),
      // Guessing codes is limited across instances when Redis is configured.
      codes: createMongoLinkCodes({ limiter: s.coordination.limiter }),
      events: discordAlerts(s.alerts),
      log: s.log,
    });
    return new DiscordChannel({ engine: s.engine, token, applicationId, apiRoot: s.config.discordApiRoot, guilds, services: { ...discordServices(), ...(s.tickets && { staffWroteInThread: staffThreadReplies(() => s.tickets) }) }, log: s.log, logFor: s.logFor });
  },
];

type StoreRef = { id: string; slug: string; name: string };
const alertStore = (store: StoreRef) => ({ tenantId: store.id, slug: store.slug, name: store.name });

/** What a store's Telegram bot tells the owner: a revoked token and its replacement, Telegram out of reach, polling conflicts. */
export function telegramAlerts(alerts: AlertSink): Pick<StoreBotsOptions, "onTokenRevoked" | "onTokenAccepted" | "onBotTrouble" | "onBotRecovered"> {
  return {
    onTokenRevoked: (store) =>
      void alerts.raise({ kind: "token-revoked", store: alertStore(store), params: { slug: store.slug }, key: alertKey("token-revoked", store.slug) }),
    onTokenAccepted: (store) => void alerts.resolve(alertKey("token-revoked", store.slug)),
    onBotTrouble: (store, trouble) =>
      void alerts.raise({ kind: trouble.kind, store: alertStore(store), params: { reason: trouble.detail }, details: { detail: trouble.detail }, key: alertKey(trouble.kind, store.slug) }),
    onBotRecovered: (store, kind) => void alerts.resolve(alertKey(kind, store.slug)),
  };
}

/**
 * What a store's WhatsApp sessions tell the platform owner (each alert names the store), and,
 * when the number is lost (logged out, restricted), the store's owners in their chat with the
 * store's bot. A new link clears the number's open alerts.
 */
export function whatsappAlerts(alerts: AlertSink, outbox: Pick<Outbox, "send"> | undefined, log: EngineLog): WhatsAppSessionEvents {
  const key = (kind: "whatsapp-logged-out" | "whatsapp-restricted" | "whatsapp-slowed" | "whatsapp-unreachable", store: StoreRef) => alertKey(kind, store.slug);
  const tellOwners = (store: StoreRef, text: string) => {
    if (!outbox) return;
    tellTeam(store.id, ["owner"], (settings) => ({ text: { key: text, params: { store: settings.name, slug: store.slug } } }), outbox, log, text).catch((error: unknown) =>
      log.warn("the store's owners could not be told about their WhatsApp number", { tenant: store.slug, error: (error as Error).message }),
    );
  };
  return {
    onLinked: (store, phone) => {
      for (const kind of ["whatsapp-logged-out", "whatsapp-restricted", "whatsapp-slowed", "whatsapp-unreachable"] as const) void alerts.resolve(key(kind, store), { linked: phone });
      void alerts.raise({ kind: "whatsapp-linked", store: alertStore(store), params: { phone: displayPhone(phone) }, key: alertKey("whatsapp-linked", store.slug, phone) });
    },
    onLoggedOut: (store) => {
      void alerts.raise({ kind: "whatsapp-logged-out", store: alertStore(store), params: { slug: store.slug }, key: key("whatsapp-logged-out", store) });
      tellOwners(store, "admin.whatsapp.lost.logged_out");
    },
    onRestricted: (store, detail) => {
      const reason = detail.code === undefined ? detail.reason : `${detail.code}: ${detail.reason}`;
      void alerts.raise({ kind: "whatsapp-restricted", store: alertStore(store), params: { reason }, details: { reason: detail.reason, ...(detail.code !== undefined && { code: detail.code }) }, key: key("whatsapp-restricted", store) });
      tellOwners(store, "admin.whatsapp.lost.restricted");
    },
    onSlowed: (store, detail) =>
      void alerts.raise({ kind: "whatsapp-slowed", store: alertStore(store), params: { reason: detail.reason }, key: key("whatsapp-slowed", store) }),
    onUnreachable: (store, detail) =>
      void alerts.raise({
        kind: "whatsapp-unreachable", store: alertStore(store), key: key("whatsapp-unreachable", store),
        params: { since: `${detail.since.toISOString().slice(0, 16).replace("T", " ")} UTC`, code: detail.lastCode ?? "-" }, details: { since: detail.since.toISOString(), ...(detail.lastCode !== undefined && { lastCode: detail.lastCode }) },
      }),
    onReconnected: (store) => void alerts.resolve(key("whatsapp-unreachable", store)),
  };
}

/** A guild linked to a store, or unlinked (by someone, or because the bot was removed): the platform owner hears it, naming the store. */
export function discordAlerts(alerts: AlertSink): GuildLinkEvents {
  return {
    onLinked: (store, link, by) => {
      void alerts.resolve(alertKey("discord-unlinked", store.slug));
      void alerts.raise({ kind: "discord-linked", store: { tenantId: store.tenantId, slug: store.slug, name: store.name }, params: { guild: link.guildId, by }, key: alertKey("discord-linked", store.slug, link.guildId) });
    },
    onUnlinked: (store, guildId, reason, by) =>
      void alerts.raise({ kind: "discord-unlinked", store: { tenantId: store.tenantId, slug: store.slug, name: store.name }, params: { guild: guildId, reason, by }, details: { reason }, key: alertKey("discord-unlinked", store.slug, guildId) }),
  };
}

/**
 * A guild unlinked from the store bot (`/discord`): the owner hears it, and the Discord channel
 * running among `channels` stops routing the guild to the store at once (not at its next sweep).
 */
export function discordLinkChanges(channels: Iterable<Channel>, alerts: AlertSink): (change: GuildLinkChange) => Promise<void> {
  const events = discordAlerts(alerts);
  return async (change) => {
    events.onUnlinked?.(change.store, change.guildId, "unlinked", change.by);
    const discord = [...channels].find((channel): channel is DiscordChannel => channel instanceof DiscordChannel);
    await discord?.followStoreChanges();
  };
}

/** A webhook that stopped delivering, the fallback to polling, and both clearing. */
export function telegramWebhookAlerts(alerts: AlertSink): NonNullable<StoreBotsOptions["webhookHealth"]> {
  return {
    onFailing: (store, problem) =>
      void alerts.raise({
        kind: "webhook-failing", store: alertStore(store), key: alertKey("webhook-failing", store.slug),
        params: { reason: problem.lastError ?? problem.reason, pending: problem.pending },
        details: { reason: problem.reason, pending: problem.pending, ...(problem.lastError !== undefined && { lastError: problem.lastError }) },
      }),
    onFellBack: (store, problem) => {
      void alerts.resolve(alertKey("webhook-failing", store.slug), { fallback: "polling" });
      void alerts.raise({
        kind: "webhook-fallback", store: alertStore(store), key: alertKey("webhook-fallback", store.slug),
        params: { slug: store.slug }, details: { reason: problem.reason, pending: problem.pending, checks: problem.checks },
      });
    },
    onHealthy: (store, was) => void alerts.resolve(alertKey(was === "failing" ? "webhook-failing" : "webhook-fallback", store.slug)),
  };
}

/** The WhatsApp channel's linking when one runs among `channels` (the store bot's `/whatsapp`, the owner bot's views). */
export function whatsappLinkingOf(channels: Iterable<Channel>): WhatsAppLinking | undefined {
  return [...channels].find((channel): channel is WhatsAppChannel => channel instanceof WhatsAppChannel);
}

/** The lease that says which instance runs a store's WhatsApp session. */
export function whatsappSessionLeaseKey(tenantId: string): string {
  return `whatsapp-session:${tenantId}`;
}

/** Linking outside `niaga start` (`niaga whatsapp link|unlink`): the channel's linking, and how to let it go. */
export interface WhatsAppLinkingHandle {
  linking: WhatsAppLinking;
  close(): Promise<void>;
}

/**
 * The WhatsApp channel's linking for a process that serves no customers (the CLI): a channel
 * without an engine, on the same session leases and storage as `niaga start`. Once linked,
 * `close` ends the session and gives its lease up, and the running platform takes the store
 * over at its next sweep. Its sockets read no messages: Baileys holds a new login's events
 * until the offline batch ends, and the CLI closes before that.
 */
export async function openWhatsAppLinking(config: Config, log: EngineLog, socket: Omit<SocketSettings, "webSocketUrl"> = {}): Promise<WhatsAppLinkingHandle> {
  const channel = new WhatsAppChannel({
    leases: createMongoLeases(),
    ...(config.whatsappSessionLeaseMs !== undefined && { leaseMs: config.whatsappSessionLeaseMs }),
    store: createMongoWhatsAppSessionStore(),
    messages: createMongoWhatsAppMessageLog(),
    identities: createMongoWhatsAppIdentities(),
    socket: { ...socket, webSocketUrl: config.whatsappWebUrl },
    log,
  });
  return { linking: channel, close: async () => void (await channel.stop(10_000)) };
}

/** The channels of `niaga start`, made for this engine. */
export function platformChannels(setup: ChannelSetup): Channel[] {
  return CHANNELS.map((make) => make(setup)).filter((channel): channel is Channel => channel !== undefined);
}

/** `OWNER_CHAT_IDS` are user ids on the owner bot's channel, Telegram: there they act as sellers in every store. */
export function platformOwners(config: Pick<Config, "ownerChatIds">): PlatformOwners {
  return { channel: TELEGRAM_CHANNEL, userIds: config.ownerChatIds };
}

/** A store's bot as the channel running it here sees it. */
export interface StoreBotView {
  mode: "polling" | "webhook" | "stopped";
  botUsername: string;
  /** In polling mode: whether this instance polls it (false while another holds its polling lease). */
  pollingHere?: boolean;
}

/**
 * The stores' bots as the owner bot acts on them (`bots/owner-control.ts`): Telegram's
 * `StoreBots`, with its refusals turned into `OwnerControlError`s. Undefined when no
 * Telegram channel is among `channels`.
 */
export interface StoreBotOperations {
  status(tenantId: string): StoreBotView | undefined;
  suspend(tenantId: string, reason: string): Promise<unknown>;
  resume(tenantId: string): Promise<unknown>;
  restart(tenantId: string): Promise<unknown>;
  switchMode(tenantId: string, mode: "polling" | "webhook"): Promise<unknown>;
  /** Checks a new token with Telegram (`getMe`), the same check `retoken` makes; resolves with the bot's username. */
  checkToken(token: string): Promise<string>;
  /** Saves a checked token (sealed) and starts the store's bot with it. */
  retoken(tenantId: string, token: string): Promise<unknown>;
  /** The key of the lease of the instance that polls the store. */
  pollingLeaseKey(tenantId: string): string;
}

export function storeBotOperations(channels: Iterable<Channel>, config: Pick<Config, "telegramApiRoot">): StoreBotOperations | undefined {
  const telegram = [...channels].find((channel): channel is TelegramChannel => channel instanceof TelegramChannel);
  if (!telegram) return undefined;
  const stores = telegram.stores;
  return {
    status: (tenantId) => stores.status(tenantId),
    suspend: (tenantId, reason) => refused(stores.suspend(tenantId, reason)),
    resume: (tenantId) => refused(stores.resume(tenantId)),
    restart: (tenantId) => refused(stores.restart(tenantId)),
    switchMode: (tenantId, mode) => refused(stores.switchMode(tenantId, mode)),
    checkToken: (token) => refused(checkNewToken(token, config.telegramApiRoot)),
    retoken: (tenantId, token) => refused(stores.retoken(tenantId, token)),
    pollingLeaseKey,
  };
}

async function refused<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (!(error instanceof StoreBotError)) throw error;
    const reason = error.reason === "not-running" || error.reason === "shutting-down" ? "failed" : error.reason;
    throw new OwnerControlError(reason, error.message);
  }
}
