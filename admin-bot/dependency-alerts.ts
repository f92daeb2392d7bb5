/**
 * Tells the owner when MongoDB or Redis stops answering, and when it is back: one
 * "dependency-down" alert per dependency (key `dependency-down:platform:<name>`), resolved
 * with how long it was away.
 *
 * ```ts
 * const stop = alertOnDependencyOutages(coordination.health, alerts);
 * …
 * stop();                                  // before MongoDB closes
 * ```
 *
 * It follows `DependencyHealth`, which probes each dependency every second with a short
 * timeout, so one outage is one change each way, however many turns it holds up. While
 * MongoDB is down the alert cannot be stored: `OwnerAlerts` sends it from memory and stores
 * it once MongoDB answers again.
 */
import type { DependencyHealth } from "../storage/dependency-health.ts";
import { alertKey, type AlertSink } from "./owner-alerts.ts";

/** How each dependency is named to the owner. */
const NAMES: Record<string, string> = { mongodb: "MongoDB", redis: "Redis" };

export function dependencyAlertKey(name: string): string {
  return alertKey("dependency-down", undefined, name);
}

/** Raises and resolves "dependency-down" on every change `health` reports; returns the unsubscribe. */
export function alertOnDependencyOutages(
  health: Pick<DependencyHealth, "onChange" | "reason">,
  alerts: AlertSink,
  now: () => number = Date.now,
): () => void {
  const downSince = new Map<string, number>();
  return health.onChange((name, up) => {
    const dependency = NAMES[name] ?? name;
    if (!up) {
      downSince.set(name, now());
      void alerts.raise({
        kind: "dependency-down",
        key: dependencyAlertKey(name),
        params: { dependency, reason: health.reason(name) ?? "no answer" },
      });
      return;
    }
    const since = downSince.get(name);
    downSince.delete(name);
    void alerts.resolve(dependencyAlertKey(name), since === undefined ? undefined : { downFor: formatDuration(now() - since) });
  });
}

/** `45 s`, `3 min 20 s`, `2 h 5 min`: short enough for one line of an alert. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}
