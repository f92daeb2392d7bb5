// The owner bot for the tests in this folder: the stores' fixture (MongoDB, the Bot API
// emulator, real StoreBots) with a Telegram channel over its bots, real owner alerts through
// an outbox, and a real OwnerBot (grammY) whose control is the platform's own. Another
// OwnerBot may be given the platform's backups (`owner-backups.test.ts`).
import type { Message, User } from "grammy/types";
import { OwnerAlerts } from "../../admin-bot/owner-alerts.ts";
import { OwnerBot } from "../../admin-bot/owner-bot.ts";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import { logger } from "../../bots/logger.ts";
import { createOwnerControl } from "../../bots/owner-control.ts";
import type { Backups } from "../../storage/backup/service.ts";
import { Channels, Outbox } from "../../flows/engine/index.ts";
import { createMongoLeases, type Leases } from "../../storage/leases.ts";
import { DependencyHealth } from "../../storage/dependency-health.ts";
import { MaintenanceSwitch } from "../../storage/maintenance.ts";
import { createInProcessRateLimiter } from "../../storage/rate-limit.ts";
import { startStores, type Stores } from "../telegram/store-fixture.ts";

export interface OwnerBotWorld {
  stores: Stores;
  telegram: TelegramChannel;
  channels: Channels;
  alerts: OwnerAlerts;
  maintenance: MaintenanceSwitch;
  ownerToken: string;
  owner: User;
  /** The log lines of the owner bot and its alerts. */
  lines: Array<{ level: string; message: string; meta?: Record<string, unknown> }>;
  /** Another OwnerBot on the same token (another instance), on its own leases client; with `backups` when given. */
  ownerBot(options?: OwnerBotVariant): OwnerBot;
  /** The owner bot of this world, started. */
  bot: OwnerBot;
  /** `user` sends `text` to the owner bot; resolves with the text of each message it answered with. */
  ask(user: User, text: string, replies?: number): Promise<string[]>;
  close(): Promise<void>;
}

export interface OwnerBotVariant {
  leases?: Leases;
  client?: string;
  webhook?: { url: string; secret: string };
  backups?: Backups;
  progressEveryMs?: number;
}

export const LEASE_MS = 3_000;

/** `alertsPerMinute`: the owner chat's rate limit (default the alerts' own, 20). */
export async function startOwnerBotWorld({ alertsPerMinute }: { alertsPerMinute?: number } = {}): Promise<OwnerBotWorld> {
  // The stores' bots poll under leases, like `niaga start`'s; /status reads who holds them.
  const storeLeases = createMongoLeases();
  const stores = await startStores({ leases: storeLeases });
  const { tg } = stores;
  const telegram = new TelegramChannel(stores.bots);
  const channels = new Channels([telegram]);
  const lines: OwnerBotWorld["lines"] = [];
  const log = {
    info: (message: string, meta?: object) => void lines.push({ level: "info", message, ...(meta && { meta: meta as Record<string, unknown> }) }),
    warn: (message: string, meta?: object) => void lines.push({ level: "warn", message, ...(meta && { meta: meta as Record<string, unknown> }) }),
    error: (message: string, meta?: object) => void lines.push({ level: "error", message, ...(meta && { meta: meta as Record<string, unknown> }) }),
  };
  const { token: ownerToken } = tg.bot();
  const owner = tg.user({ first_name: "Pemilik", language_code: "id" });
  const outbox = new Outbox(channels);
  const alerts = new OwnerAlerts({ log, outbox, ownerChatIds: [owner.id], locale: "id", limiter: createInProcessRateLimiter(), dispatchEveryMs: 100, ...(alertsPerMinute !== undefined && { maxPerMinute: alertsPerMinute }) });
  const maintenance = new MaintenanceSwitch({ cacheMs: 0 });
  const health = new DependencyHealth({ log: logger });
  const made: OwnerBot[] = [];
  const ownerBot = ({ leases = createMongoLeases(), client, webhook, backups, progressEveryMs }: OwnerBotVariant = {}) => {
    const control = createOwnerControl({ channels, coordination: { health, leases: storeLeases }, config: { telegramApiRoot: tg.apiRoot }, maintenance, startedAt: new Date() });
    const bot = new OwnerBot({
      token: ownerToken,
      apiRoot: client ? tg.apiRootFor(client) : tg.apiRoot,
      ownerChatIds: [owner.id],
      locale: "id",
      control,
      alerts,
      leases,
      leaseMs: LEASE_MS,
      log,
      pollTimeoutSec: 1,
      ...(webhook && { webhook }),
      ...(backups && { backups }),
      ...(progressEveryMs !== undefined && { progressEveryMs }),
    });
    made.push(bot);
    return bot;
  };
  const bot = ownerBot({ client: "main" });
  channels.add(bot);
  await bot.start();
  await tg.waitForPoll(ownerToken, 10_000);
  alerts.start();

  return {
    stores, telegram, channels, alerts, maintenance, ownerToken, owner, lines, ownerBot, bot,
    async ask(user, text, replies = 1) {
      const before = tg.sent(ownerToken, user).length;
      await tg.sendText(ownerToken, user, text);
      const got: Message[] = [];
      while (got.length < replies) {
        const next = await tg.waitForSent(ownerToken, user, (m) => !tg.sent(ownerToken, user).slice(0, before + got.length).some((s) => s.message_id === m.message_id), 10_000);
        got.push(next);
      }
      return got.map((m) => m.text ?? "");
    },
    async close() {
      await alerts.stop();
      await Promise.all(made.map((b) => b.stop(2_000)));
      await health.stop();
      await stores.close();
    },
  };
}
