/**
 * Resilient outgoing Bot API calls: a grammY API transformer that retries what is worth
 * retrying, gives up on what is not, and tells the platform about revoked tokens and
 * customers who blocked the bot.
 *
 * ```ts
 * bot.api.config.use(resilientCalls({
 *   onUnauthorized: () => tenants.markTokenRevoked(tenant.id),
 *   onBlocked: (chatId) => customers.markUnreachable(tenant.id, chatId),
 *   log: tenantLogger(tenant.slug),
 * }));
 * ```
 *
 * | answer | what happens |
 * |---|---|
 * | 429 with `retry_after` ≤ `maxRetryAfterSec` | waits exactly `retry_after`, then retries |
 * | 429 with a longer `retry_after` | fails at once: a long flood wait must not freeze a conversation |
 * | 5xx, network error (`HttpError`) | retries with exponential back-off and jitter |
 * | 401 | `onUnauthorized()` once per transformer, no retry: the token was revoked |
 * | 403 blocked / deactivated | `onBlocked(chatId, reason)`, no retry |
 * | any other 4xx | returned as is: sending it again would fail the same way |
 *
 * Retries of all kinds share one budget, `maxRetries`. When it runs out, or the call's
 * AbortSignal fires while waiting, the last answer is what the caller gets — grammY turns
 * it into the usual `GrammyError` (or rethrows the `HttpError`); this transformer adds no
 * errors of its own, and a throwing callback is logged, not propagated.
 *
 * The catch: a network error can hide a request Telegram did carry out, so retrying a
 * `sendMessage` after one may deliver it twice. Telegram has no idempotency keys; flows
 * that must not duplicate (delivering goods) record what they sent before sending again.
 *
 * Install one transformer per bot: the "once" of `onUnauthorized` is per instance.
 * grammY copies `bot.api`'s transformers into each update's `ctx.api`, so replies made
 * through the context are covered too.
 */
import { HttpError } from "grammy";
import type { Transformer } from "grammy";

/** The part of a logger this module uses; a winston logger fits. */
export interface ResilienceLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/**
 * The part of an AbortSignal the waits use: grammY on Node hands transformers the
 * `abort-controller` polyfill's signal, which lacks parts of the built-in one.
 */
export interface CallSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export type UnreachableReason = "blocked" | "deactivated";

export interface ResilientCallsOptions {
  /** Retries after the first attempt, shared by 429, 5xx and network errors. Default 3. */
  maxRetries?: number;
  /** The longest `retry_after` (seconds) worth waiting for. Default 30. */
  maxRetryAfterSec?: number;
  /** First back-off for 5xx and network errors, doubled on each retry. Default 500 ms. */
  baseDelayMs?: number;
  /** Ceiling of that back-off. Default 10 000 ms. */
  maxDelayMs?: number;
  /** The token was revoked (401). Called once; the bot should be stopped and the owner told. */
  onUnauthorized?(): void;
  /** The customer blocked the bot or deleted their account (403): stop writing to them. */
  onBlocked?(chatId: number, reason: UnreachableReason): void;
  /** How to wait; tests pass one that records the waits. Must resolve early when `signal` aborts. */
  sleep?(ms: number, signal?: CallSignal): Promise<void>;
  /** Jitter source in [0, 1). Default `Math.random`. */
  random?(): number;
  log?: ResilienceLog;
}

const UNREACHABLE: Array<[RegExp, UnreachableReason]> = [
  [/blocked by the user/i, "blocked"],
  [/user is deactivated/i, "deactivated"],
];

// Anything shaped like a bot token, in case an error message ever carries a URL.
const TOKEN_SHAPE = /\d{5,}:[A-Za-z0-9_-]{30,}/g;

export function resilientCalls(options: ResilientCallsOptions = {}): Transformer {
  const maxRetries = options.maxRetries ?? 3;
  const maxRetryAfterSec = options.maxRetryAfterSec ?? 30;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  const sleep = options.sleep ?? sleepUnlessAborted;
  const random = options.random ?? Math.random;
  const warn = (message: string, fields: Record<string, unknown>) => {
    try {
      options.log?.warn(message, fields);
    } catch {
      // A broken logger must not turn a delivered message into a failed one.
    }
  };
  const notify = (what: string, callback: () => void) => {
    try {
      callback();
    } catch (error) {
      warn(`telegram ${what} handler failed`, { error: redact(String(error)) });
    }
  };
  let unauthorizedReported = false;

  const backOff = (retry: number) => {
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
    // "Equal jitter": at least half the back-off, so retries from many bots spread out
    // without any of them retrying at once.
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  };
  const wait = async (ms: number, signal: CallSignal | undefined) => {
    await sleep(ms, signal).catch(() => undefined);
    return !signal?.aborted;
  };

  return async (prev, method, payload, signal) => {
    for (let retry = 0; ; retry += 1) {
      let result: Awaited<ReturnType<typeof prev>>;
      try {
        result = await prev(method, payload, signal);
      } catch (error) {
        if (!(error instanceof HttpError) || signal?.aborted || retry >= maxRetries) throw error;
        const delayMs = backOff(retry);
        warn("telegram call failed on the network; retrying", { method, retry: retry + 1, delayMs, error: redact(error.message) });
        if (!(await wait(delayMs, signal))) throw error;
        continue;
      }
      if (result.ok) return result;

      const { error_code: code, description } = result;
      const retryAfter = result.parameters?.retry_after;
      if (code === 429 && typeof retryAfter === "number") {
        if (retryAfter > maxRetryAfterSec || retry >= maxRetries) {
          warn("telegram flood limit; giving up", { method, retryAfter, retries: retry, maxRetryAfterSec });
          return result;
        }
        warn("telegram flood limit; waiting as asked", { method, retryAfter, retry: retry + 1 });
        if (!(await wait(retryAfter * 1000, signal))) return result;
        continue;
      }
      if (code >= 500 || code === 429) {
        if (retry >= maxRetries) {
          warn("telegram server error; giving up", { method, code, description, retries: retry });
          return result;
        }
        const delayMs = backOff(retry);
        warn("telegram server error; retrying", { method, code, description, retry: retry + 1, delayMs });
        if (!(await wait(delayMs, signal))) return result;
        continue;
      }
      if (code === 401) {
        if (!unauthorizedReported) {
          unauthorizedReported = true;
          warn("telegram rejected the bot token (revoked?)", { method });
          if (options.onUnauthorized) notify("onUnauthorized", options.onUnauthorized);
        }
        return result;
      }
      if (code === 403) {
        const reason = UNREACHABLE.find(([pattern]) => pattern.test(description))?.[1];
        const chatId = chatIdOf(payload);
        if (reason && chatId !== undefined && options.onBlocked) {
          const onBlocked = options.onBlocked;
          notify("onBlocked", () => onBlocked(chatId, reason));
        }
      }
      return result;
    }
  };
}

function chatIdOf(payload: unknown): number | undefined {
  const value = (payload as { chat_id?: unknown } | undefined)?.chat_id;
  const id = typeof value === "string" ? Number(value) : value;
  return typeof id === "number" && Number.isInteger(id) ? id : undefined;
}

function redact(text: string): string {
  return text.replace(TOKEN_SHAPE, "[REDACTED]");
}

function sleepUnlessAborted(ms: number, signal?: CallSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
