import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { PassThrough } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import winston from "winston";
import { createCoordination } from "../../storage/coordination.ts";
import { createRedisLock, LockTimeoutError, REDIS_LOCK_PREFIX, type ChatLock } from "../../storage/locks.ts";
import { createRedisRateLimiter } from "../../storage/rate-limit.ts";
import { connectRedis } from "../../storage/redis.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const locksModule = pathToFileURL(fileURLToPath(new URL("../../storage/locks.ts", import.meta.url))).href;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: TestRedis;
const clients: Redis[] = [];

/** A separate connection, as a second instance of the platform would have. */
function instance(): { redis: Redis; lock: ChatLock } {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 2 });
  clients.push(redis);
  return { redis, lock: createRedisLock(redis, { log: console }) };
}

function captureLog() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const log = winston.createLogger({ level: "debug", format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { log, text: () => text };
}

before(async () => {
  server = await startRedis();
});

after(async () => {
  await Promise.all(clients.map((client) => client.quit().catch(() => undefined)));
  await server?.stop();
});

test("two instances never hold the same chat at the same time", async () => {
  const [a, b] = [instance(), instance()];
  let inside = 0;
  let maxInside = 0;
  let ran = 0;
  await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      (i % 2 ? a : b).lock.withLock("chat:t1:telegram:7", async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await sleep(1 + (i % 4));
        inside--;
        ran++;
      }),
    ),
  );
  assert.equal(ran, 30);
  assert.equal(maxInside, 1);
  assert.equal(await a.redis.exists(`${REDIS_LOCK_PREFIX}chat:t1:telegram:7`), 0, "the key is released after the last holder");
});

test("two instances work on different chats at the same time", async () => {
  const [a, b] = [instance(), instance()];
  let inside = 0;
  let maxInside = 0;
  const hold = async () => {
    inside++;
    maxInside = Math.max(maxInside, inside);
    await sleep(100);
    inside--;
  };
  await Promise.all([a.lock.withLock("chat:a", hold), b.lock.withLock("chat:b", hold)]);
  assert.equal(maxInside, 2);
});

test("a holder that runs longer than its lease keeps the chat: the lease is renewed", async () => {
  const [a, b] = [instance(), instance()];
  const order: string[] = [];
  const long = a.lock.withLock(
    "chat:slow",
    async () => {
      order.push("a start");
      await sleep(1_200);
      order.push("a end");
    },
    { leaseMs: 400 },
  );
  await sleep(50);
  await b.lock.withLock("chat:slow", async () => void order.push("b"), { leaseMs: 400 });
  await long;
  assert.deepEqual(order, ["a start", "a end", "b"]);
});

test("an instance waiting too long gets a LockTimeoutError naming the chat", async () => {
  const [a, b] = [instance(), instance()];
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const holder = a.lock.withLock("chat:busy", () => (holding(), sleep(600)));
  await held;
  await assert.rejects(
    b.lock.withLock("chat:busy", async () => "never", { waitMs: 150 }),
    (error: unknown) => error instanceof LockTimeoutError && error.key === "chat:busy",
  );
  await holder;
});

test("a crashed holder's chat is taken over once its lease runs out", async () => {
  const leaseMs = 1_000;
  const script = `
    const { Redis } = await import("ioredis");
    const { createRedisLock } = await import(${JSON.stringify(locksModule)});
    const lock = createRedisLock(new Redis(process.env.REDIS_URL), { log: console });
    await lock.withLock("chat:crash", () => { console.log("held"); return new Promise(() => setInterval(() => {}, 1000)); }, { leaseMs: ${leaseMs} });
  `;
  const holder = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    env: { ...process.env, REDIS_URL: server.url },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const [chunk] = (await once(holder.stdout, "data")) as [Buffer];
    assert.equal(chunk.toString().trim(), "held");
    const b = instance();
    // Alive, the holder renews its lease: waiting longer than the lease is not enough.
    await assert.rejects(b.lock.withLock("chat:crash", async () => "early", { waitMs: leaseMs * 1.5 }), LockTimeoutError);

    holder.kill("SIGKILL");
    await once(holder, "exit");
    const killedAt = Date.now();
    assert.equal(await b.lock.withLock("chat:crash", async () => "taken over", { waitMs: 10_000 }), "taken over");
    const waited = Date.now() - killedAt;
    assert.ok(waited <= leaseMs + 1_500, `took ${waited} ms to take over a ${leaseMs} ms lease`);
  } finally {
    if (holder.exitCode === null && holder.signalCode === null) holder.kill("SIGKILL");
  }
});

test("a holder whose lease expired does not release the next holder's lock", async () => {
  const a = instance();
  const raw = instance().redis;
  const redisKey = `${REDIS_LOCK_PREFIX}chat:expired`;
  await a.lock.withLock(
    "chat:expired",
    async () => {
      // As if a's lease had run out and another instance had taken the chat meanwhile.
      await raw.set(redisKey, "someone-else", "PX", 5_000);
    },
    { leaseMs: 5_000 },
  );
  assert.equal(await raw.get(redisKey), "someone-else");
  await raw.del(redisKey);
});

test("the Redis rate limiter allows exactly the limit per window, across instances", async () => {
  const limiters = [createRedisRateLimiter(instance().redis), createRedisRateLimiter(instance().redis)];
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => limiters[i % 2].consume("chat:flood", 10, 1_000)));
  const allowed = results.filter((r) => r.allowed);
  assert.equal(allowed.length, 10);
  assert.deepEqual(allowed.map((r) => r.remaining).sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (const denied of results.filter((r) => !r.allowed)) {
    assert.equal(denied.remaining, 0);
    assert.ok(denied.retryAfterMs > 0 && denied.retryAfterMs <= 1_000, `retryAfterMs ${denied.retryAfterMs}`);
  }
  await sleep(1_050);
  assert.deepEqual(await limiters[0].consume("chat:flood", 10, 1_000), { allowed: true, remaining: 9, retryAfterMs: 0 });
});

test("with REDIS_URL, coordination uses Redis and closes cleanly", async () => {
  const { log, text } = captureLog();
  const coordination = createCoordination({ redisUrl: server.url, log });
  assert.equal(coordination.mode, "redis");
  assert.ok(coordination.redis);
  assert.equal(await coordination.lock.withLock("chat:coord", async () => "ran"), "ran");
  assert.equal((await coordination.limiter.consume("chat:coord", 1, 1_000)).allowed, true);
  await coordination.close();
  assert.equal(coordination.redis.status, "end");
  assert.doesNotMatch(text(), /REDIS_URL is not set/);
});

test("an unreachable Redis is logged once, without the URL's password, and commands fail instead of hanging", async () => {
  const { log, text } = captureLog();
  const password = "s3cret-redis-pass";
  const gone = await startRedis();
  await gone.stop();
  const redis = connectRedis(`redis://:${password}@127.0.0.1:${gone.port}/0`, log);
  try {
    await assert.rejects(redis.ping());
    const lines = text().trim().split("\n");
    assert.equal(lines.length, 1, text());
    assert.match(lines[0], /redis is unreachable/);
    assert.match(lines[0], new RegExp(`redis://127\\.0\\.0\\.1:${gone.port}/0`));
    assert.ok(!text().includes(password));
  } finally {
    redis.disconnect();
  }
});
