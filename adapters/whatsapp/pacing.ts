/**
 * How fast each store number sends, so WhatsApp sees a person typing rather than a bot:
 *
 * - One send at a time per number, in the order asked (a queue per store), numbers
 *   independent of each other.
 * - Between two sends of a number, a pause drawn uniformly in [gapMinMs, gapMaxMs],
 *   multiplied by `warmupFactor` while the number was linked less than `warmupDays` ago,
 *   and by 3 while the restriction watch has it slowed. A number idle for longer than the
 *   pause sends at once.
 * - Before a text, "typing…" (`composing`) for `typingMsPerChar` per character, within
 *   [typingMinMs, typingMaxMs], then `paused`, then the send. Media without a caption send
 *   without typing.
 * - Replies, deliveries and reminders go before broadcasts (`SendOptions.bulk`): a bulk send
 *   waits while any other send of the number is queued.
 * - Bounded: a send whose expected wait (the mean pause and the typing of every send ahead)
 *   exceeds `maxQueueWaitMs` (default 2 min; `maxBulkQueueWaitMs`, default 30 min, for
 *   broadcasts) is refused at once as `rate-limited` with that wait, rather than answered
 *   late. Refusals are `SendHeld` errors carrying the channel's failure reason.
 * - A number the restriction watch stopped sends nothing: its sends are refused as
 *   `store-unavailable`, queued ones too.
 *
 * ```ts
 * const pacer = new NumberPacer({ presence: (tenantId, jid, state) => sessionOf(tenantId).sendPresenceUpdate(state, jid) });
 * const sent = await pacer.schedule(tenantId, { jid, textLength: text.length, send: () => sock.sendMessage(jid, { text }) });
 * ```
 */
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { PacingOptions, WhatsAppStoreView } from "./contract.ts";
import { RestrictionWatch, restrictionSignOf, type RestrictionEvents } from "./restriction.ts";

export const DEFAULT_PACING: PacingOptions = {
  gapMinMs: 1500,
  gapMaxMs: 4000,
  typingMsPerChar: 30,
  typingMinMs: 1000,
  typingMaxMs: 4000,
  warmupDays: 7,
  warmupFactor: 2,
  slowAfterFailures: 3,
  stopAfterFailures: 6,
  restrictionWindowMs: 10 * 60_000,
  stopCoolDownMs: 6 * 60 * 60_000,
};

/** Gaps of a slowed number are this many times longer. */
export const SLOWED_FACTOR = 3;
export const DEFAULT_MAX_QUEUE_WAIT_MS = 2 * 60_000;
export const DEFAULT_MAX_BULK_QUEUE_WAIT_MS = 30 * 60_000;
/** A presence update not answered by then is given up: it is only the typing indicator. */
const PRESENCE_TIMEOUT_MS = 5_000;
/** A send not settled by then no longer holds the number's other sends back (its caller still waits for it). */
export const DEFAULT_SEND_HOLD_MS = 60_000;
const DAY_MS = 24 * 60 * 60_000;

/** Time as the pacer sees it; tests pass a manual one. */
export interface PacerClock {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: PacerClock = {
  now: () => Date.now(),
  // An abort ends the pause early; the caller checks the signal.
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};

/** A send the pacer did not make, with the channel's reason for the report. */
export class SendHeld extends Error {
  override name = "SendHeld";
  constructor(
    readonly reason: "rate-limited" | "shutting-down" | "store-unavailable",
    message: string,
    /** With `rate-limited`: the expected wait, in seconds. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

export interface NumberPacerOptions {
  pacing?: Partial<PacingOptions>;
  /** Shows or ends "typing…" in a chat (`sock.sendPresenceUpdate(state, jid)`); a failure only costs the indicator. */
  presence(tenantId: string, jid: string, state: "composing" | "paused"): Promise<void>;
  /** When the store's number was linked, for the warm-up; undefined: not warming up. */
  linkedAt?(tenantId: string): Date | undefined;
  /** What the restriction watch tells the channel. */
  restrictionEvents?: RestrictionEvents;
  maxQueueWaitMs?: number;
  maxBulkQueueWaitMs?: number;
  /** How long one send may hold the number's queue; default 60 s. The channel bounds the send itself. */
  sendHoldMs?: number;
  clock?: PacerClock;
  /** In [0, 1), for the jitter; tests pass their own. */
  random?: () => number;
}

/** One message for the pacer to send when the number's turn comes. */
export interface PacedSend<T> {
  jid: string;
  /** Characters of the text or caption (typing time); 0: no typing. */
  textLength: number;
  bulk?: boolean;
  send(): Promise<T>;
}

interface Job {
  jid: string;
  textLength: number;
  send(): Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface NumberLine {
  replies: Job[];
  bulk: Job[];
  /** Set while a drain loop runs (synchronously, so two never run for one number). */
  draining: boolean;
  drained: Promise<void>;
  /** When the number last started a send: the next pause runs from there. */
  lastSentAt: number;
}

export class NumberPacer {
  /** Restriction signs per number: the channel adds error acknowledgements here (`watch.sign`). */
  readonly watch: RestrictionWatch;
  readonly #pacing: PacingOptions;
  readonly #options: NumberPacerOptions;
  readonly #clock: PacerClock;
  readonly #random: () => number;
  readonly #lines = new Map<string, NumberLine>();
  readonly #stopping = new AbortController();

  constructor(options: NumberPacerOptions) {
    this.#pacing = { ...DEFAULT_PACING, ...options.pacing };
    checkPacing(this.#pacing);
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    // Every store's pause listens to the one stop signal.
    setMaxListeners(0, this.#stopping.signal);
    this.watch = new RestrictionWatch({ pacing: this.#pacing, now: () => this.#clock.now(), ...(options.restrictionEvents && { events: options.restrictionEvents }) });
  }

  /**
   * Sends when the number's turn comes; resolves with what `send` returned, or rejects with
   * its error, or with `SendHeld` when the pacer refused or dropped the send.
   */
  schedule<T>(tenantId: string, paced: PacedSend<T>): Promise<T> {
    if (this.#stopping.signal.aborted) return Promise.reject(shuttingDown());
    const held = this.#held(tenantId);
    if (held) return Promise.reject(held);
    const line = this.#line(tenantId);
    const ahead = paced.bulk ? [...line.replies, ...line.bulk] : line.replies;
    const waitMs = this.#expectedWaitMs(tenantId, ahead);
    const limit = paced.bulk ? (this.#options.maxBulkQueueWaitMs ?? DEFAULT_MAX_BULK_QUEUE_WAIT_MS) : (this.#options.maxQueueWaitMs ?? DEFAULT_MAX_QUEUE_WAIT_MS);
    if (waitMs > limit) {
      const retryAfterSec = Math.ceil(waitMs / 1000);
      return Promise.reject(new SendHeld("rate-limited", `the store's WhatsApp number has about ${retryAfterSec} s of messages queued`, retryAfterSec));
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = { jid: paced.jid, textLength: paced.textLength, send: paced.send, resolve: resolve as (value: unknown) => void, reject };
      (paced.bulk ? line.bulk : line.replies).push(job);
      if (!line.draining) {
        line.draining = true;
        line.drained = this.#drain(tenantId, line);
      }
    });
  }

  /** Sends waiting for their turn at the number. */
  queued(tenantId: string): number {
    const line = this.#lines.get(tenantId);
    return line ? line.replies.length + line.bulk.length : 0;
  }

  /** Forgets a store's number (unlinked): its pace and restriction record; refuses what it still had queued. */
  forget(tenantId: string): void {
    const line = this.#lines.get(tenantId);
    const held = new SendHeld("store-unavailable", "the store's WhatsApp number was unlinked");
    for (const job of line ? [...line.replies.splice(0), ...line.bulk.splice(0)] : []) job.reject(held);
    if (line && !line.draining) this.#lines.delete(tenantId);
    this.watch.forget(tenantId);
  }

  /** The number's pace, as `WhatsAppStoreView.pace` shows it. */
  pace(tenantId: string): WhatsAppStoreView["pace"] {
    const restriction = this.watch.pace(tenantId);
    if (restriction !== "normal") return restriction;
    return this.#warmingUp(tenantId) ? "warming-up" : "normal";
  }

  /** Refuses every queued send and any later one (`shutting-down`); resolves when the sends under way have ended. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    const draining: Promise<void>[] = [];
    for (const line of this.#lines.values()) {
      for (const job of [...line.replies.splice(0), ...line.bulk.splice(0)]) job.reject(shuttingDown());
      draining.push(line.drained);
    }
    await Promise.all(draining);
  }

  async #drain(tenantId: string, line: NumberLine): Promise<void> {
    try {
      await this.#drainLoop(tenantId, line);
    } finally {
      // The line stays (one per store): it remembers when the number last sent, for the next pause.
      line.draining = false;
    }
  }

  async #drainLoop(tenantId: string, line: NumberLine): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted && line.replies.length + line.bulk.length > 0) {
      const waitMs = line.lastSentAt + this.#gapMs(tenantId) - this.#clock.now();
      if (waitMs > 0) await this.#clock.sleep(waitMs, signal);
      // Picked after the pause, so a reply queued meanwhile goes before a waiting broadcast.
      const job = line.replies.shift() ?? line.bulk.shift();
      if (!job || signal.aborted) {
        job?.reject(shuttingDown());
        break;
      }
      const held = this.#held(tenantId);
      if (held) {
        job.reject(held);
        for (const dropped of [...line.replies.splice(0), ...line.bulk.splice(0)]) dropped.reject(held);
        break;
      }
      if (job.textLength > 0) await this.#typing(tenantId, job);
      if (signal.aborted) {
        job.reject(shuttingDown());
        break;
      }
      // The pause runs from when a message went out, not from when WhatsApp confirmed it, so a
      // number sends at its configured pace (pause + typing) whatever a send takes to confirm.
      line.lastSentAt = this.#clock.now();
      await this.#send(tenantId, job);
    }
  }

  async #typing(tenantId: string, job: Job): Promise<void> {
    const { typingMsPerChar, typingMinMs, typingMaxMs } = this.#pacing;
    const ms = Math.min(typingMaxMs, Math.max(typingMinMs, job.textLength * typingMsPerChar));
    // The indicator is decoration: a failed or slow presence update costs the look, not the message.
    await this.#within(PRESENCE_TIMEOUT_MS, this.#options.presence(tenantId, job.jid, "composing").catch(() => undefined));
    await this.#clock.sleep(ms, this.#stopping.signal);
    await this.#within(PRESENCE_TIMEOUT_MS, this.#options.presence(tenantId, job.jid, "paused").catch(() => undefined));
  }

  /** Sends, and returns when the send settled or has held the queue for `sendHoldMs`; the job settles with the send either way. */
  async #send(tenantId: string, job: Job): Promise<void> {
    const settled = (async () => {
      try {
        const result = await job.send();
        this.watch.sent(tenantId);
        job.resolve(result);
      } catch (error) {
        const sign = restrictionSignOf(error);
        if (sign) this.watch.sign(tenantId, sign);
        job.reject(error instanceof Error ? error : new Error(String(error)));
      }
    })();
    await this.#within(this.#options.sendHoldMs ?? DEFAULT_SEND_HOLD_MS, settled);
  }

  /** Waits for `work`, or `ms` on the pacer's clock, whichever ends first. */
  async #within(ms: number, work: Promise<void>): Promise<void> {
    const timer = new AbortController();
    await Promise.race([work, this.#clock.sleep(ms, timer.signal)]);
    timer.abort();
  }

  #line(tenantId: string): NumberLine {
    let line = this.#lines.get(tenantId);
    if (!line) this.#lines.set(tenantId, (line = { replies: [], bulk: [], draining: false, drained: Promise.resolve(), lastSentAt: -Infinity }));
    return line;
  }

  #held(tenantId: string): SendHeld | undefined {
    const hold = this.watch.hold(tenantId);
    if (!hold) return undefined;
    return new SendHeld("store-unavailable", `the store's WhatsApp number is held after restriction signs (${hold.reason}) until ${hold.until.toISOString()} or an operator resumes it`);
  }

  #factor(tenantId: string): number {
    const warmup = this.#warmingUp(tenantId) ? this.#pacing.warmupFactor : 1;
    return warmup * (this.watch.pace(tenantId) === "slowed" ? SLOWED_FACTOR : 1);
  }

  #warmingUp(tenantId: string): boolean {
    const linkedAt = this.#options.linkedAt?.(tenantId);
    return linkedAt !== undefined && this.#clock.now() - linkedAt.getTime() < this.#pacing.warmupDays * DAY_MS;
  }

  #gapMs(tenantId: string): number {
    const { gapMinMs, gapMaxMs } = this.#pacing;
    return (gapMinMs + this.#random() * (gapMaxMs - gapMinMs)) * this.#factor(tenantId);
  }

  /** What the sends `ahead` are expected to take: each one's mean pause and its typing. */
  #expectedWaitMs(tenantId: string, ahead: readonly Job[]): number {
    const { gapMinMs, gapMaxMs, typingMsPerChar, typingMinMs, typingMaxMs } = this.#pacing;
    const pause = ((gapMinMs + gapMaxMs) / 2) * this.#factor(tenantId);
    return ahead.reduce((sum, job) => sum + pause + (job.textLength > 0 ? Math.min(typingMaxMs, Math.max(typingMinMs, job.textLength * typingMsPerChar)) : 0), 0);
  }
}

function shuttingDown(): SendHeld {
  return new SendHeld("shutting-down", "the WhatsApp channel is stopping; the message was not sent");
}

/** Throws, naming the setting, when pacing options cannot work together. */
export function checkPacing(pacing: PacingOptions): void {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(pacing)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) problems.push(`${name} must be a number ≥ 0, not ${String(value)}`);
  }
  if (pacing.gapMinMs > pacing.gapMaxMs) problems.push(`gapMinMs (${pacing.gapMinMs}) is above gapMaxMs (${pacing.gapMaxMs})`);
  if (pacing.typingMinMs > pacing.typingMaxMs) problems.push(`typingMinMs (${pacing.typingMinMs}) is above typingMaxMs (${pacing.typingMaxMs})`);
  if (pacing.warmupFactor < 1) problems.push(`warmupFactor must be at least 1, not ${pacing.warmupFactor}`);
  if (pacing.slowAfterFailures < 1 || pacing.stopAfterFailures < pacing.slowAfterFailures) problems.push("restriction thresholds must be 1 ≤ slowAfterFailures ≤ stopAfterFailures");
  if (problems.length > 0) throw new RangeError(`WhatsApp pacing: ${problems.join("; ")}`);
}
