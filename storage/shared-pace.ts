/**
 * A sending budget shared by every instance of the platform: a sliding window per key in
 * Redis (one sorted set of the window's sends), plus a hold every instance respects — the
 * flood wait Telegram imposed on one instance holds the bot on all of them.
 *
 * ```ts
 * const pace = createRedisPace(redis, { redisAnswers });
 * const { waitMs, slot } = await pace.take("tg:6512…", 30, 1000);   // 0: go now; else try again after waitMs
 * … the call …
 * if (slot) await pace.answered("tg:6512…", slot, 1000);            // the slot counts from the answer
 * await pace.hold("tg:6512…", 5_000);                      // a 429 with retry_after 5
 * ```
 *
 * Time is Redis's own (`TIME`), so the instances' clocks need not agree. Each call has a
 * deadline: when Redis does not answer in time (or is known to be down), `take` answers 0 —
 * the local pacing still holds, and a conversation never waits for Redis to come back.
 *
 * The single-instance platform (no `REDIS_URL`) has no shared budget: its pacers count alone.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { settledWithin } from "./settled-within.ts";

export interface SharedPace {
  /**
   * Takes one slot of `limit` per `windowMs` under `key`: resolves `{ waitMs: 0, slot }` when
   * taken, else how long to wait before asking again.
   */
  take(key: string, limit: number, windowMs: number): Promise<{ waitMs: number; slot?: string }>;
  /**
   * The call of a taken slot was answered: its slot now counts from this moment, so however slow
   * the network was, Telegram never sees more than the limit in any window.
   */
  answered(key: string, slot: string, windowMs: number): Promise<void>;
  /** Nobody takes a slot under `key` for `ms` (a flood wait). */
  hold(key: string, ms: number): Promise<void>;
}

/** Where the windows and holds live in Redis; exported for operators inspecting Redis. */
export const REDIS_PACE_PREFIX = "niaga:pace:";

// KEYS[1] window (zset), KEYS[2] hold; ARGV: window ms, limit, member. Returns 0 or the wait in ms.
const TAKE = `
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return held end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

// KEYS[1] window (zset); ARGV: window ms, member. Re-stamps the member with the current time, if still there.
const ANSWERED = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

// KEYS[1] hold; ARGV[1] ms. Only ever lengthens a hold.
const HOLD = `
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 1
`;

export interface RedisPaceOptions {
  /** False while Redis is known not to answer: every call says go at once. */
  redisAnswers?: () => boolean;
  /** How long one call may take. Default 250 ms. */
  timeoutMs?: number;
}

export function createRedisPace(redis: Redis, options: RedisPaceOptions = {}): SharedPace {
  const timeoutMs = options.timeoutMs ?? 250;
  const answers = options.redisAnswers ?? (() => true);
  let sequence = 0;
  const prefix = randomBytes(4).toString("hex");
  return {
    async take(key, limit, windowMs) {
      if (!answers()) return { waitMs: 0 };
      const member = `${prefix}:${++sequence}`;
      const call = redis.eval(TAKE, 2, `${REDIS_PACE_PREFIX}${key}`, `${REDIS_PACE_PREFIX}hold:${key}`, windowMs, limit, member) as Promise<number>;
      const outcome = await settledWithin(call, timeoutMs);
      if (outcome.state !== "fulfilled") {
        // Late answers are dropped; a slot taken by one is counted against the window anyway.
        call.catch(() => undefined);
        return { waitMs: 0 };
      }
      const waitMs = Number(outcome.value) || 0;
      return waitMs > 0 ? { waitMs } : { waitMs: 0, slot: member };
    },
    async answered(key, slot, windowMs) {
      if (!answers()) return;
      const call = redis.eval(ANSWERED, 1, `${REDIS_PACE_PREFIX}${key}`, windowMs, slot);
      const outcome = await settledWithin(call, timeoutMs);
      if (outcome.state !== "fulfilled") call.catch(() => undefined);
    },
    async hold(key, ms) {
      if (!answers() || ms <= 0) return;
      const call = redis.eval(HOLD, 1, `${REDIS_PACE_PREFIX}hold:${key}`, Math.ceil(ms));
      const outcome = await settledWithin(call, timeoutMs);
      if (outcome.state !== "fulfilled") call.catch(() => undefined);
    },
  };
}
