/**
 * Fixed-window rate limits: at most `limit` calls per key per window, on `rate-limiter-flexible`.
 *
 * ```ts
 * const { allowed, retryAfterMs } = await limiter.consume(`chat:${tenantId}:${chatId}`, 20, 60_000);
 * if (!allowed) return reply("common.rate_limited", { seconds: Math.ceil(retryAfterMs / 1000) });
 * ```
 *
 * A window opens at a key's first call and lasts `windowMs` (whole seconds: a shorter or
 * fractional window is rounded up to the next second); every call inside it counts, denied ones
 * too, and `retryAfterMs` says when the window closes. Use one `(limit, windowMs)` per key.
 * Fixed windows allow up to twice `limit` across a window boundary; they are meant for abuse
 * protection, not for pacing sends to an API.
 *
 * With Redis the counters are shared by every instance. While Redis does not answer, each call
 * falls back at once to an in-process "insurance" limiter with the same limits: an outage
 * degrades the limits to per-process ones instead of stalling or refusing the people behind them.
 */
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";

export interface RateLimiter {
  consume(key: string, limit: number, windowMs: number): Promise<{ allowed: boolean; remaining: number; retryAfterMs: number }>;
}

type Verdict = Awaited<ReturnType<RateLimiter["consume"]>>;

export const REDIS_RATE_LIMIT_PREFIX = "niaga:rate";

function checkArguments(limit: number, windowMs: number) {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`rate limit must be a whole number ≥ 0, got ${limit}`);
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`rate-limit window must be a number of ms > 0, got ${windowMs}`);
}

/** One limiter per `(limit, window)`; the library fixes both per instance. */
function limitersBy<L>(make: (points: number, seconds: number) => L) {
  const made = new Map<string, L>();
  return (limit: number, windowMs: number): L => {
    const seconds = Math.ceil(windowMs / 1000);
    const id = `${limit}:${seconds}`;
    let limiter = made.get(id);
    if (!limiter) made.set(id, (limiter = make(limit, seconds)));
    return limiter;
  };
}

async function consumeOne(limiter: RateLimiterAbstract, key: string): Promise<Verdict> {
  try {
    const res = await limiter.consume(key);
    return { allowed: true, remaining: res.remainingPoints, retryAfterMs: 0 };
  } catch (denied) {
    if (!(denied instanceof RateLimiterRes)) throw denied;
    return { allowed: false, remaining: 0, retryAfterMs: Math.max(0, denied.msBeforeNext) };
  }
}

// A limit of 0 admits nobody; the library needs at least one point, so it is answered here.
const nobody = (windowMs: number): Verdict => ({ allowed: false, remaining: 0, retryAfterMs: Math.ceil(windowMs / 1000) * 1000 });

/** Counters in this process's memory (the library drops closed windows itself). */
export function createInProcessRateLimiter(): RateLimiter {
  const limiterFor = limitersBy((points, duration) => new RateLimiterMemory({ points, duration }));
  return {
    async consume(key, limit, windowMs) {
      checkArguments(limit, windowMs);
      if (limit === 0) return nobody(windowMs);
      return consumeOne(limiterFor(limit, windowMs), key);
    },
  };
}

export interface RedisRateLimiterOptions {
  /** False while Redis is known not to answer: the in-process limits apply without trying it. */
  redisAnswers?: () => boolean;
}

/** Counters in Redis, shared by every instance; each call is one atomic script. */
export function createRedisRateLimiter(redis: Redis, options: RedisRateLimiterOptions = {}): RateLimiter {
  const redisAnswers = options.redisAnswers ?? (() => true);
  const limiterFor = limitersBy((points, duration) => {
    const insurance = new RateLimiterMemory({ points, duration });
    const shared = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: REDIS_RATE_LIMIT_PREFIX,
      points,
      duration,
      insuranceLimiter: insurance,
    });
    return { shared, insurance };
  });
  return {
    async consume(key, limit, windowMs) {
      checkArguments(limit, windowMs);
      if (limit === 0) return nobody(windowMs);
      const { shared, insurance } = limiterFor(limit, windowMs);
      return consumeOne(redisAnswers() ? shared : insurance, key);
    },
  };
}
