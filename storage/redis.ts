/**
 * The Redis connection shared by locks and rate limits (`REDIS_URL`).
 *
 * ```ts
 * const redis = connectRedis(config.redisUrl, log);
 * ```
 *
 * The client connects at once and keeps reconnecting for as long as Redis is away, waiting at
 * most 2 s between attempts; meanwhile a command fails after two more attempts (a few seconds)
 * instead of queueing forever. A server that stops answering without closing the connection (a
 * frozen process, a dead network path) is caught by `commandTimeout`: every command gives up
 * after `REDIS_COMMAND_TIMEOUT_MS`. A lost connection is logged once when it goes and once when
 * it is back, never with the URL's password — unless `logOutages` is false because a
 * `DependencyHealth` probe reports outages instead.
 */
import { Redis } from "ioredis";
import type winston from "winston";
import { logger } from "../bots/logger.ts";
import { registerSecret } from "./secrets-redaction.ts";

const MAX_RECONNECT_DELAY_MS = 2_000;
/** Longer than any command the platform sends takes on a healthy server; short enough that no customer waits on it. */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;

/** `host:port/db` of a Redis URL: enough to tell which server is meant, nothing secret. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "(unparseable REDIS_URL)";
  }
}

export function connectRedis(url: string, log: winston.Logger = logger, opts: { logOutages?: boolean } = {}): Redis {
  const password = passwordOf(url);
  if (password) registerSecret(password);
  const target = describeRedisUrl(url);
  const redis = new Redis(url, {
    lazyConnect: false,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 2,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS),
  });
  let down = false;
  const logOutages = opts.logOutages ?? true;
  redis.on("error", (error: Error) => {
    if (!logOutages) return;
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
