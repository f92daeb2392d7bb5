/**
 * The platform's own alert sources, started by `niaga start` after the channels: MongoDB and
 * Redis outages (`admin-bot/dependency-alerts.ts`), failing and overdue scheduled jobs
 * (`job-watch.ts`), and the machine's resources (`resource-watch.ts`), all told to the owner
 * through `alerts`. Unhandled errors are wired elsewhere: the engine's `onFailure` and
 * `process-failures.ts`.
 *
 * ```ts
 * const watch = watchPlatform({ config, health, scheduler, db, alerts, log });
 * watch.resources();   // the latest readings, for the owner bot's /status
 * watch.jobs();        // failing and overdue jobs, for /status and /jobs
 * await watch.stop();  // before MongoDB closes
 * ```
 */
import type { Db } from "mongodb";
import { alertOnDependencyOutages } from "../admin-bot/dependency-alerts.ts";
import { watchJobs, type JobWatchState } from "../admin-bot/job-watch.ts";
import type { AlertLog, AlertSink } from "../admin-bot/owner-alerts.ts";
import { watchResources, type ResourceReadings } from "../admin-bot/resource-watch.ts";
import type { DependencyHealth } from "../storage/dependency-health.ts";
import type { Config } from "./config.ts";
import { JOBS_COLLECTION, type PlatformScheduler } from "./scheduler.ts";
import { resolveReplacedTokens } from "./store-alerts.ts";

/** How often open "token revoked" alerts are checked against the stores' tokens. */
const REPLACED_TOKENS_EVERY_MS = 60_000;

export type { JobWatchState } from "../admin-bot/job-watch.ts";
export type { ResourceReadings } from "../admin-bot/resource-watch.ts";

export interface PlatformWatch {
  /** The latest resource readings (every `ALERT_RESOURCE_CHECK_MS`); undefined before the first. */
  resources(): ResourceReadings | undefined;
  /** Job names failing now, and the last overdue check. */
  jobs(): JobWatchState;
  stop(): Promise<void>;
}

export interface PlatformWatchOptions {
  config: Pick<Config, "logDir" | "platformAlerts">;
  health: Pick<DependencyHealth, "onChange" | "reason">;
  scheduler: Pick<PlatformScheduler, "agenda">;
  db: Db;
  alerts: AlertSink;
  log: AlertLog;
}

export function watchPlatform(options: PlatformWatchOptions): PlatformWatch {
  const { config, alerts, log } = options;
  const limits = config.platformAlerts ?? {};
  const stopOutages = alertOnDependencyOutages(options.health, alerts);
  const jobs = watchJobs({
    agenda: options.scheduler.agenda,
    jobs: options.db.collection(JOBS_COLLECTION),
    alerts,
    log,
    ...(limits.jobFailuresInRow !== undefined && { failuresInRow: limits.jobFailuresInRow }),
    ...(limits.jobOverdueAfterMs !== undefined && { overdueAfterMs: limits.jobOverdueAfterMs }),
    ...(limits.jobCheckEveryMs !== undefined && { checkEveryMs: limits.jobCheckEveryMs }),
  });
  const resources = watchResources({
    alerts,
    log,
    diskPath: config.logDir ?? process.cwd(),
    ...(config.logDir !== undefined && { logDir: config.logDir }),
    thresholds: limits,
    ...(limits.resourceCheckEveryMs !== undefined && { everyMs: limits.resourceCheckEveryMs }),
  });
  jobs.start();
  resources.start();
  // A token replaced while the instance that saw it revoked was gone: resolved here, once a minute.
  const tokens = setInterval(() => {
    void resolveReplacedTokens(alerts).catch((error: unknown) => log.warn("checking revoked tokens for the owner failed", { error: (error as Error).message }));
  }, REPLACED_TOKENS_EVERY_MS);
  tokens.unref();
  return {
    resources: () => resources.resources(),
    jobs: () => jobs.state(),
    async stop() {
      clearInterval(tokens);
      stopOutages();
      await Promise.all([jobs.stop(), resources.stop()]);
    },
  };
}
