/**
 * How a promise stands after `ms`: settled either way, or still pending (it keeps running;
 * nothing is cancelled). The one deadline helper for calls to other systems.
 *
 * ```ts
 * const renewed = await settledWithin(leases.renew(keys, ttl), 5_000);
 * if (renewed.state === "pending") … // no answer in time
 * ```
 */
export type Settled<T> = { state: "fulfilled"; value: T } | { state: "rejected"; error: unknown } | { state: "pending" };

export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ state: "fulfilled" as const, value }),
        (error: unknown) => ({ state: "rejected" as const, error }),
      ),
      new Promise<{ state: "pending" }>((resolve) => {
        timer = setTimeout(() => resolve({ state: "pending" }), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
