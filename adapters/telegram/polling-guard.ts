/**
 * The last line of "one poller per store": whatever the runner or the lease timer are doing,
 * this bot calls `getUpdates` only while its polling right has time left, and handles a
 * polled update only once Telegram has been told it is done with it.
 *
 * ```ts
 * const guard = new PollingGuard(polling.right(tenantId));
 * bot.api.config.use(guard.transformer());      // first: it sits right above the network
 * bot.use(async (ctx, next) => { if (await guard.confirmed(ctx.update.update_id)) await next(); });
 * ```
 *
 * Before each `getUpdates`: no right left → `PollingRightLapsed`, nothing sent. Otherwise
 * the long-poll `timeout` is cut so that Telegram answers before the right runs out: a poll
 * held for a process that froze ends before another instance may poll, so Telegram never
 * sees two polls at once (no 409). With too little time left for a one-second poll it waits
 * for the renewal rather than calling Telegram in a loop — unless fetched updates still
 * need confirming, which a short poll (timeout 0) does.
 *
 * After it: an answer that arrives once the right has run out (the process was frozen,
 * SIGSTOP) is thrown away; those updates are not confirmed, so the instance that polls
 * now receives them. An answer in time is handed on, but each of its updates waits in
 * `confirmed` until the next `getUpdates` (whose offset confirms it) is on its way —
 * microseconds, since the runner polls again at once — and is dropped if the right runs
 * out first (or `abandon` is called): then the next poller gets it, and it is answered
 * once, not twice.
 *
 * The runner retries a `PollingRightLapsed` quietly with back-off; the registry stops the
 * runner itself when it learns the lease is gone.
 */
import type { Transformer } from "grammy";
import type { Update } from "grammy/types";
import type { PollingRight } from "./polling-leases.ts";

/** What a poll's answer may take beyond its `timeout` to come back. */
const ROUND_TRIP_MS = 500;
/** How often a wait (for a renewal, or for a confirmation) looks at the right again. */
const RECHECK_MS = 50;

/** This instance may not poll the store now: its polling lease ran out or another instance has it. */
export class PollingRightLapsed extends Error {
  override name = "PollingRightLapsed";
  constructor(when: "before" | "after") {
    super(
      when === "before"
        ? "this instance's polling lease for the store has run out; getUpdates not sent"
        : "this instance's polling lease ran out while getUpdates was under way; its updates are left for the instance that polls now",
    );
  }
}

export class PollingGuard {
  readonly #right: PollingRight;
  /** Updates fetched and not yet confirmed, each with whoever waits to handle it. */
  readonly #unconfirmed = new Map<number, Array<(confirmed: boolean) => void>>();

  constructor(right: PollingRight) {
    this.#right = right;
  }

  transformer(): Transformer {
    return async (prev, method, payload, signal) => {
      if (method !== "getUpdates") return prev(method, payload, signal);
      const asked = payload as { timeout?: number; offset?: number };
      const timeout = await this.#timeoutAllowed(asked.timeout ?? 0, signal);
      this.#settle((id) => id < (asked.offset ?? 0), true);
      const result = await prev(method, { ...asked, timeout } as typeof payload, signal);
      if (this.#right.remainingMs() <= 0) throw new PollingRightLapsed("after");
      if (result.ok) for (const update of result.result as Update[]) this.#unconfirmed.set(update.update_id, []);
      return result;
    };
  }

  /**
   * Resolves true when the update may be handled: it did not come from a poll, or the
   * getUpdates confirming it is on its way. False when the right ran out first, or the
   * polling was abandoned: another poller gets the update.
   */
  confirmed(updateId: number): Promise<boolean> {
    const waiters = this.#unconfirmed.get(updateId);
    if (!waiters) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (confirmed: boolean) => {
        clearTimeout(timer);
        resolve(confirmed);
      };
      waiters.push(settle);
      const check = () => {
        if (this.#right.remainingMs() > 0) timer = setTimeout(check, RECHECK_MS);
        else this.#settle((id) => id === updateId, false);
      };
      timer = setTimeout(check, RECHECK_MS);
    });
  }

  /** No getUpdates will confirm what is pending (the poller stopped without confirming): drop it. */
  abandon(): void {
    this.#settle(() => true, false);
  }

  #settle(which: (updateId: number) => boolean, confirmed: boolean): void {
    for (const [id, waiters] of this.#unconfirmed) {
      if (!which(id)) continue;
      this.#unconfirmed.delete(id);
      for (const waiter of waiters) waiter(confirmed);
    }
  }

  /** The long-poll timeout (s) that ends before the right runs out; waits while there is time for none. */
  async #timeoutAllowed(asked: number, signal: { readonly aborted: boolean } | undefined): Promise<number> {
    for (;;) {
      const remaining = this.#right.remainingMs() - ROUND_TRIP_MS;
      if (remaining <= 0 || signal?.aborted) throw new PollingRightLapsed("before");
      const fits = Math.min(asked, Math.floor(remaining / 1000));
      if (fits >= 1 || asked === 0 || this.#unconfirmed.size > 0) return fits;
      await new Promise((resolve) => setTimeout(resolve, Math.min(RECHECK_MS, remaining)));
    }
  }
}
