/**
 * The platform's scheduler: one Agenda on the platform's MongoDB, shared by every flow's
 * jobs (order expiry, SNK reminders, broadcasts, backups). Jobs are documents in
 * `agenda_jobs`, so a job scheduled before a restart (even `kill -9`) runs after it, on
 * whichever instance gets its lock first.
 *
 * ```ts
 * const scheduler = createScheduler({ db: mongoose.connection.db!, log });
 * defineOrderJobs(scheduler.agenda, ordering);   // every definition before start
 * await scheduler.start();
 * await scheduleRecurringOrderJobs(scheduler.agenda);
 * …
 * await scheduler.stop();                        // before closing the MongoDB connection
 * ```
 *
 * The catch: Agenda re-checks a running job's lock every `lockLifetime / 2` on a timer it
 * never clears, so that timer can keep the process alive that long after `stop()`. The
 * default lifetime here is one minute (our jobs take seconds; a long one calls
 * `job.touch()`), and tests pass a short `lockLifetimeMs`.
 */
import { hostname } from "node:os";
import { MongoBackend } from "@agendajs/mongo-backend";
import { Agenda } from "agenda";
import type { Db } from "mongodb";
import { logger as rootLogger } from "./logger.ts";

export const JOBS_COLLECTION = "agenda_jobs";

export interface SchedulerOptions {
  /** The mongoose connection's database (`mongoose.connection.db`); the scheduler never closes it. */
  db: Db;
  log?: { info(message: string, meta?: object): unknown; warn(message: string, meta?: object): unknown; error(message: string, meta?: object): unknown };
  /** How often to look for due jobs. Default 5 s. */
  processEvery?: number;
  /** How long a job's lock holds before another instance may take the job over. Default 60 s. */
  lockLifetimeMs?: number;
  /** This instance's name in job locks; default host and pid. */
  name?: string;
}

export interface PlatformScheduler {
  readonly agenda: Agenda;
  start(): Promise<void>;
  /**
   * Stops taking jobs, hands back jobs locked but not started, and waits up to
   * `drainMs` (default 10 s) for running ones to finish. Safe to call twice.
   */
  stop(opts?: { drainMs?: number }): Promise<void>;
}

export function createScheduler(opts: SchedulerOptions): PlatformScheduler {
  const log = opts.log ?? rootLogger;
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: opts.db as never, collection: JOBS_COLLECTION }),
    name: opts.name ?? `niaga@${hostname()}:${process.pid}`,
    processEvery: opts.processEvery ?? 5_000,
    defaultLockLifetime: opts.lockLifetimeMs ?? 60_000,
    defaultConcurrency: 5,
    maxConcurrency: 20,
  });
  let running = 0;
  let started = false;
  const idle: Array<() => void> = [];
  agenda.on("start", () => {
    running++;
  });
  agenda.on("complete", () => {
    running = Math.max(0, running - 1);
    if (running === 0) idle.splice(0).forEach((wake) => wake());
  });
  // Agenda emits "error" for a failing job; an EventEmitter without a listener would throw it.
  agenda.on("error", (error: Error) => log.error("scheduled job failed", { error: error.message }));
  agenda.on("fail", (error: Error, job: { attrs: { name: string } }) => log.warn("job failed", { job: job.attrs.name, error: error.message }));

  return {
    agenda,
    async start() {
      if (started) return;
      await agenda.start();
      started = true;
      log.info("scheduler started", { collection: JOBS_COLLECTION });
    },
    async stop({ drainMs = 10_000 } = {}) {
      if (!started) return;
      started = false;
      await agenda.stop(false);
      if (running > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => idle.push(resolve)),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, drainMs);
          }),
        ]);
        clearTimeout(timer);
        if (running > 0) log.warn("scheduler stopped with jobs still running; their locks lapse and another instance reruns them", { running });
      }
    },
  };
}
