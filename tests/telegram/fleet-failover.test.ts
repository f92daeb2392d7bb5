// Two platform instances sharing forty polling stores, as `niaga start` twice on one
// MongoDB: each registry here is one instance (its own engine and store bots, the same
// MongoDB and Telegram emulator). They split the stores between them and keep the split;
// when one dies (its calls to the lease store stop, nothing is released) the other polls
// every store once their leases lapse, and every customer is answered. The leases live in
// MongoDB (no REDIS_URL) or in a real redis-server.
import { after, before, describe, it } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import type { StoreBots } from "../../adapters/telegram/store-bots.ts";
import { createPlatformHttp } from "../../bots/http-server.ts";
import { logger } from "../../bots/logger.ts";
import { createMongoLeases, createRedisLeases, type Leases } from "../../storage/leases.ts";
import { eventually } from "../support/eventually.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { startStores, words, type Store, type Stores } from "./store-fixture.ts";

const LEASE_MS = 3000;
const TICK_MS = LEASE_MS / 3;
const STORES = 40;

/** Leases of an instance that can die: from `die()` on, none of its calls reaches the lease store, and nothing is released. */
function mortal(leases: Leases): { leases: Leases; die(): void } {
  let dead = false;
  const unlessDead = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => (...args: A) => (dead ? new Promise<R>(() => undefined) : call(...args));
  return {
    leases: {
      ...leases,
      acquire: unlessDead(leases.acquire), renew: unlessDead(leases.renew), release: unlessDead(leases.release),
      holders: unlessDead(leases.holders), held: unlessDead(leases.held), announce: unlessDead(leases.announce), withdraw: unlessDead(leases.withdraw),
    },
    die: () => void (dead = true),
  };
}

let redisServer: TestRedis | undefined;
let redisClient: Redis;
const backends = {
  mongodb: (holder: string) => createMongoLeases({ holder }),
  redis: (holder: string) => createRedisLeases(redisClient, { holder }),
};

for (const [backend, leasesFor] of Object.entries(backends)) {
  describe(`two instances sharing ${STORES} polling stores, leases in ${backend}`, () => {
    let stores: Stores;
    let shop: Store[];
    before(async () => {
      if (backend === "redis") {
        redisServer = await startRedis();
        redisClient = new Redis(redisServer.url);
      }
      stores = await startStores();
      shop = [];
      for (let i = 0; i < STORES; i++) shop.push(await stores.createStore({ name: `Toko ${backend} ${i + 1}` }));
    });
    after(async () => {
      await stores.close();
      if (backend === "redis") {
        redisClient.disconnect();
        await redisServer?.stop();
      }
    });

    function instance(client: string, leases: Leases): StoreBots {
      const http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
      const write = (level: "info" | "warn" | "error") => (message: string, meta: Record<string, unknown> = {}) => void stores.log.push({ level, message, meta: { instance: client, ...meta } });
      const log = { info: write("info"), warn: write("warn"), error: write("error") };
      return stores.instance(client, { leases, pollLeaseMs: LEASE_MS, http, log });
    }

    /** The stores each of two instances polls now (`a` the first, `b` the second). */
    const split = (first: StoreBots, second: StoreBots) => ({
      a: shop.filter((s) => first.status(s.id)?.pollingHere).map((s) => s.slug),
      b: shop.filter((s) => second.status(s.id)?.pollingHere).map((s) => s.slug),
    });
    const conflictsSince = (since: number) => shop.flatMap((s) => stores.tg.conflicts(s.token).filter((c) => c.receivedAt > since));
    const handOvers = (client: string) => stores.log.filter((l) => l.meta.instance === client && /handed over for balance/.test(l.message));

    let a: StoreBots;
    let b: StoreBots;
    let killA: () => void;

    it("started together, they split the stores, each polling 40–60 %, no store polled by both, and the split stays", async (t: TestContext) => {
      const mortalA = mortal(leasesFor(`a-${backend}`));
      killA = mortalA.die;
      a = instance("a", mortalA.leases);
      b = instance("b", leasesFor(`b-${backend}`));
      const startedAt = performance.now();
      await Promise.all(shop.flatMap((s) => [a.start(s.id), b.start(s.id)]));

      const settled = await eventually(() => {
        const now = split(a, b);
        const each = (n: number) => n >= STORES * 0.4 && n <= STORES * 0.6;
        return now.a.length + now.b.length === STORES && each(now.a.length) && each(now.b.length) && now;
      }, "the stores split between a and b", { timeoutMs: 10 * TICK_MS + 10_000 });
      const settledAt = performance.now();
      console.log(`${backend}: split ${settled.a.length}/${settled.b.length} ${Math.round(settledAt - startedAt)} ms after both started (lease ${LEASE_MS} ms); a handed over ${handOvers("a").length} time(s), b ${handOvers("b").length}`);
      assert.deepEqual(settled.a.filter((slug) => settled.b.includes(slug)), [], "no store polled by both");

      // Several ticks later the same split: nobody hands stores back and forth.
      const handedBefore = handOvers("a").length + handOvers("b").length;
      await new Promise((resolve) => setTimeout(resolve, 4 * TICK_MS));
      assert.deepEqual(split(a, b), settled);
      assert.equal(handOvers("a").length + handOvers("b").length, handedBefore, "no hand-over once settled");
      assert.deepEqual(conflictsSince(settledAt).map((c) => c.client), [], "no 409 Conflict once settled");
      t.diagnostic(`409s before settling: ${conflictsSince(0).length}`);

      const sari = stores.user({ first_name: "Sari" });
      await everyStoreAnswers(sari, "before");
    });

    it("when one dies without releasing anything, the survivor polls every store once the leases lapse, and every customer is answered", async () => {
      const diedAt = performance.now();
      killA();
      const all = await eventually(() => {
        const now = split(a, b);
        return now.b.length === STORES && now;
      }, "b to poll every store", { timeoutMs: 4 * LEASE_MS + 10_000 });
      console.log(`${backend}: b polled all ${STORES} stores ${Math.round(performance.now() - diedAt)} ms after a died (lease ${LEASE_MS} ms, tick ${TICK_MS} ms)`);
      assert.equal(all.b.length, STORES);
      assert.deepEqual(conflictsSince(diedAt).map((c) => c.client), [], "no 409 Conflict: a stopped polling before b began");
      await eventually(() => split(a, b).a.length === 0, "a to notice its leases are gone");
      const tono = stores.user({ first_name: "Tono" });
      await everyStoreAnswers(tono, "after");
    });

    it("a new instance joining takes about half: the survivor hands the excess over as on a graceful stop, with no conflict and no message answered twice", async () => {
      const joinedAt = performance.now();
      const c = instance("c", leasesFor(`c-${backend}`));
      await Promise.all(shop.map((s) => c.start(s.id)));
      const each = (n: number) => n >= STORES * 0.4 && n <= STORES * 0.6;
      const settled = await eventually(() => {
        const now = split(b, c);
        return now.a.length + now.b.length === STORES && each(now.a.length) && each(now.b.length) && now;
      }, "the stores split between b and c", { timeoutMs: 10 * TICK_MS + 10_000 });
      console.log(`${backend}: c polls ${settled.b.length} of ${STORES} stores ${Math.round(performance.now() - joinedAt)} ms after it started`);
      assert.ok(handOvers("b").length >= 1, "b logged handing stores over for balance");
      assert.deepEqual(conflictsSince(joinedAt).map((c) => c.client), [], "no 409 Conflict during the hand-over");
      const uli = stores.user({ first_name: "Uli" });
      await everyStoreAnswers(uli, "after c joined");
      await new Promise((resolve) => setTimeout(resolve, 2 * TICK_MS));
      for (const store of shop) {
        const greetings = stores.tg.sent(store.token, uli).filter((m) => words(m).includes(store.name)).length;
        assert.equal(greetings, 1, `${store.slug} greeted Uli ${greetings} times`);
      }
    });

    /** `user` sends /start to every store and is greeted by each. */
    async function everyStoreAnswers(user: ReturnType<Stores["user"]>, when: string): Promise<void> {
      await Promise.all(shop.map(async (store) => {
        const asked = await stores.tg.sendCommand(store.token, user, "/start");
        await stores.tg.waitForSent(store.token, user, (m) => m.message_id > asked.message_id && words(m).includes(store.name), 30_000)
          .catch((error: unknown) => {
            throw new Error(`${store.slug} did not answer ${when}: ${(error as Error).message}`);
          });
      }));
    }
  });
}
