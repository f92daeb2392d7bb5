/**
 * Watches each store number for signs that WhatsApp is limiting it, and slows or stops it
 * before the number is banned.
 *
 * | state | when | sends |
 * |---|---|---|
 * | `normal` | no recent signs | at the configured pace |
 * | `slowed` | `slowAfterFailures` signs within `restrictionWindowMs` | gaps × 3 |
 * | `stopped` | `stopAfterFailures` signs within the window | held: refused as `store-unavailable` |
 *
 * Signs are refusals the number earns (`restrictionSignOf`): error acknowledgements of sent
 * messages (463: the account may not reach out to new chats; any other but 479), and sends
 * WhatsApp refused with 403/419/429 — a burst of those is how limits show before WhatsApp
 * says so. A customer's own problem (not on WhatsApp, a stale device session: 479, a bad
 * file) is not a sign, nor is a dropped connection (the session's reconnects handle it).
 *
 * A slowed number returns to normal when no sign has come for a whole window and its last
 * `slowAfterFailures` sends went out. A stopped number stays stopped until the operator
 * resumes it (`resume`) or `stopCoolDownMs` (default 6 h) has passed; either way it resumes
 * slowed, with the signs forgotten: a number still limited meets the next signs at the slow
 * pace and is stopped again by them.
 */
import type { PacingOptions } from "./contract.ts";

export type RestrictionPace = "normal" | "slowed" | "stopped";

/** What the watch tells the channel (which turns it into the owners' alerts), by store id. */
export interface RestrictionEvents {
  slowed?(tenantId: string, reason: string): void;
  stopped?(tenantId: string, reason: string): void;
  /** Back to the normal pace (`by`: sends went out again), or resumed after a stop. */
  resumed?(tenantId: string, by: "recovered" | "operator" | "cool-down"): void;
}

export interface RestrictionWatchOptions {
  pacing: Pick<PacingOptions, "slowAfterFailures" | "stopAfterFailures" | "restrictionWindowMs" | "stopCoolDownMs">;
  events?: RestrictionEvents;
  /** Milliseconds; tests pass their own. */
  now?: () => number;
}

interface NumberRecord {
  pace: RestrictionPace;
  /** When each sign of the current window came, oldest first. */
  signs: number[];
  reason?: string;
  stoppedAt?: number;
  /** Sends that went out since the last sign. */
  sentSince: number;
}

/** A hold on a stopped number, as the channel reports it. */
export interface RestrictionHold {
  reason: string;
  /** When the cool-down ends, unless an operator resumes the number first. */
  until: Date;
}

export class RestrictionWatch {
  readonly #numbers = new Map<string, NumberRecord>();
  readonly #options: RestrictionWatchOptions;
  readonly #now: () => number;

  constructor(options: RestrictionWatchOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** A message of the number went out. */
  sent(tenantId: string): void {
    const record = this.#numbers.get(tenantId);
    if (!record) return;
    record.sentSince += 1;
    this.#settle(tenantId, record);
  }

  /** A restriction sign (see `restrictionSignOf`): counts towards slowing and stopping the number. */
  sign(tenantId: string, reason: string): void {
    const known = this.#numbers.get(tenantId);
    if (known) this.#settle(tenantId, known);
    const record = this.#record(tenantId);
    if (record.pace === "stopped") return;
    const now = this.#now();
    record.signs.push(now);
    record.sentSince = 0;
    const { slowAfterFailures, stopAfterFailures } = this.#options.pacing;
    if (record.signs.length >= stopAfterFailures) {
      Object.assign(record, { pace: "stopped", reason, stoppedAt: now });
      this.#options.events?.stopped?.(tenantId, reason);
    } else if (record.signs.length >= slowAfterFailures && record.pace === "normal") {
      Object.assign(record, { pace: "slowed", reason });
      this.#options.events?.slowed?.(tenantId, reason);
    }
  }

  pace(tenantId: string): RestrictionPace {
    const record = this.#numbers.get(tenantId);
    if (record) this.#settle(tenantId, record);
    return this.#numbers.get(tenantId)?.pace ?? "normal";
  }

  /** Why and until when a stopped number's sends are held; undefined when it may send. */
  hold(tenantId: string): RestrictionHold | undefined {
    if (this.pace(tenantId) !== "stopped") return undefined;
    const record = this.#numbers.get(tenantId)!;
    return { reason: record.reason ?? "restriction signs", until: new Date(record.stoppedAt! + this.#options.pacing.stopCoolDownMs) };
  }

  /** The operator lets a stopped number send again (slowed, signs forgotten). */
  resume(tenantId: string): void {
    const record = this.#numbers.get(tenantId);
    if (record?.pace !== "stopped") return;
    this.#resumeSlowed(tenantId, record, "operator");
  }

  /** Forgets a number (unlinked, or linked anew). */
  forget(tenantId: string): void {
    this.#numbers.delete(tenantId);
  }

  #record(tenantId: string): NumberRecord {
    let record = this.#numbers.get(tenantId);
    if (!record) this.#numbers.set(tenantId, (record = { pace: "normal", signs: [], sentSince: 0 }));
    return record;
  }

  /** Ages signs out of the window and applies the recoveries that time allows. */
  #settle(tenantId: string, record: NumberRecord): void {
    const now = this.#now();
    if (record.pace === "stopped") {
      if (now - record.stoppedAt! >= this.#options.pacing.stopCoolDownMs) this.#resumeSlowed(tenantId, record, "cool-down");
      return;
    }
    const { restrictionWindowMs, slowAfterFailures } = this.#options.pacing;
    while (record.signs.length > 0 && record.signs[0] <= now - restrictionWindowMs) record.signs.shift();
    if (record.pace === "slowed" && record.signs.length === 0 && record.sentSince >= slowAfterFailures) {
      this.#numbers.delete(tenantId);
      this.#options.events?.resumed?.(tenantId, "recovered");
    } else if (record.pace === "normal" && record.signs.length === 0) {
      this.#numbers.delete(tenantId);
    }
  }

  #resumeSlowed(tenantId: string, record: NumberRecord, by: "operator" | "cool-down"): void {
    Object.assign(record, { pace: "slowed", signs: [], sentSince: 0, stoppedAt: undefined });
    this.#options.events?.resumed?.(tenantId, by);
  }
}

/** Error acknowledgements that are the customer's side, not the number's: 479, a stale device session or addressing. */
const CUSTOMER_SIDE_ACKS = new Set([479]);
const RESTRICTION_CODES = new Map<number, string>([
  [403, "WhatsApp refused the send (403)"],
  [419, "WhatsApp restricted the account (419)"],
  [429, "WhatsApp asked to slow down (429)"],
  [463, "WhatsApp refused a new chat: the account may not reach out (463)"],
]);

/**
 * Whether a failed send is a restriction sign, and in words why. `failure` is either an
 * error acknowledgement's code (`messages.update` with status ERROR:
 * `messageStubParameters[0]`, e.g. `"463"`) — every one counts but 479 — or an error
 * thrown by `sendMessage`, which counts when WhatsApp refused it (a Boom whose
 * `output.statusCode` is 403, 419, 429 or 463). A dropped connection or a time-out is not
 * a sign: the session's reconnects and its "unreachable" alert deal with those.
 */
export function restrictionSignOf(failure: unknown): string | undefined {
  if (typeof failure === "string" || typeof failure === "number") {
    const code = Number(failure);
    if (CUSTOMER_SIDE_ACKS.has(code)) return undefined;
    return RESTRICTION_CODES.get(code) ?? `WhatsApp refused a sent message (error ${String(failure)})`;
  }
  const statusCode = (failure as { output?: { statusCode?: unknown } } | null)?.output?.statusCode;
  return typeof statusCode === "number" ? RESTRICTION_CODES.get(statusCode) : undefined;
}
