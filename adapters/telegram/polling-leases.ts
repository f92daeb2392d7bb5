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
 * Each takeover and each loss is logged once, with the store's slug; the gauge
 * `niaga_telegram_polling_lease{store}` is 1 where the store is polled and 0 where it waits.
 */
import { performance } from "node:perf_hooks";
import { Gauge } from "prom-client";
import type { Registry } from "prom-client";
import type { EngineLog } from "../../flows/engine/index.ts";
import type { LeaseGrant, Leases } from "../../storage/leases.ts";
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
  state: "waiting" | "acquiring" | "held";
  /** Local deadline (`performance.now()`), while held. */
  validUntil: number;
  epoch: number;
}

export class PollingLeases {
  readonly holder: string;
  readonly leaseMs: number;
  readonly #marginMs: number;
  readonly #options: PollingLeasesOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #gauge: Gauge<"store"> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #closed = false;
  #renewalsFailing = false;
  #pendingRelease: { keys: string[]; done: Promise<void> } | undefined;

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
  }

  /** How often held leases are renewed and waiting stores look for a free one. */
  get tickMs(): number {
    return Math.max(1, Math.floor(this.leaseMs / 3));
  }

  /** The store wants polling here. Tries to take its lease now; true when it is held, else it waits for a tick to find it free. */
  async join(tenantId: string, slug: string): Promise<boolean> {
    const known = this.#entries.get(tenantId);
    if (known) return known.state === "held";
    const entry: Entry = { tenantId, slug, key: pollingLeaseKey(tenantId), state: "waiting", validUntil: 0, epoch: 0 };
    this.#entries.set(tenantId, entry);
    this.#gauge?.set({ store: slug }, 0);
    this.#startTicking();
    await this.#acquire(entry, false);
    return entry.state === "held";
  }

  /** The store no longer polls here (stopped, suspended, removed, moved to webhook): its lease, if held, is released. */
  async leave(tenantId: string): Promise<void> {
    const entry = this.#entries.get(tenantId);
    if (!entry) return;
    this.#entries.delete(tenantId);
    this.#gauge?.remove({ store: entry.slug });
    if (entry.state === "held") await this.#release(entry.key);
  }

  /**
   * This instance could not use the lease it took (its polling did not start): it is given
   * back, and the store waits for the next tick to try again.
   */
  async giveBack(tenantId: string): Promise<void> {
    const entry = this.#entries.get(tenantId);
    if (entry?.state !== "held") return;
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
        return entry?.state === "held" ? entry.validUntil - performance.now() : 0;
      },
    };
  }

  /** Renews what is held and takes what is free; the timer calls it, tests may too. One at a time. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  /** Stops the timer, waits for a tick under way and releases every lease still held. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#ticking;
    const held = [...this.#entries.values()].filter((e) => e.state === "held");
    for (const entry of this.#entries.values()) this.#gauge?.remove({ store: entry.slug });
    this.#entries.clear();
    if (held.length > 0) await this.#release(...held.map((e) => e.key));
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
    await this.#renewHeld();
    await this.#takeFree();
  }

  async #renewHeld(): Promise<void> {
    const sentAt = performance.now();
    const held = [...this.#entries.values()].filter((e) => e.state === "held");
    for (const entry of held) if (entry.validUntil <= sentAt) this.#lose(entry, "lapsed");
    const live = held.filter((e) => e.state === "held");
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
      if (this.#entries.get(entry.tenantId) !== entry || entry.state !== "held") continue;
      if (!renewed.has(entry.key)) this.#lose(entry, "taken");
      else if (sentAt + this.leaseMs - this.#marginMs <= answeredAt) this.#lose(entry, "lapsed");
      else entry.validUntil = sentAt + this.leaseMs - this.#marginMs;
    }
  }

  async #takeFree(): Promise<void> {
    const waiting = [...this.#entries.values()].filter((e) => e.state === "waiting");
    if (waiting.length === 0) return;
    let holders: Map<string, string>;
    try {
      holders = await this.#options.leases.holders(waiting.map((e) => e.key));
    } catch {
      return; // the renewal above has said it once
    }
    // A lease still ours (renewed too late to use) is free to take again.
    const free = waiting.filter((e) => (holders.get(e.key) ?? this.holder) === this.holder);
    for (let i = 0; i < free.length; i += ACQUIRE_CONCURRENCY) {
      await Promise.all(free.slice(i, i + ACQUIRE_CONCURRENCY).map((entry) => this.#acquire(entry, true)));
    }
  }

  async #acquire(entry: Entry, notify: boolean): Promise<void> {
    if (entry.state !== "waiting" || this.#closed) return;
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
const ACQUIRE_CONCURRENCY = 16;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
