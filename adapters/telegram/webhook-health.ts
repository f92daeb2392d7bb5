/**
 * Whether Telegram still delivers to the webhooks of the stores this instance runs in
 * webhook mode: every `everyMs` each one's `getWebhookInfo` is read. A webhook is failing
 * when Telegram reports a delivery error within `recentErrorMs` and updates wait, when more than
 * `maxPending` updates wait, or when the webhook is gone. The first failing check tells
 * `onFailing`; after `fallbackAfterChecks` failing checks in a row the store moves to long
 * polling by itself (`fallBack`, which saves the mode: the owner moves it back with
 * `/mode SLUG webhook`) and `onFellBack` is told. A healthy check of a store that was
 * failing, or that fell back and is in webhook mode again, tells `onHealthy`.
 *
 * ```ts
 * const health = new WebhookHealth({ bots: () => webhookBots, fallBack: (id) => bots.switchMode(id, "polling"), onFailing, onFellBack, onHealthy });
 * health.start();            // every everyMs; or `await health.check()` once
 * health.stop();
 * ```
 */
import type { Api } from "grammy";
import type { BotTroubleStore } from "./bot-health.ts";

export interface WebhookProblem {
  /** `delivery-error`, `pending-updates` or `webhook-missing`. */
  reason: "delivery-error" | "pending-updates" | "webhook-missing";
  /** Updates Telegram holds for the store. */
  pending: number;
  /** Telegram's last delivery error, when it reported one. */
  lastError?: string;
  /** Failing checks in a row. */
  checks: number;
}

export interface WebhookHealthOptions {
  /** How often the webhooks are checked. Default 60 000 ms. */
  everyMs?: number;
  /** How long one `getWebhookInfo` may take. Default 10 000 ms. */
  timeoutMs?: number;
  /** More updates than this waiting at Telegram count as failing. Default 100. */
  maxPending?: number;
  /** A delivery error Telegram reports from within this long counts as failing. Default twice `everyMs`. */
  recentErrorMs?: number;
  /** Failing checks in a row after which the store falls back to long polling. Default 3. */
  fallbackAfterChecks?: number;
}

export interface WebhookHealthHooks {
  onFailing?(store: BotTroubleStore, problem: WebhookProblem): void;
  onFellBack?(store: BotTroubleStore, problem: WebhookProblem): void;
  /** `was`: what was told before — the webhook failing, or the store falling back to polling. */
  onHealthy?(store: BotTroubleStore, was: "failing" | "fallback"): void;
}

/** A running webhook-mode bot, as the check needs it. */
export interface WatchedWebhook {
  store: BotTroubleStore;
  api: Api;
}

/** What the registry gives its `WebhookHealth`. */
export interface WebhookHealthSetup extends WebhookHealthOptions, WebhookHealthHooks {
  /** The running bots in webhook mode. */
  webhooks(): WatchedWebhook[];
  /** Moves the store to long polling and saves the mode (`StoreBots.switchMode`). */
  fallBack(tenantId: string): Promise<void>;
  /** A check that failed (Telegram did not answer, the switch failed). */
  onError(store: BotTroubleStore, error: unknown): void;
}

interface Watch {
  checks: number;
  told: boolean;
  fellBack: boolean;
}

const CONCURRENCY = 8;

export class WebhookHealth {
  readonly #options: WebhookHealthSetup;
  readonly #watch = new Map<string, Watch>();
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;

  constructor(options: WebhookHealthSetup) {
    this.#options = options;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.check(), this.#options.everyMs ?? 60_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Checks every webhook-mode store once; a check still under way is waited for instead of doubled. */
  check(): Promise<void> {
    this.#checking ??= this.#checkAll().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #checkAll(): Promise<void> {
    const hooks = this.#options.webhooks();
    for (let i = 0; i < hooks.length; i += CONCURRENCY) {
      await Promise.all(hooks.slice(i, i + CONCURRENCY).map((hook) => this.#checkOne(hook).catch((error: unknown) => this.#options.onError(hook.store, error))));
    }
  }

  async #checkOne({ store, api }: WatchedWebhook): Promise<void> {
    // Telegram unreachable is `BotHealth`'s to tell; here an unanswered check says nothing.
    const info = await api.getWebhookInfo(AbortSignal.timeout(this.#options.timeoutMs ?? 10_000) as Parameters<Api["getWebhookInfo"]>[0]);
    const watch = this.#watch.get(store.id) ?? { checks: 0, told: false, fellBack: false };
    const problem = this.#problemOf(info, watch.checks + 1);
    if (!problem) {
      this.#watch.delete(store.id);
      if (watch.told) this.#options.onHealthy?.(store, "failing");
      if (watch.fellBack) this.#options.onHealthy?.(store, "fallback");
      return;
    }
    watch.checks = problem.checks;
    this.#watch.set(store.id, watch);
    if (!watch.told) {
      watch.told = true;
      this.#options.onFailing?.(store, problem);
    }
    if (problem.checks < (this.#options.fallbackAfterChecks ?? 3)) return;
    await this.#options.fallBack(store.id);
    this.#watch.set(store.id, { checks: 0, told: false, fellBack: true });
    this.#options.onFellBack?.(store, problem);
  }

  #problemOf(info: Awaited<ReturnType<Api["getWebhookInfo"]>>, checks: number): WebhookProblem | undefined {
    const pending = info.pending_update_count;
    const recentMs = this.#options.recentErrorMs ?? 2 * (this.#options.everyMs ?? 60_000);
    const lastError = info.last_error_message;
    // Telegram keeps reporting the last error after deliveries work again; with nothing waiting, they do.
    const erred = pending > 0 && info.last_error_date !== undefined && info.last_error_date * 1000 >= Date.now() - recentMs;
    const reason: WebhookProblem["reason"] | undefined = !info.url
      ? "webhook-missing"
      : erred
        ? "delivery-error"
        : pending > (this.#options.maxPending ?? 100)
          ? "pending-updates"
          : undefined;
    return reason && { reason, pending, checks, ...(erred && lastError !== undefined && { lastError }) };
  }
}
