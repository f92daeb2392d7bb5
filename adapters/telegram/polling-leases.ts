/**
 * One poller per store across instances. Telegram gives a bot's updates to one long poll at
 * a time and answers a second one with 409 Conflict; two instances polling one store fight,
 * and each may answer an update the other already answered. So an instance polls a store
 * only while it holds the store's polling lease (`storage/leases.ts`, in MongoDB); the
 * others stand by and take over when it lapses.
 *
 * ```ts
 * const polling = new PollingLeases({ leases: coordination.leases, leaseMs: 15_000,
 *   onGranted: (tenantId) => startPolling(tenantId), onLost: (tenantId) => standBy(tenantId) });
 * if (await polling.join(tenantId, slug)) startPolling(tenantId);   // else: standing by
 * const right = polling.right(tenantId);    // for the bot's getUpdates guard
 * await polling.leave(tenantId);            // store stopped: the lease is released
 * ```
 *
 * One timer for every store, every third of the lease: the leases held are renewed in one
 * batch, and the stores waiting are checked in one batch read, then only the free ones are
 * acquired. A lease held here is good until `leaseMs − marginMs` after the renewal was
 * *sent* (its local deadline, on the monotonic clock); a renewal that finds the lease gone
 * or comes too late loses it, and `onLost` is called at once. The margin (a fifth of the
 * lease by default) covers the difference between instances' clocks (MongoDB leases expire
 * on the writer's clock) and the last long poll's round trip.
 *
 * A holder that dies leaves its leases to lapse: the tick's read tells how long each has
 * left, and a lease whose holder missed a renewal is taken the moment it lapses, all those
 * lapsing together by one timer (`LeaseLapses`), not at the next tick.
 *
 * Stores are spread over the instances: each announces itself at every tick
 * (`Leases.announce`, group `telegram-pollers`) and so counts the live ones, and polls at most
 * its `share`, `ceil(stores / instances)`: it takes free stores up to it, and beyond it plus
 * a slack of 5 % (at least one) hands the excess over — `onHandOver` stops each as on a
 * graceful stop, then `giveBack` releases it — for the others to take at their next tick.
 * An instance that dies stops announcing, so the survivors' share grows to every store.
 *
 * Each takeover and each loss is logged once, with the store's slug, each hand-over once
 * for all its stores; the gauge `niaga_telegram_polling_lease{store}` is 1 where the store is
 * polled and 0 where it waits, `niaga_telegram_polling_instances` the instances counted.
 */
import { performance } from "node:perf_hooks";
import { Gauge } from "prom-client";
import type { Registry } from "prom-client";
import type { EngineLog } from "../../flows/engine/index.ts";
import { LeaseLapses } from "../../storage/lease-lapses.ts";
import type { HeldLease, LeaseGrant, Leases } from "../../storage/leases.ts";
import { settledWithin } from "../../storage/settled-within.ts";

export const DEFAULT_POLL_LEASE_MS = 15_000;

/** The key of a store's polling lease (what `/status` reads to say which instance polls it). */
export function pollingLeaseKey(tenantId: string): string {
  return `telegram-polling:${tenantId}`;
}

/** How long this instance may still poll a store: the guard of its `getUpdates` asks before every call. */
export interface PollingRight {
  /** Milliseconds left before this instance must have stopped polling; 0 or less when it may not poll. */
  remainingMs(): number;
}

export interface PollingLeasesOptions {
  leases: Leases;
  /** How long a lease lasts without renewal (`POLL_LEASE_MS`). Default 15 000 ms. */
  leaseMs?: number;
  /** Taken off each local deadline. Default a fifth of the lease. */
  marginMs?: number;
  /** The lease of a store that is waiting here was taken (by the periodic tick): start polling it. */
  onGranted(tenantId: string): void;
  /** The lease of a store polled here is gone: stop polling it now. */
  onLost(tenantId: string): void;
  /**
   * This instance holds more than its share: stop polling the store as on a graceful stop
   * (confirming what was fetched; the lease is still renewed meanwhile), then call
   * `giveBack`. Without it the lease is given back at once.
   */
  onHandOver?(tenantId: string): void;
  logFor(slug: string): EngineLog;
  /** For what concerns every store at once (renewals failing). */
  log: EngineLog;
  /** The platform's Prometheus registry, for the gauge. */
  metrics?: Registry;
  /**
   * False while the store the leases live in (MongoDB) is known not to answer this instance.
   * The leases held are then kept: nobody can take one from a store that does not answer, and
   * the customers of a store still polled hear that their message is held instead of hearing
   * nothing. (If only this instance lost MongoDB while others reach it, another may take a
   * lapsed lease meanwhile, and both poll — Telegram answers one of them 409 — until this one's
   * next renewal finds the lease taken.)
   */
  leaseStoreAnswers?: () => boolean;
}

interface Entry {
  readonly tenantId: string;
  readonly slug: string;
  readonly key: string;
  /** `handing`: still held (and renewed) while its polling stops, then released for another instance. */
  state: "waiting" | "acquiring" | "held" | "handing";
  /** Local deadline (`performance.now()`), while held or handing. */
  validUntil: number;
  epoch: number;
}

/** The group the instances polling stores announce themselves in (`Leases.announce`). */
export const POLLING_INSTANCES_GROUP = "telegram-pollers";

export class PollingLeases {
  readonly holder: string;
  readonly leaseMs: number;
  readonly #marginMs: number;
  readonly #options: PollingLeasesOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #gauge: Gauge<"store"> | undefined;
  readonly #instancesGauge: Gauge | undefined;
  readonly #lapses = new LeaseLapses<Entry>((entries) => void this.#takeOver(entries));
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #closed = false;
  #renewalsFailing = false;
  #pendingRelease: { keys: string[]; done: Promise<void> } | undefined;
  /** Live instances polling stores, this one included, as last counted; undefined before the first count. */
  #instances: number | undefined;
  #announcing: Promise<void> | undefined;

  constructor(options: PollingLeasesOptions) {
    this.#options = options;
    this.holder = options.leases.holder;
    this.leaseMs = options.leaseMs ?? DEFAULT_POLL_LEASE_MS;
    this.#marginMs = options.marginMs ?? Math.floor(this.leaseMs / 5);
    if (this.#marginMs >= this.leaseMs / 2) throw new RangeError(`the polling lease margin (${this.#marginMs} ms) must be under half the lease (${this.leaseMs} ms)`);
    this.#gauge = options.metrics && new Gauge({
      name: "niaga_telegram_polling_lease",
      help: "1 while this instance holds the store's polling lease and polls its Telegram bot; 0 while another instance does",
      labelNames: ["store"],
      registers: [options.metrics],
    });
    this.#instancesGauge = options.metrics && new Gauge({
      name: "niaga_telegram_polling_instances",
      help: "Live instances sharing the polling-mode stores, as this instance last counted them",
      registers: [options.metrics],
    });
  }

  /** How often held leases are renewed and waiting stores look for a free one. */
  get tickMs(): number {
    return Math.max(1, Math.floor(this.leaseMs / 3));
  }

  /**
   * How many stores this instance polls at most: its fair share of the stores wanting polling
   * here, over the live instances (`ceil(stores / instances)`). It takes free stores up to
   * it and hands over what it holds beyond it plus `slack`.
   */
  get share(): number {
    return Math.ceil(this.#entries.size / Math.max(1, this.#instances ?? 1));
  }

  /** The stores this instance polls now (held, not being handed over). */
  get polled(): number {
    return this.#count("held") + this.#count("acquiring");
  }

  /** The store wants polling here. Takes its lease now if free and within this instance's share; true when it is held, else it waits for a tick. */
  async join(tenantId: string, slug: string): Promise<boolean> {
    const known = this.#entries.get(tenantId);
    if (known) return known.state === "held";
    const entry: Entry = { tenantId, slug, key: pollingLeaseKey(tenantId), state: "waiting", validUntil: 0, epoch: 0 };
    this.#entries.set(tenantId, entry);
    this.#gauge?.set({ store: slug }, 0);
    this.#startTicking();
    if (this.#instances === undefined) await this.#announce();
    if (this.polled < this.share) await this.#acquire(entry, false);
    return entry.state === "held";
  }

  /** The store no longer polls here (stopped, suspended, removed, moved to webhook): its lease, if held, is released. */
  async leave(tenantId: string): Promise<void> {
    const entry = this.#entries.get(tenantId);
    if (!entry) return;
    this.#entries.delete(tenantId);
    this.#lapses.cancel(entry);
    this.#gauge?.remove({ store: entry.slug });
    if (entry.state === "held" || entry.state === "handing") await this.#release(entry.key);
  }

  /**
   * This instance could not use the lease it took (its polling did not start), or has stopped
   * polling a store it hands over: the lease is given back, and the store waits here.
   */
  async giveBack(tenantId: string): Promise<void> {
    const entry = this.#entries.get(tenantId);
    if (entry?.state !== "held" && entry?.state !== "handing") return;
    entry.state = "waiting";
    entry.validUntil = 0;
    this.#gauge?.set({ store: entry.slug }, 0);
    await this.#release(entry.key);
  }

  /** Whether this instance holds the store's lease and its local deadline has not passed. */
  holds(tenantId: string): boolean {
    return this.right(tenantId).remainingMs() > 0;
  }

  /** The store's right to poll here, read live (it follows renewals, losses and later joins). */
  right(tenantId: string): PollingRight {
    return {
      remainingMs: () => {
        const entry = this.#entries.get(tenantId);
        return entry?.state === "held" || entry?.state === "handing" ? entry.validUntil - performance.now() : 0;
      },
    };
  }

  /** Counts the instances, renews what is held, takes what is free and hands over the excess; the timer calls it, tests may too. One at a time. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  /** Stops the timer, waits for a tick under way, releases every lease still held and leaves the count of instances. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#lapses.clear();
    await this.#ticking;
    const held = [...this.#entries.values()].filter((e) => e.state === "held" || e.state === "handing");
    for (const entry of this.#entries.values()) this.#gauge?.remove({ store: entry.slug });
    this.#entries.clear();
    await Promise.all([
      held.length > 0 ? this.#release(...held.map((e) => e.key)) : undefined,
      this.#options.leases.withdraw(POLLING_INSTANCES_GROUP).catch(() => undefined),
    ]);
  }

  // ---------------------------------------------------------------- internals

  #startTicking(): void {
    if (this.#timer || this.#closed) return;
    const next = () => {
      this.#timer = setTimeout(() => void this.tick().finally(next), this.tickMs);
      this.#timer.unref();
    };
    next();
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    // Announced just before the renewal is sent (not after its answer, which a slow lease
    // store would push towards the leases' end): a holder that dies is counted out no later
    // than its leases lapse.
    const announced = this.#announce();
    await this.#renewHeld();
    await announced;
    await this.#takeFree([...this.#entries.values()]);
    this.#handOverExcess();
  }

  /** Says this instance is alive and counts the live ones; the last count stays when the lease store does not answer. */
  #announce(): Promise<void> {
    this.#announcing ??= (async () => {
      if (this.#options.leaseStoreAnswers?.() === false) return;
      const answer = await settledWithin(this.#options.leases.announce(POLLING_INSTANCES_GROUP, this.leaseMs), this.tickMs);
      if (answer.state !== "fulfilled" || this.#closed) return;
      this.#instances = Math.max(1, new Set([...answer.value, this.holder]).size);
      this.#instancesGauge?.set(this.#instances);
    })().finally(() => (this.#announcing = undefined));
    return this.#announcing;
  }

  async #renewHeld(): Promise<void> {
    const sentAt = performance.now();
    const held = [...this.#entries.values()].filter((e) => e.state === "held" || e.state === "handing");
    for (const entry of held) if (entry.validUntil <= sentAt) this.#lose(entry, "lapsed");
    const live = held.filter((e) => e.state === "held" || e.state === "handing");
    if (live.length === 0) return;
    const storeDown = () => this.#options.leaseStoreAnswers?.() === false;
    // A renewal that hangs (a frozen server) counts as failed after a tick; landing later only extends the lease.
    const answer = storeDown() ? undefined : await settledWithin(this.#options.leases.renew(live.map((e) => e.key), this.leaseMs), this.tickMs);
    if (answer?.state !== "fulfilled") {
      // Nobody else can take a lease before it expires, so this instance goes on until its
      // deadline — or, while the lease store is known to be down, keeps the leases (see `leaseStoreAnswers`).
      const keeping = storeDown();
      if (keeping) for (const entry of live) entry.validUntil = Math.max(entry.validUntil, sentAt + this.leaseMs - this.#marginMs);
      if (!this.#renewalsFailing) {
        this.#renewalsFailing = true;
        const error = answer === undefined ? "the lease store is not answering" : answer.state === "pending" ? `no answer within ${this.tickMs} ms` : describe(answer.error);
        this.#options.log.warn(
          keeping
            ? "telegram polling leases could not be renewed; the lease store is down, so the leases held are kept until it answers"
            : "telegram polling leases could not be renewed; each store stops polling when its lease runs out unless this recovers",
          { holder: this.holder, backend: this.#options.leases.backend, stores: live.length, error },
        );
      }
      return;
    }
    const renewed = answer.value;
    if (this.#renewalsFailing) {
      this.#renewalsFailing = false;
      this.#options.log.info("telegram polling leases renewed again", { holder: this.holder, backend: this.#options.leases.backend });
    }
    const answeredAt = performance.now();
    for (const entry of live) {
      if (this.#entries.get(entry.tenantId) !== entry || (entry.state !== "held" && entry.state !== "handing")) continue;
      if (!renewed.has(entry.key)) this.#lose(entry, "taken");
      else if (sentAt + this.leaseMs - this.#marginMs <= answeredAt) this.#lose(entry, "lapsed");
      else entry.validUntil = sentAt + this.leaseMs - this.#marginMs;
    }
  }

  /**
   * Takes the free leases among `candidates` that are waiting here, up to this instance's
   * share, and schedules taking those whose holder has missed a renewal for the moment they
   * lapse (a live holder renews every tick, so its leases always have two ticks left).
   */
  async #takeFree(candidates: readonly Entry[]): Promise<void> {
    const waiting = candidates.filter((e) => e.state === "waiting" && this.#entries.get(e.tenantId) === e);
    if (waiting.length === 0) return;
    // Bounded like the renewal, so a lease store that hangs cannot stall the ticks that notice lapsed leases.
    const read = await settledWithin(this.#options.leases.held(waiting.map((e) => e.key)), this.tickMs);
    if (read.state !== "fulfilled") return; // the renewal has said it once
    const held: Map<string, HeldLease> = read.value;
    const free: Entry[] = [];
    for (const entry of waiting) {
      const lease = held.get(entry.key);
      // A lease still ours (renewed too late to use) is free to take again.
      if (!lease || lease.holder === this.holder) free.push(entry);
      else if (lease.remainingMs < this.tickMs * 1.5) this.#lapses.schedule(entry, lease.remainingMs);
    }
    const room = this.share - this.polled;
    const taking = free.slice(0, Math.max(0, room));
    for (let i = 0; i < taking.length; i += ACQUIRE_CONCURRENCY) {
      await Promise.all(taking.slice(i, i + ACQUIRE_CONCURRENCY).map((entry) => this.#acquire(entry, true)));
    }
  }

  /** Leases that lapsed just now (their holder stopped renewing): count the instances again, then take them. */
  async #takeOver(entries: Entry[]): Promise<void> {
    if (this.#closed) return;
    await this.#announce();
    await this.#takeFree(entries);
  }

  /**
   * Over its share plus a little slack (so two instances do not trade stores back and forth),
   * this instance hands the excess over: each store stops polling as on a graceful stop, then
   * its lease is released, and the others take it at their next tick.
   */
  #handOverExcess(): void {
    const share = this.share;
    const slack = Math.max(1, Math.ceil(share / 20));
    if (this.#closed || this.polled <= share + slack) return;
    const held = [...this.#entries.values()].filter((e) => e.state === "held");
    const excess = held.slice(held.length - Math.min(held.length, this.polled - share));
    for (const entry of excess) entry.state = "handing";
    this.#options.log.info("telegram polling leases handed over for balance: another instance polls these stores next", {
      holder: this.holder, stores: excess.length, share, instances: this.#instances ?? 1,
    });
    for (const entry of excess) {
      if (this.#options.onHandOver) this.#options.onHandOver(entry.tenantId);
      else void this.giveBack(entry.tenantId);
    }
  }

  #count(state: Entry["state"]): number {
    let n = 0;
    for (const entry of this.#entries.values()) if (entry.state === state) n++;
    return n;
  }

  async #acquire(entry: Entry, notify: boolean): Promise<void> {
    if (entry.state !== "waiting" || this.#closed) return;
    this.#lapses.cancel(entry);
    entry.state = "acquiring";
    const sentAt = performance.now();
    let grant: LeaseGrant | undefined;
    try {
      grant = await this.#options.leases.acquire(entry.key, this.leaseMs);
    } catch (error) {
      entry.state = "waiting";
      this.#options.logFor(entry.slug).warn("telegram polling lease could not be taken; trying again at the next tick", { tenant: entry.slug, error: describe(error) });
      return;
    }
    if (!grant) {
      entry.state = "waiting";
      return;
    }
    if (this.#entries.get(entry.tenantId) !== entry || this.#closed) {
      await this.#release(entry.key); // the store left while its lease was being taken
      return;
    }
    entry.state = "held";
    entry.epoch = grant.epoch;
    entry.validUntil = sentAt + this.leaseMs - this.#marginMs;
    this.#gauge?.set({ store: entry.slug }, 1);
    this.#options.logFor(entry.slug).info("telegram polling lease taken: this instance polls the store's bot", {
      tenant: entry.slug, holder: this.holder, epoch: grant.epoch, leaseMs: this.leaseMs,
    });
    if (notify) this.#options.onGranted(entry.tenantId);
  }

  #lose(entry: Entry, why: "lapsed" | "taken"): void {
    entry.state = "waiting";
    entry.validUntil = 0;
    this.#gauge?.set({ store: entry.slug }, 0);
    this.#options.logFor(entry.slug).warn(
      why === "taken"
        ? "telegram polling lease lost to another instance: this instance stopped polling the store's bot"
        : "telegram polling lease ran out before it was renewed: this instance stopped polling the store's bot",
      { tenant: entry.slug, holder: this.holder, epoch: entry.epoch },
    );
    this.#options.onLost(entry.tenantId);
  }

  /** Releases coalesced: stores stopping together (shutdown) give their leases back in one call. */
  #release(...keys: string[]): Promise<void> {
    if (this.#pendingRelease) {
      this.#pendingRelease.keys.push(...keys);
      return this.#pendingRelease.done;
    }
    const pending = { keys: [...keys], done: Promise.resolve() };
    pending.done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      this.#pendingRelease = undefined;
      await this.#options.leases.release(pending.keys).catch((error: unknown) => {
        // Not fatal: the leases lapse by themselves, the next instance only waits longer.
        this.#options.log.warn("telegram polling leases not released; another instance takes them when they run out", {
          holder: this.holder, stores: pending.keys.length, error: describe(error),
        });
      });
    });
    this.#pendingRelease = pending;
    return pending.done;
  }
}

/** Acquires in flight at once when many stores are free (an instance taking over a thousand). */
const ACQUIRE_CONCURRENCY = 32;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
