// Peak memory during a piece of work: this process's RSS and heap, or another process's RSS
// and CPU (read from /proc on Linux), sampled every 50 ms, with the baseline taken just before.
//
//   const gc = collectGarbage();
//   const watch = await watchMemory(gc);   // settles the heap, then starts sampling
//   await work();
//   const peak = watch.stop();             // { baselineRss, peakRss, rssIncrease, peakLiveHeap, … } in bytes
import { readFile } from "node:fs/promises";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const SAMPLE_MS = 50;

export interface MemoryPeak {
  baselineRss: number;
  peakRss: number;
  rssIncrease: number;
  baselineHeapUsed: number;
  peakHeapUsed: number;
  heapIncrease: number;
  /**
   * The most heap still in use just after a full (mark-compact) collection during the work:
   * what the work keeps alive, apart from garbage not yet collected. 0 if none ran.
   */
  peakLiveHeap: number;
  majorGcs: number;
  samples: number;
}

/** `gc()`, exposed at run time when node was not started with `--expose-gc`. */
export function collectGarbage(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

async function settle(gc: () => void): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  }
}

/** This process's heap in use and RSS once the garbage is collected (a few GCs, 50 ms apart). */
export async function settledMemory(gc: () => void): Promise<{ heap: number; rss: number }> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed, rss };
}

/** Samples this process until `stop()`; the event loop must keep turning (streaming work does). */
export async function watchMemory(gc: () => void): Promise<{ stop(): MemoryPeak }> {
  await settle(gc);
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeapUsed = base.heapUsed;
  let samples = 0;
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    peakRss = Math.max(peakRss, rss);
    peakHeapUsed = Math.max(peakHeapUsed, heapUsed);
    samples++;
  };
  const timer = setInterval(sample, SAMPLE_MS);
  let peakLiveHeap = 0;
  let majorGcs = 0;
  const gcs = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      majorGcs++;
      peakLiveHeap = Math.max(peakLiveHeap, process.memoryUsage().heapUsed);
    }
  });
  gcs.observe({ entryTypes: ["gc"] });
  return {
    stop() {
      clearInterval(timer);
      gcs.disconnect();
      sample();
      return {
        baselineRss: base.rss,
        peakRss,
        rssIncrease: peakRss - base.rss,
        baselineHeapUsed: base.heapUsed,
        peakHeapUsed,
        heapIncrease: peakHeapUsed - base.heapUsed,
        peakLiveHeap,
        majorGcs,
        samples,
      };
    },
  };
}

async function rssOf(pid: number): Promise<number | undefined> {
  try {
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds a process has used (`/proc/<pid>/stat`, at the usual 100 ticks/s). */
async function cpuSecondsOf(pid: number): Promise<number | undefined> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).replace(/^.*\) /s, "").split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export interface ProcessUse {
  baselineRss: number;
  peakRss: number;
  cpuSeconds: number;
}

/** Another process's RSS (`/proc/<pid>/status`) and CPU; `undefined` from `stop()` where there is no /proc. */
export async function watchProcess(pid: number): Promise<{ stop(): Promise<ProcessUse | undefined> }> {
  const baseline = await rssOf(pid);
  const cpuBefore = await cpuSecondsOf(pid);
  let peak = baseline ?? 0;
  let reading: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    reading = rssOf(pid).then((rss) => void (peak = Math.max(peak, rss ?? 0)));
  }, SAMPLE_MS);
  return {
    async stop() {
      clearInterval(timer);
      await reading;
      const last = await rssOf(pid);
      const cpuAfter = await cpuSecondsOf(pid);
      if (baseline === undefined || cpuBefore === undefined || cpuAfter === undefined) return undefined;
      return { baselineRss: baseline, peakRss: Math.max(peak, last ?? 0), cpuSeconds: cpuAfter - cpuBefore };
    },
  };
}
