/**
 * Every store's WhatsApp session in this process, each owned across instances through the
 * lease `whatsapp-session:<tenantId>` (`storage/leases.ts`): an instance opens a store's
 * socket only while it holds that lease, so two instances never run one session (WhatsApp
 * would answer each with 440, and both would write the same keys).
 *
 * ```ts
 * const sessions = new StoreSessions({ leases, store, messages, attachFor, events, log, logFor });
 * await sessions.startAll();        // every active store whose number is linked
 * await sessions.reconcile();       // follow links, unlinks, suspensions; take over lapsed leases
 * sessions.open(tenantId);          // the StoreSession, when its socket runs here
 * await sessions.close();
 * ```
 *
 * One timer for every store, every third of the lease: the leases held are renewed in one
 * call; a lease is good until `leaseMs − marginMs` after its renewal was *sent*. A renewal
 * that finds the lease taken, or answers too late, closes that store's socket at once (and
 * the session store refuses a stale holder's writes by the lease's epoch anyway). Stores
 * that should run here but whose lease another instance holds are looked up at each tick in
 * one read, which also tells how long each lease has left: when that instance dies (stops
 * renewing), this one takes its stores the moment their leases lapse (`LeaseLapses`).
 *
 * A session that ends by itself sets the store's `channels.whatsapp.status`: `logged-out`
 * (401, session wiped), `restricted` (403/419); the matching event tells the platform.
 */
import type { WASocket } from "baileys";
import { isValidObjectId } from "mongoose";
import type { EngineLog } from "../../flows/engine/index.ts";
import type { ChannelStoresReport, Locale, StoreChangeSet } from "../../flows/engine/index.ts";
import type { LeaseGrant, Leases } from "../../storage/leases.ts";
import { Tenant } from "../../storage/models/index.ts";
import { LeaseLapses } from "../../storage/lease-lapses.ts";
import { settledWithin } from "../../storage/settled-within.ts";
import { sessionLeaseKey } from "../../storage/whatsapp/auth-state.ts";
import type { WhatsAppMessageLog, WhatsAppSessionStore } from "../../storage/whatsapp/types.ts";
import type { StoreRef, WhatsAppLinkStatus, WhatsAppSessionEvents } from "./contract.ts";
import { describe, StoreSession } from "./store-session.ts";
import type { SessionEnd, SocketSettings, StoreSessionEvents } from "./store-session.ts";

export const DEFAULT_SESSION_LEASE_MS = 30_000;

/** Session leases taken at once when many lapse together (an instance taking over a dead one's stores). */
const TAKEOVER_CONCURRENCY = 16;


/** A store as its session needs it. */
export interface SessionTenant extends StoreRef {
  locale: Locale;
  /** When the number was linked (pacing is slower for new numbers). */
  linkedAt?: Date;
}

export interface StoreSessionsOptions {
  leases: Leases;
  /** How long a session lease lasts without renewal (`WHATSAPP_SESSION_LEASE_MS`). Default 30 000 ms. */
  leaseMs?: number;
  store: WhatsAppSessionStore;
  messages: WhatsAppMessageLog;
  socket?: SocketSettings;
  /** Installs the store's listeners (inbound, receipts) on each new socket. */
  attachFor(tenant: SessionTenant): (socket: WASocket) => void;
  events?: WhatsAppSessionEvents;
  log: EngineLog;
  logFor?(slug: string): EngineLog;
}

interface Entry {
  tenant: SessionTenant;
  key: string;
  /** `elsewhere`: wanted here, but another instance holds the lease. */
  state: "elsewhere" | "running" | "acquiring";
  session?: StoreSession;
  epoch: number;
  /** Local deadline (`performance.now()`) of the lease while running. */
  validUntil: number;
  /** A link attempt runs the session: the sweep leaves it alone, and its end changes no status. */
  linking?: boolean;
}

interface TenantRow {
  _id: unknown;
  slug: string;
  name: string;
  locale?: string | null;
  status?: string | null;
  channels?: { whatsapp?: { status?: string | null; linkedAt?: Date | null } | null } | null;
}

const TENANT_FIELDS = { slug: 1, name: 1, locale: 1, status: 1, "channels.whatsapp.status": 1, "channels.whatsapp.linkedAt": 1 } as const;

export class StoreSessions {
  readonly holder: string;
  readonly leaseMs: number;
  readonly #marginMs: number;
  readonly #entries = new Map<string, Entry>();
  /** Linked stores whose session could not start here: read again at the next reconcile, changed or not. */
  readonly #failed = new Set<string>();
  readonly #options: StoreSessionsOptions;
  readonly #lapses = new LeaseLapses<Entry>((entries) => void this.#takeFree(entries));
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: StoreSessionsOptions) {
    this.#options = options;
    this.holder = options.leases.holder;
    this.leaseMs = options.leaseMs ?? DEFAULT_SESSION_LEASE_MS;
    this.#marginMs = Math.floor(this.leaseMs / 5);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The store's session when its socket runs in this process (open or reconnecting). */
  running(tenantId: string): StoreSession | undefined {
    const entry = this.#entries.get(tenantId);
    return entry?.state === "running" ? entry.session : undefined;
  }

  /** Whether this process serves the store's number, here or waiting for its lease. */
  wants(tenantId: string): boolean {
    return this.#entries.has(tenantId);
  }

  tenant(tenantId: string): SessionTenant | undefined {
    return this.#entries.get(tenantId)?.tenant;
  }

  /** Who holds the store's session lease now, if anyone. */
  async holderOf(tenantId: string): Promise<string | undefined> {
    const key = sessionLeaseKey(tenantId);
    return (await this.#options.leases.holders([key])).get(key);
  }

  /** Starts every active store whose number is linked. */
  startAll(): Promise<ChannelStoresReport> {
    this.#startTicking();
    return this.reconcile();
  }

  /**
   * Starts newly linked stores, stops unlinked or suspended ones, tries leases held elsewhere.
   * With `changes` (from the store change feed) only the stores named there are read, plus
   * those that failed to start before; without, or with `{ all: true }`, every store.
   */
  async reconcile(changes: StoreChangeSet = { all: true }): Promise<ChannelStoresReport> {
    const report: ChannelStoresReport = { started: [], stopped: [], failed: [] };
    if (this.#closed) return report;
    const linked = { status: "active" as const, "channels.whatsapp.status": "linked" };
    const asked = changes.all ? undefined : [...new Set([...changes.ids, ...this.#failed])].filter((id) => isValidObjectId(id));
    const rows = asked?.length === 0 ? [] : await Tenant.find(asked ? { _id: { $in: asked } } : linked, TENANT_FIELDS).lean<TenantRow[]>().exec();
    report.checked = rows.length;
    const wanted = new Map(rows.filter((row) => row.status === "active" && row.channels?.whatsapp?.status === "linked").map((row) => [String(row._id), row]));
    this.#failed.clear();
    for (const [tenantId, entry] of this.#entries) {
      if (wanted.has(tenantId) || entry.linking || (asked && !asked.includes(tenantId))) continue;
      await this.stopStore(tenantId);
      report.stopped.push(entry.tenant.slug);
    }
    for (const [tenantId, row] of wanted) {
      const existing = this.#entries.get(tenantId);
      if (existing) {
        existing.tenant = tenantOf(row);
        continue;
      }
      try {
        if (!(await this.#options.store.isRegistered(tenantId))) {
          this.#failed.add(tenantId);
          report.failed.push({ slug: row.slug, reason: "linked, but no registered session is stored" });
          continue;
        }
        const entry: Entry = { tenant: tenantOf(row), key: sessionLeaseKey(tenantId), state: "elsewhere", epoch: 0, validUntil: 0 };
        this.#entries.set(tenantId, entry);
        await this.#tryAcquire(entry);
        report.started.push(row.slug);
      } catch (error) {
        this.#failed.add(tenantId);
        report.failed.push({ slug: row.slug, reason: describe(error) });
      }
    }
    return report;
  }

  /** Closes the store's socket here (without logging out) and gives its lease back. */
  async stopStore(tenantId: string): Promise<void> {
    const entry = this.#entries.get(tenantId);
    if (!entry) return;
    this.#entries.delete(tenantId);
    this.#lapses.cancel(entry);
    await entry.session?.stop();
    if (entry.state === "running") await this.#options.leases.release([entry.key]).catch(() => undefined);
  }

  /**
   * Takes the store's session lease for a link attempt and builds its session (not started),
   * renewed with the others; undefined when another instance holds the lease. `events` hear
   * the attempt; once `linked` is called the session is one of this process's stores.
   */
  async startLinking(tenant: SessionTenant, events: StoreSessionEvents): Promise<StoreSession | undefined> {
    const existing = this.#entries.get(tenant.id);
    if (existing) throw new Error(`the WhatsApp session of ${tenant.slug} already runs here`);
    const sentAt = performance.now();
    const grant = await this.#options.leases.acquire(sessionLeaseKey(tenant.id), this.leaseMs);
    if (!grant) return undefined;
    const entry: Entry = { tenant, key: grant.key, state: "running", epoch: grant.epoch, validUntil: sentAt + this.leaseMs - this.#marginMs, linking: true };
    this.#entries.set(tenant.id, entry);
    this.#startTicking();
    const own = this.#eventsFor(entry);
    entry.session = this.newSession(tenant, grant.epoch, {
      ...events,
      ended: (end, code) => {
        own.ended?.(end, code);
        events.ended?.(end, code);
      },
    });
    return entry.session;
  }

  /** The link attempt succeeded: the session goes on as a linked store's. */
  linked(tenantId: string, linkedAt: Date): void {
    const entry = this.#entries.get(tenantId);
    if (!entry) return;
    entry.linking = false;
    entry.tenant = { ...entry.tenant, linkedAt };
  }

  /** Builds a session for `tenant` under the lease `epoch`, with the process's settings. */
  newSession(tenant: SessionTenant, epoch: number, events: StoreSessionEvents): StoreSession {
    return new StoreSession({
      ...this.#options.socket,
      tenant,
      fence: { tenantId: tenant.id, epoch },
      store: this.#options.store,
      messages: this.#options.messages,
      holdsLease: async () => (await this.holderOf(tenant.id)) === this.holder,
      attach: this.#options.attachFor(tenant),
      events,
      log: this.#logFor(tenant.slug),
    });
  }

  /** Stops every session here and gives the leases back. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#lapses.clear();
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => entry.session?.stop()));
    const held = entries.filter((e) => e.state === "running").map((e) => e.key);
    if (held.length > 0) await this.#options.leases.release(held).catch(() => undefined);
  }

  /** One renewal and one round of takeovers; the timer calls it every third of the lease. */
  async tick(): Promise<void> {
    if (this.#closed) return;
    await this.#renewHeld();
    await this.#takeFree([...this.#entries.values()]);
  }

  get #tickMs(): number {
    return Math.max(1000, Math.floor(this.leaseMs / 3));
  }

  #startTicking(): void {
    if (this.#timer || this.#closed) return;
    const next = () => {
      this.#timer = setTimeout(() => void this.tick().catch((error: unknown) => {
        this.#options.log.warn("whatsapp session leases: a tick failed", { error: describe(error) });
      }).finally(next), this.#tickMs);
      this.#timer.unref();
    };
    next();
  }

  /**
   * One read of who holds the leases of `candidates` waiting here; the free ones are taken,
   * and those whose holder missed a renewal (a live one renews every tick, so its lease has
   * two ticks left) are taken the moment they lapse, not at the next tick.
   */
  async #takeFree(candidates: readonly Entry[]): Promise<void> {
    const elsewhere = candidates.filter((e) => e.state === "elsewhere" && this.#entries.get(e.tenant.id) === e);
    if (elsewhere.length === 0 || this.#closed) return;
    const read = await settledWithin(this.#options.leases.held(elsewhere.map((e) => e.key)), this.#tickMs);
    if (read.state !== "fulfilled") return; // the renewal says it when the lease store fails
    const free: Entry[] = [];
    for (const entry of elsewhere) {
      const lease = read.value.get(entry.key);
      if (!lease || lease.holder === this.holder) free.push(entry);
      else if (lease.remainingMs < this.#tickMs * 1.5) this.#lapses.schedule(entry, lease.remainingMs);
    }
    for (let i = 0; i < free.length; i += TAKEOVER_CONCURRENCY) {
      await Promise.all(free.slice(i, i + TAKEOVER_CONCURRENCY).map((entry) => this.#tryAcquire(entry)));
    }
  }

  async #renewHeld(): Promise<void> {
    const sentAt = performance.now();
    const held = [...this.#entries.values()].filter((e) => e.state === "running");
    for (const entry of held) if (entry.validUntil <= sentAt) this.#lose(entry, "lapsed");
    const live = held.filter((e) => e.state === "running");
    if (live.length === 0) return;
    // A slow answer is waited for as long as every lease renewed here is still ours, not a
    // fixed share of the period: a busy event loop or database then costs no session, and an
    // answer later than that is one the sessions cannot act on anyway.
    const waitMs = Math.max(1000, Math.min(...live.map((e) => e.validUntil)) - sentAt);
    const answer = await settledWithin(this.#options.leases.renew(live.map((e) => e.key), this.leaseMs), waitMs);
    if (answer.state !== "fulfilled") {
      this.#options.log.warn("whatsapp session leases not renewed; each session closes when its lease runs out unless this recovers", {
        holder: this.holder, stores: live.length, error: answer.state === "rejected" ? describe(answer.error) : "no answer in time",
      });
      const now = performance.now();
      for (const entry of live) if (entry.state === "running" && entry.validUntil <= now) this.#lose(entry, "lapsed");
      return;
    }
    const answeredAt = performance.now();
    for (const entry of live) {
      if (this.#entries.get(entry.tenant.id) !== entry || entry.state !== "running") continue;
      if (!answer.value.has(entry.key)) this.#lose(entry, "taken");
      else if (sentAt + this.leaseMs - this.#marginMs <= answeredAt) this.#lose(entry, "lapsed");
      else entry.validUntil = sentAt + this.leaseMs - this.#marginMs;
    }
  }

  async #tryAcquire(entry: Entry): Promise<void> {
    if (entry.state !== "elsewhere" || this.#closed) return;
    this.#lapses.cancel(entry);
    entry.state = "acquiring";
    let taken: { grant: LeaseGrant; sentAt: number } | undefined;
    try {
      const sentAt = performance.now();
      const grant = await this.#options.leases.acquire(entry.key, this.leaseMs);
      taken = grant && { grant, sentAt };
    } catch (error) {
      this.#logFor(entry.tenant.slug).warn("whatsapp session lease could not be taken; trying again at the next tick", { tenant: entry.tenant.slug, error: describe(error) });
    }
    if (!taken || this.#entries.get(entry.tenant.id) !== entry || this.#closed) {
      if (taken) await this.#options.leases.release([entry.key]).catch(() => undefined);
      entry.state = "elsewhere";
      return;
    }
    entry.state = "running";
    entry.epoch = taken.grant.epoch;
    entry.validUntil = taken.sentAt + this.leaseMs - this.#marginMs;
    this.#logFor(entry.tenant.slug).info("whatsapp session lease taken: this instance runs the store's number", { tenant: entry.tenant.slug, holder: this.holder, epoch: taken.grant.epoch });
    entry.session = this.newSession(entry.tenant, taken.grant.epoch, this.#eventsFor(entry));
    entry.session.start();
  }

  #lose(entry: Entry, why: "lapsed" | "taken"): void {
    entry.state = "elsewhere";
    entry.validUntil = 0;
    const session = entry.session;
    entry.session = undefined;
    void session?.stop();
    this.#logFor(entry.tenant.slug).warn(
      why === "taken" ? "whatsapp session lease lost to another instance: socket closed here" : "whatsapp session lease ran out before it was renewed: socket closed here",
      { tenant: entry.tenant.slug, holder: this.holder, epoch: entry.epoch },
    );
  }

  #eventsFor(entry: Entry): StoreSessionEvents {
    const events = this.#options.events;
    const store = entry.tenant;
    return {
      ended: (end, code) => void this.#ended(entry, end, code),
      unreachable: (detail) => events?.onUnreachable?.(store, detail),
      reconnected: () => events?.onReconnected?.(store),
    };
  }

  /** A running session ended by itself: the store's status says why, and the platform hears it. */
  async #ended(entry: Entry, end: SessionEnd, code: number | undefined): Promise<void> {
    const store = entry.tenant;
    const log = this.#logFor(store.slug);
    if (!entry.linking) log.warn("whatsapp session ended", { tenant: store.slug, why: end.kind, code: code ?? "none" });
    if (this.#entries.get(store.id) === entry) this.#entries.delete(store.id);
    if (entry.linking) {
      await this.#options.leases.release([entry.key]).catch(() => undefined);
      return;
    }
    const fence = { tenantId: store.id, epoch: entry.epoch };
    try {
      if (end.kind === "logged-out") {
        await this.#options.store.wipe(fence);
        await setLinkStatus(store.id, "logged-out", `logged out from the phone (${code ?? 401})`);
        this.#options.events?.onLoggedOut?.(store);
      } else if (end.kind === "restricted") {
        await setLinkStatus(store.id, "restricted", `WhatsApp refused the number (${end.code})`);
        this.#options.events?.onRestricted?.(store, { code: end.code, reason: `closed with ${end.code}` });
      } else if (end.kind === "replaced-stop") {
        this.#options.events?.onRestricted?.(store, { code: 440, reason: "replaced twice by another connection; stopped to avoid a reconnect loop" });
      }
    } catch (error) {
      log.error("whatsapp session end not recorded", { tenant: store.slug, why: end.kind, error: describe(error) });
    }
    if (end.kind !== "yield" && entry.state === "running") await this.#options.leases.release([entry.key]).catch(() => undefined);
  }

  #logFor(slug: string): EngineLog {
    return this.#options.logFor?.(slug) ?? this.#options.log;
  }
}

/** Saves the store's link status, why and when; `extra` sets more of `channels.whatsapp`. */
export async function setLinkStatus(tenantId: string, status: WhatsAppLinkStatus, reason: string, extra: Record<string, unknown> = {}): Promise<void> {
  const set: Record<string, unknown> = { "channels.whatsapp.status": status, "channels.whatsapp.statusReason": reason.slice(0, 200), "channels.whatsapp.statusAt": new Date() };
  for (const [field, value] of Object.entries(extra)) set[`channels.whatsapp.${field}`] = value;
  await Tenant.updateOne({ _id: tenantId }, { $set: set }).exec();
}

function tenantOf(row: TenantRow): SessionTenant {
  const linkedAt = row.channels?.whatsapp?.linkedAt;
  return {
    id: String(row._id),
    slug: row.slug,
    name: row.name,
    locale: row.locale === "en" ? "en" : "id",
    ...(linkedAt && { linkedAt }),
  };
}
