// Two platform instances with the same store in polling mode, as when `niaga start` runs
// twice for availability: each registry here is one instance (its own engine and store
// bots, the same MongoDB and Telegram), with the reconcile sweep `niaga start` runs. The
// store's polling lease lives in MongoDB (no REDIS_URL) or in a real redis-server.
import { after, before, describe, it } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import type { User } from "grammy/types";
import { Redis } from "ioredis";
import type { StoreBots } from "../../adapters/telegram/store-bots.ts";
import { createPlatformHttp, type PlatformHttp } from "../../bots/http-server.ts";
import { logger } from "../../bots/logger.ts";
import { createMongoLeases, createRedisLeases, type Leases } from "../../storage/leases.ts";
import { createRedisLock, type ChatLock } from "../../storage/locks.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import type { ApiCall } from "../support/telegram-emulator.ts";
import { startStores, words, type Store, type Stores } from "./store-fixture.ts";
import { eventually } from "../support/eventually.ts";

const LEASE_MS = 3000;
const TICK_MS = LEASE_MS / 3;
const SWEEP_MS = 200;

/** Runs `reconcileChanged` every SWEEP_MS, as `niaga start` does every RECONCILE_INTERVAL_MS. */
function sweeping(bots: StoreBots): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout;
  const tick = () => {
    void bots.reconcileChanged().catch(() => undefined).finally(() => {
      if (!stopped) timer = setTimeout(tick, SWEEP_MS);
    });
  };
  timer = setTimeout(tick, SWEEP_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Customers in `repeat`, each sending `perUser` messages one after another; resolves when every one is echoed. */
async function converse(stores: Stores, store: Store, users: User[], perUser: number, label = "pesan"): Promise<void> {
  const { tg } = stores;
  await Promise.all(users.map(async (user) => {
    const asked = await tg.sendCommand(store.token, user, "/repeat");
    await tg.waitForSent(store.token, user, (m) => m.message_id > asked.message_id && words(m) === "Ketik apa saja.", 30_000);
    for (let i = 1; i <= perUser; i++) {
      const sent = await tg.sendText(store.token, user, `${label} ${i}`);
      await tg.waitForSent(store.token, user, (m) => m.message_id > sent.message_id && words(m) === `Echo: ${label} ${i}`, 30_000);
    }
  }));
}

/** Replies that answer the same message more than once, over all `users`. */
function duplicates(stores: Stores, store: Store, users: User[]): string[] {
  const seen = new Map<string, number>();
  for (const user of users) {
    for (const m of stores.tg.sent(store.token, user)) {
      if (!words(m).startsWith("Echo:")) continue;
      const key = `${user.id}:${words(m)}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  return [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`);
}

function polls(stores: Stores, store: Store, client?: string): ApiCall[] {
  return stores.tg.calls(store.token, "getUpdates").filter((c) => client === undefined || c.client === client);
}

/** The first getUpdates `client` sent after `since` (performance.now()). */
function firstPollAfter(stores: Stores, store: Store, client: string, since: number): Promise<ApiCall> {
  return eventually(() => polls(stores, store, client).find((c) => c.receivedAt > since), `${client} to poll`, { timeoutMs: LEASE_MS * 4 });
}

/** A lease backend whose renewals can be held up, as if the process holding it froze. */
function freezable(leases: Leases) {
  let thaw: (() => void) | undefined;
  let frozen: Promise<void> | undefined;
  return {
    // Every call to the lease store hangs while frozen, as when it cannot be reached.
    leases: {
      ...leases,
      renew: async (keys: readonly string[], ttlMs: number) => { await frozen; return leases.renew(keys, ttlMs); },
      holders: async (keys: readonly string[]) => { await frozen; return leases.holders(keys); },
      held: async (keys: readonly string[]) => { await frozen; return leases.held(keys); },
      announce: async (group: string, ttlMs: number) => { await frozen; return leases.announce(group, ttlMs); },
      acquire: async (key: string, ttlMs: number) => { await frozen; return leases.acquire(key, ttlMs); },
    } satisfies Leases,
    freeze() {
      frozen = new Promise((resolve) => (thaw = resolve));
    },
    thaw() {
      frozen = undefined;
      thaw?.();
    },
  };
}

const backends = {
  mongodb: { leasesFor: (holder: string) => createMongoLeases({ holder }), lock: (): ChatLock | undefined => undefined },
  redis: { leasesFor: (holder: string) => createRedisLeases(redisClient, { holder }), lock: (): ChatLock | undefined => createRedisLock(redisClient, { log: console }) },
};
let redisClient: Redis;
let redisServer: TestRedis | undefined;

for (const [backend, { leasesFor, lock }] of Object.entries(backends)) {
  describe(`two instances polling one store, lease in ${backend}`, () => {
    let stores: Stores;
    before(async () => {
      stores = await startStores();
      if (backend === "redis") {
        redisServer = await startRedis();
        redisClient = new Redis(redisServer.url);
      }
    });
    after(async () => {
      await stores.close();
      if (backend === "redis") {
        redisClient.disconnect();
        await redisServer?.stop();
      }
    });

    /** An instance with its own engine and registry, sweeping like `niaga start`; closed with the fixture. */
    /** Each instance has its own metrics registry, as each process has its own /metrics. */
    const metricsOf = new Map<string, PlatformHttp>();

    function instance(t: TestContext, client: string, leases: Leases = leasesFor(client)): StoreBots {
      const chatLock = lock();
      const http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
      metricsOf.set(client, http);
      const bots = stores.instance(client, { leases, pollLeaseMs: LEASE_MS, http, ...(chatLock && { lock: chatLock }) });
      t.after(sweeping(bots));
      return bots;
    }

    /** A polling store started on instance a, then on instance b. */
    async function startedOnBoth(t: TestContext, name: string, leasesOfA?: Leases) {
      const store = await stores.createStore({ name });
      const a = instance(t, "a", leasesOfA);
      const b = instance(t, "b");
      await a.start(store.id);
      await b.start(store.id);
      return { store, a, b };
    }

    it("one instance polls, the other stands by: no 409 conflict, every message answered exactly once", async (t) => {
      const { store, a, b } = await startedOnBoth(t, "Toko Kembar");
      assert.equal(a.status(store.id)?.pollingHere, true);
      assert.deepEqual([b.status(store.id)?.mode, b.status(store.id)?.pollingHere], ["polling", false], "b stands by in polling mode");

      const users = Array.from({ length: 10 }, (_, i) => stores.user({ first_name: `Pembeli ${i + 1}` }));
      await converse(stores, store, users, 10);
      // Long enough for b's sweeps and lease ticks to have tried, and a second answer to arrive.
      await new Promise((resolve) => setTimeout(resolve, 2 * TICK_MS));
      const twice = duplicates(stores, store, users);
      assert.deepEqual(
        { pollers: [...new Set(polls(stores, store).map((c) => c.client))], conflicts: stores.tg.conflicts(store.token).length, duplicates: twice.length },
        { pollers: ["a"], conflicts: 0, duplicates: 0 },
        `answered twice: ${twice.join(", ")}`,
      );
      const taken = stores.log.filter((l) => l.meta.tenant === store.slug && /polling lease taken/.test(l.message));
      assert.deepEqual(taken.map((l) => [l.level, l.meta.instance]), [["info", "a"]], "one takeover, logged once at info");
      for (const [client, polled] of [["a", 1], ["b", 0]] as const) {
        const gauge = await metricsOf.get(client)!.metrics.getSingleMetricAsString("niaga_telegram_polling_lease");
        assert.ok(gauge.includes(`niaga_telegram_polling_lease{store="${store.slug}"} ${polled}`), `${client}'s /metrics:\n${gauge}`);
      }
    });

    it("when the polling instance stops, the other takes over within a tick and answers what came meanwhile, once", async (t) => {
      const { store, a, b } = await startedOnBoth(t, "Toko Ganti");
      const sari = stores.user({ first_name: "Sari" });
      await converse(stores, store, [sari], 2, "sebelum");

      const stoppedAt = performance.now();
      await a.close(1000);
      const waiting = await stores.tg.sendText(store.token, sari, "waktu pindah");
      const first = await firstPollAfter(stores, store, "b", stoppedAt);
      t.diagnostic(`b polled ${Math.round(first.receivedAt - stoppedAt)} ms after a began to stop`);
      assert.ok(first.receivedAt - stoppedAt < TICK_MS + 1000, `takeover took ${Math.round(first.receivedAt - stoppedAt)} ms`);
      await stores.tg.waitForSent(store.token, sari, (m) => m.message_id > waiting.message_id && words(m) === "Echo: waktu pindah", 10_000);
      await converse(stores, store, [sari], 3, "sesudah");

      assert.equal(stores.tg.conflicts(store.token).length, 0);
      assert.deepEqual(duplicates(stores, store, [sari]), []);
      assert.ok(polls(stores, store, "a").every((c) => c.receivedAt < first.receivedAt), "a polled no more once b did");
      assert.equal(b.status(store.id)?.pollingHere, true);
    });

    it("when the polling instance stops renewing, the other takes over once the lease lapses, and the first never polls again", async (t) => {
      const frozen = freezable(leasesFor("a"));
      const { store, a } = await startedOnBoth(t, "Toko Beku", frozen.leases);
      const users = [stores.user({ first_name: "Tono" }), stores.user({ first_name: "Uli" })];
      await converse(stores, store, users, 2, "sebelum");

      const frozenAt = performance.now();
      frozen.freeze();
      // Customers keep writing while the lease runs out.
      const during = converse(stores, store, users, 3, "selama");
      const first = await firstPollAfter(stores, store, "b", frozenAt);
      t.diagnostic(`b polled ${Math.round(first.receivedAt - frozenAt)} ms after a stopped renewing (lease ${LEASE_MS} ms, tick ${TICK_MS} ms)`);
      assert.ok(first.receivedAt - frozenAt < LEASE_MS + TICK_MS + 1000, `takeover took ${Math.round(first.receivedAt - frozenAt)} ms`);
      const lastOfA = polls(stores, store, "a").at(-1)!;
      assert.ok(lastOfA.answeredAt! <= first.receivedAt, "a's last long poll had ended before b's first began");
      await during;

      const thawedAt = performance.now();
      frozen.thaw();
      await eventually(() => stores.log.some((l) => l.meta.tenant === store.slug && l.meta.instance === "a" && l.level === "warn" && /polling lease (lost|ran out)/.test(l.message)), "a to notice it lost the lease");
      assert.equal(a.status(store.id)?.pollingHere, false);
      await converse(stores, store, users, 2, "sesudah");
      await new Promise((resolve) => setTimeout(resolve, 2 * TICK_MS));

      assert.deepEqual(polls(stores, store, "a").filter((c) => c.receivedAt > frozenAt && c.receivedAt > lastOfA.receivedAt), []);
      assert.ok(polls(stores, store, "a").every((c) => c.receivedAt < thawedAt), "a, thawed, does not poll");
      assert.equal(stores.tg.conflicts(store.token).length, 0);
      assert.deepEqual(duplicates(stores, store, users), []);
    });
  });
}
