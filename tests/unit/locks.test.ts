import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import winston from "winston";
import { createCoordination, SINGLE_INSTANCE_NOTICE } from "../../storage/coordination.ts";
import { createInProcessLock, LockTimeoutError, type ChatLock } from "../../storage/locks.ts";
import { createInProcessRateLimiter } from "../../storage/rate-limit.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `count` tasks on one key at once; each records when it starts and ends, yielding in between. */
async function hammer(lock: ChatLock, key: string, count: number) {
  const events: string[] = [];
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      lock.withLock(key, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        events.push(`start ${i}`);
        await sleep(i % 3);
        await Promise.resolve();
        events.push(`end ${i}`);
        inside--;
        return i;
      }),
    ),
  );
  return { events, maxInside };
}

test("updates of one chat run one at a time, in the order they arrived", async () => {
  const lock = createInProcessLock();
  const { events, maxInside } = await hammer(lock, "chat:t1:telegram:42", 100);
  assert.equal(maxInside, 1);
  assert.deepEqual(events, Array.from({ length: 100 }, (_, i) => [`start ${i}`, `end ${i}`]).flat());
  await sleep(0);
  assert.equal(lock.busyKeys, 0, "an idle key leaves nothing behind");
});

test("updates of different chats run concurrently", async () => {
  const lock = createInProcessLock();
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      lock.withLock(`chat:${i}`, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await sleep(20);
        inside--;
      }),
    ),
  );
  assert.equal(maxInside, 10);
  await sleep(0);
  assert.equal(lock.busyKeys, 0);
});

test("a failing holder passes the key on and the caller sees its error", async () => {
  const lock = createInProcessLock();
  const first = lock.withLock("k", async () => {
    throw new Error("flow exploded");
  });
  const second = lock.withLock("k", async () => "second ran");
  await assert.rejects(first, /flow exploded/);
  assert.equal(await second, "second ran");
  await sleep(0); // the key is forgotten once the queue behind it has settled
  assert.equal(lock.busyKeys, 0);
});

test("a caller stuck behind a slow holder gives up after waitMs, and the key stays protected", async () => {
  const lock = createInProcessLock();
  let holderDone = false;
  const holder = lock.withLock("k", async () => {
    await sleep(150);
    holderDone = true;
  });
  await assert.rejects(
    lock.withLock("k", async () => "never", { waitMs: 30 }),
    (error: unknown) => error instanceof LockTimeoutError && error.key === "k" && /still held/.test(error.message),
  );
  // The caller that gave up must not make the key look free while the holder still runs.
  const next = await lock.withLock("k", async () => holderDone);
  assert.equal(next, true);
  await holder;
  await sleep(0);
  assert.equal(lock.busyKeys, 0);
});

test("the in-process rate limiter allows exactly the limit per window, then the window passes", async () => {
  const limiter = createInProcessRateLimiter();
  const results = [];
  for (let i = 0; i < 7; i++) results.push(await limiter.consume("chat:1", 5, 1_000));
  assert.deepEqual(
    results.map((r) => r.allowed),
    [true, true, true, true, true, false, false],
  );
  assert.deepEqual(
    results.map((r) => r.remaining),
    [4, 3, 2, 1, 0, 0, 0],
  );
  assert.ok(results[5].retryAfterMs > 800 && results[5].retryAfterMs <= 1_000, `retryAfterMs ${results[5].retryAfterMs}`);
  assert.equal((await limiter.consume("chat:2", 5, 1_000)).allowed, true, "another key has its own window");
  await sleep(1_050);
  assert.deepEqual(await limiter.consume("chat:1", 5, 1_000), { allowed: true, remaining: 4, retryAfterMs: 0 });
});

test("a window shorter than a second lasts a second; a limit of 0 admits nobody", async () => {
  const limiter = createInProcessRateLimiter();
  assert.equal((await limiter.consume("k", 1, 300)).allowed, true);
  await sleep(400);
  const denied = await limiter.consume("k", 1, 300);
  assert.equal(denied.allowed, false);
  assert.ok(denied.retryAfterMs > 0 && denied.retryAfterMs <= 600, `retryAfterMs ${denied.retryAfterMs}`);
  assert.deepEqual(await limiter.consume("z", 0, 1_000), { allowed: false, remaining: 0, retryAfterMs: 1_000 });
});

test("a nonsensical limit is refused with what is expected", async () => {
  const limiter = createInProcessRateLimiter();
  await assert.rejects(limiter.consume("k", -1, 1000), /whole number ≥ 0/);
  await assert.rejects(limiter.consume("k", 1, 0), /window must be/);
});

test("without REDIS_URL the platform runs single-instance and says so once", async () => {
  const stream = new PassThrough();
  let output = "";
  stream.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const log = winston.createLogger({ level: "debug", format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });

  const first = createCoordination({ log });
  const second = createCoordination({ redisUrl: undefined, log });
  assert.equal(first.mode, "single-instance");
  assert.equal(second.mode, "single-instance");
  assert.equal(first.redis, undefined);
  assert.equal(await first.lock.withLock("k", async () => "ran"), "ran");
  assert.equal((await first.limiter.consume("k", 1, 1000)).allowed, true);
  await first.close();
  await second.close();

  const lines = output.trim().split("\n").map((line) => JSON.parse(line) as { level: string; message: string });
  assert.deepEqual(lines, [{ level: "warn", message: SINGLE_INSTANCE_NOTICE }]);
  assert.equal(SINGLE_INSTANCE_NOTICE, "REDIS_URL is not set: running single-instance with in-process locks and rate limits");
});
