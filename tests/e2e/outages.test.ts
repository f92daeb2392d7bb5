// MongoDB and Redis stop answering under a running `niaga start`: both are real server
// processes (the embedded MongoDB server as `niaga db`, a real redis-server), frozen with
// SIGSTOP — the socket stays open and nothing errors, which is what a hung server or a dead
// network path looks like — and thawed with SIGCONT.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Message, User } from "grammy/types";
import { t } from "../../locales/i18n.ts";
import { initI18n } from "../../locales/i18n.ts";
import { connectMongo, disconnectMongo } from "../../storage/connection.ts";
import { configureEncryption } from "../../storage/crypto.ts";
import { OwnerAlertRecord, OwnerNoticeRecord } from "../../storage/models/index.ts";
import { killIfRunning, Niaga, startNiagaProcess, type LogLine } from "../support/niaga-process.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { seedStore } from "../support/stores.ts";

const key = randomBytes(32);
const SLUG = "toko-tahan";
const STORE = "Toko Tahan";
/** `POLL_LEASE_MS`'s default: an outage longer than it must not pause polling. */
const LEASE_MS = 15_000;

let db: Niaga;
let redis: TestRedis;
let tg: TelegramEmulator;
let token: string;
let platform: Niaga;
let port: number;
let mongodbUri: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const greeting = (after: number) => (m: Message) => m.message_id > after && (m.text ?? "").includes(STORE);
const heldNotice = () => t("id", "engine.outage.held");

async function readyz(): Promise<{ status: number; checks: Record<string, boolean> }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, boolean> }).checks };
}

/** Polls /readyz until `check` holds; fails naming what it last saw. */
async function readyzUntil(check: (r: Awaited<ReturnType<typeof readyz>>) => boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last: Awaited<ReturnType<typeof readyz>> | undefined;
  while (Date.now() < deadline) {
    last = await readyz();
    if (check(last)) return last;
    await sleep(200);
  }
  assert.fail(`/readyz never showed ${what}; last: ${JSON.stringify(last)}`);
}

const linesAbout = (dependency: string, message: RegExp) => platform.lines.filter((l: LogLine) => l.dependency === dependency && message.test(l.message ?? ""));
/** The owner's alerts about `dependency` ("MongoDB", "Redis"): without an owner bot they are these log lines. */
const ownerAlerts = (dependency: string, notice: "raised" | "resolved") =>
  platform.lines.filter((l: LogLine) => l.alert === "dependency-down" && l.notice === notice && (l.message ?? "").startsWith("owner alert:") && (l.message ?? "").includes(`${dependency} `));

/** What the owner's alerts stored about `dependency` (read over a connection of the test's own). */
async function storedAlerts(dependency: string) {
  await connectMongo(mongodbUri, { attempts: 1 });
  try {
    const alerts = await OwnerAlertRecord.find({ key: `dependency-down:platform:${dependency}` }).lean().exec();
    const notices = await OwnerNoticeRecord.find({ alertId: { $in: alerts.map((a) => a._id) } }).lean().exec();
    return { alerts, notices };
  } finally {
    await disconnectMongo();
  }
}

/** The owner's alert about `dependency` once it is stored as resolved (it waits in memory until MongoDB answers). */
async function eventuallyStored(dependency: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const stored = await storedAlerts(dependency);
    if (stored.alerts[0]?.state === "resolved" && stored.notices.length === 2) return stored;
    if (Date.now() > deadline) assert.fail(`the ${dependency} alert was never stored as resolved: ${JSON.stringify(stored)}`);
    await sleep(500);
  }
}

before(async () => {
  await initI18n();
  db = new Niaga(["db", "--port", "0"], {});
  const uri = await new Promise<string>((resolve, reject) => {
    db.child.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    db.exited.then(() => reject(new Error(`niaga db exited: ${db.stderr}`)), () => undefined);
  });
  mongodbUri = `${uri.replace(/\/$/, "")}/niaga_outages`;
  redis = await startRedis();
  tg = await startTelegramEmulator();
  ({ token } = tg.bot());
  await connectMongo(mongodbUri, { attempts: 1 });
  configureEncryption(key);
  await seedStore({ slug: SLUG, name: STORE, locale: "id", telegram: { token } });
  await disconnectMongo();
  ({ platform, port } = await startNiagaProcess({
    MONGODB_URI: mongodbUri,
    REDIS_URL: redis.url,
    ENCRYPTION_KEY: key.toString("base64"),
    TELEGRAM_API_ROOT: tg.apiRoot,
    HTTP_PORT: "0",
    LOG_LEVEL: "info",
    NODE_ENV: "test",
  }));
});

after(async () => {
  for (const pid of [redis?.pid, db?.child.pid]) if (pid) process.kill(pid, "SIGCONT");
  killIfRunning(platform);
  await platform?.exited;
  await tg?.stop();
  await redis?.stop();
  killIfRunning(db);
});

describe("when Redis stops answering", () => {
  it("customers are still answered, /readyz names Redis within seconds, and the owner hears of the outage once each way, without a restart", async () => {
    const ani: User = tg.user({ first_name: "Ani", language_code: "id" });
    const first = await tg.sendCommand(token, ani, "/start");
    await tg.waitForSent(token, ani, greeting(first.message_id), 15_000);
    assert.deepEqual((await readyz()).checks, { mongodb: true, redis: true, channels: true });

    process.kill(redis.pid, "SIGSTOP");
    try {
      const during = await tg.sendCommand(token, ani, "/start");
      // Answered while Redis is still frozen: the lock and limits fall back to this process's.
      await tg.waitForSent(token, ani, greeting(during.message_id), 15_000);
      const down = await readyzUntil((r) => r.status === 503, "503 while Redis is frozen");
      assert.deepEqual(down.checks, { mongodb: true, redis: false, channels: true });
      const other: User = tg.user({ first_name: "Beni", language_code: "id" });
      const second = await tg.sendCommand(token, other, "/start");
      await tg.waitForSent(token, other, greeting(second.message_id), 10_000);
      // Longer than a polling lease: polling must not depend on Redis.
      await sleep(LEASE_MS + 3_000);
      const late = await tg.sendCommand(token, other, "/start");
      await tg.waitForSent(token, other, greeting(late.message_id), 10_000);
      assert.equal(linesAbout("redis", /is not answering/).length, 1, JSON.stringify(platform.lines.slice(-10)));
      assert.equal(linesAbout("redis", /answers again/).length, 0);
    } finally {
      process.kill(redis.pid, "SIGCONT");
    }
    await readyzUntil((r) => r.status === 200, "200 once Redis is back");
    await platform.waitForLog((l) => l.dependency === "redis" && /answers again/.test(l.message ?? ""), "redis coming back");
    assert.equal(linesAbout("redis", /answers again/).length, 1);
    assert.equal(linesAbout("redis", /is not answering/).length, 1);
    assert.equal(linesAbout("redis", /answers again/)[0].level, "warn");

    // The owner heard it once each way (the log is the owner's channel without OWNER_BOT_TOKEN).
    await platform.waitForLog((l) => l.alert === "dependency-down" && l.notice === "resolved", "the recovery alert", 15_000);
    assert.equal(ownerAlerts("Redis", "raised").length, 1, JSON.stringify(ownerAlerts("Redis", "raised")));
    assert.equal(ownerAlerts("Redis", "resolved").length, 1);
    assert.match(ownerAlerts("Redis", "raised")[0]!.message!, /Platform · Redis not answering/);
    assert.match(ownerAlerts("Redis", "resolved")[0]!.message!, /Redis not answering: recovered[\s\S]*downFor: \d+ s/);
    const { alerts, notices } = await storedAlerts("redis");
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.state, "resolved");
    assert.equal(alerts[0]!.count, 1);
    assert.deepEqual(notices.map((n) => `${n.type}:${n.state}`).sort(), ["raised:sent", "resolved:sent"]);
    assert.equal(platform.child.exitCode, null, "no restart was needed");
  });
});

describe("when MongoDB stops answering", () => {
  it("customers hear at once that their message is held, /readyz names MongoDB, each held message is answered once it is back, and the owner gets one alert and one recovery, without a restart", async () => {
    const citra: User = tg.user({ first_name: "Citra", language_code: "id" });
    const dodi: User = tg.user({ first_name: "Dodi", language_code: "id" });
    const warm = await tg.sendCommand(token, citra, "/start");
    await tg.waitForSent(token, citra, greeting(warm.message_id), 15_000);

    process.kill(db.child.pid!, "SIGSTOP");
    let citraAsked: Message, dodiAsked: Message, ekoAsked: Message, eko: User;
    try {
      // Sent before the platform can know: this turn is stuck on the database when the probe notices.
      citraAsked = await tg.sendCommand(token, citra, "/start");
      await tg.waitForSent(token, citra, (m) => m.message_id > citraAsked.message_id && m.text === heldNotice(), 15_000);
      const down = await readyzUntil((r) => r.status === 503, "503 while MongoDB is frozen");
      assert.equal(down.checks.mongodb, false);
      assert.equal(down.checks.redis, true);
      // Sent once the platform knows: held without touching the database, told at once.
      dodiAsked = await tg.sendCommand(token, dodi, "/start");
      await tg.waitForSent(token, dodi, (m) => m.message_id > dodiAsked.message_id && m.text === heldNotice(), 5_000);
      assert.equal(tg.sent(token, dodi).filter(greeting(dodiAsked.message_id)).length, 0, "not answered while the database is away");
      assert.equal(linesAbout("mongodb", /is not answering/).length, 1);
      // Longer than a polling lease: the store is still polled, so a latecomer is told too.
      await sleep(LEASE_MS);
      eko = tg.user({ first_name: "Eko", language_code: "id" });
      ekoAsked = await tg.sendCommand(token, eko, "/start");
      await tg.waitForSent(token, eko, (m) => m.message_id > ekoAsked.message_id && m.text === heldNotice(), 10_000);
    } finally {
      process.kill(db.child.pid!, "SIGCONT");
    }
    await tg.waitForSent(token, citra, greeting(citraAsked.message_id), 30_000);
    await tg.waitForSent(token, dodi, greeting(dodiAsked.message_id), 30_000);
    await tg.waitForSent(token, eko, greeting(ekoAsked.message_id), 30_000);
    await readyzUntil((r) => r.status === 200, "200 once MongoDB is back");
    await sleep(1_000);
    assert.equal(tg.sent(token, citra).filter(greeting(citraAsked.message_id)).length, 1, "answered once");
    assert.equal(tg.sent(token, dodi).filter(greeting(dodiAsked.message_id)).length, 1, "answered once");
    assert.equal(tg.sent(token, dodi).filter((m) => m.text === heldNotice()).length, 1, "told once");
    assert.equal(linesAbout("mongodb", /answers again/).length, 1);

    // Raised while MongoDB could not store it: sent from memory at once, stored once MongoDB answered.
    assert.equal(ownerAlerts("MongoDB", "raised").length, 1, JSON.stringify(ownerAlerts("MongoDB", "raised")));
    await platform.waitForLog((l) => l.alert === "dependency-down" && l.notice === "resolved" && (l.message ?? "").includes("MongoDB"), "the MongoDB recovery alert", 15_000);
    const stored = await eventuallyStored("mongodb");
    assert.equal(stored.alerts.length, 1, "one alert for the whole outage");
    assert.equal(stored.alerts[0]!.count, 1);
    assert.deepEqual(stored.notices.map((n) => `${n.type}:${n.state}`).sort(), ["raised:sent", "resolved:sent"], "stored as sent: never sent twice");
    await sleep(3_000); // two delivery passes: nothing pending is left to send again
    assert.equal(ownerAlerts("MongoDB", "raised").length, 1);
    assert.equal(ownerAlerts("MongoDB", "resolved").length, 1);
    assert.match(ownerAlerts("MongoDB", "resolved")[0]!.message!, /MongoDB not answering: recovered[\s\S]*downFor: \d+ s/);
    assert.equal(platform.child.exitCode, null, "no restart was needed");
  });
});
