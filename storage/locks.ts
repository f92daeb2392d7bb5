/**
 * Per-key mutual exclusion, so updates from one chat never interleave.
 *
 * ```ts
 * await lock.withLock(`chat:${tenantId}:${channel}:${chatId}`, () => engine.handle(inbound));
 * ```
 *
 * Holders of one key run one at a time, in arrival order within a process; different keys run
 * concurrently. A caller that cannot get the key within `waitMs` (default 30 s) gets a
 * {@link LockTimeoutError} instead of waiting forever behind a stuck holder.
 *
 * Two implementations: {@link createInProcessLock} for a single instance, and
 * {@link createRedisLock} when several instances share the chats. The Redis lock has a lease
 * (`leaseMs`, default 30 s) renewed while the holder runs, so a holder that dies (even
 * `kill -9`) frees its key when the lease runs out, and a live one keeps it however long it takes.
 *
 * While Redis does not answer, the Redis lock degrades to the in-process one instead of making
 * every chat wait for it: customers keep being answered, and what the cross-instance lock would
 * have prevented — two instances running turns of one chat at once — is still caught by the
 * session's version check (the engine re-runs or asks to resend; it never applies both).
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { settledWithin } from "./settled-within.ts";

/** Where the Redis lock reports what it could not do (a winston logger fits). */
export interface LockLog {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface ChatLock {
  withLock<T>(key: string, fn: () => Promise<T>, opts?: { leaseMs?: number; waitMs?: number }): Promise<T>;
}

/** The key stayed held by someone else for the whole wait. Usually: an earlier update is still being handled. */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
  constructor(
    readonly key: string,
    readonly waitedMs: number,
  ) {
    super(`lock "${key}" is still held by another update after waiting ${waitedMs} ms; retry once it finishes`);
  }
}

const DEFAULT_WAIT_MS = 30_000;
const DEFAULT_LEASE_MS = 30_000;

/** Where the Redis lock for `key` lives; exported for tests and operators inspecting Redis. */
export const REDIS_LOCK_PREFIX = "niaga:lock:";

/**
 * Per-key FIFO: each caller waits for the one before it. A key's entry disappears when its last
 * holder finishes, so memory follows the number of busy keys, not of keys ever seen.
 * `leaseMs` does not apply: a holder in this process cannot die without the process.
 */
export function createInProcessLock(): ChatLock & { readonly busyKeys: number } {
  const tails = new Map<string, Promise<void>>();
  return {
    get busyKeys() {
      return tails.size;
    },
    async withLock(key, fn, opts) {
      const waitMs = opts?.waitMs ?? DEFAULT_WAIT_MS;
      const previous = tails.get(key);
      let release!: () => void;
      const done = new Promise<void>((resolve) => (release = resolve));
      // The next caller waits for both: this turn may end (timeout) before the previous one does.
      const tail = previous ? Promise.all([previous, done]).then(() => undefined) : done;
      tails.set(key, tail);
      // Forget the key only once everyone queued so far is done: a caller that gave up must not
      // make the key look free while the holder it gave up on still runs.
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      if (previous && (await settledWithin(previous, waitMs)).state === "pending") {
        release();
        throw new LockTimeoutError(key, waitMs);
      }
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}

// Compare-and-delete / compare-and-extend: only the token that took the key may touch it, so a
// holder whose lease ran out cannot delete or extend the lock of whoever took the key next.
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

const POLL_MIN_MS = 10;
const POLL_MAX_MS = 100;

/**
 * A lock shared by every instance using the same Redis: `SET key token NX PX lease`, renewed
 * every third of the lease while `fn` runs, released by compare-and-delete. Callers in the
 * same process queue in front of it (an in-process chain), so an instance never polls Redis
 * against itself and its own callers keep their order.
 */
export function createRedisLock(redis: Redis, options: { log: LockLog; redisAnswers?: () => boolean }): ChatLock {
  const { log } = options;
  const local = createInProcessLock();
  const redisAnswers = options.redisAnswers ?? (() => true);
  return {
    withLock(key, fn, opts) {
      const waitMs = opts?.waitMs ?? DEFAULT_WAIT_MS;
      const leaseMs = opts?.leaseMs ?? DEFAULT_LEASE_MS;
      const deadline = Date.now() + waitMs;
      return local.withLock(
        key,
        async () => {
          if (!redisAnswers()) return fn();
          const redisKey = REDIS_LOCK_PREFIX + key;
          const token = randomUUID();
          try {
            await acquire(redis, redisKey, token, leaseMs, deadline, key, waitMs);
          } catch (error) {
            if (error instanceof LockTimeoutError) throw error;
            // Redis stopped answering in the middle: this turn goes on under the in-process lock.
            log.debug("redis lock not taken; running under the in-process lock", { lockKey: key, error: (error as Error).message });
            return fn();
          }
          const renewal = keepLeased(redis, redisKey, token, leaseMs, key, log);
          try {
            return await fn();
          } finally {
            renewal.stop();
            await redis.eval(RELEASE, 1, redisKey, token).catch((error: Error) => {
              // The lease will free the key anyway; the next holder only waits longer. During an
              // outage that is every turn, and the outage itself is already logged.
              log[redisAnswers() ? "warn" : "debug"]("could not release a redis lock; it frees itself when its lease ends", {
                lockKey: key,
                leaseMs,
                error: error.message,
              });
            });
          }
        },
        { waitMs },
      );
    },
  };
}

async function acquire(redis: Redis, redisKey: string, token: string, leaseMs: number, deadline: number, key: string, waitMs: number) {
  let pause = POLL_MIN_MS;
  for (;;) {
    if ((await redis.set(redisKey, token, "PX", leaseMs, "NX")) === "OK") return;
    const left = deadline - Date.now();
    if (left <= 0) throw new LockTimeoutError(key, waitMs);
    // Jitter keeps instances waiting on one key from polling in lockstep.
    await sleep(Math.min(left, pause / 2 + Math.random() * pause));
    pause = Math.min(pause * 2, POLL_MAX_MS);
  }
}

function keepLeased(redis: Redis, redisKey: string, token: string, leaseMs: number, key: string, log: LockLog) {
  let lost = false;
  const timer = setInterval(() => {
    redis.eval(RENEW, 1, redisKey, token, leaseMs).then(
      (renewed) => {
        if (renewed === 1 || lost) return;
        lost = true;
        log.error("a redis lock expired while its holder was still running; updates for this key may interleave", {
          lockKey: key,
          leaseMs,
        });
      },
      // A blip: the next tick tries again, and two more ticks fit in the lease.
      (error: Error) => log.debug("redis lock renewal failed", { lockKey: key, error: error.message }),
    );
  }, Math.max(1, Math.floor(leaseMs / 3)));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
