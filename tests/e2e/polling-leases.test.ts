// Several `niaga start` processes on the same stores, as an operator runs them for
// availability: one polls a store's bot, the others stand by and take over when it stops,
// dies (kill -9) or freezes (SIGSTOP); a frozen one that wakes up does not poll again. The
// store's polling lease lives in MongoDB without REDIS_URL, in Redis with it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { User } from "grammy/types";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { instanceEnv, killIfRunning, type LogLine, type Niaga, startNiagaProcess } from "../support/niaga-process.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { startTelegramEmulator, type ApiCall, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { seedStore } from "../support/stores.ts";

const LEASE_MS = 3000;
const TICK_MS = LEASE_MS / 3;
/** What a loaded two-core machine may add to a takeover: timers late, a process slow to be scheduled. */
const SLACK_MS = 2500;
const REPLY_MS = 15_000;

const key = randomBytes(32);
let db: TestDatabase;
let tg: TelegramEmulator;

before(async () => {
  db = await openTestDatabase("niaga_polling_leases", { indexes: false, encryptionKey: key });
  tg = await startTelegramEmulator();
});

after(async () => {
  await tg.stop();
  await db.close();
});

async function createStore(name: string): Promise<{ slug: string; token: string; name: string }> {
  const { token } = tg.bot();
  const slug = `toko-${randomBytes(3).toString("hex")}`;
  await seedStore({ slug, name, locale: "en", telegram: { token } });
  return { slug, token, name };
}

for (const backend of ["mongodb", "redis"] as const) {
  describe(`niaga start twice on one store, ${backend === "redis" ? "with" : "without"} REDIS_URL (leases in MongoDB)`, () => {
    let redis: TestRedis | undefined;
    let store: { slug: string; token: string; name: string };
    const running: Niaga[] = [];
    const users: User[] = [];
    let sent = 0;

    before(async () => {
      if (backend === "redis") redis = await startRedis();
      store = await createStore(`Toko ${backend}`);
      for (let i = 0; i < 3; i++) users.push(tg.user({ first_name: `Pembeli ${i + 1}`, language_code: "en" }));
    });
    after(async () => {
      for (const platform of running) {
        platform.child.kill("SIGCONT");
        killIfRunning(platform);
      }
      await redis?.stop();
    });

    /** `niaga start` whose Bot API calls the emulator tags with `client`. */
    async function niaga(client: string): Promise<Niaga> {
      const { platform } = await startNiagaProcess({
        ...instanceEnv({ mongodbUri: db.uri, encryptionKey: key, telegramApiRoot: tg.apiRootFor(client), pollLeaseMs: LEASE_MS }),
        RECONCILE_INTERVAL_MS: "1000",
        ...(redis && { REDIS_URL: redis.url }),
      });
      running.push(platform);
      return platform;
    }

    const leaseTaken = (l: LogLine) => l.tenant === store.slug && /^telegram polling lease taken/.test(l.message ?? "");
    const polls = (client?: string): ApiCall[] => tg.calls(store.token, "getUpdates").filter((c) => client === undefined || c.client === client);
    const firstPollAfter = async (client: string, since: number): Promise<ApiCall> => {
      const deadline = Date.now() + LEASE_MS * 4 + SLACK_MS;
      for (;;) {
        const found = polls(client).find((c) => c.receivedAt > since);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`${client} did not poll within ${LEASE_MS * 4 + SLACK_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };

    /** Each customer sends /start and waits for the store's greeting; resolves when all are answered. */
    async function everyoneGreeted(): Promise<void> {
      sent += 1;
      await Promise.all(users.map(async (user) => {
        const asked = await tg.sendCommand(store.token, user, "/start");
        await tg.waitForSent(store.token, user, (m) => m.message_id > asked.message_id && (m.text ?? "").includes(store.name), REPLY_MS);
      }));
    }

    function assertAnsweredOnce(): void {
      for (const user of users) {
        const greetings = tg.sent(store.token, user).filter((m) => (m.text ?? "").includes(store.name)).length;
        assert.equal(greetings, sent, `${user.first_name} sent /start ${sent} times and was greeted ${greetings} times`);
      }
      assert.deepEqual(tg.conflicts(store.token).map((c) => c.client), [], "no 409 Conflict");
    }

    let a: Niaga;
    let b: Niaga;

    it("the first instance polls; the second stands by and never calls getUpdates", async () => {
      a = await niaga("a");
      await a.waitForLog(leaseTaken, "a taking the store's polling lease");
      b = await niaga("b");
      await everyoneGreeted();
      await everyoneGreeted();
      await new Promise((resolve) => setTimeout(resolve, 2 * TICK_MS));
      assert.deepEqual([...new Set(polls().map((c) => c.client))], ["a"]);
      assert.ok(!b.lines.some(leaseTaken));
      assertAnsweredOnce();
    });

    it("a frozen holder (SIGSTOP) is replaced within the lease and a tick, and once thawed does not poll", async (t) => {
      const frozenAt = performance.now();
      a.child.kill("SIGSTOP");
      const first = await firstPollAfter("b", frozenAt);
      const took = first.receivedAt - frozenAt;
      t.diagnostic(`b polled ${Math.round(took)} ms after a froze (lease ${LEASE_MS} ms, tick ${TICK_MS} ms)`);
      assert.ok(took < LEASE_MS + TICK_MS + SLACK_MS, `takeover took ${Math.round(took)} ms`);
      assert.ok(polls("a").every((c) => c.answeredAt !== undefined && c.answeredAt <= first.receivedAt), "a's last long poll had ended before b's first");
      await everyoneGreeted();

      const thawedAt = performance.now();
      a.child.kill("SIGCONT");
      await a.waitForLog((l) => l.tenant === store.slug && l.level === "warn" && /^telegram polling lease (lost|ran out)/.test(l.message ?? ""), "a noticing it lost the lease");
      await everyoneGreeted();
      await new Promise((resolve) => setTimeout(resolve, 2 * TICK_MS));
      assert.deepEqual(polls("a").filter((c) => c.receivedAt > thawedAt), [], "a polled after waking up");
      assertAnsweredOnce();
    });

    it("a holder that stops (SIGTERM) hands over at once: the other polls within a tick", async (t) => {
      const stoppedAt = performance.now();
      b.child.kill("SIGTERM");
      const first = await firstPollAfter("a", stoppedAt);
      t.diagnostic(`a polled ${Math.round(first.receivedAt - stoppedAt)} ms after b was told to stop`);
      assert.ok(first.receivedAt - stoppedAt < TICK_MS + SLACK_MS, `takeover took ${Math.round(first.receivedAt - stoppedAt)} ms`);
      assert.equal((await b.exited).code, 0, b.stderr.slice(-2000));
      await everyoneGreeted();
      assertAnsweredOnce();
    });

    it("a holder killed with kill -9 is replaced within the lease and a tick", async (t) => {
      const c = await niaga("c");
      await everyoneGreeted();
      const killedAt = performance.now();
      a.child.kill("SIGKILL");
      const first = await firstPollAfter("c", killedAt);
      t.diagnostic(`c polled ${Math.round(first.receivedAt - killedAt)} ms after a was killed`);
      assert.ok(first.receivedAt - killedAt < LEASE_MS + TICK_MS + SLACK_MS, `takeover took ${Math.round(first.receivedAt - killedAt)} ms`);
      await everyoneGreeted();
      assert.ok(c.lines.some(leaseTaken));
      assertAnsweredOnce();
      c.child.kill("SIGTERM");
      assert.equal((await c.exited).code, 0, c.stderr.slice(-2000));
    });
  });
}
