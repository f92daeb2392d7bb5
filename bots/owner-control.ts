/**
 * `OwnerControl` as the platform implements it for the owner bot: the stores (`Tenant`), their
 * bots (`storeBotOperations` from channels.ts), the polling leases, the dependencies' health,
 * the scheduler's jobs (`agenda_jobs`), the stores' last orders and maintenance mode.
 *
 * ```ts
 * const control = createOwnerControl({ channels, coordination, config, maintenance, startedAt: new Date() });
 * channels.add(ownerBotChannel({ channels, coordination, config, maintenance, startedAt, alerts, log }));
 * ```
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import mongoose from "mongoose";
import type { AlertLog, OwnerAlerts } from "../admin-bot/owner-alerts.ts";
import { OwnerBot } from "../admin-bot/owner-bot.ts";
import { OwnerControlError } from "../admin-bot/owner-control.ts";
import { OWNER_WEBHOOK_PATH } from "../admin-bot/owner-webhook.ts";
import type {
  JobSummary, MaintenanceView, NewStore, OrderSummary, OwnerControl, PlatformStatus, StoreBroadcastLimits, StoreSummary, StoreWhatsApp,
} from "../admin-bot/owner-control.ts";
import type { Channel } from "../flows/engine/index.ts";
import { Order } from "../flows/ordering/order.ts";
import type { Backups } from "../storage/backup/service.ts";
import type { Coordination } from "../storage/coordination.ts";
import type { MaintenanceSwitch } from "../storage/maintenance.ts";
import { Tenant, SLUG_PATTERN } from "../storage/models/index.ts";
import type { TenantDoc } from "../storage/models/index.ts";
import { registerSecret } from "../storage/secrets-redaction.ts";
import { settledWithin } from "../storage/settled-within.ts";
import { displayPhone } from "../flows/tenant-admin/phone-numbers.ts";
import { storeBotOperations, whatsappLinkingOf } from "./channels.ts";
import { platformBroadcastLimits, type Config } from "./config.ts";
import { JOBS_COLLECTION } from "./scheduler.ts";
import { DEFAULT_JOB_OVERDUE_AFTER_MS, overdueJobsQuery } from "../admin-bot/job-watch.ts";

const LEASE_READ_MS = 3_000;

export interface OwnerControlSetup {
  channels: Iterable<Channel>;
  coordination: Pick<Coordination, "health" | "leases" | "redis">;
  config: Pick<Config, "telegramApiRoot" | "platformAlerts" | "broadcast">;
  maintenance: MaintenanceSwitch;
  startedAt: Date;
  /** Whether the scheduler runs in this process. */
  schedulerRunning?: () => boolean;
  /** Measured resources (h3's sampler); without it `/status` shows "n/a". */
  resources?: () => Promise<Record<string, string> | undefined>;
}

export const PLATFORM_VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

type TenantRow = Pick<TenantDoc, "slug" | "name" | "status" | "locale"> & { _id: unknown; suspendedReason?: string | null; channels?: { telegram?: { token?: unknown; mode?: string | null; revokedAt?: Date | null; botUsername?: string | null } | null; whatsapp?: { status?: string | null; phone?: string | null } | null } | null };

export function createOwnerControl(setup: OwnerControlSetup): OwnerControl {
  const bots = () => {
    const ops = storeBotOperations(setup.channels, setup.config);
    if (!ops) throw new OwnerControlError("failed", "no Telegram channel runs in this process");
    return ops;
  };
  const jobs = () => mongoose.connection.db!.collection(JOBS_COLLECTION);
  // Overdue means what the job watch alerts on (ALERT_JOB_OVERDUE_MS).
  const overdueMs = setup.config.platformAlerts?.jobOverdueAfterMs ?? DEFAULT_JOB_OVERDUE_AFTER_MS;

  const summaries = async (rows: TenantRow[]): Promise<StoreSummary[]> => {
    const ops = storeBotOperations(setup.channels, setup.config);
    const keys = rows.map((row) => ops?.pollingLeaseKey(String(row._id)) ?? "");
    const read = ops ? await settledWithin(setup.coordination.leases.holders(keys), LEASE_READ_MS) : undefined;
    const holders = read?.state === "fulfilled" ? read.value : new Map<string, string>();
    const numbers = await whatsappNumbers(rows);
    return rows.map((row, i) => {
      const tenantId = String(row._id);
      const telegram = row.channels?.telegram;
      const local = ops?.status(tenantId);
      const holder = holders.get(keys[i]!);
      const state = !local || local.mode === "stopped" ? "stopped" : local.pollingHere === false ? "standby" : "running";
      return {
        tenantId,
        slug: row.slug,
        name: row.name,
        status: row.status === "suspended" ? "suspended" : "active",
        ...(row.suspendedReason && { suspendedReason: row.suspendedReason }),
        locale: row.locale === "en" ? "en" : "id",
        telegramMode: telegram?.token ? (telegram.mode === "webhook" ? "webhook" : "polling") : "none",
        revoked: Boolean(telegram?.revokedAt),
        bot: {
          state,
          mode: local?.mode ?? "stopped",
          ...(holder && { pollingHolder: holder }),
          ...((local?.botUsername || telegram?.botUsername) && { botUsername: local?.botUsername || telegram?.botUsername || "" }),
        },
        ...(numbers[i] && { whatsapp: numbers[i] }),
      };
    });
  };
  /** Each store's WhatsApp number as saved, with its connection from the channel when one runs here. */
  const whatsappNumbers = async (rows: TenantRow[]): Promise<(StoreWhatsApp | undefined)[]> => {
    const linking = whatsappLinkingOf(setup.channels);
    return Promise.all(
      rows.map(async (row) => {
        const saved = row.channels?.whatsapp;
        if (!saved?.status) return undefined;
        const number: StoreWhatsApp = { status: saved.status as StoreWhatsApp["status"], ...(saved.phone && { phone: displayPhone(saved.phone) }) };
        const view = linking ? await settledWithin(linking.view(String(row._id)), LEASE_READ_MS) : undefined;
        return view?.state === "fulfilled" ? { ...number, status: view.value.status, connection: view.value.connection } : number;
      }),
    );
  };
  const one = async (slug: string): Promise<StoreSummary | undefined> => {
    const row = await Tenant.findOne({ slug }).lean<TenantRow>().exec();
    return row ? (await summaries([row]))[0] : undefined;
  };
  const known = async (slug: string): Promise<StoreSummary> => {
    const store = await one(slug);
    if (!store) throw new OwnerControlError("unknown-store", `no store has the slug ${slug}`);
    return store;
  };

  return {
    async status(): Promise<PlatformStatus> {
      const { health, leases, redis } = setup.coordination;
      const now = Date.now();
      const [due, running, overdue, failed, resources] = await Promise.all([
        jobs().countDocuments({ nextRunAt: { $lte: new Date(now) }, lockedAt: null, disabled: { $ne: true } }),
        jobs().countDocuments({ lockedAt: { $ne: null } }),
        jobs().countDocuments(overdueJobsQuery(overdueMs, new Date(now))),
        failedJobs(200).then((list) => list.length),
        setup.resources?.().catch(() => undefined),
      ]);
      return {
        version: PLATFORM_VERSION,
        startedAt: setup.startedAt,
        instance: leases.holder,
        mongodb: health.isUp("mongodb") ? "up" : "down",
        redis: redis ? (health.isUp("redis") ? "up" : "down") : "not-used",
        scheduler: setup.schedulerRunning?.() === false ? "stopped" : "running",
        jobs: { due, running, failed, overdue },
        ...(resources && { resources }),
      };
    },
    async stores() {
      return summaries(await Tenant.find({}).sort({ slug: 1 }).lean<TenantRow[]>().exec());
    },
    store: one,
    async lastOrders(tenantId: string, limit: number): Promise<OrderSummary[]> {
      const rows = await Order.find({ tenantId }).sort({ createdAt: -1 }).limit(limit).lean().exec();
      return rows.map((row) => ({ code: row.code, status: row.status, total: row.total, currency: row.currency, createdAt: row.createdAt as Date }));
    },
    async suspend(slug, reason) {
      const store = await known(slug);
      await bots().suspend(store.tenantId, reason);
      return known(slug);
    },
    async resume(slug) {
      const store = await known(slug);
      await bots().resume(store.tenantId);
      return known(slug);
    },
    async restart(slug) {
      const store = await known(slug);
      if (store.status === "suspended") throw new OwnerControlError("suspended", `${slug} is suspended`);
      await bots().restart(store.tenantId);
      return known(slug);
    },
    async switchMode(slug, mode) {
      const store = await known(slug);
      await bots().switchMode(store.tenantId, mode);
      return known(slug);
    },
    async broadcastLimits(slug) {
      return broadcastLimitsOf(await known(slug), setup.config);
    },
    async setBroadcastLimits(slug, change) {
      const store = await known(slug);
      const set: Record<string, number> = {};
      const unset: Record<string, 1> = {};
      for (const [field, value] of [["perDay", change.perDay], ["maxRecipients", change.maxRecipients]] as const) {
        if (value === null) unset[`limits.broadcast.${field}`] = 1;
        else if (value !== undefined) set[`limits.broadcast.${field}`] = value;
      }
      await Tenant.updateOne({ _id: store.tenantId }, { ...(Object.keys(set).length > 0 && { $set: set }), ...(Object.keys(unset).length > 0 && { $unset: unset }) }, { runValidators: true }).exec();
      return broadcastLimitsOf(store, setup.config);
    },
    async maintenance(): Promise<MaintenanceView> {
      return setup.maintenance.current();
    },
    async setMaintenance(on, text, by) {
      return setup.maintenance.set({ on, ...(text && { text }) }, by);
    },
    async jobs(limit: number): Promise<JobSummary[]> {
      const overdue = await jobs()
        .find(overdueJobsQuery(overdueMs))
        .sort({ nextRunAt: 1 })
        .limit(limit)
        .toArray();
      const failed = await failedJobs(limit);
      const seen = new Set<string>();
      return [...failed, ...overdue.map((doc) => jobSummary(doc, overdueMs))].filter((job) => !seen.has(job.id) && seen.add(job.id)).slice(0, limit);
    },
    async retryJob(id: string) {
      if (!/^[a-f0-9]{24}$/i.test(id)) return false;
      const done = await jobs().updateOne({ _id: new mongoose.Types.ObjectId(id), lockedAt: null }, { $set: { nextRunAt: new Date() } });
      return done.matchedCount > 0;
    },
    checkToken: (token) => bots().checkToken(token),
    async slugTaken(slug) {
      return (await Tenant.exists({ slug }).exec()) !== null;
    },
    async createStore(input: NewStore) {
      if (!SLUG_PATTERN.test(input.slug)) throw new OwnerControlError("bad-slug", `not a slug: ${input.slug}`);
      const ops = bots();
      const tenant = new Tenant({ slug: input.slug, name: input.name, locale: input.locale });
      try {
        await tenant.save();
      } catch (error) {
        if ((error as { code?: number }).code === 11000) throw new OwnerControlError("duplicate-slug", `the slug ${input.slug} is taken`);
        throw error;
      }
      // The same path as a new token for an existing store: checked with getMe, saved sealed, the bot started.
      try {
        await ops.retoken(String(tenant._id), input.token);
      } catch (error) {
        // Nothing half-made stays behind: the owner can run the wizard again with the same slug.
        await ops.suspend(String(tenant._id), "").catch(() => undefined);
        await Tenant.deleteOne({ _id: tenant._id }).exec();
        throw error;
      }
      return known(input.slug);
    },
  };

  async function failedJobs(limit: number): Promise<JobSummary[]> {
    const rows = await jobs().find({ failedAt: { $ne: null } }).sort({ failedAt: -1 }).limit(limit).toArray();
    // Failed last time it ran: a later success sets lastFinishedAt after failedAt.
    return rows.filter((doc) => !doc.lastFinishedAt || (doc.failedAt as Date).getTime() >= (doc.lastFinishedAt as Date).getTime()).map((doc) => jobSummary(doc, overdueMs, true));
  }
}

function jobSummary(doc: Record<string, unknown>, overdueMs: number, failed = false): JobSummary {
  const date = (value: unknown) => (value instanceof Date ? value : undefined);
  const nextRunAt = date(doc.nextRunAt);
  return {
    id: String(doc._id),
    name: String(doc.name),
    ...(nextRunAt && { nextRunAt }),
    ...(date(doc.lastRunAt) && { lastRunAt: date(doc.lastRunAt) }),
    ...(date(doc.failedAt) && { failedAt: date(doc.failedAt) }),
    ...(typeof doc.failReason === "string" && { failReason: doc.failReason }),
    ...(typeof doc.failCount === "number" && { failCount: doc.failCount }),
    overdue: !failed && nextRunAt !== undefined && nextRunAt.getTime() < Date.now() - overdueMs,
    failed,
  };
}

/** A store's broadcast limits as saved now, with the platform's (`BROADCAST_PER_DAY`, `BROADCAST_MAX_RECIPIENTS`, else the defaults). */
async function broadcastLimitsOf(store: StoreSummary, config: Pick<Config, "broadcast">): Promise<StoreBroadcastLimits> {
  const row = await Tenant.findById(store.tenantId, { limits: 1 }).lean<{ limits?: { broadcast?: { perDay?: number | null; maxRecipients?: number | null } } }>().exec();
  const saved = row?.limits?.broadcast ?? {};
  const own = { ...(typeof saved.perDay === "number" && { perDay: saved.perDay }), ...(typeof saved.maxRecipients === "number" && { maxRecipients: saved.maxRecipients }) };
  const platform = platformBroadcastLimits(config.broadcast);
  return { own, platform, effective: { ...platform, ...own } };
}

export interface OwnerBotSetup extends OwnerControlSetup {
  config: Pick<Config, "telegramApiRoot" | "ownerBotToken" | "ownerChatIds" | "defaultLocale" | "pollLeaseMs" | "ownerBotMode" | "publicUrl" | "broadcast">;
  alerts: OwnerAlerts;
  log: AlertLog;
  /** The webhook's secret is derived from it: the same on every instance, never stored. */
  encryptionKey: Buffer;
  /** The platform's backups (`BackupService`) when BACKUP_KEY is set: `/backup`, `/backups`, `/verify`, `/restore`. */
  backups?: Backups;
}

/** The owner bot of `niaga start` (with `OWNER_BOT_TOKEN`), on the store bots' Bot API root. */
export function ownerBotChannel(setup: OwnerBotSetup & { config: { ownerBotToken: string } }): OwnerBot {
  return new OwnerBot({
    token: setup.config.ownerBotToken,
    apiRoot: setup.config.telegramApiRoot,
    ownerChatIds: setup.config.ownerChatIds,
    locale: setup.config.defaultLocale,
    control: createOwnerControl(setup),
    alerts: setup.alerts,
    leases: setup.coordination.leases,
    ...(setup.config.pollLeaseMs !== undefined && { leaseMs: setup.config.pollLeaseMs }),
    log: setup.log,
    ...(setup.backups && { backups: setup.backups }),
    ...(setup.config.ownerBotMode === "webhook" && setup.config.publicUrl !== undefined && {
      webhook: { url: `${setup.config.publicUrl.replace(/\/+$/, "")}${OWNER_WEBHOOK_PATH}`, secret: ownerWebhookSecret(setup.encryptionKey) },
    }),
  });
}

/** The secret Telegram sends with the owner bot's updates, derived from `ENCRYPTION_KEY`. */
export function ownerWebhookSecret(encryptionKey: Buffer): string {
  const secret = createHmac("sha256", encryptionKey).update("niaga owner bot webhook").digest("base64url");
  registerSecret(secret);
  return secret;
}
