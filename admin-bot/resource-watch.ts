/**
 * Watches the machine's resources and tells the owner when one crosses its threshold: disk
 * free under `LOG_DIR` (or the working folder), this process's memory (RSS), the memory the
 * system still has available, CPU load per core, and the size of `LOG_DIR`.
 *
 * ```ts
 * const watch = watchResources({ alerts, log, diskPath: config.logDir ?? process.cwd(), logDir: config.logDir });
 * watch.start();                       // a sample every `everyMs` (default 60 s)
 * watch.resources();                   // the latest readings, for the owner bot's /status
 * await watch.stop();
 * ```
 *
 * One "resource" alert per resource (key `resource:platform:<resource>`), raised when a
 * sample crosses its threshold and resolved by the first sample back on the right side.
 * Every reading is bounded: `statfs` and the walk of `LOG_DIR` (at most `maxLogFiles`
 * entries) must answer within `measureTimeoutMs`, or that reading is left out of the sample.
 *
 * `measure` replaces any of the probes, for a drill that points the disk at a tiny
 * filesystem or injects a reading.
 */
import { promises as fs } from "node:fs";
import { availableParallelism, freemem, loadavg } from "node:os";
import { join } from "node:path";
import { settledWithin } from "../storage/settled-within.ts";
import { alertKey, type AlertLog, type AlertSink } from "./owner-alerts.ts";

export type ResourceName = "disk" | "memory" | "memory-available" | "cpu" | "log-dir";

/** When a resource counts as over. Each unset one is not checked. */
export interface ResourceThresholds {
  /** `ALERT_DISK_FREE_MIN_MB`: less free than this under the disk path. */
  diskFreeMinMb?: number;
  /** `ALERT_MEMORY_MAX_MB`: this process's RSS above this. */
  memoryMaxMb?: number;
  /** `ALERT_MEMORY_AVAILABLE_MIN_MB`: the system's available memory below this. */
  memoryAvailableMinMb?: number;
  /** `ALERT_CPU_LOAD_MAX`: the 5-minute load average per core above this. */
  cpuLoadMax?: number;
  /** `ALERT_LOG_DIR_MAX_MB`: `LOG_DIR` larger than this. */
  logDirMaxMb?: number;
}

export const DEFAULT_RESOURCE_THRESHOLDS: Required<ResourceThresholds> = {
  diskFreeMinMb: 500,
  memoryMaxMb: 1024,
  memoryAvailableMinMb: 100,
  cpuLoadMax: 2,
  logDirMaxMb: 1024,
};
export const DEFAULT_RESOURCE_EVERY_MS = 60_000;

/** One sample; a reading that could not be taken in time is absent. Sizes in MB. */
export interface ResourceReadings {
  at: Date;
  diskPath: string;
  diskFreeMb?: number;
  memoryMb: number;
  memoryAvailableMb: number;
  cpuLoadPerCore: number;
  logDir?: string;
  logDirMb?: number;
  /** The resources over their threshold in this sample. */
  over: ResourceName[];
}

/** How each reading is taken; each can be replaced (`measure`). */
export interface ResourceProbes {
  diskFreeMb(path: string): Promise<number>;
  memoryMb(): number;
  memoryAvailableMb(): Promise<number>;
  cpuLoadPerCore(): number;
  dirSizeMb(path: string, maxEntries: number): Promise<number>;
}

export interface ResourceWatchOptions {
  alerts: AlertSink;
  log: AlertLog;
  /** Where free disk is measured: `LOG_DIR`, else the working folder. */
  diskPath: string;
  /** `LOG_DIR`, whose size is measured; unset: not measured. */
  logDir?: string;
  thresholds?: ResourceThresholds;
  /** How often a sample is taken. Default 60 s. */
  everyMs?: number;
  /** How long one reading may take. Default 5 s. */
  measureTimeoutMs?: number;
  /** At most this many files and folders are looked at in `LOG_DIR`. Default 10,000. */
  maxLogFiles?: number;
  measure?: Partial<ResourceProbes>;
}

export interface ResourceWatch {
  start(): void;
  /** Takes one sample now and alerts on it (for tests and `/status`). */
  sample(): Promise<ResourceReadings>;
  /** The latest sample; undefined before the first. */
  resources(): ResourceReadings | undefined;
  stop(): Promise<void>;
}

const MB = 1024 * 1024;

export const systemProbes: ResourceProbes = {
  async diskFreeMb(path) {
    const stats = await fs.statfs(path);
    return (stats.bavail * stats.bsize) / MB;
  },
  memoryMb: () => process.memoryUsage.rss() / MB,
  async memoryAvailableMb() {
    // MemAvailable counts reclaimable cache, which os.freemem() does not; Linux only.
    const meminfo = await fs.readFile("/proc/meminfo", "utf8").catch(() => "");
    const kb = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo)?.[1];
    return kb === undefined ? freemem() / MB : Number(kb) / 1024;
  },
  cpuLoadPerCore: () => loadavg()[1]! / availableParallelism(),
  dirSizeMb: async (path, maxEntries) => (await dirSize(path, maxEntries)) / MB,
};

export function watchResources(options: ResourceWatchOptions): ResourceWatch {
  const thresholds = { ...DEFAULT_RESOURCE_THRESHOLDS, ...options.thresholds };
  const probes: ResourceProbes = { ...systemProbes, ...options.measure };
  const everyMs = options.everyMs ?? DEFAULT_RESOURCE_EVERY_MS;
  const timeoutMs = options.measureTimeoutMs ?? 5_000;
  const maxLogFiles = options.maxLogFiles ?? 10_000;
  const { alerts, log } = options;
  /** Per resource: whether its alert is open; unknown until the first sample. */
  const open = new Map<ResourceName, boolean>();
  let latest: ResourceReadings | undefined;

  const bounded = async (what: string, reading: () => Promise<number>): Promise<number | undefined> => {
    const outcome = await settledWithin(Promise.resolve().then(reading), timeoutMs);
    if (outcome.state === "fulfilled") return outcome.value;
    log.warn("a resource reading failed; left out of this sample", {
      resource: what,
      error: outcome.state === "rejected" ? (outcome.error as Error).message : `no answer within ${timeoutMs} ms`,
    });
    return undefined;
  };

  async function sample(): Promise<ResourceReadings> {
    const [diskFreeMb, memoryAvailableMb, logDirMb] = await Promise.all([
      bounded("disk", () => probes.diskFreeMb(options.diskPath)),
      bounded("memory-available", () => probes.memoryAvailableMb()),
      options.logDir === undefined ? undefined : bounded("log-dir", () => probes.dirSizeMb(options.logDir!, maxLogFiles)),
    ]);
    const readings: ResourceReadings = {
      at: new Date(),
      diskPath: options.diskPath,
      ...(diskFreeMb !== undefined && { diskFreeMb }),
      memoryMb: probes.memoryMb(),
      memoryAvailableMb: memoryAvailableMb ?? Number.NaN,
      cpuLoadPerCore: probes.cpuLoadPerCore(),
      ...(options.logDir !== undefined && { logDir: options.logDir }),
      ...(logDirMb !== undefined && { logDirMb }),
      over: [],
    };
    const checks: Array<{ name: ResourceName; value: number | undefined; threshold: number; over: boolean; path?: string }> = [
      { name: "disk", value: diskFreeMb, threshold: thresholds.diskFreeMinMb, over: diskFreeMb !== undefined && diskFreeMb < thresholds.diskFreeMinMb, path: options.diskPath },
      { name: "memory", value: readings.memoryMb, threshold: thresholds.memoryMaxMb, over: readings.memoryMb > thresholds.memoryMaxMb },
      { name: "memory-available", value: memoryAvailableMb, threshold: thresholds.memoryAvailableMinMb, over: memoryAvailableMb !== undefined && memoryAvailableMb < thresholds.memoryAvailableMinMb },
      { name: "cpu", value: readings.cpuLoadPerCore, threshold: thresholds.cpuLoadMax, over: readings.cpuLoadPerCore > thresholds.cpuLoadMax },
      { name: "log-dir", value: logDirMb, threshold: thresholds.logDirMaxMb, over: logDirMb !== undefined && logDirMb > thresholds.logDirMaxMb, ...(options.logDir !== undefined && { path: options.logDir }) },
    ];
    for (const check of checks) {
      if (check.value === undefined || Number.isNaN(check.value)) continue;
      if (check.over) readings.over.push(check.name);
      const wasOpen = open.get(check.name);
      const key = alertKey("resource", undefined, check.name);
      if (check.over && wasOpen !== true) {
        open.set(check.name, true);
        // The text is owner.kind.resource.text_<resource> (i18next's context).
        const params = { context: check.name.replace("-", "_"), value: amount(check.value), threshold: amount(check.threshold), path: check.path ?? "" };
        await alerts.raise({ kind: "resource", key, params });
      } else if (!check.over && wasOpen !== false) {
        // Unknown at the first sample: an alert a previous run left open clears too.
        open.set(check.name, false);
        await alerts.resolve(key, wasOpen ? { now: amount(check.value) } : undefined);
      }
    }
    latest = readings;
    return readings;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  const schedule = () => {
    timer = setTimeout(() => {
      running = sample()
        .catch((error: unknown) => log.warn("sampling resources failed", { error: (error as Error).message }))
        .finally(() => {
          running = undefined;
          if (!stopped) schedule();
        });
    }, everyMs);
    timer.unref();
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    sample,
    resources: () => latest,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** MB (or load) as the owner reads it: one decimal below 10, whole above. */
function amount(value: number): string {
  return value < 10 ? value.toFixed(1) : String(Math.round(value));
}

/** Bytes in the files under `root`, looking at no more than `maxEntries` entries. */
async function dirSize(root: string, maxEntries: number): Promise<number> {
  let bytes = 0;
  let seen = 0;
  const folders = [root];
  while (folders.length > 0 && seen < maxEntries) {
    const folder = folders.pop()!;
    const entries = await fs.readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (++seen > maxEntries) break;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) folders.push(path);
      else if (entry.isFile()) bytes += (await fs.stat(path).catch(() => ({ size: 0 }))).size;
    }
  }
  return bytes;
}
