/**
 * What instances of the platform share to stay out of each other's way: the per-chat lock and
 * the rate limiter. With `REDIS_URL` both live in Redis; without it they live in this process,
 * which is right for one instance and wrong for several, so the start says so in the log.
 * `health` probes Redis (and whatever else the process watches, such as MongoDB): while Redis
 * does not answer, the lock and the limits fall back to this process's own at once.
 * The leases (which instance polls which store) live in MongoDB, with or without Redis: a
 * store's polling then depends only on what its turns need anyway, so a Redis outage never
 * pauses it.
 *
 * ```ts
 * const coordination = createCoordination({ redisUrl: config.redisUrl, log: logger });
 * // … on shutdown:
 * await coordination.close();
 * ```
 */
import type { Redis } from "ioredis";
import type winston from "winston";
import { DependencyHealth } from "./dependency-health.ts";
import { createMongoLeases, type Leases } from "./leases.ts";
import { createInProcessLock, createRedisLock, type ChatLock } from "./locks.ts";
import { createInProcessRateLimiter, createRedisRateLimiter, type RateLimiter } from "./rate-limit.ts";
import { connectRedis } from "./redis.ts";
import { createRedisPace, type SharedPace } from "./shared-pace.ts";

export interface Coordination {
  lock: ChatLock;
  limiter: RateLimiter;
  /** Needs MongoDB connected (mongoose) when `REDIS_URL` is unset. */
  leases: Leases;
  redis?: Redis;
  /** Outgoing budgets shared by the instances (Redis); absent for a single instance. */
  pace?: SharedPace;
  /** Probes Redis when it is used; the platform adds MongoDB. */
  health: DependencyHealth;
  mode: "redis" | "single-instance";
  close(): Promise<void>;
}

export const SINGLE_INSTANCE_NOTICE = "REDIS_URL is not set: running single-instance with in-process locks and rate limits";

let noticeGiven = false;

export function createCoordination(opts: { redisUrl?: string; log: winston.Logger; health?: DependencyHealth; registerSecret?: (value: string) => void }): Coordination {
  const health = opts.health ?? new DependencyHealth({ log: opts.log });
  if (!opts.redisUrl) {
    // Once per process: CLI commands and tests may build several, the operator needs to hear it once.
    if (!noticeGiven) {
      noticeGiven = true;
      opts.log.warn(SINGLE_INSTANCE_NOTICE);
    }
    return {
      lock: createInProcessLock(),
      limiter: createInProcessRateLimiter(),
      leases: createMongoLeases(),
      health,
      mode: "single-instance",
      close: () => health.stop(),
    };
  }
  const redis = connectRedis(opts.redisUrl, opts.log, { logOutages: false, ...(opts.registerSecret && { registerSecret: opts.registerSecret }) });
  health.watch("redis", () => redis.ping());
  const redisAnswers = () => health.isUp("redis");
  return {
    lock: createRedisLock(redis, { log: opts.log, redisAnswers }),
    limiter: createRedisRateLimiter(redis, { redisAnswers }),
    leases: createMongoLeases(),
    pace: createRedisPace(redis, { redisAnswers }),
    redis,
    health,
    mode: "redis",
    close: async () => {
      await health.stop();
      await closeRedis(redis);
    },
  };
}

/** QUIT lets pending replies arrive; if Redis is away that never completes, so the socket is dropped after a second. */
async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "end") return;
  const ended = new Promise<void>((resolve) => redis.once("end", () => resolve()));
  const dropAfter = setTimeout(() => redis.disconnect(), 1_000);
  const giveUpAfter = new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref());
  redis.quit().catch(() => redis.disconnect());
  await Promise.race([ended, giveUpAfter]);
  clearTimeout(dropAfter);
}
