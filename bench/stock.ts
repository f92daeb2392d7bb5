// `npm run bench:stock [-- --buyers 200] [--items 50] [--quantity 1] [--rounds 3]
//                      [--warmup 1] [--out FILE] [--mongodb-uri URI]`
//
// Stock under contention: B buyers (default 200) place an order for the same product at
// the same moment, each through the real checkout (`placeOrder`: store, customer and
// product checks, conditional single-document reservations, order numbering), against a
// product with N items (default 50). Every order placed is then paid and delivered
// through the exactly-once path. The database is the embedded server in its own process,
// as a mongod would run beside the platform (or `--mongodb-uri` for a real one).
//
// A warm-up round (not recorded) lets both processes' JITs settle first.
// Prints, per round and as the median: orders placed, items sold (must equal N),
// duplicates (items held by two orders or delivered twice; must be 0), the time for the
// rush, and reservations/s (buyers served — placed or told "sold out" — per second).
// Exits non-zero if any round sold a different number of items or sold one twice.
// Writes bench/results/stock.json.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { configureLogging } from "../bots/logger.ts";
import type { ChannelAddress, Outbound, SendReport } from "../flows/engine/index.ts";
import { createOrdering } from "../flows/ordering/ordering.ts";
import { Order } from "../flows/ordering/order.ts";
import { Product } from "../flows/ordering/product.ts";
import { addStockItems, StockItem } from "../flows/ordering/stock-item.ts";
import { connectMongo, disconnectMongo } from "../storage/connection.ts";
import { configureEncryption } from "../storage/crypto.ts";
import { Counter, Customer, Tenant } from "../storage/models/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const resultsFile = fileURLToPath(new URL("./results/stock.json", import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    buyers: { type: "string", default: "200" },
    items: { type: "string", default: "50" },
    quantity: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    out: { type: "string", default: resultsFile },
    "mongodb-uri": { type: "string" },
  },
  strict: true,
});
const BUYERS = Number(args.buyers);
const ITEMS = Number(args.items);
const QUANTITY = Number(args.quantity);
const ROUNDS = Number(args.rounds);
const WARMUP = Number(args.warmup);
if (![BUYERS, ITEMS, QUANTITY, ROUNDS].every((n) => Number.isInteger(n) && n >= 1) || QUANTITY > 1000 || !(Number.isInteger(WARMUP) && WARMUP >= 0)) {
  console.error("usage: npm run bench:stock [-- --buyers B] [--items N] [--quantity Q (1–1000)] [--rounds R] [--warmup W] [--out FILE] [--mongodb-uri URI]");
  process.exit(2);
}

interface Round {
  placed: number;
  refused: number;
  sold: number;
  duplicates: number;
  elapsedMs: number;
  reservationsPerSecond: number;
  deliveryMs: number;
}

/** Counts what was sent; the payloads are only looked at to find duplicates. */
class CountingOutbox {
  readonly delivered: string[] = [];
  async send(_to: ChannelAddress, messages: readonly Outbound[]): Promise<SendReport> {
    for (const message of messages) {
      if ("key" in message.text && message.text.key === "ordering.delivery") {
        this.delivered.push(...(String(message.text.params?.items ?? "").match(/BENCH-\d+-\d+/g) ?? []));
      }
    }
    return { ok: true, sent: messages.length, messages: messages.map(() => ({ status: "sent", messageIds: [] })) };
  }
}

async function runRound(round: number): Promise<Round> {
  const tenant = await Tenant.create({
    slug: `bench-${round}-${randomBytes(3).toString("hex")}`,
    name: `Bench ${round}`,
    settings: { ordering: { maxQuantityPerOrder: Math.max(QUANTITY, 1) } },
  });
  const product = await Product.create({ tenantId: tenant._id, code: "voucher", name: "Voucher", price: 10_000, perOrderMax: QUANTITY });
  await addStockItems(tenant._id, product._id, Array.from({ length: ITEMS }, (_, i) => `BENCH-${round}-${i}`));
  const outbox = new CountingOutbox();
  const ordering = createOrdering({ outbox });
  const tenantId = String(tenant._id);

  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: BUYERS }, (_, i) =>
      ordering.placeOrder({
        tenantId,
        customer: { channel: "telegram", channelUserId: `buyer-${i}`, chatId: `buyer-${i}`, locale: "id" },
        items: [{ productCode: "voucher", quantity: QUANTITY }],
      }),
    ),
  );
  const elapsedMs = performance.now() - started;
  const placed = results.filter((r) => r.ok).length;

  const deliveryStarted = performance.now();
  const orders = await Order.find({ tenantId: tenant._id }, { _id: 1, stockItemIds: 1 }).lean().exec();
  await Promise.all(
    orders.map(async (o) => {
      await ordering.markPaid(tenantId, String(o._id), { method: "simulator", eventId: `bench-${String(o._id)}` });
      await ordering.deliverOrder(tenantId, String(o._id));
    }),
  );
  const deliveryMs = performance.now() - deliveryStarted;

  const sold = await StockItem.countDocuments({ tenantId: tenant._id, status: "sold" }).exec();
  const heldIds = orders.flatMap((o) => o.stockItemIds.map(String));
  const duplicates = heldIds.length - new Set(heldIds).size + (outbox.delivered.length - new Set(outbox.delivered).size);
  return {
    placed,
    refused: BUYERS - placed,
    sold,
    duplicates,
    elapsedMs: round3(elapsedMs),
    reservationsPerSecond: Math.round((BUYERS / elapsedMs) * 1000),
    deliveryMs: round3(deliveryMs),
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The embedded server in its own process, as a real mongod would run beside the platform. */
async function startDatabase(): Promise<{ uri: string; child?: ChildProcess }> {
  if (args["mongodb-uri"]) return { uri: args["mongodb-uri"] };
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
  return { uri: `${uri}/niaga_bench_stock`, child };
}

async function main(): Promise<number> {
  configureLogging({ level: "error" });
  configureEncryption(randomBytes(32));
  const db = await startDatabase();
  const runs: Round[] = [];
  try {
    await connectMongo(db.uri, { attempts: 3 });
    for (const model of [Tenant, Customer, Counter, Product, StockItem, Order]) {
      await model.createCollection().catch(() => undefined);
      await model.syncIndexes();
    }
    console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}; database: ${args["mongodb-uri"] ? "MONGODB_URI" : "embedded server (own process)"}`);
    console.log(`${BUYERS} buyers × ${QUANTITY} for ${ITEMS} items, ${ROUNDS} rounds after ${WARMUP} warm-up\n`);
    for (let w = 1; w <= WARMUP; w++) {
      const run = await runRound(1000 + w);
      if (run.duplicates !== 0) runs.push(run); // a duplicate is a failure whenever it happens
    }
    for (let r = 1; r <= ROUNDS; r++) {
      const run = await runRound(r);
      runs.push(run);
      console.log(
        `round ${r}: placed ${run.placed}, sold ${run.sold}, duplicates ${run.duplicates}, rush ${run.elapsedMs.toFixed(1)} ms ` +
          `(${run.reservationsPerSecond} reservations/s), pay+deliver ${run.deliveryMs.toFixed(1)} ms`,
      );
    }
  } finally {
    await disconnectMongo();
    db.child?.kill();
  }

  const expectedSold = Math.floor(ITEMS / QUANTITY) * QUANTITY;
  const ok = runs.every((r) => r.duplicates === 0 && (QUANTITY === 1 ? r.sold === ITEMS : r.sold <= ITEMS && r.sold === r.placed * QUANTITY));
  const summary = {
    buyers: BUYERS,
    items: ITEMS,
    quantity: QUANTITY,
    rounds: ROUNDS,
    warmup: WARMUP,
    sold: median(runs.map((r) => r.sold)),
    expectedSold: QUANTITY === 1 ? ITEMS : `at most ${expectedSold}`,
    duplicates: Math.max(...runs.map((r) => r.duplicates)),
    elapsedMs: round3(median(runs.map((r) => r.elapsedMs))),
    reservationsPerSecond: median(runs.map((r) => r.reservationsPerSecond)),
    deliveryMs: round3(median(runs.map((r) => r.deliveryMs))),
    ok,
    database: args["mongodb-uri"] ? "mongodb-uri" : "embedded",
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  };
  console.log(
    `\nmedian: sold ${summary.sold} (expected ${summary.expectedSold}), duplicates ${summary.duplicates}, ` +
      `rush ${summary.elapsedMs.toFixed(1)} ms, ${summary.reservationsPerSecond} reservations/s — ${ok ? "OK" : "FAILED"}`,
  );
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify({ summary, runs }, null, 2)}\n`);
  console.log(`results written to ${args.out}`);
  return ok ? 0 : 1;
}

process.exitCode = await main();
