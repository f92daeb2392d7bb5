// One phase of `npm run bench:backup`, in a process of its own so that the memory measured is
// the backup's alone (not the seeding's, nor the database server's):
//
//   BENCH_BACKUP_PHASE='{"phase":"create","uri":…,"dir":…}' BENCH_BACKUP_KEY=<hex> \
//     node --import tsx bench/support/backup-phase.ts
//
// It connects with the plain driver, settles its heap, then runs `createBackup`, `verifyBackup`
// (restoring into a scratch database) or `restoreBackup` (dry run off) while sampling its RSS
// and heap every 50 ms, and prints one JSON line: `PhaseResult`.
import { MongoClient } from "mongodb";
import { performance } from "node:perf_hooks";
import { createBackup } from "../../storage/backup/archive.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import type { Manifest } from "../../storage/backup/manifest.ts";
import { restoreBackup } from "../../storage/backup/restore.ts";
import { verifyBackup } from "../../storage/backup/verify.ts";
import { collectGarbage, watchMemory, type MemoryPeak } from "./memory-peak.ts";

export type PhaseName = "create" | "verify" | "restore";

export interface PhaseRequest {
  phase: PhaseName;
  /** The seeded database (create), or the database to restore into (restore). */
  uri: string;
  /** The LocalDestination's folder. */
  dir: string;
  /** verify and restore: the backup made by create. */
  id?: string;
  /** verify: the scratch database. */
  scratchUri?: string;
}

export interface PhaseResult {
  phase: PhaseName;
  seconds: number;
  /** User + system CPU of this process during the phase (the rest of the wall time is waiting for the database and the disk). */
  cpuSeconds: number;
  memory: MemoryPeak;
  manifest: Manifest;
  /** Whatever the phase found wrong; empty when it did its job. */
  problems: string[];
}

/**
 * Per call to the database, for this client and verify's scratch client. Longer than the CLI's
 * 10 s: the embedded server answers nothing while it builds a big collection's indexes (about
 * 18 s for 100,000 orders on a loaded 2-core machine), and the driver drops a connection whose
 * heartbeat goes unanswered for connectTimeoutMS.
 */
const TIMEOUT_MS = 60_000;

async function run(request: PhaseRequest, key: Buffer): Promise<PhaseResult> {
  const destination = new LocalDestination(request.dir);
  const client = new MongoClient(request.uri, { serverSelectionTimeoutMS: TIMEOUT_MS, connectTimeoutMS: TIMEOUT_MS, socketTimeoutMS: 2 * TIMEOUT_MS });
  await client.connect();
  try {
    const db = client.db();
    const problems: string[] = [];
    const watch = await watchMemory(collectGarbage());
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    let manifest: Manifest;
    if (request.phase === "create") {
      manifest = await createBackup(db, destination, { backupKey: key });
    } else if (request.phase === "verify") {
      const report = await verifyBackup(destination, request.id!, { backupKey: key, scratchUri: request.scratchUri, timeoutMs: TIMEOUT_MS });
      problems.push(...report.problems.map((p) => p.message));
      if (!report.scratchCounts) problems.push("nothing was restored into the scratch database");
      manifest = report.manifest!;
    } else {
      manifest = (await restoreBackup(destination, request.id!, { backupKey: key, into: db, dryRun: false })).manifest;
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const memory = watch.stop();
    if (request.phase === "restore") {
      for (const [name, expected] of Object.entries(manifest.collections)) {
        const actual = await db.collection(name).countDocuments({});
        if (actual !== expected) problems.push(`${name}: ${actual} documents restored, the manifest says ${expected}`);
      }
    }
    return { phase: request.phase, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, memory, manifest, problems };
  } finally {
    await client.close();
  }
}

const request = JSON.parse(process.env.BENCH_BACKUP_PHASE ?? "null") as PhaseRequest | null;
const key = Buffer.from(process.env.BENCH_BACKUP_KEY ?? "", "hex");
if (!request || key.length !== 32) {
  console.error("backup-phase: set BENCH_BACKUP_PHASE (JSON) and BENCH_BACKUP_KEY (64 hex); it is started by bench/backup.ts");
  process.exit(2);
}
console.log(JSON.stringify(await run(request, key)));
