// Leases (storage/leases.ts) on both backends, with the same expectations: a real
// redis-server, and MongoDB (the embedded server, or a real one with MONGODB_URI).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { PollingLeases } from "../../adapters/telegram/polling-leases.ts";
import type { EngineLog } from "../../flows/engine/actions.ts";
import { createMongoLeases, createRedisLeases, LeaseRecord, type Leases } from "../../storage/leases.ts";
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

    it("a thousand stores cost one renewal and one lookup a tick, whichever instance holds them", async () => {
      const calls = { renew: 0, holders: 0, acquire: 0 };
      const counted = (leases: Leases): Leases => ({
        ...leases,
        renew: (k, ttl) => (calls.renew++, leases.renew(k, ttl)),
        holders: (k) => (calls.holders++, leases.holders(k)),
        acquire: (k, ttl) => (calls.acquire++, leases.acquire(k, ttl)),
      });
      const keeper = (holder: string) => new PollingLeases({
        leases: counted(leasesFor(holder)), leaseMs: 60_000, logFor: () => quiet, log: quiet, onGranted: () => undefined, onLost: () => undefined,
      });
      const [a, b] = [keeper(`${backend}-a`), keeper(`${backend}-b`)];
      const stores = Array.from({ length: 1000 }, (_, i) => `store-${backend}-${i}`);
      try {
        const joinAll = async (keeper: PollingLeases) => {
          const held: boolean[] = [];
          for (let i = 0; i < stores.length; i += 50) held.push(...(await Promise.all(stores.slice(i, i + 50).map((id) => keeper.join(id, id)))));
          return held;
        };
        assert.ok((await joinAll(a)).every(Boolean), "a takes every free lease");
        assert.ok(!(await joinAll(b)).some(Boolean), "b takes none");
        Object.assign(calls, { renew: 0, holders: 0, acquire: 0 });
        await a.tick();
        await b.tick();
        assert.deepEqual(calls, { renew: 1, holders: 1, acquire: 0 });
        assert.ok(stores.every((id) => a.holds(id) && !b.holds(id)));
      } finally {
        await a.close();
        await b.close();
      }
      const released = await leasesFor("probe").holders(stores.map((id) => `telegram-polling:${id}`));
      assert.equal(released.size, 0, "closing released every lease in one go");
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
