// `npm run bench:whatsapp [-- --sessions 100] [--idle-seconds 5] [--messages 60] [--customers 5] [--gap-min 200] [--gap-max 400] [--typing-per-char 10]`
//
// Stores' WhatsApp numbers in one process, the way `niaga start` runs them: the real
// `WhatsAppChannel` (Baileys sockets, sessions fenced by leases, auth state sealed in
// MongoDB — the embedded server, in its own process as a mongod would be), the engine, the
// outbox and the number pacer.
//
// WhatsApp is the local WhatsApp Web (`tests/support/whatsapp-web/`) in a second process, so
// its memory and CPU are not the platform's: it links the stores' numbers (creds handed over
// as `linkedCreds` would leave them after a QR scan), plays the customers, and timestamps
// every message a store sends as it arrives.
//
// 1. Memory per idle linked session. Every store logs in once first (a new device's first
//    login uploads its pre-keys, part of linking); then a fresh channel starts as after a
//    restart: one store first (so code loaded on first use is not counted), then `--sessions`
//    more; heap and RSS growth after GC, ÷ sessions, once all are `open` and idle for
//    `--idle-seconds`; and the time from starting them to all open.
// 2. Send rate of one number against its configured pace: `--messages` texts to `--customers`
//    customers (who wrote first), all handed to the outbox at once; the rate is counted at the
//    local WhatsApp Web by arrival time. The pacer counts a jittered gap from when the
//    previous send started, then shows typing for (characters × per-char, within its
//    bounds), then sends; while a send (Baileys' `sendMessage`: encrypt, write, save the
//    Signal keys, timed here) takes less than the gap, the mean interval is mean gap +
//    typing: the configured pace. The achieved rate should be within 5 % of it.
//
// Prints a table and writes bench/results/whatsapp.json.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BufferJSON } from "baileys";
import type { AuthenticationCreds } from "baileys";
import type { WhatsAppChannel as Channel } from "../adapters/whatsapp/whatsapp-channel.ts";
import { startEmbeddedDatabase } from "./support/embedded-database.ts";
import { collectGarbage, settledMemory } from "./support/memory-peak.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const resultsFile = fileURLToPath(new URL("./results/whatsapp.json", import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    role: { type: "string", default: "platform" },
    sessions: { type: "string", default: "100" },
    "idle-seconds": { type: "string", default: "5" },
    messages: { type: "string", default: "60" },
    customers: { type: "string", default: "5" },
    "gap-min": { type: "string", default: "200" },
    "gap-max": { type: "string", default: "400" },
    "typing-per-char": { type: "string", default: "10" },
    out: { type: "string", default: resultsFile },
    // For the first-logins process.
    database: { type: "string" },
    "whatsapp-url": { type: "string" },
  },
  strict: true,
});

interface Settings {
  sessions: number;
  idleSeconds: number;
  messages: number;
  customers: number;
  gapMin: number;
  gapMax: number;
  typingPerChar: number;
}

type ToWhatsApp =
  | { type: "link"; phones: string[] }
  | { type: "write"; storePhone: string; customers: string[]; text: string }
  | { type: "received"; customers: string[]; prefix: string }
  | { type: "stop" };

type FromWhatsApp =
  | { type: "ready"; url: string }
  | { type: "linked"; creds: string[] }
  | { type: "written" }
  | { type: "received"; arrivals: { customer: string; text: string; at: number }[]; presences: { customer: string; state: string; at: number }[] };

// ---------------------------------------------------------------- the WhatsApp side (child process)

async function whatsAppSide(): Promise<void> {
  const { LocalWhatsAppWeb } = await import("../tests/support/whatsapp-web/index.ts");
  const wa = await LocalWhatsAppWeb.start();
  const send = (message: FromWhatsApp) => process.send!(message);
  process.on("disconnect", () => process.exit(0));
  process.on("message", async (message: ToWhatsApp) => {
    if (message.type === "link") {
      send({ type: "linked", creds: message.phones.map((phone) => JSON.stringify(wa.linkedCreds(phone), BufferJSON.replacer)) });
    } else if (message.type === "write") {
      await Promise.all(message.customers.map((phone) => wa.customer({ phone, pushName: `Pembeli ${phone.slice(-3)}` }).sendText(message.storePhone, message.text)));
      send({ type: "written" });
    } else if (message.type === "received") {
      const arrivals = message.customers.flatMap((phone) => wa.received(phone)
        .filter((m) => m.text?.startsWith(message.prefix))
        .map((m) => ({ customer: phone, text: m.text!, at: m.at.getTime() })));
      const presences = message.customers.flatMap((phone) => wa.customer({ phone }).presences().map((p) => ({ customer: phone, state: p.state, at: p.at.getTime() })));
      send({ type: "received", arrivals, presences });
    } else if (message.type === "stop") {
      await wa.close();
      process.exit(0);
    }
  });
  send({ type: "ready", url: wa.url });
}

function startWhatsApp(): { child: ChildProcess; ready: Promise<string>; ask<T extends FromWhatsApp["type"]>(message: ToWhatsApp, answer: T): Promise<Extract<FromWhatsApp, { type: T }>> } {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--role", "whatsapp"], {
    cwd: root, stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // One question at a time: each answer goes to the oldest waiting question of its type.
  const waiting: { type: FromWhatsApp["type"]; resolve(reply: FromWhatsApp): void; reject(error: Error): void }[] = [];
  child.on("message", (reply: FromWhatsApp) => {
    const i = waiting.findIndex((w) => w.type === reply.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(reply);
  });
  child.once("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the WhatsApp side exited with ${code}`));
  });
  const answer = <T extends FromWhatsApp["type"]>(type: T) =>
    new Promise<Extract<FromWhatsApp, { type: T }>>((resolve, reject) => waiting.push({ type, resolve: resolve as (reply: FromWhatsApp) => void, reject }));
  return {
    child,
    ready: answer("ready").then((r) => r.url),
    ask(message, type) {
      const reply = answer(type);
      child.send(message);
      return reply;
    },
  };
}

// ---------------------------------------------------------------- the platform side (this process)

/** Polls `done` every 20 ms until it holds; throws after `ms`. */
async function until(what: string, ms: number, done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const began = performance.now();
/** A progress line on stderr, with the seconds since the start. */
const progress = (what: string) => console.error(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${what}`);

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

type Pacing = { gapMinMs: number; gapMaxMs: number; typingMsPerChar: number; typingMinMs: number; typingMaxMs: number };

/** The channel as `niaga start` builds it (sessions, session store, message log, identities, pacer), with one flow: `/start` → a welcome. */
async function newChannel(url: string, pacing: Pacing): Promise<Channel> {
  const [{ logger }, { defineFlow }, { createEngine }, { memberAudience }, { MongoSessionStore }, { createMongoLeases }, { createMongoWhatsAppSessionStore }, { createMongoWhatsAppMessageLog }, { createMongoWhatsAppIdentities }, { WhatsAppChannel }] = await Promise.all([
    import("../bots/logger.ts"),
    import("../flows/engine/flow-schema.ts"),
    import("../flows/engine/engine.ts"),
    import("../flows/engine/audience.ts"),
    import("../flows/engine/mongo-session-store.ts"),
    import("../storage/leases.ts"),
    import("../storage/whatsapp/auth-state.ts"),
    import("../storage/whatsapp/message-log.ts"),
    import("../storage/whatsapp/identities.ts"),
    import("../adapters/whatsapp/whatsapp-channel.ts"),
  ]);
  const greeting = defineFlow({
    id: "greeting",
    triggers: { commands: ["start"] },
    steps: { hello: { kind: "end", text: { id: "Selamat datang.", en: "Welcome." } } },
  });
  return new WhatsAppChannel({
    engine: createEngine({ flows: [greeting], sessions: new MongoSessionStore(), audienceOf: memberAudience() }),
    leases: createMongoLeases(),
    store: createMongoWhatsAppSessionStore(),
    messages: createMongoWhatsAppMessageLog(),
    identities: createMongoWhatsAppIdentities(),
    pacing,
    socket: { webSocketUrl: url },
    log: logger,
  });
}

const openIn = (channel: Channel, tenantIds: string[]) => tenantIds.filter((id) => channel.sessions.running(id)?.connection === "open").length;

/** Every linked store's first login, in a process of its own; resolves when all were open and closed again. */
function firstLogins(database: string, url: string, dataKey: Buffer): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--role", "first-logins", "--database", database, "--whatsapp-url", url], {
    cwd: root, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, BENCH_DATA_KEY: dataKey.toString("hex") },
  });
  return new Promise((resolve, reject) => child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`the first logins exited with ${code}`)))));
}

async function firstLoginsSide(database: string, url: string): Promise<void> {
  const [{ configureLogging }, { initI18n }, { connectMongo, disconnectMongo }, { configureEncryption }, { Tenant }] = await Promise.all([
    import("../bots/logger.ts"), import("../locales/i18n.ts"), import("../storage/connection.ts"), import("../storage/crypto.ts"), import("../storage/models/index.ts"),
  ]);
  configureLogging({ level: "error" });
  await initI18n();
  configureEncryption(Buffer.from(process.env.BENCH_DATA_KEY ?? "", "hex"));
  await connectMongo(database, { attempts: 3 });
  const tenantIds = (await Tenant.find({ "channels.whatsapp.status": "linked" }, { _id: 1 }).lean<{ _id: unknown }[]>().exec()).map((t) => String(t._id));
  const channel = await newChannel(url, { gapMinMs: 0, gapMaxMs: 0, typingMsPerChar: 0, typingMinMs: 0, typingMaxMs: 0 });
  const report = await channel.start();
  if (report.failed.length > 0) throw new Error(`stores failed to start: ${JSON.stringify(report.failed.slice(0, 3))}`);
  await until(`${tenantIds.length} first logins`, 600_000, () => openIn(channel, tenantIds) === tenantIds.length);
  await channel.stop(10_000);
  await disconnectMongo();
}

async function platformSide(settings: Settings): Promise<void> {
  const gc = collectGarbage();
  const [
    { configureLogging }, { Outbox, withTimeout }, { initI18n }, { connectMongo, disconnectMongo, syncAllIndexes }, { configureEncryption }, { Customer, Tenant }, { createMongoWhatsAppSessionStore },
  ] = await Promise.all([
    import("../bots/logger.ts"),
    import("../flows/engine/outbox.ts"),
    import("../locales/i18n.ts"),
    import("../storage/connection.ts"),
    import("../storage/crypto.ts"),
    import("../storage/models/index.ts"),
    import("../storage/whatsapp/auth-state.ts"),
  ]);
  configureLogging({ level: "warn" });
  await initI18n();
  const database = await startEmbeddedDatabase();
  const whatsapp = startWhatsApp();
  try {
    const url = await whatsapp.ready;
    await connectMongo(`${database.server}/niaga_bench_whatsapp`, { attempts: 3 });
    await syncAllIndexes();
    const dataKey = randomBytes(32);
    configureEncryption(dataKey);

    // Store 0 starts first and is the one that sends; stores 1..N are the idle sessions measured.
    const stores = settings.sessions + 1;
    const phones = Array.from({ length: stores }, (_, i) => `62812${String(i).padStart(7, "0")}`);
    const { creds } = await whatsapp.ask({ type: "link", phones }, "linked");
    progress(`${stores} numbers linked at the local WhatsApp Web`);
    const sessionStore = createMongoWhatsAppSessionStore();
    const tenantIds: string[] = [];
    for (const [i, phone] of phones.entries()) {
      const tenant = await new Tenant({ slug: `wa-bench-${String(i).padStart(4, "0")}`, name: `Toko WA ${i}` }).save();
      const tenantId = tenant._id.toString();
      const auth = await sessionStore.open({ tenantId, epoch: 0 });
      // As the channel saves them once a link succeeds: the linked device's creds, registered,
      // with the account's name (a socket shows no typing without one).
      const linked = JSON.parse(creds[i], BufferJSON.reviver) as AuthenticationCreds;
      Object.assign(auth.state.creds, linked, { registered: true, me: { ...linked.me!, name: `Toko WA ${i}` } });
      await auth.saveCreds();
      await auth.settled();
      // Linked long enough ago that the pacer's warm-up (slower new numbers) does not apply.
      await Tenant.updateOne({ _id: tenant._id }, { $set: { "channels.whatsapp.phone": phone, "channels.whatsapp.linkedAt": new Date(Date.now() - 30 * 86_400_000) } }).exec();
      tenantIds.push(tenantId);
    }

    progress(`${stores} stores saved with their sessions`);
    const pacing = {
      gapMinMs: settings.gapMin,
      gapMaxMs: settings.gapMax,
      typingMsPerChar: settings.typingPerChar,
      typingMinMs: 100,
      typingMaxMs: 4000,
    };

    // A newly linked device's first login uploads its pre-keys (812 with Baileys 7) before it
    // is open; every later start finds them on the server. The measured start is a later one,
    // as when `niaga start` restarts with its stores linked long ago.
    // They run in a process of their own, so what they leave in memory is not in this one's RSS.
    await Tenant.updateMany({ _id: { $in: tenantIds } }, { $set: { "channels.whatsapp.status": "linked" } }).exec();
    await firstLogins(`${database.server}/niaga_bench_whatsapp`, url, dataKey);
    progress(`${stores} first logins done (pre-keys uploaded)`);
    await Tenant.updateMany({ _id: { $in: tenantIds.slice(1) } }, { $set: { "channels.whatsapp.status": "unlinked" } }).exec();

    const channel = await newChannel(url, pacing);
    const outbox = new Outbox({ get: (name) => (name === channel.name ? channel : undefined) }).use(withTimeout(120_000));
    const openCount = () => openIn(channel, tenantIds);

    await Tenant.updateOne({ _id: tenantIds[0] }, { $set: { "channels.whatsapp.status": "linked" } }).exec();
    await channel.start();
    await until("the first store's socket open", 60_000, () => openCount() === 1);
    const before = await settledMemory(gc);
    progress("the first store's socket open");

    await Tenant.updateMany({ _id: { $in: tenantIds.slice(1) } }, { $set: { "channels.whatsapp.status": "linked" } }).exec();
    const startedAt = performance.now();
    const report = await channel.followStoreChanges();
    if (report.failed.length > 0) throw new Error(`stores failed to start: ${JSON.stringify(report.failed.slice(0, 3))}`);
    await until(`${stores} sockets open`, 120_000, () => openCount() === stores);
    const openAllMs = performance.now() - startedAt;
    progress(`${stores} sockets open`);
    await new Promise((resolve) => setTimeout(resolve, settings.idleSeconds * 1000));
    const idle = await settledMemory(gc);
    if (openCount() !== stores) throw new Error(`only ${openCount()} of ${stores} sockets still open after idling`);

    progress("idle sessions measured");
    // Customers write first (the channel only answers numbers that wrote), then hear the welcome.
    const customerPhones = Array.from({ length: settings.customers }, (_, i) => `62857${String(i).padStart(7, "0")}`);
    await whatsapp.ask({ type: "write", storePhone: phones[0], customers: customerPhones, text: "/start" }, "written");
    await until("every customer welcomed", 60_000, async () => (await whatsapp.ask({ type: "received", customers: customerPhones, prefix: "" }, "received")).arrivals.length >= settings.customers);
    const customerIds = (await Customer.find({ tenantId: tenantIds[0], channel: channel.name }, { channelUserId: 1 }).lean<{ channelUserId: string }[]>().exec()).map((c) => c.channelUserId);
    if (customerIds.length !== settings.customers) throw new Error(`${customerIds.length} customers recorded, not ${settings.customers}`);
    // The welcome's send ended a moment ago; the measured run starts from an idle number.
    await new Promise((resolve) => setTimeout(resolve, settings.gapMax + 100));

    // Same length for every text, so every send has the same typing time.
    // How long each `sendMessage` of the sending store takes (encrypt, send, signal keys saved):
    // the pacer counts its gap from the end of the previous send, so this is part of the pace.
    const sendMs: number[] = [];
    const socket = channel.sessions.running(tenantIds[0])!.socket!;
    const sendMessage = socket.sendMessage;
    socket.sendMessage = async (...params) => {
      const started = performance.now();
      try {
        return await sendMessage(...params);
      } finally {
        sendMs.push(performance.now() - started);
      }
    };
    const texts = Array.from({ length: settings.messages }, (_, i) => `bench ${String(i).padStart(4, "0")} pesan ke pembeli`);
    progress("customers welcomed; sending");
    const sendStarted = performance.now();
    const reports = await Promise.all(texts.map((text, i) => outbox.send(
      { tenantId: tenantIds[0], channel: channel.name, chatId: customerIds[i % customerIds.length] },
      [{ text: { inline: { id: text, en: text } } }],
    )));
    const sendAllMs = performance.now() - sendStarted;
    const failedSends = reports.filter((r) => !r.ok).length;
    let arrivals: { at: number }[] = [];
    let typings = 0;
    await until("every message arrived", 30_000, async () => {
      const seen = await whatsapp.ask({ type: "received", customers: customerPhones, prefix: "bench " }, "received");
      arrivals = seen.arrivals.sort((a, b) => a.at - b.at);
      typings = seen.presences.filter((p) => p.state === "composing").length;
      return arrivals.length >= settings.messages - failedSends;
    });

    const typingMs = Math.min(pacing.typingMaxMs, Math.max(pacing.typingMinMs, texts[0].length * pacing.typingMsPerChar));
    const meanGapMs = (pacing.gapMinMs + pacing.gapMaxMs) / 2;
    const meanSendMs = sendMs.reduce((a, b) => a + b, 0) / sendMs.length;
    // The settings' pace: the pacer's gap runs from when the previous send started.
    const configuredPerSecond = 1000 / (meanGapMs + typingMs);
    const spanMs = arrivals.at(-1)!.at - arrivals[0].at;
    const achievedPerSecond = (arrivals.length - 1) / (spanMs / 1000);
    const ratio = achievedPerSecond / configuredPerSecond;
    const idleSessions = settings.sessions;
    const figures = {
      sessions: idleSessions,
      idleSessionHeapBytes: Math.round((idle.heap - before.heap) / idleSessions),
      idleSessionRssBytes: Math.round((idle.rss - before.rss) / idleSessions),
      openAllMs: round(openAllMs, 0),
      idleSeconds: settings.idleSeconds,
      messages: arrivals.length,
      failedSends,
      customers: settings.customers,
      pacing: { ...pacing, textLength: texts[0].length, typingMs, meanGapMs, rule: "each send waits a gap counted from the previous send's start, then shows typing, then sends" },
      meanSendMs: round(meanSendMs, 1),
      sendsTimed: sendMs.length,
      configuredPerSecond: round(configuredPerSecond, 3),
      achievedPerSecond: round(achievedPerSecond, 3),
      achievedVsConfigured: round(ratio, 3),
      withinFivePercent: Math.abs(ratio - 1) <= 0.05,
      typingIndicatorsSeen: typings,
      sendAllMs: round(sendAllMs, 0),
      storage: "embedded MongoDB (separate process)",
      whatsapp: "local WhatsApp Web (tests/support/whatsapp-web, separate process)",
      baileys: "7.0.0-rc14",
      node: process.version,
      cpus: cpus().length,
      memoryBytes: totalmem(),
      /** The machine's 1-minute load average at the end: other work on the same cores slows every figure here. */
      loadAverage: round(loadavg()[0], 1),
      recordedAt: new Date().toISOString(),
    };

    const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
    const lines = [
      `WhatsApp numbers in one process: ${figures.sessions} idle linked sessions (+1 started first), real Baileys sockets against the local WhatsApp Web`,
      `  idle session, heap              ${kib(figures.idleSessionHeapBytes)}`,
      `  idle session, RSS               ${kib(figures.idleSessionRssBytes)}`,
      `  open ${String(figures.sessions).padEnd(4)} sessions            ${figures.openAllMs} ms`,
      `One number sending ${settings.messages} texts to ${figures.customers} customers through the outbox`,
      `  pace                            gap ${pacing.gapMinMs}–${pacing.gapMaxMs} ms + typing ${typingMs} ms (${figures.pacing.textLength} chars × ${pacing.typingMsPerChar} ms)`,
      `  configured (gap + typing)       ${figures.configuredPerSecond} msg/s`,
      `  sendMessage itself (mean)       ${figures.meanSendMs} ms over ${figures.sendsTimed} sends (encrypt, write, signal keys saved)`,
      `  achieved (at WhatsApp)          ${figures.achievedPerSecond} msg/s over ${figures.messages} messages (${failedSends} failed, ${typings} typing shown)`,
      `  achieved ÷ configured           ${figures.achievedVsConfigured} (${figures.withinFivePercent ? "within" : "NOT within"} 5 %)`,
    ];
    console.log(lines.join("\n"));
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`\nwrote ${args.out}`);

    await channel.stop(10_000);
    await disconnectMongo();
  } finally {
    whatsapp.child.send({ type: "stop" } satisfies ToWhatsApp);
    database.child.kill();
  }
}

if (args.role === "whatsapp") {
  await whatsAppSide();
} else if (args.role === "first-logins") {
  await firstLoginsSide(args.database!, args["whatsapp-url"]!);
  process.exit(0);
} else {
  const settings: Settings = {
    sessions: Number(args.sessions),
    idleSeconds: Number(args["idle-seconds"]),
    messages: Number(args.messages),
    customers: Number(args.customers),
    gapMin: Number(args["gap-min"]),
    gapMax: Number(args["gap-max"]),
    typingPerChar: Number(args["typing-per-char"]),
  };
  const bad = Object.entries(settings).find(([name, value]) => !Number.isInteger(value) || value < (["idleSeconds", "gapMin", "typingPerChar"].includes(name) ? 0 : name === "messages" ? 2 : 1));
  if (bad || settings.gapMin > settings.gapMax) {
    console.error("usage: npm run bench:whatsapp [-- --sessions N] [--idle-seconds S] [--messages M≥2] [--customers C] [--gap-min MS] [--gap-max MS≥gap-min] [--typing-per-char MS]");
    process.exit(2);
  }
  await platformSide(settings);
}
