/**
 * Tells the owner about scheduled jobs (Agenda, `agenda_jobs`) that keep failing or do not
 * run at all.
 *
 * ```ts
 * const jobs = watchJobs({ agenda: scheduler.agenda, jobs: db.collection("agenda_jobs"), alerts, log });
 * jobs.start();                  // the overdue check, every `checkEveryMs`
 * jobs.state();                  // { failing: [...], overdue: {...} } for /status and /jobs
 * await jobs.stop();
 * ```
 *
 * - **job-failing**: one job name failed `failuresInRow` times in a row on this instance
 *   (key `job-failing:platform:<name>`); every further failure counts on the same alert;
 *   resolved at its next success.
 * - **job-overdue**: jobs whose `nextRunAt` is more than `overdueAfterMs` in the past and that
 *   nobody holds (no `lockedAt`): the scheduler is not running them (stopped, stuck, or every
 *   instance is down). One alert with how many and which (key `job-overdue:platform`),
 *   resolved when a check finds none. Each check is bounded by `checkTimeoutMs`; one that
 *   gets no answer (MongoDB down: that has its own alert) changes nothing.
 *
 * After a restart the streaks start again from zero, but the first success of a job name and
 * the first check still resolve an alert a previous run left open.
 */
import type { EventEmitter } from "node:events";
import type { Collection, Document } from "mongodb";
import { settledWithin } from "../storage/settled-within.ts";
import { alertKey, type AlertLog, type AlertSink } from "./owner-alerts.ts";

export const DEFAULT_JOB_FAILURES_IN_ROW = 3;
export const DEFAULT_JOB_OVERDUE_AFTER_MS = 5 * 60_000;
export const DEFAULT_JOB_CHECK_EVERY_MS = 60_000;
const DEFAULT_CHECK_TIMEOUT_MS = 10_000;
/** How many overdue job names an alert lists. */
const NAMES_SHOWN = 5;

/**
 * The jobs that count as overdue at `now`: due more than `overdueAfterMs` ago, not disabled, and
 * held by nobody (no `lockedAt`). The watch alerts on them; `/status` and `/jobs` list them.
 */
export function overdueJobsQuery(overdueAfterMs: number, now: Date = new Date()): Document {
  return { nextRunAt: { $lt: new Date(now.getTime() - overdueAfterMs) }, lockedAt: null, disabled: { $ne: true } };
}

/** Where "fail" and "success" of each job are emitted (`Agenda` is one). */
export type JobEvents = Pick<EventEmitter, "on" | "off">;

export interface JobWatchOptions {
  agenda: JobEvents;
  /** The jobs collection (`agenda_jobs`). */
  jobs: Pick<Collection<Document>, "find">;
  alerts: AlertSink;
  log: AlertLog;
  /** Failures in a row of one job name before the owner hears of it. Default 3. */
  failuresInRow?: number;
  /** How late a job that nobody runs may be before it counts as overdue. Default 5 min. */
  overdueAfterMs?: number;
  /** How often the overdue check runs. Default 1 min. */
  checkEveryMs?: number;
  /** How long one overdue check may take. Default 10 s. */
  checkTimeoutMs?: number;
  now?: () => Date;
}

export interface JobWatchState {
  /** Job names failing now, with how many times in a row and the last error. */
  failing: Array<{ job: string; count: number; error: string }>;
  /** The last overdue check: how many, their names (up to 20), and when it ran. */
  overdue: { count: number; jobs: string[]; checkedAt?: Date };
}

export interface JobWatch {
  start(): void;
  /** Runs one overdue check now (for tests, and `/jobs`). */
  check(): Promise<void>;
  state(): JobWatchState;
  stop(): Promise<void>;
}

export function watchJobs(options: JobWatchOptions): JobWatch {
  const failuresInRow = options.failuresInRow ?? DEFAULT_JOB_FAILURES_IN_ROW;
  const overdueAfterMs = options.overdueAfterMs ?? DEFAULT_JOB_OVERDUE_AFTER_MS;
  const checkEveryMs = options.checkEveryMs ?? DEFAULT_JOB_CHECK_EVERY_MS;
  const checkTimeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const now = options.now ?? (() => new Date());
  const { alerts, log } = options;
  const streaks = new Map<string, { count: number; error: string }>();
  let overdue: JobWatchState["overdue"] = { count: 0, jobs: [] };
  /** Whether an overdue alert is open; unknown until the first check. */
  let overdueOpen: boolean | undefined;

  const onFail = (error: Error, job: unknown, remote?: boolean) => {
    // Another instance's failure, relayed: that instance counts it.
    if (remote) return;
    const name = jobName(job);
    const streak = streaks.get(name) ?? { count: 0, error: "" };
    streak.count++;
    streak.error = (error?.message ?? String(error)).slice(0, 300);
    streaks.set(name, streak);
    if (streak.count < failuresInRow) return;
    void alerts.raise({ kind: "job-failing", key: alertKey("job-failing", undefined, name), params: { job: name, count: streak.count, error: streak.error } });
  };
  const onSuccess = (job: unknown) => {
    const name = jobName(job);
    const streak = streaks.get(name);
    streaks.set(name, { count: 0, error: "" });
    // Unknown before (first run since the start): an alert a previous run left open clears too.
    if (!streak || streak.count >= failuresInRow) void alerts.resolve(alertKey("job-failing", undefined, name), streak ? { failedInRow: streak.count } : undefined);
  };

  async function check(): Promise<void> {
    const found = await settledWithin(
      options.jobs
        .find(overdueJobsQuery(overdueAfterMs, now()), { projection: { name: 1 } })
        .limit(1_000)
        .toArray(),
      checkTimeoutMs,
    );
    if (found.state !== "fulfilled") {
      log.warn("the overdue job check got no answer; trying again at the next one", {
        error: found.state === "rejected" ? (found.error as Error).message : `no answer within ${checkTimeoutMs} ms`,
      });
      return;
    }
    const names = [...new Set(found.value.map((doc) => String(doc.name)))].sort();
    overdue = { count: found.value.length, jobs: names.slice(0, 20), checkedAt: now() };
    if (found.value.length > 0 && overdueOpen !== true) {
      overdueOpen = true;
      const shown = names.slice(0, NAMES_SHOWN).join(", ") + (names.length > NAMES_SHOWN ? ` +${names.length - NAMES_SHOWN}` : "");
      await alerts.raise({ kind: "job-overdue", key: alertKey("job-overdue"), params: { count: found.value.length, jobs: shown, minutes: Math.round(overdueAfterMs / 60_000) } });
    } else if (found.value.length === 0 && overdueOpen !== false) {
      overdueOpen = false;
      await alerts.resolve(alertKey("job-overdue"));
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  const tick = () => {
    running = check()
      .catch((error: unknown) => void log.warn("the overdue job check failed", { error: (error as Error).message }))
      .finally(() => {
        running = undefined;
        if (!stopped) schedule();
      });
  };
  const schedule = () => {
    timer = setTimeout(tick, checkEveryMs);
    timer.unref();
  };

  options.agenda.on("fail", onFail);
  options.agenda.on("success", onSuccess);
  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    check,
    state: () => ({
      failing: [...streaks].filter(([, s]) => s.count >= failuresInRow).map(([job, s]) => ({ job, count: s.count, error: s.error })),
      overdue,
    }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      options.agenda.off("fail", onFail);
      options.agenda.off("success", onSuccess);
      await running;
    },
  };
}

/** A job's name, from a local job (`attrs.name`) or a relayed notification (`jobName`). */
function jobName(job: unknown): string {
  const j = job as { attrs?: { name?: string }; jobName?: string } | undefined;
  return j?.attrs?.name ?? j?.jobName ?? "unknown";
}
