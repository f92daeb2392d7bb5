/**
 * The platform process (`niaga start`): every active store's Telegram bot, the scheduler
 * and the HTTP server, in one process, started in order and stopped in reverse.
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
 * metrics' own listener, the store bots, the scheduler,
 * and a sweep every `RECONCILE_INTERVAL_MS` that makes the bots follow what other
 * processes write (`niaga tenant suspend|resume`, a new store, a new token).
 *
 * The HTTP server listens before the bots start: a store in webhook mode can be sent an
 * update the moment its webhook is set. `/readyz` says "not ready" until they have.
 *
 * Stopping: webhooks answer 503 and polling stops (Telegram keeps what arrives), turns
 * under way finish (bounded by `shutdownGraceMs`), then the scheduler, the HTTP server,
 * the coordination and MongoDB close, and the log files are flushed.
 */
import mongoose from "mongoose";
import { StoreBots } from "../adapters/telegram/store-bots.ts";
import type { StartAllReport } from "../adapters/telegram/store-bots.ts";
import { memberAudience } from "../flows/engine/audience.ts";
import { createEngine } from "../flows/engine/engine.ts";
import type { Engine } from "../flows/engine/engine.ts";
import { MongoSessionStore } from "../flows/engine/mongo-session-store.ts";
import { MongoStoreFlows } from "../flows/engine/store-flows.ts";
import type { FlowBundle } from "../flows/engine/flow-bundle.ts";
import { platformFlows } from "../flows/platform.ts";
import { roleMayStart } from "../flows/tenant-admin/admin-flows.ts";
import { withPlatformOwners } from "../flows/tenant-admin/permissions.ts";
import { initI18n } from "../locales/i18n.ts";
import { connectMongo, disconnectMongo, isDatabaseOutage, pingMongo } from "../storage/connection.ts";
import { createCoordination } from "../storage/coordination.ts";
import type { Coordination } from "../storage/coordination.ts";
import { configureEncryption } from "../storage/crypto.ts";
import { DEFAULT_RECONCILE_INTERVAL_MS, requireEncryptionKey } from "./config.ts";
import type { Config } from "./config.ts";
import { wireCommerce } from "./commerce.ts";
import { CustomerMessages } from "./customer-messages.ts";
import { createPlatformHttp } from "./http-server.ts";
import type { PlatformHttp } from "./http-server.ts";
import { closeLogging, configureLogging, logger, registerSecret, tenantLogger } from "./logger.ts";
import { listenForMetrics } from "./metrics-endpoint.ts";
import "./models.ts";
import { createScheduler } from "./scheduler.ts";
import type { PlatformScheduler } from "./scheduler.ts";

/** What the domain's wiring gets: the services that exist before the engine and the bots. */
export interface DomainServices {
  readonly config: Config;
  readonly coordination: Coordination;
  /** Not listening yet: register routes (payment webhooks, pay pages) with `http.register(plugin)`. */
  readonly http: PlatformHttp;
  /**
   * Messages to customers outside a turn, on any channel (`customerDeliverySink(messages)`
   * for ordering). Channels join it as their adapters start; send once `started` ran.
   */
  readonly messages: CustomerMessages;
  /** Not started yet: define jobs now; they run once the platform is up. */
  readonly scheduler: PlatformScheduler;
}

/** Everything the running platform is made of. */
export interface PlatformServices extends DomainServices {
  readonly engine: Engine;
  readonly telegram: StoreBots;
}

/** What a wiring hands back. */
export interface DomainAttachment {
  /** Every flow the engine runs, with the domain behind their actions (instead of the service-less `platformFlows`). */
  flows?: FlowBundle;
  /**
   * The store bots exist and are about to take updates (before `started`: a bot that
   * started first answers its customers while the others are still starting). For what a
   * turn needs from them, such as downloading the photo a customer just sent.
   */
  botsCreated?(telegram: StoreBots): void;
  /** After the bots and the scheduler started: schedule recurring jobs, recover undelivered orders. */
  started?(services: PlatformServices): Promise<void>;
  /** First thing on shutdown, before the bots stop. */
  stop?(): Promise<void>;
}

/**
 * The one place the domain plugs into the platform: ordering (`createOrdering` with
 * `customerDeliverySink(messages)` and `orderJobTimers(scheduler.agenda)`), its jobs
 * (`defineOrderJobs`), its payment routes, the owner bot. Runs before the engine is made
 * and before anything takes work.
 */
export type DomainWiring = (services: DomainServices) => Promise<DomainAttachment | void> | DomainAttachment | void;

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
  /** The store bots `startAll` started, and those that failed, by slug. */
  readonly bots: StartAllReport;
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
    const messages = new CustomerMessages();
    const scheduler = createScheduler({ db: mongoose.connection.db!, log: logger });
    const attachment = (await (options.wireDomain ?? wireCommerce)({ config, coordination, http, messages, scheduler })) ?? {};
    undo.push(async () => attachment.stop?.());

    const engine = createEngine({
      ...(options.flows ?? attachment.flows ?? platformFlows),
      sessions: new MongoSessionStore(),
      lock: coordination.lock,
      // The platform owner acts in every store as a seller (the admin flows check what they may do).
      audienceOf: withPlatformOwners(memberAudience(), config.ownerChatIds),
      storeFlows: new MongoStoreFlows(),
      logFor: tenantLogger,
      // Turns need MongoDB; without Redis they go on under in-process locks and limits.
      outages: {
        down: () => (health.isUp("mongodb") ? [] : ["mongodb"]),
        onChange: (listener) => health.onChange((name, up) => name === "mongodb" && listener(name, up)),
        isOutageError: isDatabaseOutage,
      },
    });

    let botsStarted = false;
    http.readiness("mongodb", () => mongoose.connection.readyState === 1 && health.isUp("mongodb"));
    if (coordination.redis) {
      const redis = coordination.redis;
      http.readiness("redis", () => redis.status === "ready" && health.isUp("redis"));
    }
    http.readiness("storeBots", () => botsStarted);

    const telegram = new StoreBots({
      engine,
      encryptionKey,
      apiRoot: config.telegramApiRoot,
      ...(config.publicUrl !== undefined && { publicUrl: config.publicUrl }),
      http,
      logFor: tenantLogger,
      // One instance polls each polling-mode store; the others stand by for its lease.
      leases: coordination.leases,
      ...(config.pollLeaseMs !== undefined && { pollLeaseMs: config.pollLeaseMs }),
      // The leases live in MongoDB.
      leaseStoreAnswers: () => health.isUp("mongodb"),
      // Each member's command menu lists what their role may start.
      sellerMenu: roleMayStart,
      // The owner bot will carry this alert; until then the log does.
      onTokenRevoked: (store) => logger.error("a store's Telegram bot token was revoked; give it a new one", { tenant: store.slug, store: store.name }),
    });
    messages.register("telegram", telegram);
    attachment.botsCreated?.(telegram);
    // Routes mount before the server listens, which it does before the bots start.
    http.register(telegram.routes);
    const services: PlatformServices = { config, coordination, engine, http, telegram, messages, scheduler };

    const port = await http.listen(config.httpPort);
    undo.push(() => http.close());
    const metrics = config.metricsListener ? await listenForMetrics(http.metrics, config.metricsListener, config.metricsToken) : undefined;
    if (metrics) undo.push(() => metrics.close());
    undo.push(() => telegram.close(options.shutdownGraceMs));
    const bots = await telegram.startAll();
    botsStarted = true;
    await scheduler.start();
    undo.push(() => scheduler.stop());
    await attachment.started?.(services);

    const sweep = reconcileEvery(telegram, config.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS, () => health.isUp("mongodb"));
    logger.info(startLine(coordination.mode, port, bots), {
      mode: coordination.mode,
      instance: coordination.leases.holder,
      httpPort: port,
      ...(metrics && { metricsPort: metrics.port }),
      storeBots: { started: bots.started.length, failed: bots.failed.length },
      started: listed(bots.started),
      failed: bots.failed,
    });

    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= (async () => {
        logger.info("niaga stopping: no new updates; finishing the turns under way");
        await sweep.stop();
        await attachment.stop?.().catch((error: unknown) => logger.error("stopping the domain failed", { error: (error as Error).message }));
        await engine.releaseHeld();
        const finished = await telegram.close(options.shutdownGraceMs ?? 10_000);
        if (!finished) logger.warn("some turns or sends were still under way when the grace period ended");
        await scheduler.stop().catch((error: unknown) => logger.error("stopping the scheduler failed", { error: (error as Error).message }));
        await http.close();
        await metrics?.close();
        await coordination.close();
        await disconnectMongo();
        logger.info("niaga stopped");
        await closeLogging();
      })());
    return { services, port, bots, stop };
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

/** Runs `reconcileChanged` every `intervalMs`, one sweep at a time; skipped while MongoDB is known not to answer (that is logged already). */
function reconcileEvery(telegram: StoreBots, intervalMs: number, databaseAnswers: () => boolean): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    running = (databaseAnswers() ? telegram.reconcileChanged() : Promise.resolve({ started: [], stopped: [], failed: [] }))
      .then((report) => {
        if (report.started.length + report.stopped.length + report.failed.length > 0) {
          logger.info("store bots reconciled with the saved stores", { started: report.started, stopped: report.stopped, failed: report.failed });
        }
      })
      .catch((error: unknown) => {
        logger.warn("reconciling the store bots failed; trying again at the next sweep", { error: (error as Error).message });
      })
      .finally(() => {
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
