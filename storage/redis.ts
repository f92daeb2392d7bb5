/**
 * The Redis connection shared by locks and rate limits (`REDIS_URL`).
 *
 * ```ts
 * const redis = connectRedis(config.redisUrl, log);
 * ```
 *
 * The client connects at once and keeps reconnecting for as long as Redis is away, waiting at
 * most 2 s between attempts; meanwhile a command fails after two more attempts (a few seconds)
 * instead of queueing forever, so a chat update gets an apology rather than hanging. The outage is logged
 * once when it starts and once when it ends, never with the URL's password.
 */
import { Redis } from "ioredis";
import type winston from "winston";
import { logger, registerSecret } from "../bots/logger.ts";

const MAX_RECONNECT_DELAY_MS = 2_000;

/** `host:port/db` of a Redis URL: enough to tell which server is meant, nothing secret. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "(unparseable REDIS_URL)";
  }
}

export function connectRedis(url: string, log: winston.Logger = logger): Redis {
  const password = passwordOf(url);
  if (password) registerSecret(password);
  const target = describeRedisUrl(url);
  const redis = new Redis(url, {
    lazyConnect: false,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS),
  });
  let down = false;
  redis.on("error", (error: Error) => {
    // ioredis repeats the same error on every reconnect attempt; one line per outage is enough.
    if (down) return;
    down = true;
    log.error("redis is unreachable; locks and rate limits fail until it is back", { redis: target, error: error.message });
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    log.warn("redis is reachable again", { redis: target });
  });
  return redis;
}

function passwordOf(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
