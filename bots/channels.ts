/**
 * The channels this platform runs: the one file in `bots/` that names a channel or
 * imports a channel adapter. Everything else in `bots/` loops over `platformChannels`
 * through the engine's `Channel` contract.
 *
 * Adding a channel: a folder under `adapters/` whose class implements `Channel`
 * (flows/engine/channel.ts), and one line in `CHANNELS` below.
 */
import { TELEGRAM_CHANNEL } from "../adapters/telegram/customer-records.ts";
import { TelegramChannel } from "../adapters/telegram/telegram-channel.ts";
import { alertKey } from "../admin-bot/owner-alerts.ts";
import type { AlertSink } from "../admin-bot/owner-alerts.ts";
import type { Channel, Engine, EngineLog } from "../flows/engine/index.ts";
import { roleMayStart } from "../flows/tenant-admin/admin-flows.ts";
import type { PlatformOwners } from "../flows/tenant-admin/permissions.ts";
import type { Coordination } from "../storage/coordination.ts";
import type { Config } from "./config.ts";
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
  /** False while MongoDB does not answer. */
  databaseAnswers: () => boolean;
  log: EngineLog;
  logFor: (slug: string) => EngineLog;
}

/** Every channel `niaga start` runs, in start order. */
const CHANNELS: ReadonlyArray<(setup: ChannelSetup) => Channel> = [
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
      sharedPace: s.coordination.pace,
      ...(s.config.pollLeaseMs !== undefined && { pollLeaseMs: s.config.pollLeaseMs }),
      // The leases live in MongoDB.
      leaseStoreAnswers: s.databaseAnswers,
      // Each member's command menu lists what their role may start.
      sellerMenu: roleMayStart,
      onTokenRevoked: (store) =>
        void s.alerts.raise({ kind: "token-revoked", store: { tenantId: store.id, slug: store.slug, name: store.name }, params: { slug: store.slug }, key: alertKey("token-revoked", store.slug) }),
    }),
];

/** The channels of `niaga start`, made for this engine. */
export function platformChannels(setup: ChannelSetup): Channel[] {
  return CHANNELS.map((make) => make(setup));
}

/** `OWNER_CHAT_IDS` are user ids on the owner bot's channel, Telegram: there they act as sellers in every store. */
export function platformOwners(config: Pick<Config, "ownerChatIds">): PlatformOwners {
  return { channel: TELEGRAM_CHANNEL, userIds: config.ownerChatIds };
}
