/**
 * Errors nothing in the process caught: each is logged with a fresh error id and told to the
 * owner ("unhandled-error").
 *
 * ```ts
 * const release = catchProcessFailures({ alerts: () => platform?.services.alerts });
 * ```
 *
 * - `unhandledRejection`: a promise nobody awaited failed. The process keeps running; what
 *   failed was one task, and everything else still works.
 * - `uncaughtException`: the process is in an unknown state. It is logged and alerted (the
 *   alert waits at most `alertWaitMs`), then the process exits with code 1 so the supervisor
 *   (systemd, compose) starts it again; scheduled jobs and held work resume from MongoDB.
 */
import { alertOnUnhandledError } from "../admin-bot/error-alerts.ts";
import type { AlertSink } from "../admin-bot/owner-alerts.ts";
import { newErrorId } from "../flows/engine/index.ts";
import { settledWithin } from "../storage/settled-within.ts";
import { logger } from "./logger.ts";

export interface ProcessFailureOptions {
  /** The owner's alerts, once the platform has them; undefined before (the log still gets it). */
  alerts: () => AlertSink | undefined;
  /** How long an uncaught exception waits for its alert before the exit. Default 5 s. */
  alertWaitMs?: number;
  exit?: (code: number) => void;
}

/** Installs the handlers; returns their removal. */
export function catchProcessFailures(options: ProcessFailureOptions): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const alertWaitMs = options.alertWaitMs ?? 5_000;
  const report = (what: string, error: unknown) => {
    const errorId = newErrorId();
    logger.error(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
      errorId,
      ...(error instanceof Error && error.stack !== undefined && { stack: error.stack }),
    });
    const alerts = options.alerts();
    return alerts ? alertOnUnhandledError(alerts, { what, errorId, error }) : Promise.resolve();
  };
  const onRejection = (reason: unknown) => {
    void report("unhandledRejection", reason);
  };
  let exiting = false;
  const onException = (error: Error) => {
    if (exiting) return;
    exiting = true;
    void settledWithin(report("uncaughtException", error), alertWaitMs).finally(() => {
      logger.error("niaga: exiting after an uncaught exception; the supervisor restarts it");
      exit(1);
    });
  };
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  return () => {
    process.off("unhandledRejection", onRejection);
    process.off("uncaughtException", onException);
  };
}
