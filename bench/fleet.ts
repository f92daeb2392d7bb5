// `npm run bench:fleet [-- --stores 1000] [--whatsapp 10] [--chatty 20] [--lease-ms 15000] [--out FILE] [--cpu-prof DIR] [--logs DIR]`
//
// A fleet of stores on the real `niaga start`, run as child processes the way an operator
// runs them, against the embedded MongoDB (its own process, as a mongod would be) and the
// Telegram Bot API emulator (its own process: the customers, and every timestamp of an
// update and its reply, are taken there).
//
// 1. Start time, cold and warm. `--stores` stores in webhook mode. The cold start is the
//    first one (no identity, webhook or menus remembered); the warm start the next one, as
//    after a deploy. From the process being spawned: when its HTTP server answers, when it
//    logs "niaga started" (with each channel's start duration when the start line carries
//    one), and when every store has answered its customer's /start — sent, one per store, the
//    moment the HTTP server answers (Telegram queues it and delivers it to the webhook,
//    retrying anything but a 2xx, as Telegram does).
// 2. Update → reply during a start: those first messages (their wait includes the start of
//    their store), and `--chatty` stores whose customers keep writing all through the start,
//    one message at a time. Webhook answers other than 2xx (a store not ready: Telegram
//    retries later) and updates never answered are counted.
// 3. Memory per idle store: the warm instance's RSS and heap (its /metrics), against the same
//    `niaga start` with no store, ÷ stores: each started afresh with no customer writing and
//    read after idling 10 s. No forced GC in the child: heap is as it stands.
// 4. Reconcile cost: the Telegram registry (`StoreBots`) of `--stores` running stores in a
//    process of its own; one store is suspended with `niaga tenant suspend`, from another
//    process; then one sweep is timed, with the stores it read.
// 5. Failover: the stores switched to polling mode, two `niaga start` on the same MongoDB
//    (leases in MongoDB), each polling what it holds; once the split is stable, the one
//    polling more is killed (SIGKILL) and a customer of each of its stores writes at once;
//    the figure is the time from the kill to the last of those replies, against the lease
//    period (`--lease-ms`, POLL_LEASE_MS).
//
// Prints a table and writes bench/results/fleet.json.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { User } from "grammy/types";
import { startChildSide } from "./support/child-side.ts";
import { startEmbeddedDatabase } from "./support/embedded-database.ts";
import { summarize, type LatencySummary } from "./support/percentiles.ts";
import { freePort } from "../tests/support/free-port.ts";
import { killIfRunning, Niaga, runNiaga, type LogLine } from "../tests/support/niaga-process.ts";

const resultsFile = fileURLToPath(new URL("./results/fleet.json", import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    role: { type: "string", default: "platform" },
    stores: { type: "string", default: "1000" },
    whatsapp: { type: "string", default: "10" },
    chatty: { type: "string", default: "20" },
    "lease-ms": { type: "string", default: "15000" },
    out: { type: "string", default: resultsFile },
    // CPU profiles of each start's `niaga start`, in DIR/cold and DIR/warm when it exits: one
    // per thread (the main thread's is the larger; the other is the TypeScript loader's).
    "cpu-prof": { type: "string" },
    // Every `niaga start`'s log (JSON lines), one file each, in this folder.
    logs: { type: "string" },
  },
  strict: true,
});

/** Milliseconds since the epoch, fine-grained, comparable between this bench's processes. */
const now = () => performance.timeOrigin + performance.now();
const began = now();
const loadAtStart = Math.round(loadavg()[0] * 10) / 10;
const progress = (what: string) => console.error(`[${((now() - began) / 1000).toFixed(1)} s] ${what}`);
const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long an instance idles before its memory is read. */
const IDLE_MS = 10_000;

const slugOf = (i: number) => `armada-${String(i).padStart(4, "0")}`;
const nameOf = (i: number) => `Toko Armada ${String(i).padStart(4, "0")}`;

interface Greeted {
  store: number;
  sentAt: number;
  /** Undefined when no reply came in time. */
  repliedAt?: number;
}

type ToTelegram =
  | { type: "setup"; stores: number; chatty: number }
  | { type: "greet"; stores: number[]; chatty: number[]; timeoutMs: number }
  | { type: "pollers" }
  | { type: "stop" };

type FromTelegram =
  | { type: "ready"; apiRoot: string; tokens: string[] }
  | { type: "greeted"; first: Greeted[]; chattyMs: number[]; chattyUnanswered: number; webhookAnswers: Record<string, number> }
  | { type: "pollers"; last: Array<{ client: string; at: number } | null> };

// ---------------------------------------------------------------- the Telegram side (child process)

async function telegramSide(): Promise<void> {
  const { startTelegramEmulator } = await import("../tests/support/telegram-emulator.ts");
  // The platform's webhook answers as the emulator's deliveries get them: a store not ready
  // answers 503 (Telegram retries), a process not listening yet refuses the connection.
  const webhookAnswers: Record<string, number> = {};
  const fetchAsTelegram = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const webhook = init?.method === "POST" && String(input instanceof Request ? input.url : input).includes("/telegram/");
    try {
      const response = await fetchAsTelegram(input, init);
      if (webhook) webhookAnswers[String(response.status)] = (webhookAnswers[String(response.status)] ?? 0) + 1;
      return response;
    } catch (error) {
      if (webhook) webhookAnswers.failed = (webhookAnswers.failed ?? 0) + 1;
      throw error;
    }
  };
  const tg = await startTelegramEmulator();
  const send = (message: FromTelegram) => process.send!(message);
  let tokens: string[] = [];
  // One customer per store for the first message, another for the chatty ones.
  let customers: User[] = [];
  let talkers: User[] = [];

  const greet = async (token: string, user: User, name: string, timeoutMs: number): Promise<{ sentAt: number; repliedAt?: number }> => {
    const sentAt = now();
    const asked = await tg.sendCommand(token, user, "/start");
    const reply = await tg.waitForSent(token, user, (m) => m.message_id > asked.message_id && (m.text ?? "").includes(name), timeoutMs).catch(() => undefined);
    return reply ? { sentAt, repliedAt: now() } : { sentAt };
  };

  process.on("disconnect", () => process.exit(0));
  process.on("message", async (message: ToTelegram) => {
    if (message.type === "setup") {
      tokens = Array.from({ length: message.stores }, () => tg.bot().token);
      customers = tokens.map((token) => {
        const user = tg.user({ first_name: "Pembeli", language_code: "id" });
        tg.openChat(token, user);
        return user;
      });
      talkers = tokens.map((token) => {
        const user = tg.user({ first_name: "Pelanggan", language_code: "id" });
        tg.openChat(token, user);
        return user;
      });
      send({ type: "ready", apiRoot: tg.apiRoot, tokens });
    } else if (message.type === "greet") {
      for (const status of Object.keys(webhookAnswers)) delete webhookAnswers[status];
      let done = false;
      const chattyMs: number[] = [];
      let chattyUnanswered = 0;
      const chatty = Promise.all(message.chatty.map(async (store) => {
        while (!done) {
          const { sentAt, repliedAt } = await greet(tokens[store], talkers[store], nameOf(store), message.timeoutMs);
          if (repliedAt === undefined) chattyUnanswered++;
          else chattyMs.push(repliedAt - sentAt);
        }
      }));
      const first = await Promise.all(message.stores.map(async (store) => ({ store, ...(await greet(tokens[store], customers[store], nameOf(store), message.timeoutMs)) })));
      done = true;
      await chatty;
      send({ type: "greeted", first, chattyMs, chattyUnanswered, webhookAnswers: { ...webhookAnswers } });
    } else if (message.type === "pollers") {
      send({
        type: "pollers",
        last: tokens.map((token) => {
          const call = tg.calls(token, "getUpdates").at(-1);
          return call?.client ? { client: call.client, at: performance.timeOrigin + call.receivedAt } : null;
        }),
      });
    } else if (message.type === "stop") {
      await tg.stop();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------- the WhatsApp side (child process)

type ToWhatsApp =
  | { type: "link"; uri: string; key: string; stores: Array<{ tenantId: string; phone: string }> }
  | { type: "greet"; stores: Array<{ store: number; phone: string }>; timeoutMs: number }
  | { type: "stop" };

type FromWhatsApp =
  | { type: "ready"; url: string; caCertPath: string }
  | { type: "linked" }
  | { type: "greeted"; first: Greeted[] };

const customerPhoneOf = (i: number) => `62857${String(i).padStart(7, "0")}`;
const storePhoneOf = (i: number) => `62812${String(i).padStart(7, "0")}`;

async function whatsAppSide(): Promise<void> {
  const [{ LocalWhatsAppWeb }, { linkStoreNumber }, { configureLogging }, { connectMongo }, { configureEncryption }] = await Promise.all([
    import("../tests/support/whatsapp-web/index.ts"),
    import("../tests/support/whatsapp-stores.ts"),
    import("../bots/logger.ts"),
    import("../storage/connection.ts"),
    import("../storage/crypto.ts"),
  ]);
  configureLogging({ level: "warn" });
  // The Signal library prints every session it closes to stdout; the table goes there.
  console.log = console.info = () => undefined;
  const wa = await LocalWhatsAppWeb.start();
  const send = (message: FromWhatsApp) => process.send!(message);
  process.on("disconnect", () => process.exit(0));
  process.on("message", async (message: ToWhatsApp) => {
    if (message.type === "link") {
      configureEncryption(Buffer.from(message.key, "base64"));
      await connectMongo(message.uri, { attempts: 3 });
      for (const { tenantId, phone } of message.stores) await linkStoreNumber(wa, tenantId, phone);
      send({ type: "linked" });
    } else if (message.type === "greet") {
      // A customer writes to each number; WhatsApp holds it for a number not connected yet.
      const first = await Promise.all(message.stores.map(async ({ store, phone }) => {
        const customer = wa.customer({ phone: customerPhoneOf(store), pushName: "Pembeli" });
        const before = customer.received().length;
        const sentAt = now();
        await customer.sendText(phone, "halo");
        const deadline = sentAt + message.timeoutMs;
        while (customer.received().length === before && now() < deadline) await pause(20);
        const reply = customer.received()[before];
        return reply ? { store, sentAt, repliedAt: reply.at.getTime() } : { store, sentAt };
      }));
      send({ type: "greeted", first });
    } else if (message.type === "stop") {
      await wa.close();
      process.exit(0);
    }
  });
  send({ type: "ready", url: wa.url, caCertPath: wa.caCertPath });
}

// ---------------------------------------------------------------- the reconcile sweep (child process)

type ToSweep = { type: "sweep"; uri: string; key: string; apiRoot: string; publicUrl: string; suspend: string };
type FromSweep = {
  type: "swept";
  startAllMs: number;
  started: number;
  fullSweepMs: number;
  fullChecked: number;
  sweepMs: number;
  checked: number;
  stopped: string[];
  idleSweepMs: number;
  idleChecked: number;
  feed: string;
};

async function sweepSide(): Promise<void> {
  const [{ configureLogging, logger }, { defineFlow }, { createEngine }, { memberAudience }, { MongoSessionStore }, { initI18n }, { connectMongo, disconnectMongo }, { configureEncryption }, { StoreBots }, { openStoreChangeFeed }] = await Promise.all([
    import("../bots/logger.ts"),
    import("../flows/engine/flow-schema.ts"),
    import("../flows/engine/engine.ts"),
    import("../flows/engine/audience.ts"),
    import("../flows/engine/mongo-session-store.ts"),
    import("../locales/i18n.ts"),
    import("../storage/connection.ts"),
    import("../storage/crypto.ts"),
    import("../adapters/telegram/store-bots.ts"),
    import("../storage/store-changes.ts"),
  ]);
  process.on("disconnect", () => process.exit(0));
  process.on("message", async (message: ToSweep) => {
    configureLogging({ level: "warn" });
    await initI18n();
    const key = Buffer.from(message.key, "base64");
    configureEncryption(key);
    await connectMongo(message.uri, { attempts: 3 });
    const hello = defineFlow({ id: "hello", triggers: { commands: ["start"] }, steps: { hello: { kind: "end", text: { id: "Halo.", en: "Hello." } } } });
    const engine = createEngine({ flows: [hello], sessions: new MongoSessionStore(), audienceOf: memberAudience() });
    // The platform's webhook address, as Telegram already has it (no request reaches this process).
    const bots = new StoreBots({ engine, encryptionKey: key, apiRoot: message.apiRoot, publicUrl: message.publicUrl, log: logger });
    const at = now();
    const report = await bots.startAll();
    const startAllMs = now() - at;
    // Each sweep as `niaga start` runs it: the feed asked which stores changed, then the registry
    // reconciles those. The feed's first answer is "all of them": the first sweep reads every store.
    const feed = await openStoreChangeFeed();
    const sweep = async () => {
      const began = now();
      const swept = await bots.reconcileChanged(await feed.changes());
      return { ms: now() - began, swept };
    };
    const full = await sweep();
    // Then a sweep with nothing changed: what every interval costs.
    const idle = await sweep();
    const suspended = await runNiaga(["tenant", "suspend", message.suspend], { MONGODB_URI: message.uri, ENCRYPTION_KEY: message.key, NODE_ENV: "production" });
    if (suspended.code !== 0) throw new Error(`niaga tenant suspend failed: ${suspended.stderr.slice(-2000)}`);
    const changed = await sweep();
    await feed.close();
    await bots.close(5_000);
    await disconnectMongo();
    process.send!({
      type: "swept", startAllMs, started: report.started.length, feed: feed.kind,
      fullSweepMs: full.ms, fullChecked: full.swept.checked,
      idleSweepMs: idle.ms, idleChecked: idle.swept.checked,
      sweepMs: changed.ms, checked: changed.swept.checked, stopped: changed.swept.stopped,
    } satisfies FromSweep);
  });
}

// ---------------------------------------------------------------- the platform (this process)

interface Settings {
  stores: number;
  whatsapp: number;
  chatty: number;
  leaseMs: number;
}

/** The channels' start durations as the start line tells them (whatever field says milliseconds). */
function channelDurations(startLine: LogLine): Record<string, number> {
  const channels = (startLine.channels ?? {}) as Record<string, Record<string, unknown>>;
  const durations: Record<string, number> = {};
  for (const [name, report] of Object.entries(channels)) {
    const field = Object.entries(report ?? {}).find(([k, v]) => typeof v === "number" && /ms$|duration/i.test(k));
    if (field) durations[name] = field[1] as number;
  }
  return durations;
}

async function answers(url: string, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ok) return;
    if (now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await pause(20);
  }
}

/** `niaga_process_resident_memory_bytes` and `niaga_nodejs_heap_size_used_bytes` from /metrics. */
async function memoryOf(port: number): Promise<{ rss: number; heap: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const value = (name: string) => Number(text.split("\n").find((l) => l.startsWith(`niaga_${name} `))?.split(" ")[1] ?? Number.NaN);
  return { rss: value("process_resident_memory_bytes"), heap: value("nodejs_heap_size_used_bytes") };
}

async function stopped(platform: Niaga, label: string): Promise<void> {
  platform.child.kill("SIGTERM");
  const timer = setTimeout(() => killIfRunning(platform), 30_000);
  await platform.exited;
  clearTimeout(timer);
  keepLog(platform, label);
}

function keepLog(platform: Niaga, label: string): void {
  if (!args.logs) return;
  mkdirSync(args.logs, { recursive: true });
  writeFileSync(join(args.logs, `fleet-${label}.log`), platform.stderr);
}

async function platformSide(settings: Settings): Promise<void> {
  const [{ configureLogging }, { connectMongo, disconnectMongo, syncAllIndexes }, { configureEncryption }, { sealTenantSecret, Tenant }] = await Promise.all([
    import("../bots/logger.ts"),
    import("../storage/connection.ts"),
    import("../storage/crypto.ts"),
    import("../storage/models/index.ts"),
  ]);
  configureLogging({ level: "warn" });
  const database = await startEmbeddedDatabase();
  const telegram = startChildSide<ToTelegram, FromTelegram>(import.meta.url, "telegram");
  // Every question adds a listener for the side's exit; the failover asks many.
  telegram.child.setMaxListeners(0);
  const whatsapp = startChildSide<ToWhatsApp, FromWhatsApp>(import.meta.url, "whatsapp");
  const running: Niaga[] = [];
  try {
    const wa = await new Promise<Extract<FromWhatsApp, { type: "ready" }>>((resolve) => whatsapp.child.once("message", resolve));
    const uri = `${database.server}/niaga_bench_fleet`;
    await connectMongo(uri, { attempts: 3 });
    await syncAllIndexes();
    const key = randomBytes(32);
    configureEncryption(key);
    const { apiRoot, tokens } = await telegram.ask({ type: "setup", stores: settings.stores, chatty: settings.chatty }, "ready");
    const tenants = tokens.map((token, i) => {
      const tenant = new Tenant({ slug: slugOf(i), name: nameOf(i), locale: "id" });
      tenant.set("channels.telegram.token", sealTenantSecret(tenant, "channels.telegram.token", token));
      tenant.set("channels.telegram.mode", "webhook");
      return tenant;
    });
    await Tenant.insertMany(tenants);
    progress(`${settings.stores} stores saved`);
    const linked = tenants.slice(0, settings.whatsapp).map((tenant, i) => ({ store: i, tenantId: tenant._id.toString(), phone: storePhoneOf(i) }));
    await whatsapp.ask({ type: "link", uri, key: key.toString("base64"), stores: linked }, "linked");
    progress(`${linked.length} of them with a WhatsApp number linked`);

    const every = tokens.map((_, i) => i);
    const chatty = Array.from({ length: settings.chatty }, (_, i) => Math.floor((i * settings.stores) / settings.chatty));
    const port = await freePort();
    const env = (client: string, httpPort: number, database = uri): Record<string, string> => ({
      MONGODB_URI: database,
      ENCRYPTION_KEY: key.toString("base64"),
      TELEGRAM_API_ROOT: `${apiRoot}/client/${client}`,
      HTTP_PORT: String(httpPort),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      POLL_LEASE_MS: String(settings.leaseMs),
      LOG_LEVEL: "info",
      NODE_ENV: "production",
      DEFAULT_LOCALE: "id",
      WHATSAPP_WEB_URL: wa.url,
      NODE_EXTRA_CA_CERTS: wa.caCertPath,
      // A quick pace: the figure is the start, not the human-like pause before a reply.
      WHATSAPP_GAP_MS: "50-150",
      WHATSAPP_TYPING_MS: "0-50",
      WHATSAPP_TYPING_MS_PER_CHAR: "0",
    });

    // ---- 1–3. Starts in webhook mode, with customers writing from the first moment.
    const startOnce = async (label: string) => {
      const spawnedAt = now();
      const platform = new Niaga(["start"], env(label, port), args["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${join(args["cpu-prof"], label)}`] : []);
      running.push(platform);
      await answers(`http://127.0.0.1:${port}/healthz`, 120_000);
      const listeningAt = now();
      const greeted = telegram.ask({ type: "greet", stores: every, chatty, timeoutMs: 600_000 }, "greeted");
      const waGreeted = whatsapp.ask({ type: "greet", stores: linked, timeoutMs: 600_000 }, "greeted");
      const startLine = await platform.waitForLog((l) => /^niaga started/.test(l.message ?? ""), "its start line", 600_000);
      const startedAt = now();
      const { first, chattyMs, chattyUnanswered, webhookAnswers } = await greeted;
      const replied = first.filter((g) => g.repliedAt !== undefined);
      const lastReplyAt = Math.max(...replied.map((g) => g.repliedAt!));
      const waFirst = (await waGreeted).first;
      const waReplied = waFirst.filter((g) => g.repliedAt !== undefined);
      const waLastReplyAt = Math.max(spawnedAt, ...waReplied.map((g) => g.repliedAt!));
      const figures = {
        listeningMs: round(listeningAt - spawnedAt),
        startLineMs: round(startedAt - spawnedAt),
        everyStoreAnsweredMs: round(Math.max(lastReplyAt, waLastReplyAt) - spawnedAt),
        // The HTTP server listens just before the channels start: this is the stores' own start.
        answeredAfterListeningMs: round(Math.max(lastReplyAt, waLastReplyAt) - listeningAt),
        telegramAnsweredMs: round(lastReplyAt - spawnedAt),
        channelStartMs: channelDurations(startLine),
        storeBotsStarted: (startLine.storeBots as { started?: number } | undefined)?.started,
        firstMessage: summarize(replied.map((g) => g.repliedAt! - g.sentAt)),
        unanswered: first.length - replied.length,
        chatty: { stores: chatty.length, ...summarize(chattyMs), unanswered: chattyUnanswered },
        webhookAnswers,
        whatsapp: {
          numbers: linked.length,
          everyNumberAnsweredMs: round(waLastReplyAt - spawnedAt),
          firstMessage: summarize(waReplied.map((g) => g.repliedAt! - g.sentAt)),
          unanswered: waFirst.length - waReplied.length,
        },
      };
      progress(`${label} start: every store answered ${figures.everyStoreAnsweredMs} ms after spawn (start line at ${figures.startLineMs} ms)`);
      return { platform, figures, spawnedAt };
    };
    /** When every store's bot state, the members' menus last, is remembered; undefined if not within `timeoutMs`. */
    const settled = async (stores: number, timeoutMs: number): Promise<number | undefined> => {
      const deadline = now() + timeoutMs;
      while (now() < deadline) {
        if ((await Tenant.countDocuments({ "channels.telegram.known.memberMenus": { $type: "string" } }).exec()) >= stores) return now();
        await pause(250);
      }
      return undefined;
    };
    // Written after every part, so a run cut short still leaves what it measured.
    const partial: Record<string, unknown> = { stores: settings.stores, whatsappNumbers: settings.whatsapp, incomplete: true };
    const save = (part: string, figures: unknown) => {
      partial[part] = figures;
      mkdirSync(dirname(args.out), { recursive: true });
      writeFileSync(args.out, `${JSON.stringify({ ...partial, node: process.version, cpus: cpus().length, recordedAt: new Date().toISOString() }, null, 2)}\n`);
    };
    const cold = await startOnce("cold");
    // The cold start's background work (the members' menus, 8 stores at a time) goes on after
    // every store answered; the warm start is a restart of a settled instance, as after a deploy.
    const settledAt = await settled(settings.stores, 300_000);
    const coldFigures = { ...cold.figures, settledMs: settledAt === undefined ? null : round(settledAt - cold.spawnedAt) };
    progress(`cold start: background work settled ${coldFigures.settledMs ?? "never"} ms after spawn`);
    save("coldStart", coldFigures);
    await stopped(cold.platform, "cold");
    const warm = await startOnce("warm");
    save("warmStart", warm.figures);
    await stopped(warm.platform, "warm");

    // Idle: started again with no customer writing, measured once it has idled for a while.
    const idleFor = async (label: string, database: string) => {
      const platform = new Niaga(["start"], env(label, port, database));
      running.push(platform);
      await platform.waitForLog((l) => /^niaga started/.test(l.message ?? ""), "its start line", 600_000);
      await pause(IDLE_MS);
      const memory = await memoryOf(port);
      await stopped(platform, label);
      return memory;
    };
    const loaded = await idleFor("idle", uri);
    const bare = await idleFor("empty", `${database.server}/niaga_bench_fleet_empty`);
    const memory = {
      storeRssBytes: round((loaded.rss - bare.rss) / settings.stores),
      storeHeapBytes: round((loaded.heap - bare.heap) / settings.stores),
      withStores: loaded,
      withoutStores: bare,
    };
    progress(`memory: ${(memory.storeRssBytes / 1024).toFixed(1)} KiB RSS per store`);
    save("memoryPerIdleStore", memory);

    // ---- 4. One sweep after one store changed elsewhere.
    const sweeper = startChildSide<ToSweep, FromSweep>(import.meta.url, "sweep");
    const swept = await sweeper.ask({ type: "sweep", uri, key: key.toString("base64"), apiRoot: `${apiRoot}/client/sweep`, publicUrl: `http://127.0.0.1:${port}`, suspend: slugOf(settings.stores - 1) }, "swept");
    sweeper.child.kill();
    const reconcile = {
      feed: swept.feed,
      storesRunning: swept.started,
      firstSweepMs: round(swept.fullSweepMs, 1),
      firstSweepStoresRead: swept.fullChecked,
      sweepMs: round(swept.sweepMs, 1),
      storesRead: swept.checked,
      stopped: swept.stopped,
      unchangedSweepMs: round(swept.idleSweepMs, 1),
      unchangedStoresRead: swept.idleChecked,
    };
    progress(`reconcile: one changed store, sweep ${reconcile.sweepMs} ms, ${reconcile.storesRead} stores read`);
    save("reconcile", reconcile);
    await Tenant.updateOne({ slug: slugOf(settings.stores - 1) }, { $set: { status: "active" } }).exec();

    // ---- 5. Failover between two instances in polling mode (Telegram only: the WhatsApp numbers are set aside).
    await Tenant.updateMany({}, { $set: { "channels.telegram.mode": "polling", "channels.whatsapp.status": "unlinked" } }).exec();
    const a = new Niaga(["start"], env("a", 0));
    const b = new Niaga(["start"], env("b", 0));
    running.push(a, b);
    await Promise.all([a, b].map((p) => p.waitForLog((l) => /^niaga started/.test(l.message ?? ""), "its start line", 600_000)));
    // The split is stable when every store is polled and who polls what has not changed for two
    // lease ticks (a third of the lease each: the instances hand stores over at their ticks).
    const stableMs = Math.max(3000, (2 * settings.leaseMs) / 3);
    let split = "";
    let stableSince = now();
    let pollers: Array<{ client: string; at: number } | null> = [];
    const splitDeadline = now() + 120_000;
    for (;;) {
      pollers = (await telegram.ask({ type: "pollers" }, "pollers")).last;
      const current = pollers.map((p) => p?.client ?? "-").join();
      if (current !== split) {
        split = current;
        stableSince = now();
      } else if (!current.includes("-") && now() - stableSince > stableMs) break;
      if (now() > splitDeadline) break;
      await pause(500);
    }
    const held = { a: pollers.filter((p) => p?.client === "a").length, b: pollers.filter((p) => p?.client === "b").length };
    const victim = held.a >= held.b ? "a" : "b";
    const affected = every.filter((i) => pollers[i]?.client === victim);
    progress(`failover: a polls ${held.a}, b polls ${held.b}; killing ${victim}`);
    const killedAt = now();
    (victim === "a" ? a : b).child.kill("SIGKILL");
    const takeover = await telegram.ask({ type: "greet", stores: affected, chatty: [], timeoutMs: settings.leaseMs + 120_000 }, "greeted");
    const answered = takeover.first.filter((g) => g.repliedAt !== undefined);
    const failover = {
      leaseMs: settings.leaseMs,
      pollingBeforeKill: held,
      killed: victim,
      storesMoved: affected.length,
      everyStoreAnsweredMs: round(Math.max(...answered.map((g) => g.repliedAt!)) - killedAt),
      replyAfterKill: summarize(answered.map((g) => g.repliedAt! - killedAt)),
      unanswered: affected.length - answered.length,
      withinLeasePlus5s: answered.length === affected.length && Math.max(...answered.map((g) => g.repliedAt!)) - killedAt <= settings.leaseMs + 5000,
    };
    progress(`failover: ${failover.storesMoved} stores answered within ${failover.everyStoreAnsweredMs} ms of the kill`);
    await stopped(victim === "a" ? b : a, victim === "a" ? "b" : "a");
    keepLog(victim === "a" ? a : b, victim);

    const results = {
      stores: settings.stores,
      coldStart: coldFigures,
      warmStart: warm.figures,
      memoryPerIdleStore: memory,
      reconcile,
      failover,
      telegramMode: "webhook (starts), polling (failover)",
      whatsappNumbers: settings.whatsapp,
      whatsappPace: "gap 50-150 ms, typing 0-50 ms (shortened)",
      storage: "embedded MongoDB (separate process), leases in MongoDB (no REDIS_URL)",
      node: process.version,
      cpus: cpus().length,
      /** The 1-minute load average at the start and the end: other work on the same two cores slows every figure. */
      loadAverage: { atStart: loadAtStart, atEnd: round(loadavg()[0], 1) },
      recordedAt: new Date().toISOString(),
    };
    report(results);
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote ${args.out}`);
    await disconnectMongo();
  } finally {
    for (const platform of running) killIfRunning(platform);
    telegram.child.send({ type: "stop" } satisfies ToTelegram);
    whatsapp.child.send({ type: "stop" } satisfies ToWhatsApp);
    database.child.kill();
  }
}

function report(r: {
  stores: number;
  coldStart: StartFigures;
  warmStart: StartFigures;
  memoryPerIdleStore: { storeRssBytes: number; storeHeapBytes: number };
  reconcile: { feed: string; sweepMs: number; storesRead: number; unchangedSweepMs: number; unchangedStoresRead: number; firstSweepMs: number; firstSweepStoresRead: number };
  failover: { leaseMs: number; storesMoved: number; everyStoreAnsweredMs: number; replyAfterKill: LatencySummary; unanswered: number; withinLeasePlus5s: boolean };
}): void {
  const start = (label: string, s: StartFigures) => [
    `${label} start of ${r.stores} stores (Telegram, webhook mode), from the spawn of \`niaga start\``,
    `  HTTP answers                  ${s.listeningMs} ms`,
    `  "niaga started" logged        ${s.startLineMs} ms${Object.keys(s.channelStartMs).length ? ` (channels: ${Object.entries(s.channelStartMs).map(([c, ms]) => `${c} ${ms} ms`).join(", ")})` : ""}`,
    `  every store answered          ${s.everyStoreAnsweredMs} ms, all channels (${s.answeredAfterListeningMs} ms after HTTP answered)`,
    `  Telegram: every store         ${s.telegramAnsweredMs} ms (${s.unanswered} never answered)`,
    `  WhatsApp: every number (${s.whatsapp.numbers})  ${s.whatsapp.everyNumberAnsweredMs} ms (${s.whatsapp.unanswered} never answered); first message → reply p50 ${s.whatsapp.firstMessage.p50} ms, p99 ${s.whatsapp.firstMessage.p99} ms`,
    `  first message → reply         p50 ${s.firstMessage.p50} ms, p99 ${s.firstMessage.p99} ms, max ${s.firstMessage.max} ms`,
    `  ${String(s.chatty.stores).padEnd(3)} chatty stores → reply    p50 ${s.chatty.p50} ms, p99 ${s.chatty.p99} ms over ${s.chatty.count} updates (${s.chatty.unanswered} unanswered)`,
    `  webhook answers               ${Object.entries(s.webhookAnswers).map(([status, n]) => `${status}: ${n}`).join(", ")}`,
    ...(s.settledMs === undefined ? [] : [`  background work settled       ${s.settledMs ?? "not within 5 minutes"}${s.settledMs === null ? "" : " ms"} (every store's menus set and remembered)`]),
  ];
  console.log([
    ...start("Cold", r.coldStart),
    ...start("Warm", r.warmStart),
    `Idle store (an instance with the stores vs. one with none, each idle ${IDLE_MS / 1000} s, ÷ ${r.stores})`,
    `  RSS                           ${(r.memoryPerIdleStore.storeRssBytes / 1024).toFixed(1)} KiB`,
    `  heap                          ${(r.memoryPerIdleStore.storeHeapBytes / 1024).toFixed(1)} KiB`,
    `Reconcile sweep, ${r.stores} stores running (feed: ${r.reconcile.feed})`,
    `  first sweep (reads all)       ${r.reconcile.firstSweepMs} ms, ${r.reconcile.firstSweepStoresRead} stores read`,
    `  1 store changed               ${r.reconcile.sweepMs} ms, ${r.reconcile.storesRead} stores read`,
    `  nothing changed               ${r.reconcile.unchangedSweepMs} ms, ${r.reconcile.unchangedStoresRead} stores read`,
    `Failover (polling mode, lease ${r.failover.leaseMs} ms): ${r.failover.storesMoved} stores of the killed instance`,
    `  every store answered          ${r.failover.everyStoreAnsweredMs} ms after the kill (${r.failover.unanswered} never; ${r.failover.withinLeasePlus5s ? "within" : "NOT within"} lease + 5 s)`,
    `  reply after the kill          p50 ${r.failover.replyAfterKill.p50} ms, p99 ${r.failover.replyAfterKill.p99} ms`,
  ].join("\n"));
}

interface StartFigures {
  listeningMs: number;
  startLineMs: number;
  everyStoreAnsweredMs: number;
  answeredAfterListeningMs: number;
  telegramAnsweredMs: number;
  whatsapp: { numbers: number; everyNumberAnsweredMs: number; firstMessage: LatencySummary; unanswered: number };
  channelStartMs: Record<string, number>;
  firstMessage: LatencySummary;
  unanswered: number;
  chatty: LatencySummary & { stores: number; unanswered: number };
  webhookAnswers: Record<string, number>;
  /** The cold start only: when the background work (members' menus) was done; null if not within 5 minutes. */
  settledMs?: number | null;
}

if (args.role === "telegram") {
  await telegramSide();
} else if (args.role === "whatsapp") {
  await whatsAppSide();
} else if (args.role === "sweep") {
  await sweepSide();
} else {
  const settings: Settings = { stores: Number(args.stores), whatsapp: Number(args.whatsapp), chatty: Number(args.chatty), leaseMs: Number(args["lease-ms"]) };
  const bad = !Number.isInteger(settings.stores) || settings.stores < 2 || !Number.isInteger(settings.chatty) || settings.chatty < 0 || settings.chatty > settings.stores
    || !Number.isInteger(settings.whatsapp) || settings.whatsapp < 0 || settings.whatsapp > settings.stores
    || !Number.isInteger(settings.leaseMs) || settings.leaseMs < 3000;
  if (bad) {
    console.error("usage: npm run bench:fleet [-- --stores N≥2] [--whatsapp W≤N] [--chatty C≤N] [--lease-ms MS≥3000] [--out FILE] [--cpu-prof DIR] [--logs DIR]");
    process.exit(2);
  }
  await platformSide(settings);
  process.exit(0);
}
