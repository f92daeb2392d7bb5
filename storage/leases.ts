/**
 * Leases: a named right that one instance of the platform holds for a while and must renew,
 * so that exactly one instance does a job at a time (long polling a store's Telegram bot)
 * and another takes over when it stops renewing.
 *
 * ```ts
 * const leases = createRedisLeases(redis);                 // or createMongoLeases()
 * const grant = await leases.acquire("telegram-polling:64f…", 15_000);
 * if (grant) { … poll …; await leases.renew(["telegram-polling:64f…"], 15_000); }
 * await leases.release(["telegram-polling:64f…"]);
 * ```
 *
 * A lease is held by `leases.holder` (this process) until `ttlMs` after the last successful
 * acquire or renew. `held(keys)` says who holds each and for how long yet, so a waiting
 * instance can take a lease the moment it lapses; `announce(group, ttl)` keeps this holder
 * counted among a group's live members (instances sharing work count each other with it). Whoever acquires a free or lapsed lease gets a higher `epoch` than any
 * holder before (a fencing token). `renew` and `release` act only on leases this holder
 * still has, and take many keys in one round trip, so a thousand stores cost one call
 * per renewal, not a thousand.
 *
 * Two implementations, one behaviour:
 *
 * - {@link createRedisLeases}: `SET key holder NX PX ttl`, compare-and-renew and
 *   compare-and-release in Lua; the epoch is a counter beside the key that never expires.
 *   Expiry runs on Redis's clock, relative to when Redis carried out the call (`PTTL` for
 *   `held`); a group is a sorted set of members by expiry on Redis's clock.
 * - {@link createMongoLeases}: one document per lease in `leases` (`_id` = key, `holder`,
 *   `expiresAt`, `epoch`), taken with one `findOneAndUpdate` whose filter says "lapsed or
 *   mine" (upsert for a first-ever lease; a duplicate-key error means someone else has
 *   it). No transactions, no TTL monitor: a lapsed document stays until someone takes it.
 *   A group member is a document `<group>/<holder>` in the same collection.
 *   Expiry is a timestamp written with **this process's clock** and compared with the
 *   clock of whoever reads it, so instances' clocks must agree (NTP) to well within the
 *   safety margin their users keep (see `PollingLeases`: a fifth of the lease).
 *
 * The catch, for both: a lease tells its holder when it *may* still act; the holder must
 * itself stop before `ttlMs` has passed since it *sent* its last successful renewal (not
 * since the answer came), minus a margin, whether or not it has heard back.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { Schema, model } from "mongoose";

export interface LeaseGrant {
  readonly key: string;
  /** Higher than the epoch of every earlier holder of this key. */
  readonly epoch: number;
}

export interface Leases {
  /** Who this process is on the leases it holds: `host:pid:random`. */
  readonly holder: string;
  readonly backend: "redis" | "mongodb";
  /** Takes `key` if it is free, lapsed, or already this holder's; `undefined` when another holder has it. */
  acquire(key: string, ttlMs: number): Promise<LeaseGrant | undefined>;
  /** Extends the leases this holder still has among `keys`; resolves with those keys. */
  renew(keys: readonly string[], ttlMs: number): Promise<Set<string>>;
  /** Gives up whichever of `keys` this holder has, so another instance may take them at once. */
  release(keys: readonly string[]): Promise<void>;
  /** The current holder of each of `keys` that is held now (lapsed and free ones are absent). */
  holders(keys: readonly string[]): Promise<Map<string, string>>;
  /**
   * Like `holders`, with how long each lease has left, so a waiting instance can take it the
   * moment it lapses rather than at its next look. Redis counts on its own clock; MongoDB
   * compares the expiry (written with the holder's clock) with this process's.
   */
  held(keys: readonly string[]): Promise<Map<string, HeldLease>>;
  /**
   * Says this holder is alive in `group` for `ttlMs` (call it again before that runs out) and
   * resolves with every holder alive in the group now, this one included: how instances
   * sharing work count each other.
   */
  announce(group: string, ttlMs: number): Promise<string[]>;
  /** Leaves `group` at once (a graceful stop), so the others count one fewer. */
  withdraw(group: string): Promise<void>;
}

export interface HeldLease {
  readonly holder: string;
  /** Milliseconds until the lease lapses unless its holder renews it; above 0. */
  readonly remainingMs: number;
}

/** A holder name that tells an operator which host and process it is, and never repeats. */
export function newLeaseHolder(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

/** Keys per Redis script call or MongoDB `$in`: big enough for one call per tick, small enough not to stall Redis. */
const BATCH = 500;

function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`a lease lasts a whole number of ms > 0, got ${ttlMs}`);
}

// ---------------------------------------------------------------- Redis

/** Where a lease lives in Redis, and the epoch counter beside it; exported for operators inspecting Redis. */
export const REDIS_LEASE_PREFIX = "niaga:lease:";
export const REDIS_LEASE_EPOCH_PREFIX = "niaga:lease-epoch:";

// KEYS: lease, epoch counter. ARGV: holder, ttl. A lease already ours is taken again (new epoch).
const ACQUIRE = `
if redis.call("set", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) or redis.call("get", KEYS[1]) == ARGV[1] then
  redis.call("pexpire", KEYS[1], ARGV[2])
  return redis.call("incr", KEYS[2])
end
return 0`;
// KEYS: leases. ARGV: holder, ttl. Returns 1 or 0 per key, in order.
const RENEW = `
local renewed = {}
for i, key in ipairs(KEYS) do
  if redis.call("get", key) == ARGV[1] then
    redis.call("pexpire", key, ARGV[2])
    renewed[i] = 1
  else
    renewed[i] = 0
  end
end
return renewed`;
const RELEASE = `
for _, key in ipairs(KEYS) do
  if redis.call("get", key) == ARGV[1] then redis.call("del", key) end
end
return 0`;
// KEYS: leases. Returns holder and PTTL per key, in order ("" and -2 for a free one).
const HELD = `
local out = {}
for i, key in ipairs(KEYS) do
  out[2 * i - 1] = redis.call("get", key) or ""
  out[2 * i] = redis.call("pttl", key)
end
return out`;
// KEYS: the group's sorted set (member → expiry on Redis's clock). ARGV: holder, ttl.
const ANNOUNCE = `
local time = redis.call("time")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call("zremrangebyscore", KEYS[1], "-inf", now)
redis.call("zadd", KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call("pexpire", KEYS[1], 2 * tonumber(ARGV[2]))
return redis.call("zrange", KEYS[1], 0, -1)`;

/** Where a group's live members are counted in Redis (a sorted set by expiry). */
export const REDIS_LEASE_GROUP_PREFIX = "niaga:lease-group:";

/**
 * Leases in Redis. The keys of one call go to one script, so they must live on one node:
 * fine for a single Redis or a primary with replicas, not for Redis Cluster.
 */
export function createRedisLeases(redis: Redis, opts: { holder?: string } = {}): Leases {
  const holder = opts.holder ?? newLeaseHolder();
  const redisKey = (key: string) => REDIS_LEASE_PREFIX + key;
  return {
    holder,
    backend: "redis",
    async acquire(key, ttlMs) {
      checkTtl(ttlMs);
      const epoch = Number(await redis.eval(ACQUIRE, 2, redisKey(key), REDIS_LEASE_EPOCH_PREFIX + key, holder, ttlMs));
      return epoch > 0 ? { key, epoch } : undefined;
    },
    async renew(keys, ttlMs) {
      checkTtl(ttlMs);
      const renewed = new Set<string>();
      for (const batch of batches(keys)) {
        const answers = (await redis.eval(RENEW, batch.length, ...batch.map(redisKey), holder, ttlMs)) as number[];
        batch.forEach((key, i) => answers[i] === 1 && renewed.add(key));
      }
      return renewed;
    },
    async release(keys) {
      for (const batch of batches(keys)) await redis.eval(RELEASE, batch.length, ...batch.map(redisKey), holder);
    },
    async holders(keys) {
      const held = new Map<string, string>();
      for (const batch of batches(keys)) {
        const values = await redis.mget(...batch.map(redisKey));
        batch.forEach((key, i) => values[i] && held.set(key, values[i]!));
      }
      return held;
    },
    async held(keys) {
      const held = new Map<string, HeldLease>();
      for (const batch of batches(keys)) {
        const answers = (await redis.eval(HELD, batch.length, ...batch.map(redisKey))) as Array<string | number>;
        batch.forEach((key, i) => {
          const [owner, remainingMs] = [String(answers[2 * i]), Number(answers[2 * i + 1])];
          if (owner && remainingMs > 0) held.set(key, { holder: owner, remainingMs });
        });
      }
      return held;
    },
    async announce(group, ttlMs) {
      checkTtl(ttlMs);
      return (await redis.eval(ANNOUNCE, 1, REDIS_LEASE_GROUP_PREFIX + group, holder, ttlMs)) as string[];
    },
    async withdraw(group) {
      await redis.zrem(REDIS_LEASE_GROUP_PREFIX + group, holder);
    },
  };
}

// ---------------------------------------------------------------- MongoDB

interface LeaseFields {
  _id: string;
  holder?: string;
  expiresAt: Date;
  epoch: number;
  acquiredAt?: Date;
}

const leaseSchema = new Schema<LeaseFields>(
  {
    _id: { type: String, required: true },
    holder: { type: String },
    expiresAt: { type: Date, required: true },
    epoch: { type: Number, required: true, default: 0 },
    acquiredAt: { type: Date },
  },
  { collection: "leases", versionKey: false },
);

/** One document per lease ever taken; platform-wide, so not tenant-scoped. */
export const LeaseRecord = model<LeaseFields>("Lease", leaseSchema);

/**
 * Leases in MongoDB (the `leases` collection): what the platform uses, with or without Redis,
 * so that a store's polling depends only on the database its turns need anyway. `now` is this
 * process's clock (tests pass a skewed one).
 */
export function createMongoLeases(opts: { holder?: string; now?: () => number } = {}): Leases {
  const holder = opts.holder ?? newLeaseHolder();
  const now = opts.now ?? Date.now;
  const announced = new Set<string>();
  return {
    holder,
    backend: "mongodb",
    async acquire(key, ttlMs) {
      checkTtl(ttlMs);
      const at = now();
      try {
        const lease = await LeaseRecord.findOneAndUpdate(
          { _id: key, $or: [{ expiresAt: { $lte: new Date(at) } }, { holder }] },
          { $set: { holder, expiresAt: new Date(at + ttlMs), acquiredAt: new Date(at) }, $inc: { epoch: 1 } },
          { upsert: true, returnDocument: "after", projection: { epoch: 1 } },
        ).lean<Pick<LeaseFields, "epoch">>().exec();
        return lease ? { key, epoch: lease.epoch } : undefined;
      } catch (error) {
        // The filter missed an existing document (someone else holds it), so the upsert
        // tried to insert a second one with the same _id.
        if ((error as { code?: number }).code === 11000) return undefined;
        throw error;
      }
    },
    async renew(keys, ttlMs) {
      checkTtl(ttlMs);
      const at = now();
      // Only this holder writes this value to these documents, so reading it back tells which were renewed.
      const expiresAt = new Date(at + ttlMs);
      const renewed = new Set<string>();
      for (const batch of batches(keys)) {
        await LeaseRecord.updateMany({ _id: { $in: batch }, holder, expiresAt: { $gt: new Date(at) } }, { $set: { expiresAt } }).exec();
        const rows = await LeaseRecord.find({ _id: { $in: batch }, holder, expiresAt }, { _id: 1 }).lean<Array<Pick<LeaseFields, "_id">>>().exec();
        for (const row of rows) renewed.add(row._id);
      }
      return renewed;
    },
    async release(keys) {
      // The document stays, with its epoch, so the next holder's epoch is still higher.
      for (const batch of batches(keys)) {
        await LeaseRecord.updateMany({ _id: { $in: batch }, holder }, { $set: { expiresAt: new Date(0) }, $unset: { holder: 1 } }).exec();
      }
    },
    async holders(keys) {
      const held = new Map<string, string>();
      for (const batch of batches(keys)) {
        const rows = await LeaseRecord.find({ _id: { $in: batch }, expiresAt: { $gt: new Date(now()) } }, { holder: 1 })
          .lean<Array<Pick<LeaseFields, "_id" | "holder">>>().exec();
        for (const row of rows) if (row.holder) held.set(row._id, row.holder);
      }
      return held;
    },
    async held(keys) {
      const held = new Map<string, HeldLease>();
      for (const batch of batches(keys)) {
        const at = now();
        const rows = await LeaseRecord.find({ _id: { $in: batch }, expiresAt: { $gt: new Date(at) } }, { holder: 1, expiresAt: 1 })
          .lean<Array<Pick<LeaseFields, "_id" | "holder" | "expiresAt">>>().exec();
        for (const row of rows) if (row.holder) held.set(row._id, { holder: row.holder, remainingMs: Math.max(1, row.expiresAt.getTime() - at) });
      }
      return held;
    },
    async announce(group, ttlMs) {
      checkTtl(ttlMs);
      const at = now();
      const members = groupRange(group);
      // Each process start is a new member: the records of long-gone ones go at a member's first announcement.
      if (!announced.has(group)) {
        announced.add(group);
        await LeaseRecord.deleteMany({ _id: members, expiresAt: { $lt: new Date(at - GONE_MEMBER_MS) } }).exec();
      }
      await LeaseRecord.updateOne(
        { _id: memberKey(group, holder) },
        { $set: { holder, expiresAt: new Date(at + ttlMs) }, $setOnInsert: { epoch: 0 } },
        { upsert: true },
      ).exec();
      const rows = await LeaseRecord.find({ _id: members, expiresAt: { $gt: new Date(at) } }, { holder: 1 }).lean<Array<Pick<LeaseFields, "holder">>>().exec();
      return rows.flatMap((row) => (row.holder ? [row.holder] : []));
    },
    async withdraw(group) {
      await LeaseRecord.deleteOne({ _id: memberKey(group, holder), holder }).exec();
    },
  };
}

/** A group member's record in `leases`: `<group>/<holder>`, so one `_id` range holds the whole group. */
function memberKey(group: string, holder: string): string {
  return `${group}/${holder}`;
}

function groupRange(group: string): { $gte: string; $lt: string } {
  return { $gte: `${group}/`, $lt: `${group}/\uffff` };
}

/** How long after lapsing a member's record is kept (it only tells an operator who was there). */
const GONE_MEMBER_MS = 24 * 60 * 60_000;
