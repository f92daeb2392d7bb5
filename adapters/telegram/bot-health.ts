/**
 * Whether a store's bot can talk to Telegram: a grammY API transformer right above the
 * network sees every attempt's outcome, and tells `BotTroubles` (one per registry, so what
 * was reported outlives the bot's restarts) when the store's bot is in trouble and when it
 * is out of it.
 *
 * ```ts
 * const troubles = new BotTroubles({ onTrouble: (store, t) => alert(store, t), onRecovered: (store, kind) => clear(store, kind) });
 * bot.api.config.use(new BotHealth(troubles.of(store), { unreachableAfterMs: 60_000 }).transformer());
 * ```
 *
 * | kind | when | cleared |
 * |---|---|---|
 * | `telegram-unreachable` | every call failed with a network error or a 5xx for `unreachableAfterMs` (and at least twice) | any answer from Telegram that is not a 5xx |
 * | `polling-conflict` | long polling stopped on 409 Conflict: someone else polls the token (`StoreBot` reports it) | a `getUpdates` answered OK |
 *
 * A cancelled call (the bot stopping, a timeout of ours) says nothing either way.
 */
import { HttpError } from "grammy";
import type { Transformer } from "grammy";

export type BotTroubleKind = "telegram-unreachable" | "polling-conflict";

export interface BotTrouble {
  kind: BotTroubleKind;
  /** What Telegram (or the network) answered last, for the owner. */
  detail: string;
}

export interface BotTroubleStore {
  id: string;
  slug: string;
  name: string;
}

export interface BotTroublesHooks {
  onTrouble?(store: BotTroubleStore, trouble: BotTrouble): void;
  onRecovered?(store: BotTroubleStore, kind: BotTroubleKind): void;
}

/** One store's view of `BotTroubles`: what a bot reports into. */
export interface StoreTroubles {
  failing(trouble: BotTrouble): void;
  ok(kind: BotTroubleKind): void;
}

/** The troubles reported per store, so a recovery is told once and only after a trouble was. */
export class BotTroubles {
  readonly #hooks: BotTroublesHooks;
  readonly #open = new Map<string, Set<BotTroubleKind>>();
  readonly #onError: (error: unknown) => void;

  constructor(hooks: BotTroublesHooks, onError: (error: unknown) => void = () => undefined) {
    this.#hooks = hooks;
    this.#onError = onError;
  }

  of(store: BotTroubleStore): StoreTroubles {
    return {
      failing: (trouble) => {
        const open = this.#open.get(store.id) ?? new Set<BotTroubleKind>();
        if (open.has(trouble.kind)) return;
        open.add(trouble.kind);
        this.#open.set(store.id, open);
        this.#call(() => this.#hooks.onTrouble?.(store, trouble));
      },
      ok: (kind) => {
        const open = this.#open.get(store.id);
        if (!open?.delete(kind)) return;
        this.#call(() => this.#hooks.onRecovered?.(store, kind));
      },
    };
  }

  #call(hook: () => void): void {
    try {
      hook();
    } catch (error) {
      this.#onError(error);
    }
  }
}

export interface BotHealthOptions {
  /** How long every call must fail before the store counts as unable to reach Telegram. Default 60 000 ms. */
  unreachableAfterMs?: number;
}

/** One bot's calls, watched. `close()` when the bot stops. */
export class BotHealth {
  readonly #troubles: StoreTroubles;
  readonly #afterMs: number;
  #failingSince: number | undefined;
  #failures = 0;
  #lastError = "";
  #timer: NodeJS.Timeout | undefined;

  constructor(troubles: StoreTroubles, options: BotHealthOptions = {}) {
    this.#troubles = troubles;
    this.#afterMs = options.unreachableAfterMs ?? 60_000;
  }

  transformer(): Transformer {
    return async (prev, method, payload, signal) => {
      let result;
      try {
        result = await prev(method, payload, signal);
      } catch (error) {
        if (error instanceof HttpError && !signal?.aborted) this.#failed(error.message);
        throw error;
      }
      if (!result.ok && result.error_code >= 500) this.#failed(`${result.error_code} ${result.description}`);
      else this.#answered(method, result.ok);
      return result;
    };
  }

  /** Long polling stopped on a 409: someone else polls this token. */
  conflict(detail: string): void {
    this.#troubles.failing({ kind: "polling-conflict", detail });
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #failed(detail: string): void {
    this.#lastError = detail;
    this.#failures += 1;
    if (this.#failingSince === undefined) {
      this.#failingSince = Date.now();
      this.#timer = setTimeout(() => this.#judge(), this.#afterMs);
      this.#timer.unref();
    } else if (Date.now() - this.#failingSince >= this.#afterMs) {
      this.#judge();
    }
  }

  #judge(): void {
    this.#timer = undefined;
    // One failed call and silence since says little (a webhook store that sends rarely): wait for a second.
    if (this.#failingSince === undefined || this.#failures < 2) return;
    this.#troubles.failing({ kind: "telegram-unreachable", detail: this.#lastError });
  }

  #answered(method: string, ok: boolean): void {
    this.close();
    this.#failingSince = undefined;
    this.#failures = 0;
    this.#troubles.ok("telegram-unreachable");
    if (ok && method === "getUpdates") this.#troubles.ok("polling-conflict");
  }
}
