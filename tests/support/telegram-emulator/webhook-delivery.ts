// Delivers a bot's queued updates to its webhook the way Telegram does: one POST per
// update with the JSON update as body and the secret in
// `X-Telegram-Bot-Api-Secret-Token`; anything but a 2xx keeps the update queued and is
// retried with growing delays, recorded in getWebhookInfo's last_error_*. A JSON answer
// carrying `method` (grammY's webhook reply) is executed as an API call.
//
// Updates go out one at a time, in order (as with max_connections = 1), which keeps
// tests deterministic; Telegram may deliver up to max_connections in parallel.
import type { Update } from "grammy/types";
import { unixTime } from "./emulated-bot.ts";
import type { EmulatedBot, WebhookState } from "./emulated-bot.ts";
import type { Params } from "./request-params.ts";

export interface WebhookDeliveryOptions {
  readonly retryDelayMs: number;
  readonly timeoutMs: number;
  /** Runs a call the bot put in its webhook answer. */
  readonly executeReply: (bot: EmulatedBot, method: string, params: Params) => Promise<void>;
  readonly stopped: AbortSignal;
}

const MAX_RETRY_DELAY_MS = 2000;

export class WebhookDelivery {
  private running = false;
  private wake: (() => void) | undefined;

  constructor(private readonly bot: EmulatedBot, private readonly options: WebhookDeliveryOptions) {
    bot.events.on("update", () => this.kick());
  }

  /** The webhook was set, changed or deleted: stop waiting to retry with the old one. */
  webhookChanged(): void {
    this.wake?.();
    this.kick();
  }

  /** Starts delivering if there is a webhook and something to deliver. */
  kick(): void {
    if (!this.running && this.bot.webhook && !this.options.stopped.aborted) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        const hook = this.bot.webhook;
        const update = this.bot.deliverable(1)[0];
        if (!hook || !update || this.options.stopped.aborted) break;
        const error = await this.post(hook, update);
        if (error === undefined) {
          hook.failures = 0;
          this.bot.updates = this.bot.updates.filter((u) => u.update_id !== update.update_id);
          continue;
        }
        hook.failures += 1;
        hook.lastErrorDate = unixTime();
        hook.lastErrorMessage = error;
        await this.pause(Math.min(MAX_RETRY_DELAY_MS, this.options.retryDelayMs * 2 ** (hook.failures - 1)));
      }
    } finally {
      this.running = false;
    }
  }

  /** Undefined when delivered, else the error as getWebhookInfo reports it. */
  private async post(hook: WebhookState, update: Update): Promise<string | undefined> {
    let response: Response;
    try {
      response = await fetch(hook.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(hook.secretToken ? { "x-telegram-bot-api-secret-token": hook.secretToken } : {}),
        },
        body: JSON.stringify(update),
        signal: AbortSignal.any([this.options.stopped, AbortSignal.timeout(this.options.timeoutMs)]),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      if (cause === "ECONNREFUSED") return "Connection refused";
      if ((error as Error).name === "TimeoutError") return "Read timeout expired";
      return `Connection failed: ${(error as Error).message}`;
    }
    const body = await response.text().catch(() => "");
    if (response.status < 200 || response.status > 299) {
      return `Wrong response from the webhook: ${response.status} ${response.statusText}`;
    }
    await this.runWebhookReply(body);
    return undefined;
  }

  private async runWebhookReply(body: string): Promise<void> {
    let reply: unknown;
    try {
      reply = JSON.parse(body);
    } catch {
      return; // any 2xx body is fine; only a JSON object with `method` means something
    }
    if (typeof reply !== "object" || reply === null || typeof (reply as { method?: unknown }).method !== "string") return;
    const { method, ...params } = reply as { method: string } & Params;
    await this.options.executeReply(this.bot, method, params).catch(() => undefined);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.options.stopped.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      this.options.stopped.addEventListener("abort", done);
    });
  }
}
