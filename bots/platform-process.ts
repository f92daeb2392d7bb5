/**
 * The platform process (`niaga start`): every channel (`platformChannels`: each active
 * store's bot on it), the scheduler and the HTTP server, in one process, started in order
 * and stopped in reverse.
 *
 * ```ts
 * const platform = await startPlatform(loadConfig());
 * console.log(platform.port, platform.bots);     // { started: ["toko-a"], failed: [] }
 * await platform.stop();                         // on SIGTERM
 * ```
 *
 * What it starts, in order: logging, the encryption keyring, MongoDB (bounded retry), the
 * coordination (Redis, or in-process when `REDIS_URL` is unset), the conversation engine,
 * the HTTP server (health, readiness, metrics, webhooks) and, with `METRICS_PORT`, the
 * metrics' own listener, the channels, the scheduler, the platform's own alerts (MongoDB and
 * Redis outages, failing and overdue jobs, resources: `platform-alerts.ts`), and a sweep every
 * `RECONCILE_INTERVAL_MS` that makes each channel follow what other processes write
 * (`niaga tenant suspend|resume`, a new store, a new token), reading only the stores that
 * changed (and every store each `STORE_FULL_SWEEP_MS`).
 *
 * The HTTP server listens before the channels start: a store in webhook mode can be sent
 * an update the moment its webhook is set. `/readyz` says "not ready" until they have.
 *
 * Stopping: each channel stops taking messages (webhooks answer 503, polling stops; the
 * channel keeps what arrives), turns under way finish (bounded by `shutdownGraceMs`),
 * then the scheduler, the HTTP server, the coordination and MongoDB close, and the log
 * files are flushed.
 */
import { performance } from "node:perf_hooks";
import mongoose from "mongoose";
import { alertOnEngineFailure, alertOnHttpFailure } from "../admin-bot/error-alerts.ts";
import { OwnerAlerts } from "../admin-bot/owner-alerts.ts";
import { Channels } from "../flows/engine/index.ts";
import type { Channel, ChannelStoresReport, FlowBundle, StoreChangeSet } from "../flows/engine/index.ts";
import { platformFlows } from "../flows/platform.ts";
import { initI18n } from "../locales/i18n.ts";
import { connectMongo, disconnectMongo, isDatabaseOutage, pingMongo } from "../storage/connection.ts";
import { createCoordination } from "../storage/coordination.ts";
import { MaintenanceSwitch } from "../storage/maintenance.ts";
import { configureEncryption } from "../storage/crypto.ts";
import { openStoreChangeFeed } from "../storage/store-changes.ts";
import type { StoreChangeFeed, StoreChangeFeedOptions } from "../storage/store-changes.ts";
import { platformChannels } from "./channels.ts";
import { DEFAULT_RECONCILE_INTERVAL_MS, requireEncryptionKey } from "./config.ts";
import type { Config } from "./config.ts";
import { wireCommerce } from "./commerce.ts";
import type { DomainWiring, PlatformServices } from "./domain-wiring.ts";
import { createPlatformHttp } from "./http-server.ts";
import { closeLogging, configureLogging, logger, registerSecret, tenantLogger } from "./logger.ts";
import { listenForMetrics } from "./metrics-endpoint.ts";
import { ownerBotChannel } from "./owner-control.ts";
import "./models.ts";
import { watchPlatform, type PlatformWatch } from "./platform-alerts.ts";
import type { ResourceName, ResourceReadings } from "../admin-bot/resource-watch.ts";
import { createPlatformEngine, platformOutbox } from "./platform-engine.ts";
import { createScheduler } from "./scheduler.ts";
import { defineBackupJobs, platformBackups, scheduleBackupJobs } from "./backups.ts";

export type { DomainAttachment, DomainServices, DomainWiring, PlatformServices } from "./domain-wiring.ts";

/** What starting the channels did, by store slug, over every channel. */
export interface StartAllReport {
  started: string[];
  failed: Array<{ slug: string; reason: string }>;
}

export interface PlatformOptions {
  /** The flows the engine runs. Default: the wiring's, else `platformFlows`. */
  flows?: FlowBundle;
  /** Default: `wireCommerce` (ordering, payments, jobs, sellers' alerts). */
  wireDomain?: DomainWiring;
  /** How long stopping waits for turns and sends under way. Default 10 s. */
  shutdownGraceMs?: number;
  /** MongoDB connection attempts at start. Default 5 (back-off from 500 ms). */
  mongoAttempts?: number;
}

export interface RunningPlatform {
  readonly services: PlatformServices;
  /** The HTTP port it listens on (the one chosen when `HTTP_PORT=0`). */
  readonly port: number;
  /** The stores' bots the channels started, and those that failed, by slug (over every channel). */
  readonly bots: StartAllReport;
  /** The same, per channel. */
  readonly channels: Readonly<Record<string, ChannelStoresReport>>;
  /** The platform's own alert sources: latest resource readings and job state (for the owner bot's /status). */
  readonly watch: PlatformWatch;
  /** Stops everything; resolves when it has. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startPlatform(config: Config, options: PlatformOptions = {}): Promise<RunningPlatform> {
  configureLogging({ level: config.logLevel, ...(config.logDir !== undefined && { dir: config.logDir }) });
  const encryptionKey = requireEncryptionKey(config);
  configureEncryption(encryptionKey, config.encryptionKeysOld);
  await initI18n();

  // Undone in reverse if a later step fails, so a failed start leaves nothing open.
  const undo: Array<() => Promise<unknown>> = [];
  const unwind = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    await connectMongo(config.mongodbUri, {
      attempts: options.mongoAttempts ?? 5,
      onRetry: (attempt, reason) => logger.warn("MongoDB not reachable yet; retrying", { attempt, reason }),
    });
    undo.push(() => disconnectMongo());
    await ensureIndexes();

    const coordination = createCoordination({ ...(config.redisUrl !== undefined && { redisUrl: config.redisUrl }), log: logger, registerSecret });
    undo.push(() => coordination.close());
    const { health } = coordination;
    health.watch("mongodb", pingMongo);
    const http = createPlatformHttp({ log: logger, metrics: { token: config.metricsToken, listener: config.metricsListener } });
    const channels = new Channels();
    const outbox = platformOutbox(channels);
    const scheduler = createScheduler({ db: mongoose.connection.db!, log: logger });
    const alerts = new OwnerAlerts({
      log: logger,
      // Without an owner bot the alerts go to the log, and /readyz says nobody hears them.
      ...(config.ownerBotToken !== undefined && { outbox }),
      ownerChatIds: config.ownerChatIds,
      locale: config.defaultLocale,
      limiter: coordination.limiter,
      instance: coordination.leases.holder,
    });
    http.notice("ownerAlerts", () => (alerts.heard ? undefined : "nobody hears the owner alerts: set OWNER_BOT_TOKEN and OWNER_CHAT_IDS; until then they go to the log"));
    const attachment = (await (options.wireDomain ?? wireCommerce)({ config, coordination, http, channels, outbox, scheduler, alerts })) ?? {};
    undo.push(async () => attachment.stop?.(1_000));

    const maintenance = new MaintenanceSwitch();
    const engine = createPlatformEngine({
      maintenance,
      flows: options.flows ?? attachment.flows ?? platformFlows,
      config,
      coordination,
      channels,
      // Turns need MongoDB; without Redis they go on under in-process locks and limits.
      outages: {
        down: () => (health.isUp("mongodb") ? [] : ["mongodb"]),
        onChange: (listener) => health.onChange((name, up) => name === "mongodb" && listener(name, up)),
        isOutageError: isDatabaseOutage,
      },
      // A customer got an apology with an error id: the owner hears it, naming the store.
      onFailure: alertOnEngineFailure(alerts),
    });

    let channelsStarted = false;
    http.readiness("mongodb", () => mongoose.connection.readyState === 1 && health.isUp("mongodb"));
    if (coordination.redis) {
      const redis = coordination.redis;
      http.readiness("redis", () => redis.status === "ready" && health.isUp("redis"));
    }
    http.readiness("channels", () => channelsStarted);

    const setup = { engine, config, encryptionKey, http, coordination, alerts, outbox, ...(attachment.tickets && { tickets: attachment.tickets }), databaseAnswers: () => health.isUp("mongodb"), log: logger, logFor: tenantLogger };
    for (const channel of platformChannels(setup)) {
      channels.add(channel);
      // Routes mount before the server listens, which it does before the channels start.
      if (channel.routes) http.register(channel.routes);
    }
    // ---- Backups: the scheduled backup, verification and pruning, and the owner bot's /backup (bots/backups.ts).
    const backups = platformBackups(config, { db: mongoose.connection.db!, alerts, log: logger });
    if (backups) defineBackupJobs(scheduler.agenda, backups, logger);
    http.notice("backups", () => (backups ? undefined : "no backups are made: set BACKUP_KEY (and BACKUP_S3_* for offsite copies)"));
    let schedulerRunning = false;
    // Made once the channels run (below); /status reads its latest resource readings.
    const watched: { now?: PlatformWatch } = {};
    // The owner bot: a channel of its own ("owner"), polled by the instance holding its lease (or on a webhook).
    if (config.ownerBotToken !== undefined) {
      const ownerConfig = { ...config, ownerBotToken: config.ownerBotToken };
      const owner = ownerBotChannel({ channels, coordination, config: ownerConfig, encryptionKey, maintenance, alerts, log: logger, startedAt: new Date(), schedulerRunning: () => schedulerRunning, resources: async () => resourceLines(watched.now?.resources()), backups });
      channels.add(owner);
      if (owner.routes) http.register(owner.routes);
    }
    const services: PlatformServices = { config, coordination, engine, http, channels, outbox, scheduler, alerts };

    const port = await http.listen(config.httpPort);
    undo.push(() => http.close());
    const metrics = config.metricsListener ? await listenForMetrics(http.metrics, config.metricsListener, config.metricsToken) : undefined;
    if (metrics) undo.push(() => metrics.close());
    const grace = options.shutdownGraceMs ?? 10_000;
    undo.push(() => stopChannels(channels, grace));
    const started = await startChannels(channels);
    const bots = overall(started);
    channelsStarted = true;
    alerts.start();
    undo.push(() => alerts.stop());
    await scheduler.start();
    schedulerRunning = true;
    if (backups) await scheduleBackupJobs(scheduler.agenda, config);
    undo.push(() => scheduler.stop());
    await attachment.started?.(services);

    // ---- Platform alerts: dependency outages, failing and overdue jobs, resources (bots/platform-alerts.ts).
    const watching = watchPlatform({ config, health, scheduler, db: mongoose.connection.db!, alerts, log: logger });
    watched.now = watching;
    undo.push(() => watching.stop());
    http.onFailure(alertOnHttpFailure(alerts));
    // ---- end of platform alerts.

    const sweep = reconcileEvery(channels, config.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS, () => health.isUp("mongodb"), {
      ...(config.storeFullSweepMs !== undefined && { fullSweepMs: config.storeFullSweepMs }),
    });
    logger.info(startLine(coordination.mode, port, bots), {
      mode: coordination.mode,
      instance: coordination.leases.holder,
      httpPort: port,
      ...(metrics && { metricsPort: metrics.port }),
      storeBots: { started: bots.started.length, failed: bots.failed.length },
      channels: Object.fromEntries(Object.entries(started).map(([name, report]) => [name, { started: report.started.length, failed: report.failed.length, ms: report.ms }])),
      started: listed(bots.started),
      failed: bots.failed,
    });

    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= (async () => {
        logger.info("niaga stopping: no new updates; finishing the turns under way");
        await sweep.stop();
        // The domain (the broadcast runner) gets half the grace period, the channels what is left of it.
        const deadline = Date.now() + grace;
        await attachment.stop?.(grace / 2).catch((error: unknown) => logger.error("stopping the domain failed", { error: (error as Error).message }));
        await engine.releaseHeld();
        const finished = await stopChannels(channels, Math.max(grace / 2, deadline - Date.now()));
        if (!finished) logger.warn("some turns or sends were still under way when the grace period ended");
        await scheduler.stop().catch((error: unknown) => logger.error("stopping the scheduler failed", { error: (error as Error).message }));
        await watching.stop();
        await alerts.stop();
        await http.close();
        await metrics?.close();
        await coordination.close();
        await disconnectMongo();
        logger.info("niaga stopped");
        await closeLogging();
      })());
    return { services, port, bots, channels: started, watch: watching, stop };
  } catch (error) {
    await unwind();
    throw error;
  }
}

/** The indexes every model declares, created where missing (never dropped: that is `niaga migrate`). */
async function ensureIndexes(): Promise<void> {
  for (const name of mongoose.modelNames()) {
    await mongoose.model(name).createIndexes().catch((error: unknown) => {
      logger.warn("an index could not be created; run `niaga migrate`", { model: name, error: (error as Error).message });
    });
  }
}

/** Starts each channel in turn; one that throws is reported with every store failed, not thrown. */
async function startChannels(channels: Iterable<Channel>): Promise<Record<string, ChannelStoresReport & { ms: number }>> {
  // All at once: one channel's slow start (WhatsApp opening its sessions) holds up no other.
  const reports = await Promise.all(
    [...channels].map(async (channel) => {
      const startedAt = performance.now();
      const report = await channel.start().catch((error: unknown): ChannelStoresReport => {
        logger.error("a channel did not start", { channel: channel.name, error: (error as Error).message });
        return { started: [], stopped: [], failed: [{ slug: "*", reason: (error as Error).message }] };
      });
      return [channel.name, { ...report, ms: Math.round(performance.now() - startedAt) }] as const;
    }),
  );
  return Object.fromEntries(reports);
}

/** Stops every channel at once, each within `graceMs`; true when all finished in time. */
async function stopChannels(channels: Iterable<Channel>, graceMs: number): Promise<boolean> {
  const finished = await Promise.all(
    [...channels].map((channel) =>
      channel.stop(graceMs).catch((error: unknown) => {
        logger.error("a channel did not stop cleanly", { channel: channel.name, error: (error as Error).message });
        return false;
      }),
    ),
  );
  return finished.every(Boolean);
}

function overall(reports: Record<string, ChannelStoresReport>): StartAllReport {
  const all = Object.values(reports);
  return { started: all.flatMap((r) => r.started), failed: all.flatMap((r) => r.failed) };
}

/**
 * Makes every channel follow the saved stores every `intervalMs`, one sweep at a time: the
 * store change feed (`storage/store-changes.ts`) is asked once a sweep which stores changed,
 * and every channel gets the same answer. Skipped while MongoDB is known not to answer
 * (that is logged already). When the feed cannot answer, the sweep reads every store (the
 * feed's next answer still covers the span); a channel whose sweep failed reads every store
 * at its next one.
 */
function reconcileEvery(channels: Iterable<Channel>, intervalMs: number, databaseAnswers: () => boolean, feedOptions: StoreChangeFeedOptions): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let feed: StoreChangeFeed | undefined;
  // A channel whose sweep failed missed changes the feed will not name again: its next sweep reads every store.
  const behind = new Set<Channel>();
  const sweepOne = async (channel: Channel, changes: StoreChangeSet) => {
    try {
      const report = await channel.followStoreChanges(behind.has(channel) ? { all: true } : changes);
      behind.delete(channel);
      if (report.started.length + report.stopped.length + report.failed.length > 0) {
        logger.info("store bots reconciled with the saved stores", { channel: channel.name, checked: report.checked, started: report.started, stopped: report.stopped, failed: report.failed });
      }
    } catch (error) {
      behind.add(channel);
      logger.warn("reconciling the store bots failed; trying again at the next sweep", { channel: channel.name, error: (error as Error).message });
    }
  };
  const sweep = async () => {
    let changes: StoreChangeSet;
    try {
      feed ??= await openStoreChangeFeed(feedOptions);
      changes = await feed.changes();
    } catch (error) {
      // Read every store instead: following changes must not hang on the feed (a change stream the user may not open, say).
      logger.warn("the stores changed since the last sweep could not be read; this sweep reads every store", { error: (error as Error).message });
      changes = { all: true };
    }
    for (const channel of channels) await sweepOne(channel, changes);
  };
  const tick = () => {
    running = (databaseAnswers() ? sweep() : Promise.resolve()).finally(() => {
      running = undefined;
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await feed?.close();
    },
  };
}

function startLine(mode: string, port: number, bots: StartAllReport): string {
  const failed = bots.failed.length > 0 ? ` (${bots.failed.map((f) => f.slug).join(", ")})` : "";
  return `niaga started: ${mode}, HTTP on port ${port}, ${bots.started.length} store bots started, ${bots.failed.length} failed${failed}`;
}

/** Up to 50 slugs, then how many more: the start line stays readable with a thousand stores. */
function listed(slugs: readonly string[]): string[] {
  return slugs.length <= 50 ? [...slugs] : [...slugs.slice(0, 50), `…and ${slugs.length - 50} more`];
}

/** The latest resource readings as `/status` shows them: one line each, with units; undefined before the first sample. */
function resourceLines(readings: ResourceReadings | undefined): Record<string, string> | undefined {
  if (!readings) return undefined;
  const mb = (value: number) => (value >= 1024 ? `${(value / 1024).toFixed(1)} GB` : `${Math.round(value)} MB`);
  const over = (name: ResourceName) => (readings.over.includes(name) ? " ⚠️" : "");
  return {
    ...(readings.diskFreeMb !== undefined && { disk: `${mb(readings.diskFreeMb)} free (${readings.diskPath})${over("disk")}` }),
    memory: `${mb(readings.memoryMb)} RSS${over("memory")}`,
    "memory available": `${mb(readings.memoryAvailableMb)}${over("memory-available")}`,
    cpu: `${readings.cpuLoadPerCore.toFixed(2)} load per core${over("cpu")}`,
    ...(readings.logDirMb !== undefined && { logs: `${mb(readings.logDirMb)} in ${readings.logDir}${over("log-dir")}` }),
  };
}
