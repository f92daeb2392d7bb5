/**
 * How a store's bot receives its updates: long polling (by the one instance holding the
 * store's polling lease, when several instances share the stores) or a webhook at
 * `PUBLIC_URL/telegram/<slug>`, and moving a running bot from one to the other without
 * losing or repeating an update.
 */
import type { EngineLog } from "../../flows/engine/index.ts";
import type { Leases } from "../../storage/leases.ts";
import { describe, StoreBotError } from "./bot-status.ts";
import { webhookSecretOf } from "./bot-tokens.ts";
import { PollingLeases } from "./polling-leases.ts";
import type { PollingLeasesOptions } from "./polling-leases.ts";
import type { StoreBot, TelegramMode } from "./store-bot.ts";

export interface UpdateModesOptions {
  /** `PUBLIC_URL`; webhook mode needs it. */
  publicUrl?: string;
  /** Who polls a store when several instances share the stores; see `PollingLeases`. */
  leases?: Leases;
  pollLeaseMs?: number;
  leaseStoreAnswers?: () => boolean;
  metrics?: PollingLeasesOptions["metrics"];
  log: EngineLog;
  logFor(slug: string): EngineLog;
  /** The store's bot when it runs here. */
  runningBot(tenantId: string): StoreBot | undefined;
  /** Runs `work` after the store's other operations (start, stop, switch). */
  serially(tenantId: string, work: () => Promise<void>): Promise<void>;
  closing(): boolean;
}

export class UpdateModes {
  readonly #options: UpdateModesOptions;
  readonly #polling: PollingLeases | undefined;

  constructor(options: UpdateModesOptions) {
    this.#options = options;
    this.#polling = options.leases && new PollingLeases({
      leases: options.leases,
      ...(options.pollLeaseMs !== undefined && { leaseMs: options.pollLeaseMs }),
      ...(options.leaseStoreAnswers && { leaseStoreAnswers: options.leaseStoreAnswers }),
      logFor: options.logFor,
      log: options.log,
      ...(options.metrics && { metrics: options.metrics }),
      onGranted: (tenantId) => void this.#leaseGranted(tenantId),
      onLost: (tenantId) => this.#leaseLost(tenantId),
    });
  }

  /** What a new bot of the store asks before it polls (only with leases). */
  pollingRight(tenantId: string): ReturnType<PollingLeases["right"]> | undefined {
    return this.#polling?.right(tenantId);
  }

  /** Where Telegram posts the store's updates in webhook mode; throws without `PUBLIC_URL`. */
  webhookUrl(slug: string): string {
    const base = this.#options.publicUrl?.replace(/\/+$/, "");
    if (!base) throw new StoreBotError("no-public-url", "webhook mode needs PUBLIC_URL, the address Telegram can reach this server at");
    return `${base}/telegram/${encodeURIComponent(slug)}`;
  }

  /** Starts receiving a new bot's updates in `mode`; `savedSecret`: the webhook secret read with the store, if it has one. */
  async begin(bot: StoreBot, mode: TelegramMode, savedSecret?: string): Promise<void> {
    if (mode === "webhook") await bot.useWebhook(this.webhookUrl(bot.tenant.slug), savedSecret ?? (await webhookSecretOf(bot.tenant.id)));
    else await this.#poll(bot);
  }

  /** Moves a running bot to the other mode: polling stops (and its lease goes) before the webhook is set. */
  async moveTo(bot: StoreBot, mode: TelegramMode): Promise<void> {
    if (mode === "polling") return this.#poll(bot);
    await bot.stopPolling();
    await this.#polling?.leave(bot.tenant.id);
    await bot.useWebhook(this.webhookUrl(bot.tenant.slug), await webhookSecretOf(bot.tenant.id));
  }

  /** The store's bot stopped (after confirming the last polled updates): whoever takes the lease next starts clean. */
  async stopped(tenantId: string): Promise<void> {
    await this.#polling?.leave(tenantId);
  }

  /** Shutdown: the stores' leases go back, so the other instances take over. */
  async close(): Promise<void> {
    await this.#polling?.close();
  }

  /** Polls the store here when this instance holds (or now takes) its polling lease; else stands by for it. */
  async #poll(bot: StoreBot): Promise<void> {
    if (this.#polling && !(await this.#polling.join(bot.tenant.id, bot.tenant.slug))) return bot.standBy();
    try {
      await bot.startPolling();
    } catch (error) {
      await this.#polling?.giveBack(bot.tenant.id);
      throw error;
    }
  }

  /** A tick took the lease of a store standing by here. */
  async #leaseGranted(tenantId: string): Promise<void> {
    await this.#options.serially(tenantId, async () => {
      const bot = this.#options.runningBot(tenantId);
      if (!bot || bot.mode !== "polling" || bot.fetching || this.#options.closing() || !this.#polling?.holds(tenantId)) return;
      await bot.startPolling();
    }).catch(async (error: unknown) => {
      const slug = this.#options.runningBot(tenantId)?.tenant.slug ?? tenantId;
      this.#options.logFor(slug).warn("telegram polling did not start after taking the store's polling lease; trying again at the next tick", { tenant: slug, error: describe(error) });
      await this.#polling?.giveBack(tenantId);
    });
  }

  /** The lease of a store polled here is gone: stop at once, not behind the store's other operations. */
  #leaseLost(tenantId: string): void {
    const bot = this.#options.runningBot(tenantId);
    if (bot?.mode !== "polling") return;
    bot.standBy().catch((error: unknown) => {
      this.#options.logFor(bot.tenant.slug).warn("telegram polling did not stop cleanly after the polling lease was lost", { tenant: bot.tenant.slug, error: describe(error) });
    });
  }
}
