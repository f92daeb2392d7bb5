// `npm run bench:telegram [-- --tenants 100] [--users 5] [--updates 10000] [--warmup 1000] [--concurrency 50]`
//
// Many stores' Telegram bots in one process, in webhook mode, the way `niaga start` runs
// them: `StoreBots` on the platform's HTTP server, the engine with MongoDB sessions and
// customer records (the embedded server, in its own process as a mongod would be).
//
// The Telegram side runs in a second process: the Bot API emulator answers the bots, and a
// bounded loop (`--concurrency` customers waiting at once, each one message at a time)
// POSTs updates to `/telegram/<store>` with the store's secret header and waits for the
// bot's reply to reach the emulator. Both timestamps are taken in that process.
//
// Measures updates/s, p50/p99 from the update's POST to the reply reaching the emulator,
// memory per idle bot (heap and RSS growth over starting the bots, after GC, ÷ bots), the
// first start (nothing remembered) and a restart from what the first start remembered.
// Prints a table and writes bench/results/telegram.json.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { settledMemory } from "./support/memory-peak.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const resultsFile = fileURLToPath(new URL("./results/telegram.json", import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    role: { type: "string", default: "platform" },
    tenants: { type: "string", default: "100" },
    users: { type: "string", default: "5" },
    updates: { type: "string", default: "10000" },
    warmup: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "50" },
    out: { type: "string", default: resultsFile },
  },
  strict: true,
});

interface Settings {
  tenants: number;
  users: number;
  updates: number;
  warmup: number;
  concurrency: number;
}

type ToTelegram =
  | { type: "setup"; tenants: number; users: number }
  | { type: "settle" }
  | { type: "drive"; updates: number; warmup: number; concurrency: number }
  | { type: "stop" };

type FromTelegram =
  | { type: "ready"; apiRoot: string; tokens: string[] }
  | { type: "settled" }
  | { type: "result"; latenciesMs: number[]; elapsedMs: number; failures: number };

// ---------------------------------------------------------------- the Telegram side (child process)

async function telegramSide(): Promise<void> {
  const { startTelegramEmulator } = await import("../tests/support/telegram-emulator.ts");
  const tg = await startTelegramEmulator();
  const send = (message: FromTelegram) => process.send!(message);
  interface Slot {
    token: string;
    user: { id: number; is_bot: false; first_name: string; language_code: string };
    url: string;
    secret: string;
    nextMessageId: number;
    said: number;
  }
  let tokens: string[] = [];
  let slots: Slot[] = [];
  const updateIds = new Map<string, number>();

  const post = async (slot: Slot, text: string, expected: (reply: string) => boolean): Promise<{ ms: number; ok: boolean }> => {
    const updateId = (updateIds.get(slot.token) ?? 500_000_000) + 1;
    updateIds.set(slot.token, updateId);
    const command = text.startsWith("/") ? { entities: [{ type: "bot_command", offset: 0, length: text.length }] } : {};
    const update = {
      update_id: updateId,
      message: {
        message_id: slot.nextMessageId++, date: Math.floor(Date.now() / 1000),
        chat: { id: slot.user.id, type: "private", first_name: slot.user.first_name }, from: slot.user, text, ...command,
      },
    };
    const replied = tg.waitForSent(slot.token, slot.user.id, (m) => expected(m.text ?? ""), 60_000).then(() => performance.now());
    const started = performance.now();
    const response = await fetch(slot.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": slot.secret },
      body: JSON.stringify(update),
    });
    await response.arrayBuffer();
    const arrived = await replied.catch(() => undefined);
    return { ms: arrived === undefined ? Number.NaN : arrived - started, ok: response.status === 200 && arrived !== undefined };
  };

  process.on("disconnect", () => process.exit(0));
  process.on("message", async (message: ToTelegram) => {
    if (message.type === "setup") {
      tokens = Array.from({ length: message.tenants }, () => tg.bot().token);
      slots = tokens.flatMap((token) => Array.from({ length: message.users }, () => {
        const user = tg.user({ first_name: "Pembeli", language_code: "id" }) as Slot["user"];
        tg.openChat(token, user);
        return { token, user, url: "", secret: "", nextMessageId: 1, said: 0 };
      }));
      send({ type: "ready", apiRoot: tg.apiRoot, tokens });
    } else if (message.type === "settle") {
      // Started means: webhook set, commands registered for both languages.
      for (const token of tokens) {
        const hook = await tg.waitForCall(token, "setWebhook", () => true, 60_000);
        for (const slot of slots.filter((s) => s.token === token)) {
          slot.url = String(hook.params.url);
          slot.secret = String(hook.params.secret_token);
        }
        await tg.waitForCall(token, "setMyCommands", (c) => c.params.language_code === "en", 60_000);
      }
      send({ type: "settled" });
    } else if (message.type === "drive") {
      const { concurrency } = message;
      let failures = 0;
      const worker = async (w: number, count: number, record: number[] | undefined) => {
        const mine = slots.filter((_, i) => i % concurrency === w);
        for (let n = 0; n < count; n++) {
          const slot = mine[n % mine.length];
          const text = `pesan ${++slot.said}`;
          const { ms, ok } = await post(slot, text, (reply) => reply === `Echo: ${text}`);
          if (!ok) failures++;
          else record?.push(ms);
        }
      };
      const split = (total: number, w: number) => Math.floor(total / concurrency) + (w < total % concurrency ? 1 : 0);
      // Every customer opens the chat (/start), then a warm-up, then the measured run.
      await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
        for (const slot of slots.filter((_, i) => i % concurrency === w)) {
          const { ok } = await post(slot, "/start", (reply) => reply === "Kirim pesan apa saja.");
          if (!ok) failures++;
        }
      }));
      await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w, split(message.warmup, w), undefined)));
      const latenciesMs: number[] = [];
      const started = performance.now();
      await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w, split(message.updates, w), latenciesMs)));
      send({ type: "result", latenciesMs, elapsedMs: performance.now() - started, failures });
    } else if (message.type === "stop") {
      await tg.stop();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------- the platform side (this process)

function collectGarbage(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

function startDatabase(): Promise<{ uri: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "storage/embedded/main.ts", "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith("mongodb://"));
      if (line) resolve({ uri: `${line.trim()}/niaga_bench_telegram`, child });
    });
    child.once("exit", (code) => reject(new Error(`embedded server exited with ${code}`)));
  });
}

function startTelegram(): { child: ChildProcess; ask<T extends FromTelegram["type"]>(message: ToTelegram, answer: T): Promise<Extract<FromTelegram, { type: T }>> } {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--role", "telegram"], {
    cwd: root, stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return {
    child,
    ask(message, answer) {
      return new Promise((resolve, reject) => {
        const onMessage = (reply: FromTelegram) => {
          if (reply.type !== answer) return;
          child.off("message", onMessage);
          resolve(reply as never);
        };
        child.on("message", onMessage);
        child.once("exit", (code) => reject(new Error(`the Telegram side exited with ${code}`)));
        child.send(message);
      });
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

async function platformSide(settings: Settings): Promise<void> {
  const gc = collectGarbage();
  const [{ createPlatformHttp }, { configureLogging, logger }, { defineFlow }, { createEngine }, { memberAudience }, { MongoSessionStore }, { initI18n }, { connectMongo, disconnectMongo, syncAllIndexes }, { configureEncryption }, { sealTenantSecret, Tenant }, { StoreBots }] = await Promise.all([
    import("../bots/http-server.ts"),
    import("../bots/logger.ts"),
    import("../flows/engine/flow-schema.ts"),
    import("../flows/engine/engine.ts"),
    import("../flows/engine/audience.ts"),
    import("../flows/engine/mongo-session-store.ts"),
    import("../locales/i18n.ts"),
    import("../storage/connection.ts"),
    import("../storage/crypto.ts"),
    import("../storage/models/index.ts"),
    import("../adapters/telegram/store-bots.ts"),
  ]);
  configureLogging({ level: "warn" });
  await initI18n();
  const database = await startDatabase();
  const telegram = startTelegram();
  try {
    await connectMongo(database.uri, { attempts: 3 });
    await syncAllIndexes();
    const encryptionKey = randomBytes(32);
    configureEncryption(encryptionKey);

    const { apiRoot, tokens } = await telegram.ask({ type: "setup", tenants: settings.tenants, users: settings.users }, "ready");
    const tenantIds: string[] = [];
    for (const [i, token] of tokens.entries()) {
      const tenant = new Tenant({ slug: `bench-${String(i).padStart(4, "0")}`, name: `Toko Bench ${i}` });
      tenant.set("channels.telegram.token", sealTenantSecret(tenant, "channels.telegram.token", token));
      tenant.set("channels.telegram.mode", "webhook");
      await tenant.save();
      tenantIds.push(tenant._id.toString());
    }

    const echo = defineFlow({
      id: "echo",
      triggers: { commands: ["start"] },
      steps: {
        hello: { kind: "ask", text: { id: "Kirim pesan apa saja.", en: "Send any message." }, expect: "text", saveAs: "said", next: "echo" },
        echo: { kind: "ask", text: { id: "Echo: {{said}}", en: "Echo: {{said}}" }, expect: "text", saveAs: "said", next: "echo" },
      },
    });
    const engine = createEngine({ flows: [echo], sessions: new MongoSessionStore(), audienceOf: memberAudience() });
    const http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
    // The port first: the webhook URL carries it, and the bots' route is registered with it.
    const port = await http.open(0, "127.0.0.1");
    const bots = new StoreBots({ engine, encryptionKey, apiRoot, publicUrl: `http://127.0.0.1:${port}`, http });
    http.register(bots.routes);
    await http.serve();

    // One bot first, so code loaded and compiled on first use is not counted per bot.
    await bots.start(tenantIds[0]);
    const before = await settledMemory(gc);
    const startedAt = performance.now();
    const report = await bots.startAll();
    const startMs = performance.now() - startedAt;
    if (report.failed.length > 0) throw new Error(`stores failed to start: ${JSON.stringify(report.failed.slice(0, 3))}`);
    await telegram.ask({ type: "settle" }, "settled");
    const idle = await settledMemory(gc);
    const idleBots = settings.tenants - 1;

    const result = await telegram.ask({ type: "drive", updates: settings.updates, warmup: settings.warmup, concurrency: settings.concurrency }, "result");
    const sorted = [...result.latenciesMs].sort((a, b) => a - b);

    // A restart: every store's identity, webhook and menus are remembered now, so this
    // start asks Telegram nothing (what `niaga start` does after a deploy).
    await bots.stopAll();
    const restartedAt = performance.now();
    const restart = await bots.startAll();
    const restartMs = performance.now() - restartedAt;
    if (restart.failed.length > 0 || restart.started.length !== settings.tenants) throw new Error(`stores failed to start again: ${JSON.stringify(restart.failed.slice(0, 3))}`);
    const figures = {
      tenants: settings.tenants,
      updates: result.latenciesMs.length,
      updatesPerSecond: round(result.latenciesMs.length / (result.elapsedMs / 1000), 1),
      p50Ms: round(percentile(sorted, 50)),
      p99Ms: round(percentile(sorted, 99)),
      maxMs: round(sorted.at(-1) ?? Number.NaN),
      idleBotBytes: Math.round((idle.heap - before.heap) / idleBots),
      idleBotRssBytes: Math.round((idle.rss - before.rss) / idleBots),
      startAllMs: round(startMs, 0),
      restartAllMs: round(restartMs, 0),
      failedUpdates: result.failures,
      concurrency: settings.concurrency,
      customersPerStore: settings.users,
      warmupUpdates: settings.warmup,
      mode: "webhook",
      storage: "embedded MongoDB (separate process)",
      node: process.version,
      cpus: cpus().length,
      recordedAt: new Date().toISOString(),
    };

    const lines = [
      `Telegram store bots, webhook mode: ${figures.tenants} stores, ${figures.customersPerStore} customers each, ${figures.concurrency} waiting at once`,
      `  updates measured          ${figures.updates} (after ${figures.warmupUpdates} warm-up; ${figures.failedUpdates} failed)`,
      `  updates/s                 ${figures.updatesPerSecond}`,
      `  update → reply p50        ${figures.p50Ms} ms`,
      `  update → reply p99        ${figures.p99Ms} ms`,
      `  update → reply max        ${figures.maxMs} ms`,
      `  idle bot, heap            ${(figures.idleBotBytes / 1024).toFixed(1)} KiB`,
      `  idle bot, RSS             ${(figures.idleBotRssBytes / 1024).toFixed(1)} KiB`,
      `  start ${String(idleBots).padEnd(4)} bots          ${figures.startAllMs} ms (nothing remembered)`,
      `  restart ${String(settings.tenants).padEnd(4)} bots        ${figures.restartAllMs} ms (identity, webhook, menus remembered)`,
    ];
    console.log(lines.join("\n"));
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`\nwrote ${args.out}`);

    await bots.stopAll();
    await http.close();
    await disconnectMongo();
  } finally {
    telegram.child.send({ type: "stop" } satisfies ToTelegram);
    database.child.kill();
  }
}

if (args.role === "telegram") {
  await telegramSide();
} else {
  const settings: Settings = {
    tenants: Number(args.tenants),
    users: Number(args.users),
    updates: Number(args.updates),
    warmup: Number(args.warmup),
    concurrency: Number(args.concurrency),
  };
  const bad = Object.entries(settings).find(([name, value]) => !Number.isInteger(value) || value < (name === "warmup" ? 0 : 1));
  if (bad || settings.tenants < 2 || settings.concurrency > settings.tenants * settings.users) {
    console.error("usage: npm run bench:telegram [-- --tenants N≥2] [--users U] [--updates N] [--warmup N] [--concurrency C≤N×U]");
    process.exit(2);
  }
  await platformSide(settings);
}
