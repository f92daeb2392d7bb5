/**
 * The owner bot polls on exactly one instance: the one that holds the lease "owner-bot"
 * (`storage/leases.ts`). Telegram gives a bot's updates to one long poll at a time, so two
 * instances polling would fight (409) and could both answer one command.
 *
 * ```ts
 * const lease = new OwnerBotLease({ leases, leaseMs: 15_000, log,
 *   onGranted: () => startPolling(), onLost: () => stopPolling() });
 * lease.start();          // acquires, or stands by and tries again every few seconds
 * await lease.stop();     // released, so a standby takes over at once
 * ```
 *
 * The holder renews every third of the lease. It may act until `leaseMs − marginMs` after
 * the last renewal it *sent* succeeded (on the monotonic clock); when that deadline passes
 * without a renewal, or a renewal finds the lease taken, `onLost` is called at once. A
 * standby tries to acquire every `retryMs` (at most 3 s), so when the holder dies without
 * releasing (`kill -9`) another instance polls within one lease period.
 */
import { performance } from "node:perf_hooks";
import type { Leases } from "../storage/leases.ts";
import { settledWithin } from "../storage/settled-within.ts";
import type { AlertLog } from "./owner-alerts.ts";

export const OWNER_BOT_LEASE = "owner-bot";

export interface OwnerBotLeaseOptions {
  leases: Leases;
  leaseMs: number;
  /** Default a fifth of the lease. */
  marginMs?: number;
  /** How often a standby tries to take the lease. Default min(3 s, a third of the lease). */
  retryMs?: number;
  onGranted(): void;
  onLost(): void;
  log: AlertLog;
}

export class OwnerBotLease {
  readonly #o: Required<OwnerBotLeaseOptions>;
  #held = false;
  #validUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #stopped = true;

  constructor(options: OwnerBotLeaseOptions) {
    this.#o = { marginMs: Math.floor(options.leaseMs / 5), retryMs: Math.min(3_000, Math.floor(options.leaseMs / 3)), ...options };
  }

  get held(): boolean {
    return this.#held;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops renewing and releases the lease if held (after `beforeRelease`, e.g. polling stopped). */
  async stop(beforeRelease?: () => Promise<unknown>): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#tick;
    const held = this.#held;
    this.#lose(undefined);
    await beforeRelease?.();
    if (held) {
      const released = await settledWithin(this.#o.leases.release([OWNER_BOT_LEASE]), this.#o.leaseMs / 3);
      if (released.state !== "fulfilled") this.#o.log.warn("the owner bot's lease could not be released; it lapses by itself", { holder: this.#o.leases.holder });
    }
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.#run().finally(() => {
        this.#tick = undefined;
        this.#schedule(this.#held ? Math.floor(this.#o.leaseMs / 3) : this.#o.retryMs);
      });
    }, ms);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    const waitMs = Math.floor(this.#o.leaseMs / 3);
    const sentAt = performance.now();
    if (this.#held) {
      const renewed = await settledWithin(this.#o.leases.renew([OWNER_BOT_LEASE], this.#o.leaseMs), waitMs);
      if (this.#stopped || !this.#held) return;
      if (renewed.state === "fulfilled" && renewed.value.has(OWNER_BOT_LEASE)) this.#holdUntil(sentAt);
      else if (renewed.state === "fulfilled") this.#lose("taken by another instance");
      // No answer: the deadline timer stops polling if no later renewal succeeds in time.
      return;
    }
    const grant = await settledWithin(this.#o.leases.acquire(OWNER_BOT_LEASE, this.#o.leaseMs), waitMs);
    if (this.#stopped || grant.state !== "fulfilled" || !grant.value) return;
    this.#held = true;
    this.#holdUntil(sentAt);
    this.#o.log.info("owner bot: this instance polls it now", { holder: this.#o.leases.holder, epoch: grant.value.epoch, leaseMs: this.#o.leaseMs });
    this.#o.onGranted();
  }

  #holdUntil(sentAt: number): void {
    this.#validUntil = sentAt + this.#o.leaseMs - this.#o.marginMs;
    clearTimeout(this.#deadline);
    this.#deadline = setTimeout(() => this.#lose("not renewed in time"), Math.max(0, this.#validUntil - performance.now()));
    this.#deadline.unref();
  }

  #lose(why: string | undefined): void {
    clearTimeout(this.#deadline);
    if (!this.#held) return;
    this.#held = false;
    if (why) this.#o.log.warn("owner bot: this instance lost its lease and stops polling", { holder: this.#o.leases.holder, why });
    this.#o.onLost();
  }
}
