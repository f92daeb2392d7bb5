// Waiting in tests for something done in the background: a bound on how long to wait,
// never an assertion about speed (speed belongs in bench/).

export interface EventuallyOptions {
  /** How long to keep looking before failing; generous, since the machine may be loaded. */
  timeoutMs?: number;
  /** How often to look. */
  everyMs?: number;
}

/**
 * Waits until `check` returns something truthy and returns it; fails naming `what` once
 * `timeoutMs` have passed.
 *
 * ```ts
 * const delivered = await eventually(() => tg.sent(store.token, sari).find((m) => words(m).includes("SECRET")), "the goods");
 * await eventually(async () => (await Order.findById(id))?.status === "expired", "the order to expire", { timeoutMs: 20_000 });
 * ```
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  { timeoutMs = 10_000, everyMs = 20 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`still waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
