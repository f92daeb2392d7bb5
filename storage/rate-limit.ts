/**
 * Fixed-window rate limits: at most `limit` calls per key per window.
 *
 * ```ts
 * const { allowed, retryAfterMs } = await limiter.consume(`chat:${tenantId}:${chatId}`, 20, 60_000);
 * if (!allowed) return reply("common.rate_limited", { seconds: Math.ceil(retryAfterMs / 1000) });
 * ```
 *
 * A window opens at a key's first call and lasts `windowMs`; every call inside it counts, denied
 * ones too, and `retryAfterMs` says when the window closes. Use one `(limit, windowMs)` per key:
 * the window keeps the length it opened with. Fixed windows allow up to twice `limit` across a
 * window boundary; they are meant for abuse protection, not for pacing sends to an API.
 */
import type { Redis } from "ioredis";

export interface RateLimiter {
  consume(key: string, limit: number, windowMs: number): Promise<{ allowed: boolean; remaining: number; retryAfterMs: number }>;
}

type Verdict = Awaited<ReturnType<RateLimiter["consume"]>>;

function verdict(count: number, limit: number, msLeft: number): Verdict {
  const allowed = count <= limit;
  return { allowed, remaining: Math.max(0, limit - count), retryAfterMs: allowed ? 0 : Math.max(0, msLeft) };
}

function checkArguments(limit: number, windowMs: number) {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`rate limit must be a whole number ≥ 0, got ${limit}`);
  if (!Number.isInteger(windowMs) || windowMs <= 0) throw new RangeError(`rate-limit window must be a whole number of ms > 0, got ${windowMs}`);
}

/** Counters in this process's memory; closed windows are swept as calls come in, so memory follows active keys. */
export function createInProcessRateLimiter(now: () => number = Date.now): RateLimiter & { readonly trackedKeys: number } {
  const windows = new Map<string, { count: number; endsAt: number }>();
  let nextSweep = 0;
  const sweep = (time: number) => {
    for (const [key, window] of windows) if (window.endsAt <= time) windows.delete(key);
  };
  return {
    get trackedKeys() {
      return windows.size;
    },
    async consume(key, limit, windowMs) {
      checkArguments(limit, windowMs);
      const time = now();
      // At most one full pass per second keeps sweeping cheap under heavy traffic.
      if (time >= nextSweep) {
        sweep(time);
        nextSweep = time + 1_000;
      }
      let window = windows.get(key);
      if (!window || window.endsAt <= time) {
        window = { count: 0, endsAt: time + windowMs };
        windows.set(key, window);
      }
      window.count++;
      return verdict(window.count, limit, window.endsAt - time);
    },
  };
}

// One round trip, atomic: count, open the window on the first call, report what is left of it.
// A key without expiry (cannot happen through this script, but would count forever) is repaired.
const CONSUME = `
local count = redis.call("incr", KEYS[1])
local ttl = redis.call("pttl", KEYS[1])
if count == 1 or ttl < 0 then
  redis.call("pexpire", KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }`;

export const REDIS_RATE_LIMIT_PREFIX = "niaga:rate:";

/** Counters in Redis, shared by every instance; each call is one atomic script. */
export function createRedisRateLimiter(redis: Redis): RateLimiter {
  return {
    async consume(key, limit, windowMs) {
      checkArguments(limit, windowMs);
      const [count, ttl] = (await redis.eval(CONSUME, 1, REDIS_RATE_LIMIT_PREFIX + key, windowMs)) as [number, number];
      return verdict(count, limit, ttl);
    },
  };
}
