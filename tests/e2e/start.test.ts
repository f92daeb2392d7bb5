// `niaga start` as an operator runs it: a real child process on an embedded MongoDB and
// the Telegram Bot API emulator, a customer talking to a store's bot, `niaga tenant
// suspend|resume` from another process, health checks, SIGTERM.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { User } from "grammy/types";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { startRedis } from "../support/redis.ts";
import { killIfRunning, Niaga, startNiagaProcess } from "../support/niaga-process.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { seedStore } from "../support/stores.ts";

const key = randomBytes(32);
const SLUG = "toko-ujung";
const STORE = "Toko Ujung";

let db: TestDatabase;
let tg: TelegramEmulator;
let token: string;
let env: Record<string, string>;

before(async () => {
  db = await openTestDatabase("niaga_start", { indexes: false, encryptionKey: key });
  tg = await startTelegramEmulator();
  ({ token } = tg.bot());
  await seedStore({ slug: SLUG, name: STORE, locale: "id", telegram: { token } });
  env = {
    MONGODB_URI: db.uri,
    ENCRYPTION_KEY: key.toString("base64"),
    TELEGRAM_API_ROOT: tg.apiRoot,
    HTTP_PORT: "0",
    RECONCILE_INTERVAL_MS: "200",
    LOG_LEVEL: "info",
    NODE_ENV: "test",
    DEFAULT_LOCALE: "en",
  };
});

after(async () => {
  await tg.stop();
  await db.close();
});

/** `niaga start` with `env` (and more), once it has logged its start line. */
function startNiaga(extraEnv: Record<string, string> = {}) {
  return startNiagaProcess({ ...env, ...extraEnv });
}

describe("niaga start", () => {
  let platform: Niaga;
  let port: number;

  const cli = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const run = new Niaga(args, { ...env, ...extraEnv });
    const { code } = await run.exited;
    return { code, stdout: run.stdout, stderr: run.stderr };
  };
  const greeting = (after: number) => (m: { message_id: number; text?: string }) => m.message_id > after && (m.text ?? "").includes(STORE);

  before(async () => {
    ({ platform, port } = await startNiaga());
  });
  after(() => killIfRunning(platform));

  it("logs one start line with its mode, port and store bots, and never a token", async () => {
    const line = platform.lines.find((l) => /^niaga started/.test(l.message ?? ""))!;
    assert.equal(line.mode, "single-instance");
    assert.ok(Number.isInteger(port) && port > 0);
    assert.deepEqual(line.storeBots, { started: 1, failed: 0 });
    const channels = line.channels as Record<string, { started: number; failed: number; ms: number }>;
    assert.equal(channels.telegram.started, 1);
    assert.ok(Object.values(channels).every((c) => Number.isInteger(c.ms) && c.ms >= 0), "each channel's start duration, in ms");
    assert.deepEqual(line.started, [SLUG]);
    assert.match(line.message!, /single-instance, HTTP on port \d+, 1 store bots started, 0 failed/);
    assert.ok(!platform.stderr.includes(token.split(":")[1]), "the bot token never reaches the log");
  });

  it("answers /healthz and /readyz", async () => {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { checks: unknown; notices?: Record<string, string> };
    assert.deepEqual(body.checks, { mongodb: true, channels: true });
    // No OWNER_BOT_TOKEN here: ready, and saying that nobody hears the owner alerts.
    assert.match(body.notices?.ownerAlerts ?? "", /nobody hears the owner alerts: set OWNER_BOT_TOKEN/);
  });

  it("greets a customer who sends /start with the store's name", async () => {
    const sari: User = tg.user({ first_name: "Sari", language_code: "id" });
    const sent = await tg.sendCommand(token, sari, "/start");
    const reply = await tg.waitForSent(token, sari, greeting(sent.message_id), 15_000);
    assert.match(reply.text ?? "", /selamat datang di Toko Ujung/);
  });

  it("stops answering once the store is suspended from another process, and answers what waited once resumed", async () => {
    const budi: User = tg.user({ first_name: "Budi", language_code: "id" });
    const suspended = await cli(["tenant", "suspend", SLUG, "--reason", "e2e"]);
    assert.equal(suspended.code, 0, suspended.stderr);
    await platform.waitForLog((l) => l.message === "telegram store bot stopped" && l.tenant === SLUG, "the bot stopping");

    const waiting = await tg.sendCommand(token, budi, "/start");
    const stoppedAt = tg.calls(token).length;
    const resumed = await cli(["tenant", "resume", SLUG]);
    assert.equal(resumed.code, 0, resumed.stderr);
    await tg.waitForSent(token, budi, greeting(waiting.message_id), 15_000);

    // The bot was not answering while suspended: the reply came only after it started again
    // (from its remembered identity, so its first call is polling's deleteWebhook, not getMe).
    const since = tg.calls(token).slice(stoppedAt).map((c) => c.method);
    assert.ok(since.indexOf("deleteWebhook") >= 0 && since.indexOf("deleteWebhook") < since.indexOf("sendMessage"), `calls after the suspension: ${since.join(", ")}`);
    assert.equal(tg.sent(token, budi).filter(greeting(waiting.message_id)).length, 1, "answered once");
  });

  it("stops on SIGTERM with exit code 0 and is gone", async () => {
    platform.child.kill("SIGTERM");
    const { code } = await platform.exited;
    assert.equal(code, 0, platform.stderr.slice(-2000));
    assert.ok(platform.lines.some((l) => l.message === "niaga stopped"));
    assert.throws(() => process.kill(platform.child.pid!, 0), { code: "ESRCH" });
  });

  it("refuses a bad environment with one line naming the variable and exit code 2", async () => {
    const bads: Array<Record<string, string>> = [{ HTTP_PORT: "abc" }, { ENCRYPTION_KEY: "" }];
    for (const bad of bads) {
      const result = await cli(["start"], bad);
      const name = Object.keys(bad)[0];
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.match(result.stderr, new RegExp(name));
    }
  });
});

describe("niaga start with REDIS_URL", () => {
  it("says it runs in redis mode, is ready only with Redis, and stops on SIGTERM", async () => {
    const redis = await startRedis();
    let platform: Niaga | undefined;
    try {
      const started = await startNiaga({ REDIS_URL: redis.url });
      platform = started.platform;
      assert.equal(started.startLine.mode, "redis");
      assert.match(started.startLine.message!, /^niaga started: redis, /);
      assert.ok(!platform.lines.some((l) => /REDIS_URL is not set/.test(l.message ?? "")));
      const ready = await fetch(`http://127.0.0.1:${started.port}/readyz`);
      assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { mongodb: true, redis: true, channels: true });
      platform.child.kill("SIGTERM");
      assert.equal((await platform.exited).code, 0, platform.stderr.slice(-2000));
    } finally {
      killIfRunning(platform);
      await redis.stop();
    }
  });
});

describe("niaga start with METRICS_TOKEN and METRICS_PORT", () => {
  it("serves /metrics only on its own listener, only with the bearer token, and never logs the token", async () => {
    const metricsToken = randomBytes(24).toString("hex");
    let platform: Niaga | undefined;
    try {
      const started = await startNiaga({ METRICS_TOKEN: metricsToken, METRICS_PORT: "0" });
      platform = started.platform;
      const metricsPort = started.startLine.metricsPort as number;
      assert.ok(Number.isInteger(metricsPort) && metricsPort > 0 && metricsPort !== started.port, `metrics on port ${metricsPort}`);
      const scrape = (port: number, authorization?: string) => fetch(`http://127.0.0.1:${port}/metrics`, { headers: authorization ? { authorization } : {} });
      assert.equal((await scrape(started.port, `Bearer ${metricsToken}`)).status, 404, "not on HTTP_PORT");
      assert.equal((await scrape(metricsPort)).status, 401);
      const ok = await scrape(metricsPort, `Bearer ${metricsToken}`);
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /niaga_http_requests_total/);
      platform.child.kill("SIGTERM");
      assert.equal((await platform.exited).code, 0, platform.stderr.slice(-2000));
      assert.ok(!platform.stderr.includes(metricsToken), "the token never reaches the log");
    } finally {
      killIfRunning(platform);
    }
  });
});
