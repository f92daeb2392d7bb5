/**
 * The sweep that makes the running bots follow what is saved, whoever saved it: `niaga
 * tenant suspend` in another process, a new store, a re-token, a mode switch. It reads a few
 * fields of the stores the store change feed says changed (`storage/store-changes.ts`), or
 * of every store when asked for a full sweep, and reconciles only stores whose fields
 * differ from what it saw last, plus stores that should run here but do not (a start that
 * failed, a poller that died), tried again with back-off from 30 s to 10 min. A store seen
 * again unchanged costs its read and nothing else.
 */
import { createHash } from "node:crypto";
import { isValidObjectId } from "mongoose";
import { Tenant } from "../../storage/models/index.ts";
import type { StoreChangeSet } from "../../storage/store-changes.ts";
import type { TenantFields } from "../../storage/models/index.ts";
import type { StartAllReport, StoreBotStatus, SweepReport } from "./bot-status.ts";
import type { TelegramMode } from "./store-bot.ts";

const RETRY_FIRST_MS = 30_000;
const RETRY_MAX_MS = 10 * 60_000;
/** What a sweep reads of each store: enough to tell whether its bot must change. */
// Not `updatedAt`: the bots' own writes (bot username, webhook secret) move it too.
const SWEEP_FIELDS = { slug: 1, name: 1, locale: 1, status: 1, "channels.telegram.mode": 1, "channels.telegram.token": 1, "channels.telegram.revokedAt": 1 } as const;

interface SweepRow {
  _id: unknown;
  slug: string;
  name?: string | null;
  locale?: string | null;
  status?: string | null;
  channels?: { telegram?: { mode?: string | null; token?: string | null; revokedAt?: Date | null } | null } | null;
}

interface Wanted {
  runs: boolean;
  mode: TelegramMode;
}

/** A store as `startAll` reads it, all at once: what its bot's start needs. */
export type LoadedStore = Pick<TenantFields, "slug" | "name" | "locale" | "status" | "channels"> & { _id: unknown };
/** What `startAll` reads of each store: the sweep's fields and everything Telegram (`channels.telegram`). */
const START_FIELDS = { slug: 1, name: 1, locale: 1, status: 1, "channels.telegram": 1 } as const;

/** The registry as the sweep sees it. */
export interface SweptBots {
  closing(): boolean;
  /** The running bots, by store id. */
  running(): ReadonlyMap<string, { mode: TelegramMode | "stopped"; tenant: { slug: string } }>;
  /** Starts a store's bot; `loaded`: the store as `startAll` read it. */
  start(tenantId: string, loaded?: LoadedStore): Promise<unknown>;
  /** `startAll` is about to start these stores. */
  expect?(stores: readonly LoadedStore[]): void;
  /** A store's start failed: it is not coming up in this start-up. */
  settle?(slug: string, up: boolean): void;
  reconcile(tenantId: string): Promise<StoreBotStatus | undefined>;
}

export class StoreSweep {
  readonly #bots: SweptBots;
  readonly #concurrency: number;
  /** Each store's sweep fields as last seen, and when a store that failed is tried again. */
  readonly #fingerprints = new Map<string, string>();
  readonly #retries = new Map<string, { at: number; delayMs: number }>();
  /** What each store read by a sweep wants of its bot: whether it runs, and in which mode. */
  readonly #wanted = new Map<string, Wanted>();
  /** The line of `startAll` under way, which `hurry` reorders. */
  #startLine: StartLine | undefined;

  constructor(bots: SweptBots, concurrency = 16) {
    this.#bots = bots;
    this.#concurrency = Math.max(1, concurrency);
  }

  /**
   * Starts the bot of every active store that has a token Telegram has not revoked, from one
   * read of them all, `concurrency` at a time, in the order read unless `hurry` moves one
   * ahead. Never throws for one store.
   */
  async startAll(): Promise<StartAllReport> {
    const stores = await Tenant.find(
      { status: "active", "channels.telegram.token": { $exists: true, $nin: [null, ""] }, "channels.telegram.revokedAt": { $exists: false } },
      START_FIELDS,
    ).lean<LoadedStore[]>().exec();
    const report: StartAllReport = { started: [], failed: [] };
    this.#bots.expect?.(stores);
    const line = new StartLine(stores);
    this.#startLine = line;
    const worker = async () => {
      for (let store = line.next(); store; store = line.next()) {
        const id = String(store._id);
        this.#fingerprints.set(id, fingerprintOf(store as SweepRow));
        try {
          await this.#bots.start(id, store);
          report.started.push(store.slug);
        } catch (error) {
          this.#retryLater(id);
          this.#bots.settle?.(store.slug, false);
          report.failed.push({ slug: store.slug, reason: (error as Error).message });
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: this.#concurrency }, worker));
    } finally {
      if (this.#startLine === line) this.#startLine = undefined;
    }
    return report;
  }

  /** Moves a store's start to the front of the line of `startAll` under way (a customer waits for it). */
  hurry(tenantId: string): void {
    this.#startLine?.hurry(tenantId);
  }

  /**
   * One sweep over the saved stores (see the top of this file). With `changes` (from the
   * store change feed) it reads only the stores named there, plus those it still has to
   * retry; without, or with `{ all: true }`, every store. Never throws for one store.
   */
  async reconcileChanged(changes: StoreChangeSet = { all: true }): Promise<SweepReport> {
    const report: SweepReport = { checked: 0, reconciled: 0, started: [], stopped: [], failed: [] };
    if (this.#bots.closing()) return report;
    const now = Date.now();
    const running = this.#bots.running();
    const asked = changes.all ? undefined : this.#toRead(changes.ids, running, now);
    const rows = asked?.length === 0 ? [] : await Tenant.find(asked ? { _id: { $in: asked } } : {}, SWEEP_FIELDS).lean<SweepRow[]>().exec();
    report.checked = rows.length;
    const due: Array<{ id: string; slug: string }> = [];
    const present = new Set<string>();
    for (const row of rows) {
      const id = String(row._id);
      present.add(id);
      const fingerprint = fingerprintOf(row);
      const before = this.#fingerprints.get(id);
      this.#fingerprints.set(id, fingerprint);
      const wanted = wantedOf(row);
      this.#wanted.set(id, wanted);
      if (before !== undefined && before !== fingerprint) {
        this.#retries.delete(id);
        due.push({ id, slug: row.slug });
      } else if (isOff(wanted, running.get(id)) && this.#retryDue(id, now)) {
        due.push({ id, slug: row.slug });
      }
    }
    // Read and not found, or (on a full sweep) not read at all: the store is gone.
    const gone = asked ? asked.filter((id) => !present.has(id)) : [...new Set([...this.#fingerprints.keys(), ...running.keys()])].filter((id) => !present.has(id));
    for (const id of gone) {
      const bot = running.get(id);
      if (bot) due.push({ id, slug: bot.tenant.slug });
      this.#fingerprints.delete(id);
      this.#wanted.delete(id);
      this.#retries.delete(id);
    }
    report.reconciled = due.length;
    await this.#eachAtOnce(due, async ({ id, slug }) => {
      const wasRunning = this.#bots.running().has(id);
      try {
        const status = await this.#bots.reconcile(id);
        this.#retries.delete(id);
        if (status && !wasRunning) report.started.push(slug);
        if (!status && wasRunning) report.stopped.push(slug);
      } catch (error) {
        this.#retryLater(id);
        if (wasRunning && !this.#bots.running().has(id)) report.stopped.push(slug);
        report.failed.push({ slug, reason: (error as Error).message });
      }
    });
    return report;
  }

  /** The stores a cheap sweep reads: those changed, and those known to be off here whose next try is due. */
  #toRead(changed: readonly string[], running: ReturnType<SweptBots["running"]>, now: number): string[] {
    const ids = new Set(changed.filter((id) => isValidObjectId(id)));
    for (const id of this.#retries.keys()) if (this.#retryDue(id, now)) ids.add(id);
    for (const [id, wanted] of this.#wanted) if (isOff(wanted, running.get(id)) && this.#retryDue(id, now)) ids.add(id);
    return [...ids];
  }

  #retryDue(tenantId: string, now: number): boolean {
    return (this.#retries.get(tenantId)?.at ?? 0) <= now;
  }

  #retryLater(tenantId: string): void {
    const delayMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_FIRST_MS, (this.#retries.get(tenantId)?.delayMs ?? 0) * 2));
    this.#retries.set(tenantId, { at: Date.now() + delayMs, delayMs });
  }

  async #eachAtOnce<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await work(items[next++]);
    };
    await Promise.all(Array.from({ length: this.#concurrency }, worker));
  }
}

function wantedOf(row: SweepRow): Wanted {
  const telegram = row.channels?.telegram;
  return { runs: row.status === "active" && Boolean(telegram?.token) && !telegram?.revokedAt, mode: telegram?.mode === "webhook" ? "webhook" : "polling" };
}

/** The bot is not as its store wants: running when it should not, missing, or in another mode (or stopped). */
function isOff(wanted: Wanted, bot: { mode: TelegramMode | "stopped" } | undefined): boolean {
  return wanted.runs !== (bot !== undefined) || (bot !== undefined && bot.mode !== wanted.mode);
}

/** Stores waiting for their start, in order, with some moved to the front. */
class StartLine {
  readonly #stores: readonly LoadedStore[];
  readonly #index = new Map<string, number>();
  readonly #taken = new Set<number>();
  readonly #front: number[] = [];
  #next = 0;

  constructor(stores: readonly LoadedStore[]) {
    this.#stores = stores;
    stores.forEach((store, i) => this.#index.set(String(store._id), i));
  }

  next(): LoadedStore | undefined {
    for (;;) {
      const i = this.#front.length > 0 ? this.#front.shift()! : this.#next++;
      if (i >= this.#stores.length) return undefined;
      if (this.#taken.has(i)) continue;
      this.#taken.add(i);
      return this.#stores[i];
    }
  }

  hurry(tenantId: string): void {
    const i = this.#index.get(tenantId);
    if (i !== undefined && !this.#taken.has(i)) this.#front.push(i);
  }
}

/** A store's sweep fields in one string; the token only as a digest of its ciphertext. */
function fingerprintOf(row: SweepRow): string {
  const telegram = row.channels?.telegram;
  const token = telegram?.token ? createHash("sha256").update(telegram.token).digest("base64url").slice(0, 16) : "";
  return JSON.stringify([row.status, row.name, row.locale, telegram?.mode ?? "polling", token, telegram?.revokedAt?.getTime()]);
}
