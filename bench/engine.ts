// `npm run bench:engine [-- --chats C] [--steps 3,10,30,300] [--storage memory,mongodb]
//                       [--impl niaga,conversations] [--rounds R] [--min-updates U]
//                       [--out FILE] [--mongodb-uri URI]`
//
// The Niaga engine against @grammyjs/conversations 2.x on the same question-and-answer
// flow of N steps, fed the same Telegram updates through `bot.handleUpdate`, with the Bot
// API answered in process through grammY's `client.fetch`. Each runs once on in-memory
// storage and once on MongoDB (the embedded server, in its own process as a mongod would
// be). C chats talk at the same time; each chat sends its updates one after another and
// repeats the conversation until a run has at least U updates (default 2000).
// Each figure is the median of alternating rounds. Prints updates/s and per-update
// p50/p99 for each, the ratios, and writes
// bench/results/engine.json.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import mongoose from "mongoose";
import { ConversationSession, MongoSessionStore } from "../flows/engine/mongo-session-store.ts";
import { initI18n } from "../locales/i18n.ts";
import { connectMongo, disconnectMongo } from "../storage/connection.ts";
import { createLocalBotApi } from "./support/local-bot-api.ts";
import { conversationsQaBot, DONE, niagaQaBot, question, type Storage } from "./support/qa-bots.ts";
import { textUpdate } from "./support/telegram-updates.ts";

type Impl = "niaga" | "conversations";

interface Run {
  impl: Impl;
  storage: Storage;
  steps: number;
  chats: number;
  updatesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const root = fileURLToPath(new URL("..", import.meta.url));
const resultsFile = fileURLToPath(new URL("./results/engine.json", import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    chats: { type: "string", default: "10" },
    steps: { type: "string", default: "3,10,30,300" },
    storage: { type: "string", default: "memory,mongodb" },
    impl: { type: "string", default: "niaga,conversations" },
    rounds: { type: "string", default: "3" },
    "min-updates": { type: "string", default: "2000" },
    out: { type: "string", default: resultsFile },
    /** A MongoDB to use instead of starting the embedded server (e.g. a real mongod). */
    "mongodb-uri": { type: "string" },
  },
  strict: true,
});
const CHATS = Number(args.chats);
const STEP_COUNTS = args.steps.split(",").map(Number);
const STORAGES = args.storage.split(",") as Storage[];
const IMPLS = args.impl.split(",") as Impl[];
const ROUNDS = Number(args.rounds);
const MIN_UPDATES = Number(args["min-updates"]);
if (!Number.isInteger(CHATS) || CHATS < 1 || STEP_COUNTS.some((n) => !Number.isInteger(n) || n < 1) || STORAGES.some((s) => s !== "memory" && s !== "mongodb") || IMPLS.some((i) => i !== "niaga" && i !== "conversations") || !(ROUNDS >= 1) || !(MIN_UPDATES >= 1)) {
  console.error("usage: npm run bench:engine [-- --chats C] [--steps 3,10,30,300] [--storage memory,mongodb] [--impl niaga,conversations] [--rounds R] [--min-updates U] [--out FILE] [--mongodb-uri URI]");
  process.exit(2);
}

const WARM_UP_UPDATES = 4000;
let nextChatId = 1_000_000;

/**
 * One measured run: every chat sends /qa and N answers, and goes through the conversation
 * again until the run has at least `minUpdates` updates, so short flows are not measured
 * over a blink. Returns throughput and the per-update latency percentiles.
 */
async function measure(impl: Impl, storage: Storage, steps: number, chats: number, tenantId: string, minUpdates = MIN_UPDATES): Promise<Run> {
  const api = createLocalBotApi();
  const bot = impl === "niaga" ? niagaQaBot(steps, storage, api, tenantId) : conversationsQaBot(steps, storage, api);
  const chatIds = Array.from({ length: chats }, () => nextChatId++);
  const repeats = Math.max(1, Math.ceil(minUpdates / (chats * (steps + 1))));
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    chatIds.map(async (chatId) => {
      for (let r = 0; r < repeats; r++) {
        for (let i = 0; i <= steps; i++) {
          const update = textUpdate(chatId, i === 0 ? "/qa" : `jawaban ${i}`);
          const t0 = performance.now();
          await bot.handleUpdate(update);
          latencies.push(performance.now() - t0);
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  // Both must have held the same conversations: every question once, in order, then the end.
  const once = [...Array.from({ length: steps }, (_, i) => question(i + 1)), DONE];
  const expected = Array.from({ length: repeats }, () => once).flat();
  for (const chatId of chatIds) {
    const sent = api.sent.get(chatId) ?? [];
    if (sent.length !== expected.length || sent.some((text, i) => text !== expected[i])) {
      throw new Error(`${impl}/${storage}/N=${steps}: chat ${chatId} got ${sent.length} messages, not the ${expected.length} expected`);
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    impl,
    storage,
    steps,
    chats,
    updatesPerSecond: round(latencies.length / (elapsedMs / 1000), 1),
    p50Ms: round(percentile(latencies, 0.5), 3),
    p99Ms: round(percentile(latencies, 0.99), 3),
  };
}

function medianOf(samples: Run[]): Run {
  const median = (pick: (r: Run) => number) => {
    const sorted = samples.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };
  return { ...samples[0], updatesPerSecond: median((r) => r.updatesPerSecond), p50Ms: median((r) => r.p50Ms), p99Ms: median((r) => r.p99Ms) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The embedded server in its own process, as a real mongod would run beside the bot. */
async function startDatabase(): Promise<{ uri: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "storage/embedded/main.ts", "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const uri = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith("mongodb://"));
      if (line) resolve(line.trim());
    });
    child.once("exit", (code) => reject(new Error(`embedded server exited with ${code}`)));
  });
  return { uri: `${uri}/niaga_bench`, child };
}

async function clearStorage(storage: Storage): Promise<void> {
  if (storage !== "mongodb") return;
  await ConversationSession.deleteMany({}).setOptions({ crossTenant: true });
  await mongoose.connection.db!.collection("bench_conversations").deleteMany({});
}

function table(runs: Run[]): string {
  const lines = ["storage  steps  impl           updates/s   p50 ms   p99 ms"];
  for (const r of runs) {
    lines.push(
      `${r.storage.padEnd(8)} ${String(r.steps).padStart(5)}  ${r.impl.padEnd(13)} ${r.updatesPerSecond.toFixed(1).padStart(10)} ${r.p50Ms.toFixed(3).padStart(8)} ${r.p99Ms.toFixed(3).padStart(8)}`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  await initI18n();
  const tenantId = randomBytes(12).toString("hex");
  console.log(`engine benchmark: ${CHATS} concurrent chats, steps ${STEP_COUNTS.join("/")}, storage ${STORAGES.join("+")}, median of ${ROUNDS} rounds`);
  console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}\n`);
  const runs: Run[] = [];
  let database: { uri: string; child: ChildProcess } | undefined;
  try {
    for (const storage of STORAGES) {
      if (storage === "mongodb") {
        const external = args["mongodb-uri"];
        if (external === undefined) database = await startDatabase();
        await connectMongo(external ?? database!.uri, { attempts: 3 });
        await MongoSessionStore.ensureIndexes();
      }
      for (const impl of IMPLS) {
        // Warm-up, not recorded: a few thousand updates before the JIT (of grammY, the
        // MongoDB driver, mongoose) settles and the connection pool has grown to C.
        await clearStorage(storage);
        await measure(impl, storage, 10, CHATS, tenantId, WARM_UP_UPDATES);
      }
      for (const steps of STEP_COUNTS) {
        // Rounds alternate the order of the two, so a neighbour's load on this shared
        // machine falls on both alike; each figure is the median of its rounds.
        const samples = new Map<Impl, Run[]>(IMPLS.map((impl) => [impl, []]));
        for (let round = 0; round < ROUNDS; round++) {
          for (const impl of round % 2 === 0 ? IMPLS : [...IMPLS].reverse()) {
            await clearStorage(storage);
            samples.get(impl)!.push(await measure(impl, storage, steps, CHATS, tenantId));
          }
        }
        for (const impl of IMPLS) {
          const run = medianOf(samples.get(impl)!);
          runs.push(run);
          console.log(`  ${storage} N=${steps} ${impl}: ${run.updatesPerSecond} updates/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms`);
        }
      }
      if (storage === "mongodb") await disconnectMongo();
    }
  } finally {
    database?.child.kill("SIGTERM");
  }

  const ordered = runs.sort((a, b) => a.storage.localeCompare(b.storage) || a.steps - b.steps || a.impl.localeCompare(b.impl));
  console.log(`\n${table(ordered)}\n`);
  const find = (impl: Impl, storage: Storage, steps: number) => runs.find((r) => r.impl === impl && r.storage === storage && r.steps === steps);
  for (const storage of IMPLS.length === 2 ? STORAGES : []) {
    console.log(`${storage}:`);
    for (const steps of STEP_COUNTS) {
      const n = find("niaga", storage, steps)!;
      const c = find("conversations", storage, steps)!;
      console.log(`  N=${String(steps).padStart(3)}: niaga/conversations throughput ${(n.updatesPerSecond / c.updatesPerSecond).toFixed(2)}×`);
    }
    const first = Math.min(...STEP_COUNTS);
    const last = Math.max(...STEP_COUNTS);
    for (const impl of IMPLS) {
      const growth = find(impl, storage, last)!.p50Ms / find(impl, storage, first)!.p50Ms;
      console.log(`  ${impl} per-step p50 at N=${last} vs N=${first}: ${growth.toFixed(2)}×`);
    }
  }
  console.log("\ntargets: niaga ≥ 2× the plugin's throughput at N=10; niaga's per-step cost at N=300 within 1.25× of N=3");

  mkdirSync(fileURLToPath(new URL(".", `file://${args.out}`)), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify({ runs: ordered }, null, 2)}\n`);
  console.log(`results written to ${args.out}`);
}

await main();
