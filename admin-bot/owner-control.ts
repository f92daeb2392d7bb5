/**
 * What the owner bot controls, as one interface the platform implements (`bots/owner-control.ts`):
 * the stores and their bots, the platform's health, the scheduled jobs and maintenance mode.
 * The owner bot names no channel adapter and no flow; it asks through this.
 *
 * ```ts
 * const control: OwnerControl = ownerControl({ channels, coordination, scheduler, ... });
 * const stores = await control.stores();          // every store with its bot's state
 * await control.suspend("toko-a", "unpaid");      // saved, and its bot stopped
 * ```
 *
 * A store that cannot be acted on throws `OwnerControlError` with a reason the bot turns
 * into a line for the owner; the actions are audited by the owner bot, not here.
 */
import type { Locale } from "../flows/engine/index.ts";

export type StoreBotMode = "polling" | "webhook";

/** A store's bot as this instance and the polling leases see it. */
export interface StoreBotState {
  /** `running`: its bot runs here; `standby`: it runs, but another instance polls it; `stopped`: not running here. */
  state: "running" | "standby" | "stopped";
  mode: StoreBotMode | "stopped";
  /** The instance that holds its polling lease, when one does. */
  pollingHolder?: string;
  botUsername?: string;
}

export interface StoreSummary {
  tenantId: string;
  slug: string;
  name: string;
  status: "active" | "suspended";
  suspendedReason?: string;
  locale: Locale;
  /** The mode saved for its Telegram bot; "none" without a token. */
  telegramMode: StoreBotMode | "none";
  /** Telegram refused its token (401) and no new one was given yet. */
  revoked: boolean;
  bot: StoreBotState;
  /** The store's WhatsApp number, once it was ever linked. */
  whatsapp?: StoreWhatsApp;
}

/** A store's WhatsApp number as the owner bot shows it (`WhatsAppStoreView`; `connection` unknown without a WhatsApp channel here). */
export interface StoreWhatsApp {
  status: "unlinked" | "linked" | "logged-out" | "restricted";
  /** As shown: `+62 812-3456-7890`. */
  phone?: string;
  connection?: "open" | "connecting" | "closed" | "elsewhere" | "stopped";
}

export interface OrderSummary {
  code: string;
  status: string;
  total: number;
  currency?: string;
  createdAt: Date;
}

export interface JobSummary {
  id: string;
  name: string;
  nextRunAt?: Date;
  lastRunAt?: Date;
  failedAt?: Date;
  failReason?: string;
  failCount?: number;
  /** Due for longer than the scheduler's grace and not running. */
  overdue: boolean;
  failed: boolean;
}

export interface PlatformStatus {
  version: string;
  startedAt: Date;
  /** This instance (its lease holder name). */
  instance: string;
  mongodb: "up" | "down";
  redis: "up" | "down" | "not-used";
  scheduler: "running" | "stopped";
  jobs: { due: number; running: number; failed: number; overdue: number };
  /** Measured resources (disk, memory, load, log size), name → shown value; undefined: not measured here. */
  resources?: Record<string, string>;
}

export interface MaintenanceView {
  on: boolean;
  text?: string;
  since?: Date;
}

export interface NewStore {
  slug: string;
  name: string;
  locale: Locale;
  token: string;
}

/** A store's broadcast limits: its own (set by the platform owner; unset: the platform's), the platform's, and what applies. */
export interface StoreBroadcastLimits {
  own: { perDay?: number; maxRecipients?: number };
  platform: { perDay: number; maxRecipients: number };
  effective: { perDay: number; maxRecipients: number };
}

/** A change of a store's broadcast limits: a number, or `null` for the platform's again; a limit left out stays. */
export interface BroadcastLimitsChange {
  perDay?: number | null;
  maxRecipients?: number | null;
}

export interface OwnerControl {
  status(): Promise<PlatformStatus>;
  stores(): Promise<StoreSummary[]>;
  /** Undefined when no store has that slug. */
  store(slug: string): Promise<StoreSummary | undefined>;
  lastOrders(tenantId: string, limit: number): Promise<OrderSummary[]>;
  suspend(slug: string, reason: string): Promise<StoreSummary>;
  resume(slug: string): Promise<StoreSummary>;
  restart(slug: string): Promise<StoreSummary>;
  switchMode(slug: string, mode: StoreBotMode): Promise<StoreSummary>;
  broadcastLimits(slug: string): Promise<StoreBroadcastLimits>;
  /** Saves the store's own broadcast limits; resolves with them as they are now. */
  setBroadcastLimits(slug: string, change: BroadcastLimitsChange): Promise<StoreBroadcastLimits>;
  maintenance(): Promise<MaintenanceView>;
  setMaintenance(on: boolean, text: string | undefined, by: string): Promise<MaintenanceView>;
  /** Failed and overdue jobs, newest first. */
  jobs(limit: number): Promise<JobSummary[]>;
  /** Schedules a job to run now; false when there is no such job. */
  retryJob(id: string): Promise<boolean>;
  /** Checks a bot token with Telegram; resolves with the bot's username. */
  checkToken(token: string): Promise<string>;
  slugTaken(slug: string): Promise<boolean>;
  /** Creates the store with its token sealed, and starts its bot. */
  createStore(store: NewStore): Promise<StoreSummary>;
}

/** Why a control action could not be done; `reason` picks the owner's line. */
export class OwnerControlError extends Error {
  override name = "OwnerControlError";
  constructor(
    readonly reason: "unknown-store" | "bad-slug" | "duplicate-slug" | "bad-token" | "token-rejected" | "token-revoked" | "no-public-url" | "no-token" | "suspended" | "failed",
    message: string,
  ) {
    super(message);
  }
}
