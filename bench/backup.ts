// `npm run bench:backup [-- --orders N] [--stock N] [--out FILE] [--mongodb-uri URI]`
//
// Backups of a big platform database: a few stores with N orders (default 100,000) across
// every status and N stock items (default 100,000) sealed with the real data key, seeded
// through the real models (timed, but not a backup figure). Then three phases, each in a
// process of its own (bench/support/backup-phase.ts) so the memory measured is the backup's:
//   create   createBackup into a LocalDestination in a temporary folder;
//   verify   verifyBackup with a scratch database on the same server (restored and counted);
//   restore  restoreBackup into a fresh database (dry run off), then counted.
// For each: wall seconds, MB/s (bytes of the backup's files as stored, i.e. encrypted),
// documents/s, CPU seconds, peak RSS and heap (sampled every 50 ms) with their increase over
// the settled baseline just before the phase, and the heap still live after a full GC. The database is the embedded server in its own
// process (it keeps data in memory; its RSS is printed apart), or `--mongodb-uri` for a real
// one (databases niaga_bench_backup*, dropped afterwards). Exits 1 if a phase finds a problem.
// Writes bench/results/backup.json.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { MongoClient } from "mongodb";
import { configureLogging } from "../bots/logger.ts";
import { Order } from "../flows/ordering/order.ts";
import { Product } from "../flows/ordering/product.ts";
import { StockItem } from "../flows/ordering/stock-item.ts";
import { connectMongo, disconnectMongo } from "../storage/connection.ts";
import { configureEncryption } from "../storage/crypto.ts";
import { Counter, Customer, Tenant } from "../storage/models/index.ts";
import type { PhaseName, PhaseRequest, PhaseResult } from "./support/backup-phase.ts";
import { seedShop } from "./support/backup-seed.ts";
import { startEmbeddedDatabase } from "./support/embedded-database.ts";
import { watchProcess, type ProcessUse } from "./support/memory-peak.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const resultsFile = fileURLToPath(new URL("./results/backup.json", import.meta.url));
const USAGE = "usage: npm run bench:backup [-- --orders N] [--stock N] [--out FILE] [--mongodb-uri URI]   (N: a whole number, default 100000)";
const DATABASE = "niaga_bench_backup";

function flags() {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        orders: { type: "string", default: "100000" },
        stock: { type: "string", default: "100000" },
        out: { type: "string", default: resultsFile },
        /** A MongoDB server to use instead of starting the embedded one (e.g. a real mongod). */
        "mongodb-uri": { type: "string" },
      },
      strict: true,
    });
    const orders = Number(values.orders);
    const stock = Number(values.stock);
    const whole = [values.orders, values.stock].every((v) => /^\d{1,9}$/.test(v));
    if (whole && orders + stock > 0) return { ...values, orders, stock };
    console.error(`bench:backup: --orders and --stock take whole numbers (not both 0), got ${values.orders} and ${values.stock}`);
  } catch (err) {
    console.error(`bench:backup: ${(err as Error).message}`);
  }
  console.error(USAGE);
  process.exit(2);
}
const args = flags();

/** `mongodb://host:port[/db][?opts]` with `name` as its database. */
function inDatabase(server: string, name: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(server);
  if (!m) throw new Error(`--mongodb-uri is not a MongoDB connection string: ${server}`);
  return `${m[1]}/${name}${m[2] ?? ""}`;
}

async function dropDatabases(server: string): Promise<void> {
  const client = new MongoClient(server, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    for (const suffix of ["", "_scratch", "_restored"]) await client.db(`${DATABASE}${suffix}`).dropDatabase();
  } finally {
    await client.close();
  }
}

function runPhase(request: PhaseRequest, key: Buffer): Promise<PhaseResult> {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "bench/support/backup-phase.ts"], {
    cwd: root,
    env: { ...process.env, BENCH_BACKUP_PHASE: JSON.stringify(request), BENCH_BACKUP_KEY: key.toString("hex") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      const last = out.trim().split("\n").pop() ?? "";
      if (code === 0 && last.startsWith("{")) resolve(JSON.parse(last) as PhaseResult);
      else reject(new Error(`the ${request.phase} phase exited with ${code} (its error is above)`));
    });
  });
}

const MB = 1e6;
const MiB = 1024 * 1024;
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

async function main(): Promise<number> {
  configureLogging({ level: "error" });
  configureEncryption(randomBytes(32));
  const backupKey = randomBytes(32);
  const embedded = args["mongodb-uri"] ? undefined : await startEmbeddedDatabase();
  const server = args["mongodb-uri"] ?? embedded!.server;
  const dir = await mkdtemp(join(tmpdir(), "niaga-bench-backup-"));
  const phases: (PhaseResult & { server?: ProcessUse })[] = [];
  let seedSeconds = 0;
  let seeded;
  try {
    if (!embedded) await dropDatabases(server);
    await connectMongo(inDatabase(server, DATABASE), { attempts: 3 });
    for (const model of [Tenant, Customer, Counter, Product, StockItem, Order]) {
      await model.createCollection().catch(() => undefined);
      await model.syncIndexes();
    }
    console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}; database: ${embedded ? "embedded server (own process, data in memory)" : "MONGODB_URI"}`);
    console.log(`seeding ${fmt(args.orders)} orders and ${fmt(args.stock)} stock items (sealed with the data key) through the real models…`);
    const seedStarted = performance.now();
    let shown = 0;
    seeded = await seedShop({ orders: args.orders, stock: args.stock }, (written) => {
      if (written - shown >= 50_000) console.log(`  ${fmt((shown = written))} documents…`);
    });
    seedSeconds = (performance.now() - seedStarted) / 1000;
    await disconnectMongo();
    const seededDocs = 2 * seeded.stores /* tenants and their order counters */ + seeded.products + seeded.customers + seeded.orders + seeded.stock;
    console.log(
      `seeded ${seeded.stores} stores, ${seeded.products} products, ${fmt(seeded.customers)} customers, ${fmt(seeded.orders)} orders, ` +
        `${fmt(seeded.stock)} stock items (${fmt(seeded.linked)} held by orders) in ${seedSeconds.toFixed(1)} s ` +
        `(${fmt(seededDocs / seedSeconds)} docs/s; not a backup figure)\n`,
    );

    const requests: PhaseRequest[] = [
      { phase: "create", uri: inDatabase(server, DATABASE), dir },
      { phase: "verify", uri: inDatabase(server, DATABASE), dir, scratchUri: inDatabase(server, `${DATABASE}_scratch`) },
      { phase: "restore", uri: inDatabase(server, `${DATABASE}_restored`), dir },
    ];
    for (const request of requests) {
      request.id ??= phases[0]?.manifest.id;
      const serverWatch = embedded?.child.pid ? await watchProcess(embedded.child.pid) : undefined;
      const result = await runPhase(request, backupKey);
      phases.push({ ...result, server: await serverWatch?.stop() });
      console.log(`${request.phase}: ${result.seconds.toFixed(2)} s${result.problems.length ? ` — PROBLEMS: ${result.problems.join("; ")}` : ""}`);
    }
  } finally {
    await disconnectMongo();
    if (!embedded) await dropDatabases(server).catch((err: Error) => console.error(`could not drop the bench databases: ${err.message}`));
    embedded?.child.kill();
    await rm(dir, { recursive: true, force: true });
  }

  const manifest = phases[0].manifest;
  const bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
  const documents = Object.values(manifest.collections).reduce((sum, n) => sum + n, 0);
  const rows = phases.map((p) => ({
    phase: p.phase as PhaseName,
    seconds: round(p.seconds, 2),
    mb: round(bytes / MB, 1),
    mbPerSecond: round(bytes / MB / p.seconds, 2),
    docsPerSecond: Math.round(documents / p.seconds),
    peakRssMiB: round(p.memory.peakRss / MiB, 1),
    rssIncreaseMiB: round(p.memory.rssIncrease / MiB, 1),
    peakHeapMiB: round(p.memory.peakHeapUsed / MiB, 1),
    heapIncreaseMiB: round(p.memory.heapIncrease / MiB, 1),
    peakLiveHeapMiB: p.memory.majorGcs > 0 ? round(p.memory.peakLiveHeap / MiB, 1) : undefined,
    cpuSeconds: round(p.cpuSeconds, 2),
    serverCpuSeconds: p.server ? round(p.server.cpuSeconds, 2) : undefined,
    serverPeakRssMiB: p.server ? round(p.server.peakRss / MiB, 1) : undefined,
    problems: p.problems,
  }));
  console.log(`\nbackup: ${fmt(bytes / MB, 1)} MB in ${manifest.files.length} file(s), ${fmt(documents)} documents in ${Object.keys(manifest.collections).length} collections\n`);
  console.log("phase     seconds     MB    MB/s    docs/s   peak RSS   RSS increase   peak heap   heap increase   live heap   CPU s (server)   server peak RSS");
  for (const r of rows) {
    console.log(
      `${r.phase.padEnd(8)} ${fmt(r.seconds, 2).padStart(8)} ${fmt(r.mb, 1).padStart(6)} ${fmt(r.mbPerSecond, 2).padStart(7)} ${fmt(r.docsPerSecond).padStart(9)} ` +
        `${`${fmt(r.peakRssMiB)} MiB`.padStart(10)} ${`+${fmt(r.rssIncreaseMiB)} MiB`.padStart(14)} ${`${fmt(r.peakHeapMiB)} MiB`.padStart(11)} ` +
        `${`+${fmt(r.heapIncreaseMiB)} MiB`.padStart(15)} ${(r.peakLiveHeapMiB === undefined ? "-" : `${fmt(r.peakLiveHeapMiB)} MiB`).padStart(11)} ${`${fmt(r.cpuSeconds, 1)} (${r.serverCpuSeconds === undefined ? "-" : fmt(r.serverCpuSeconds, 1)})`.padStart(16)} ${r.serverPeakRssMiB === undefined ? "-".padStart(17) : `${fmt(r.serverPeakRssMiB)} MiB`.padStart(17)}`,
    );
  }
  console.log(
    "\nEach phase ran in a process of its own: its peak RSS and heap are the backup's own memory (node and the driver included)," +
      "\nthe increase is over its settled baseline just before the phase; live heap is the most heap in use right after a full GC (- if none ran)." +
      `${embedded ? "\nThe embedded server holds the data in memory, in its own process (server peak RSS)." : ""}`,
  );
  const ok = rows.every((r) => r.problems.length === 0);
  const summary = {
    orders: args.orders,
    stock: args.stock,
    seeded,
    seedSeconds: round(seedSeconds, 1),
    documents,
    collections: manifest.collections,
    backupBytes: bytes,
    create: rows[0],
    verify: rows[1],
    restore: rows[2],
    ok,
    database: args["mongodb-uri"] ? "mongodb-uri" : "embedded",
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify({ summary, phases: phases.map((p) => ({ phase: p.phase, seconds: p.seconds, cpuSeconds: p.cpuSeconds, memory: p.memory, server: p.server, problems: p.problems })) }, null, 2)}\n`);
  console.log(`${ok ? "OK" : "FAILED"}; results written to ${args.out}`);
  return ok ? 0 : 1;
}

process.exitCode = await main().catch((err: Error) => {
  console.error(`FAILED: ${err.message}`);
  return 1;
});
