/**
 * What a store's session does when its socket closes, by the close's status code, as a
 * pure function (`afterClose`) and a per-store token bucket (`ReconnectBudget`) that caps
 * reconnects whatever the server does. `StoreSession` carries the actions out.
 *
 * | code | when | action |
 * |---|---|---|
 * | 515 restart required | after pairing, and now and then | reconnect at once |
 * | 401 logged out | the phone removed the device | stop, wipe the session, `logged-out` |
 * | 403, 419 | the number is blocked or restricted | stop, keep the session, `restricted` |
 * | 440 replaced | another socket took the session | stop quietly when this instance lost the lease; else retry once after a back-off, and stop with an alert on a second 440 within `replacedWindowMs` |
 * | 408 before pairing | the QR codes ran out | end the link attempt (`link-expired`) |
 * | 500, 428, 408, anything else, no code | transient | back off: `baseMs` × 2^failures, capped, jittered |
 *
 * Every reconnect, whatever its reason, also waits for a token of the store's bucket, so a
 * server that drops every connection at once sees at most `burst` + `perMinute` attempts in
 * the first minute and `perMinute` a minute after that.
 */

export const CLOSE_CODES = {
  restartRequired: 515,
  loggedOut: 401,
  forbidden: 403,
  restricted: 419,
  replaced: 440,
  timedOut: 408,
} as const;

export interface LifecycleOptions {
  /** First back-off after a transient close. Default 2000 ms. */
  baseMs: number;
  /** Longest back-off. Default 60 000 ms. */
  maxMs: number;
  /** Back-off after a first 440 while this instance still holds the lease. Default 10 000 ms. */
  replacedRetryMs: number;
  /** A second 440 within this window stops the session. Default 10 min. */
  replacedWindowMs: number;
}

export const DEFAULT_LIFECYCLE: LifecycleOptions = { baseMs: 2000, maxMs: 60_000, replacedRetryMs: 10_000, replacedWindowMs: 10 * 60_000 };

/** What the session knows when its socket closed. */
export interface CloseState {
  /** The creds are registered: a linked device, not a link attempt waiting for a scan. */
  paired: boolean;
  /** Transient closes since the socket was last open. */
  failures: number;
  /** Whether this instance still holds the session lease (asked only after a 440). */
  holdsLease?: boolean;
  /** When the previous 440 was seen, if one was. */
  lastReplacedAt?: number;
}

export type CloseAction =
  | { kind: "reconnect"; delayMs: number; why: "restart" | "transient" | "replaced" }
  | { kind: "logged-out" }
  | { kind: "restricted"; code: number }
  | { kind: "link-expired" }
  /** Another instance owns the session now: close without a word. */
  | { kind: "yield" }
  /** 440 again after retrying once: stop and alert. */
  | { kind: "replaced-stop" };

/** The action for a close with `code` (undefined: no status code) in `state`. `random` in [0, 1) jitters back-offs. */
export function afterClose(code: number | undefined, state: CloseState, now: number, options: LifecycleOptions = DEFAULT_LIFECYCLE, random: () => number = Math.random): CloseAction {
  switch (code) {
    case CLOSE_CODES.restartRequired:
      return { kind: "reconnect", delayMs: 0, why: "restart" };
    case CLOSE_CODES.loggedOut:
      return { kind: "logged-out" };
    case CLOSE_CODES.forbidden:
    case CLOSE_CODES.restricted:
      return { kind: "restricted", code };
    case CLOSE_CODES.replaced:
      if (state.holdsLease === false) return { kind: "yield" };
      if (state.lastReplacedAt !== undefined && now - state.lastReplacedAt < options.replacedWindowMs) return { kind: "replaced-stop" };
      return { kind: "reconnect", delayMs: jittered(options.replacedRetryMs, random), why: "replaced" };
    case CLOSE_CODES.timedOut:
      if (!state.paired) return { kind: "link-expired" };
      return { kind: "reconnect", delayMs: backOff(state.failures, options, random), why: "transient" };
    default:
      return { kind: "reconnect", delayMs: backOff(state.failures, options, random), why: "transient" };
  }
}

/** `baseMs` × 2^failures, capped at `maxMs`, then jittered to between half and all of it. */
export function backOff(failures: number, options: Pick<LifecycleOptions, "baseMs" | "maxMs"> = DEFAULT_LIFECYCLE, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures, 0), 30);
  return jittered(Math.min(options.maxMs, options.baseMs * 2 ** exponent), random);
}

function jittered(ms: number, random: () => number): number {
  return Math.round(ms / 2 + (ms / 2) * random());
}

export interface ReconnectBudgetOptions {
  /** Attempts allowed at once. Default 3. */
  burst: number;
  /** Attempts a minute after the burst. Default 4. */
  perMinute: number;
}

export const DEFAULT_RECONNECT_BUDGET: ReconnectBudgetOptions = { burst: 3, perMinute: 4 };

/** A token bucket of connection attempts for one store. */
export class ReconnectBudget {
  readonly #burst: number;
  readonly #refillMs: number;
  #tokens: number;
  #at: number;

  constructor(options: ReconnectBudgetOptions = DEFAULT_RECONNECT_BUDGET, now = Date.now()) {
    if (!(options.burst >= 1) || !(options.perMinute > 0)) throw new RangeError("a reconnect budget needs burst ≥ 1 and perMinute > 0");
    this.#burst = options.burst;
    this.#refillMs = 60_000 / options.perMinute;
    this.#tokens = options.burst;
    this.#at = now;
  }

  /** Takes a token for an attempt at `now` or later; returns how long to wait before the attempt (0: at once). */
  take(now = Date.now()): number {
    this.#refill(now);
    this.#tokens -= 1;
    if (this.#tokens >= 0) return 0;
    return Math.ceil(-this.#tokens * this.#refillMs - (now - this.#at));
  }

  #refill(now: number): void {
    if (now <= this.#at) return;
    const gained = (now - this.#at) / this.#refillMs;
    if (this.#tokens + gained >= this.#burst) {
      this.#tokens = this.#burst;
      this.#at = now;
      return;
    }
    const whole = Math.floor(gained);
    this.#tokens += whole;
    this.#at += whole * this.#refillMs;
  }
}
