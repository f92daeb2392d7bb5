// Leases (storage/leases.ts) on both backends, with the same expectations: a real
// redis-server, and MongoDB (the embedded server, or a real one with MONGODB_URI).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { PollingLeases } from "../../adapters/telegram/polling-leases.ts";
import type { EngineLog } from "../../flows/engine/actions.ts";
import { createMongoLeases, createRedisLeases, LeaseRecord, type Leases } from "../../storage/leases.ts";
import { performance } from "node:perf_hooks";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";

const TTL_MS = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quiet: EngineLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

let db: TestDatabase;
let redisServer: TestRedis;
let redis: Redis;
let keys = 0;
/** A key no other test uses. */
const freshKey = () => `test:${++keys}:${Date.now()}`;

before(async () => {
  db = await openTestDatabase("niaga_leases", { indexes: false });
  redisServer = await startRedis();
  redis = new Redis(redisServer.url);
});

after(async () => {
  redis.disconnect();
  await redisServer?.stop();
  await db?.close();
});

const backends: Record<string, (holder: string) => Leases> = {
  redis: (holder) => createRedisLeases(redis, { holder }),
  mongodb: (holder) => createMongoLeases({ holder }),
};

for (const [backend, leasesFor] of Object.entries(backends)) {
  describe(`leases in ${backend}`, () => {
    it("one holder at a time: a second instance cannot take a lease that is held", async () => {
      const [a, b] = [leasesFor("a"), leasesFor("b")];
      const key = freshKey();
      const grant = await a.acquire(key, 10_000);
      assert.equal(grant?.key, key);
      assert.equal(await b.acquire(key, 10_000), undefined);
      assert.deepEqual(await b.holders([key]), new Map([[key, "a"]]));
    });

    it("exactly one of many instances racing for a fresh lease gets it", async () => {
      const key = freshKey();
      const instances = Array.from({ length: 20 }, (_, i) => leasesFor(`racer-${i}`));
      const grants = await Promise.all(instances.map((leases) => leases.acquire(key, 10_000)));
      const winners = grants.filter((g) => g !== undefined);
      assert.equal(winners.length, 1);
      const holder = instances[grants.findIndex((g) => g !== undefined)].holder;
      assert.deepEqual(await instances[0].holders([key]), new Map([[key, holder]]));
    });

    it("only the holder renews, many leases in one call, and a renewed lease outlives its first term", async () => {
      const [a, b] = [leasesFor("a"), leasesFor("b")];
      const [mine, theirs, nobodys] = [freshKey(), freshKey(), freshKey()];
      await a.acquire(mine, TTL_MS);
      await b.acquire(theirs, 10_000);
      assert.deepEqual(await a.renew([mine, theirs, nobodys], TTL_MS), new Set([mine]));
      assert.deepEqual(await b.renew([mine], TTL_MS), new Set());
      for (let i = 0; i < 3; i++) {
        await sleep(TTL_MS / 2);
        assert.deepEqual(await a.renew([mine], TTL_MS), new Set([mine]), `renewal ${i + 1}`);
      }
      assert.equal(await b.acquire(mine, TTL_MS), undefined, "still held after three half-terms");
    });

    it("a lapsed lease is taken over with a higher epoch; the old holder can no longer renew or release it", async () => {
      const [a, b] = [leasesFor("a"), leasesFor("b")];
      const key = freshKey();
      const first = await a.acquire(key, TTL_MS);
      await sleep(TTL_MS + 100);
      assert.deepEqual(await a.holders([key]), new Map(), "lapsed: nobody holds it");
      const second = await b.acquire(key, 10_000);
      assert.ok(first && second && second.epoch > first.epoch, `epochs ${first?.epoch} then ${second?.epoch}`);
      assert.deepEqual(await a.renew([key], 10_000), new Set());
      await a.release([key]);
      assert.deepEqual(await b.holders([key]), new Map([[key, "b"]]));
    });

    it("a released lease can be taken at once, with a higher epoch; taking it again raises the epoch too", async () => {
      const [a, b] = [leasesFor("a"), leasesFor("b")];
      const key = freshKey();
      const first = await a.acquire(key, 10_000);
      await a.release([key]);
      assert.deepEqual(await a.holders([key]), new Map());
      const second = await b.acquire(key, 10_000);
      const third = await b.acquire(key, 10_000);
      assert.deepEqual([first?.epoch, second?.epoch, third?.epoch], [1, 2, 3]);
      await a.release([key]);
      assert.deepEqual(await a.holders([key]), new Map([[key, "b"]]), "a release by someone else changes nothing");
    });

    it("held tells each lease's holder and how long it has left; free and lapsed ones are absent", async () => {
      const [a, b] = [leasesFor("a"), leasesFor("b")];
      const [long, short, free] = [freshKey(), freshKey(), freshKey()];
      await a.acquire(long, 10_000);
      await b.acquire(short, TTL_MS);
      const held = await b.held([long, short, free]);
      assert.deepEqual([...held.keys()].sort(), [long, short].sort());
      assert.equal(held.get(long)?.holder, "a");
      assert.ok(held.get(long)!.remainingMs > TTL_MS && held.get(long)!.remainingMs <= 10_000, `a's lease has ${held.get(long)!.remainingMs} ms left`);
      assert.ok(held.get(short)!.remainingMs > 0 && held.get(short)!.remainingMs <= TTL_MS, `b's lease has ${held.get(short)!.remainingMs} ms left`);
      await sleep(held.get(short)!.remainingMs + 50);
      assert.deepEqual([...(await a.held([short]))], [], "lapsed once its time was up");
      assert.ok(await a.acquire(short, TTL_MS), "and can be taken then");
    });

    it("members of a group count each other while they announce themselves; one that stops is counted out when its term ends, one that withdraws at once", async () => {
      const group = `group-${freshKey()}`;
      const [a, b, c] = [leasesFor("a"), leasesFor("b"), leasesFor("c")];
      assert.deepEqual(await a.announce(group, 10_000), ["a"]);
      assert.deepEqual((await b.announce(group, TTL_MS)).sort(), ["a", "b"]);
      assert.deepEqual((await c.announce(group, 10_000)).sort(), ["a", "b", "c"]);
      await sleep(TTL_MS + 100);
      assert.deepEqual((await a.announce(group, 10_000)).sort(), ["a", "c"], "b stopped announcing");
      await c.withdraw(group);
      assert.deepEqual(await a.announce(group, 10_000), ["a"], "c withdrew");
      assert.deepEqual(await leasesFor("d").announce(`other-${group}`, 10_000), ["d"], "groups are apart");
    });

    it("a thousand stores between two instances: split in halves, then one renewal, one announcement and one lookup a tick each", async () => {
      const calls = { renew: 0, held: 0, announce: 0, acquire: 0 };
      const counted = (leases: Leases): Leases => ({
        ...leases,
        renew: (k, ttl) => (calls.renew++, leases.renew(k, ttl)),
        held: (k) => (calls.held++, leases.held(k)),
        announce: (g, ttl) => (calls.announce++, leases.announce(g, ttl)),
        acquire: (k, ttl) => (calls.acquire++, leases.acquire(k, ttl)),
      });
      const handedOver: number[] = [];
      const keeper = (holder: string) => new PollingLeases({
        leases: counted(leasesFor(holder)), leaseMs: 60_000, onGranted: () => undefined, onLost: () => undefined, logFor: () => quiet,
        log: { ...quiet, info: (message, meta) => void (/handed over for balance/.test(message) && handedOver.push(meta?.stores as number)) },
      });
      const [a, b] = [keeper(`${backend}-a-${Date.now()}`), keeper(`${backend}-b-${Date.now()}`)];
      const stores = Array.from({ length: 1000 }, (_, i) => `store-${backend}-${i}`);
      try {
        const joinAll = async (keeper: PollingLeases) => {
          const held: boolean[] = [];
          for (let i = 0; i < stores.length; i += 50) held.push(...(await Promise.all(stores.slice(i, i + 50).map((id) => keeper.join(id, id)))));
          return held;
        };
        assert.ok((await joinAll(a)).every(Boolean), "a, alone, takes every free lease");
        assert.ok(!(await joinAll(b)).some(Boolean), "b takes none: a holds them");
        await a.tick();
        assert.deepEqual(handedOver, [500], "a, counting two instances now, hands half over");
        await eventually(async () => {
          await b.tick();
          return b.polled === 500;
        }, "b to take the half a handed over");
        assert.deepEqual([a.polled, b.polled], [500, 500]);
        assert.ok(stores.every((id) => a.holds(id) !== b.holds(id)), "each store polled by exactly one");

        Object.assign(calls, { renew: 0, held: 0, announce: 0, acquire: 0 });
        for (let i = 0; i < 3; i++) {
          await a.tick();
          await b.tick();
        }
        assert.deepEqual(calls, { renew: 6, held: 6, announce: 6, acquire: 0 }, "three quiet ticks each");
        assert.deepEqual([a.polled, b.polled, handedOver.length], [500, 500, 1], "the split stays");
      } finally {
        await a.close();
        await b.close();
      }
      const released = await leasesFor("probe").holders(stores.map((id) => `telegram-polling:${id}`));
      assert.equal(released.size, 0, "closing released every lease in one go");
    });

    it("a waiting instance takes a dead holder's leases the moment they lapse, with no tick in between", async () => {
      const lease = 1500;
      // A holder that dies: from `die()` on, none of its calls reaches the lease store.
      let dying = false;
      const mortal = (leases: Leases): Leases => {
        const unlessDead = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => (...args: A) => (dying ? new Promise<R>(() => undefined) : call(...args));
        return {
          ...leases, renew: unlessDead(leases.renew), announce: unlessDead(leases.announce), acquire: unlessDead(leases.acquire),
          held: unlessDead(leases.held), release: unlessDead(leases.release), withdraw: unlessDead(leases.withdraw),
        };
      };
      const dead = new PollingLeases({ leases: mortal(leasesFor(`dead-${Date.now()}`)), leaseMs: lease, onGranted: () => undefined, onLost: () => undefined, logFor: () => quiet, log: quiet });
      const granted: string[] = [];
      const survivor = new PollingLeases({
        leases: leasesFor(`survivor-${Date.now()}`), leaseMs: 60_000, logFor: () => quiet, log: quiet, onLost: () => undefined,
        onGranted: (id) => void granted.push(id),
      });
      const stores = Array.from({ length: 20 }, (_, i) => `lapse-${backend}-${Date.now()}-${i}`);
      try {
        for (const id of stores) assert.ok(await dead.join(id, id));
        for (const id of stores) assert.ok(!(await survivor.join(id, id)));
        // The holder dies: no more renewals, nothing released. The survivor's own ticks are a minute apart.
        const diedAt = performance.now();
        dying = true;
        await survivor.tick();
        await eventually(() => granted.length === stores.length, "the survivor to take every lapsed lease", { timeoutMs: lease * 4 });
        console.log(`${backend}: ${stores.length} leases taken ${Math.round(performance.now() - diedAt)} ms after their holder died (lease ${lease} ms)`);
        assert.ok(stores.every((id) => survivor.holds(id)));
      } finally {
        // The dead instance's timers would tick for ever, each waiting on calls that never
        // answer, and keep this file's process alive: it is let through and closed.
        dying = false;
        await dead.close();
        await survivor.close();
      }
    });
  });
}

describe("leases in mongodb, between instances whose clocks differ", () => {
  it("an instance whose clock runs ahead sees a lease lapse early by that much: the holder's margin must cover it", async () => {
    const key = freshKey();
    const start = Date.now();
    const a = createMongoLeases({ holder: "a", now: () => start });
    await a.acquire(key, 10_000);
    const aheadBy = (ms: number) => createMongoLeases({ holder: `b+${ms}`, now: () => start + ms });
    assert.equal(await aheadBy(9_000).acquire(key, 10_000), undefined, "1 s before the lease ends on b's clock");
    assert.ok(await aheadBy(10_000).acquire(key, 10_000), "taken once b's clock reaches the end of the lease");
    const saved = await LeaseRecord.findById(key).lean().exec();
    assert.deepEqual([saved?.holder, saved?.epoch], ["b+10000", 2]);
  });
});
