/**
 * Tells the owner about unhandled errors: a store's turn that failed (the customer got an
 * apology with an error id), or an error nothing in the process caught. The alert carries the
 * error id, so the owner can find the one log line.
 *
 * ```ts
 * createEngine({ …, onFailure: alertOnEngineFailure(alerts) });
 * await alertOnUnhandledError(alerts, { what: "unhandledRejection", errorId, error });
 * http.onFailure(alertOnHttpFailure(alerts));               // the HTTP server's 500s
 * ```
 *
 * Keyed per store and error message (`unhandled-error:<slug>:<message>`), so a storm of the
 * same failure counts on one alert (with the first error id) instead of flooding the owner.
 */
import type { EngineFailure } from "../flows/engine/index.ts";
import { redactText } from "../storage/secrets-redaction.ts";
import { alertKey, type AlertSink } from "./owner-alerts.ts";

/** The part of an error message that keys an alert; longer messages rarely differ only at the end. */
const KEY_CHARS = 120;

/** An `EngineOptions.onFailure` that raises "unhandled-error" naming the store. */
export function alertOnEngineFailure(alerts: AlertSink): (failure: EngineFailure) => void {
  return ({ tenant, errorId, what, error }) => {
    const message = messageOf(error);
    void alerts.raise({
      kind: "unhandled-error",
      store: { tenantId: tenant.id, slug: tenant.slug, name: tenant.name },
      key: alertKey("unhandled-error", tenant.slug, message.slice(0, KEY_CHARS)),
      params: { what, errorId, error: message.slice(0, 300) },
    });
  };
}

/** Raises "unhandled-error" for the platform itself (an error no code caught). */
export function alertOnUnhandledError(alerts: AlertSink, failure: { what: string; errorId: string; error: unknown }): Promise<void> {
  const message = messageOf(failure.error);
  return alerts.raise({
    kind: "unhandled-error",
    key: alertKey("unhandled-error", undefined, message.slice(0, KEY_CHARS)),
    params: { what: failure.what, errorId: failure.errorId, error: message.slice(0, 300) },
  });
}

/** Hears the HTTP server's 500s (`PlatformHttp#onFailure`): "unhandled-error" for the platform, naming the route. */
export function alertOnHttpFailure(alerts: AlertSink): (failure: { errorId: string; route: string; error: unknown }) => void {
  return ({ errorId, route, error }) => void alertOnUnhandledError(alerts, { what: `HTTP ${route}`, errorId, error });
}

/** The error's message with anything that looks like a secret masked, as the log has it: alerts are stored and sent. */
function messageOf(error: unknown): string {
  return redactText(error instanceof Error ? error.message || error.name : String(error));
}
