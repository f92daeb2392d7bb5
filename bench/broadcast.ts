// `npm run bench:broadcast [-- --recipients 10000] [--rate R] [--baseline 15] [--out FILE]`
//
// One store's broadcast to `--recipients` Telegram customers, sent by the real `niaga start`
// (its broadcast runner, the Telegram channel and its pacer), killed with `kill -9` half-way
// and started again as a supervisor would, while another customer of the same store keeps
// talking to it.
//
// - The platform: `niaga start` as a child process, the store's bot in webhook mode, the
//   runner at `--rate` messages/s (`BROADCAST_RATE_TELEGRAM`; default the platform's share,
//   `DEFAULT_BROADCAST_PACE.telegram` = 24/s of Telegram's ~30/s per bot — the "configured
//   per-bot rate" the broadcast is held to). MongoDB is the embedded server in its own process.
// - Telegram: the Bot API emulator in a third process (bench/support/broadcast-telegram.ts)
//   with Telegram's documented flood limits enforced: 30 messages/s per bot, 1/s per chat;
//   a message over them is refused with 429 and counted.
// - The broadcast is created and started through the broadcast service from this process,
//   as a seller's `/siaran` would, after `--baseline` seconds of conversation alone.
// - The conversation: `/katalog` a second after each answer, the time until the store's answer
//   reaches the emulator, before the broadcast (baseline) and while it runs; the seconds
//   around the restart (the platform is down) are counted apart.
//
// Figures (printed, and written to bench/results/broadcast.json): the delivered rate over the
// sending time without the restart gap and overall, as % of the configured rate; 429s at the
// emulator (must be 0); duplicates and losses over the audience (0 and 0); recipients in
// doubt after the kill; how long the restarted process took to send again; the
// conversation's p50/p99 before and during the broadcast.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_BROADCAST_PACE } from "../flows/broadcast/contract.ts";
import { connectMongo, disconnectMongo } from "../storage/connection.ts";
import { configureEncryption } from "../storage/crypto.ts";
import { Customer } from "../storage/models/customer.ts";
import { broadcastPlatformEnv, openBroadcasts } from "../tests/support/broadcast-runs.ts";
import { seedTelegramCustomers } from "../tests/support/broadcast-chats.ts";
import { freePort } from "../tests/support/free-port.ts";
import { seedStore } from "../tests/support/stores.ts";
import { killIfRunning, startNiagaProcess, type Niaga } from "../tests/support/niaga-process.ts";
import { startChildSide } from "./support/child-side.ts";
import { startEmbeddedDatabase } from "./support/embedded-database.ts";
import { summarize } from "./support/percentiles.ts";
import type { FromSide, SideReport, ToSide } from "./support/broadcast-telegram.ts";

const resultsFile = fileURLToPath(new URL("./results/broadcast.json", import.meta.url));
const USAGE = "usage: npm run bench:broadcast [-- --recipients N≥10] [--rate R>0 (messages/s)] [--baseline S≥3 (seconds)] [--out FILE]";
/** Telegram's documented limits, which the emulator enforces. */
const TELEGRAM_LIMITS = { perBotPerSecond: 30, perChatPerSecond: 1 };
const STORE_NAME = "Toko Siaran Bench";

interface Settings {
  recipients: number;
  rate: number;
  baselineSec: number;
  out: string;
}

function readSettings(): Settings {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        recipients: { type: "string", default: "10000" },
        rate: { type: "string", default: String(DEFAULT_BROADCAST_PACE.telegram) },
        baseline: { type: "string", default: "15" },
        out: { type: "string", default: resultsFile },
      },
      strict: true,
      allowPositionals: false,
    });
    const settings = { recipients: Number(values.recipients), rate: Number(values.rate), baselineSec: Number(values.baseline), out: values.out };
    if (!Number.isInteger(settings.recipients) || settings.recipients < 10 || !(settings.rate > 0) || !(settings.baselineSec >= 3)) throw new Error("out of range");
    return settings;
  } catch {
    console.error(USAGE);
    process.exit(2);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Polls `check` every `everyMs` until it holds; fails after `timeoutMs`. */
async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(everyMs);
  }
}

/** Messages/s within one stretch of arrivals: (n − 1) intervals over its length. */
function stretch(arrivals: readonly number[]): { count: number; ms: number } {
  return { count: arrivals.length, ms: arrivals.length > 1 ? arrivals.at(-1)! - arrivals[0]! : 0 };
}

/** The gaps between consecutive arrivals longer than `overMs`. */
function pauses(arrivals: readonly number[], overMs: number): number[] {
  return arrivals.slice(1).map((t, i) => t - arrivals[i]!).filter((gap) => gap > overMs);
}

/** How many arrived in each second from the first. */
function perSecond(arrivals: readonly number[]): number[] {
  const counts: number[] = [];
  for (const t of arrivals) {
    const second = Math.floor((t - arrivals[0]!) / 1000);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return Array.from(counts, (n) => n ?? 0);
}

async function main(settings: Settings): Promise<void> {
  const database = await startEmbeddedDatabase();
  const telegram = startChildSide<ToSide, FromSide>(new URL("./support/broadcast-telegram.ts", import.meta.url).href, "telegram");
  let platform: Niaga | undefined;
  try {
    const uri = `${database.server}/niaga_bench_broadcast`;
    const key = randomBytes(32);
    await connectMongo(uri, { attempts: 3 });
    configureEncryption(key);
    const broadcasts = openBroadcasts();
    const { apiRoot, token, audience, talker } = await telegram.ask({ type: "setup", recipients: settings.recipients, floodLimits: TELEGRAM_LIMITS }, "ready");
    const seededAt = Date.now();
    const store = await seedStore({ name: STORE_NAME, telegram: { token, mode: "webhook" } });
    await seedTelegramCustomers(store.tenant, audience);
    // The talker is a customer who opted out: the broadcast's audience is exactly the seeded one.
    await Customer.create({ tenantId: store.tenant, channel: "telegram", channelUserId: String(talker.id), displayName: talker.first_name, broadcastOptOut: true } as never);
    console.log(`seeded ${audience.length} customers in ${round((Date.now() - seededAt) / 1000)} s`);

    const port = await freePort();
    const env = broadcastPlatformEnv({
      uri, key, apiRoot, rate: settings.rate, port,
      more: { BROADCAST_MAX_RECIPIENTS: String(Math.max(settings.recipients, 20_000)), NODE_ENV: "production" },
    });
    ({ platform } = await startNiagaProcess(env));
    await telegram.ask({ type: "talk" }, "talking");
    await sleep(settings.baselineSec * 1000);

    const marker = `Promo bench ${randomBytes(3).toString("hex")}`;
    await telegram.ask({ type: "phase", phase: "broadcast" }, "phased");
    const startedAt = Date.now();
    const broadcast = await broadcasts.sendNow(store.tenantId, marker);
    let latest = 0;
    telegram.child.on("message", (message: FromSide) => {
      if (message.type === "progress") latest = message.received;
    });
    telegram.child.send({ type: "watch", marker } satisfies ToSide);
    const received = () => latest;
    const expectedSec = settings.recipients / settings.rate;
    await until(() => received() >= settings.recipients / 2, "half of the broadcast", (expectedSec + 120) * 1000);

    await telegram.ask({ type: "phase", phase: "restart" }, "phased");
    const killedAt = Date.now();
    platform.child.kill("SIGKILL");
    await platform.exited;
    await sleep(500);
    const atKill = received();
    const restartedAt = Date.now();
    const restarted = await startNiagaProcess(env);
    platform = restarted.platform;
    const upAt = Date.now();
    // The conversation counts as "during the broadcast" again once the store answers.
    await until(() => received() > atKill, "the restarted process to send", 120_000, 50);
    await telegram.ask({ type: "phase", phase: "broadcast" }, "phased");
    await until(async () => (await broadcasts.get(broadcast)).status === "done", "the broadcast to finish", (expectedSec + 300) * 1000, 250);
    const doneAt = Date.now();
    await telegram.ask({ type: "phase", phase: "after" }, "phased");
    await sleep(2000);

    const view = await broadcasts.get(broadcast);
    const { report } = await telegram.ask({ type: "report", marker }, "report");
    const figures = figuresOf(settings, report, { startedAt, killedAt, restartedAt, upAt, doneAt, atKill, inDoubt: view.counts?.inDoubt ?? Number.NaN, ledger: view.counts });
    print(figures);
    mkdirSync(dirname(settings.out), { recursive: true });
    writeFileSync(settings.out, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`\nwrote ${settings.out}`);
    await disconnectMongo();
  } finally {
    killIfRunning(platform);
    telegram.child.send({ type: "stop" } satisfies ToSide);
    database.child.kill();
  }
}

interface Moments {
  startedAt: number;
  killedAt: number;
  restartedAt: number;
  upAt: number;
  doneAt: number;
  atKill: number;
  inDoubt: number;
  ledger: unknown;
}

function figuresOf(settings: Settings, report: SideReport, m: Moments) {
  const before = report.arrivals.filter((t) => t <= m.killedAt);
  const afterKill = report.arrivals.filter((t) => t > m.killedAt);
  const [a, b] = [stretch(before), stretch(afterKill)];
  const sendingMs = a.ms + b.ms;
  const withoutGap = sendingMs > 0 ? (Math.max(0, a.count - 1) + Math.max(0, b.count - 1)) / (sendingMs / 1000) : Number.NaN;
  const first = report.arrivals[0] ?? Number.NaN;
  const last = report.arrivals.at(-1) ?? Number.NaN;
  const overall = report.arrivals.length / ((last - first) / 1000);
  const talk = (phase: string) => report.talk.filter((s) => s.phase === phase);
  const latencies = (phase: string) => summarize(talk(phase).flatMap((s) => (s.ms === undefined ? [] : [s.ms])));
  return {
    recipients: settings.recipients,
    configuredPerSecond: settings.rate,
    configuredRateMeaning: `BROADCAST_RATE_TELEGRAM (default DEFAULT_BROADCAST_PACE.telegram = ${DEFAULT_BROADCAST_PACE.telegram}/s, the broadcasts' share of Telegram's ~30/s per bot)`,
    deliveredPerSecond: round(withoutGap, 2),
    deliveredVsConfigured: round(withoutGap / settings.rate, 3),
    atLeast95Percent: withoutGap >= 0.95 * settings.rate,
    deliveredPerSecondBeforeKill: round(a.count > 1 ? (a.count - 1) / (a.ms / 1000) : Number.NaN, 2),
    deliveredPerSecondAfterRestart: round(b.count > 1 ? (b.count - 1) / (b.ms / 1000) : Number.NaN, 2),
    deliveredPerSecondOverall: round(overall, 2),
    pausesOver500Ms: pauses(before, 500).length + pauses(afterKill, 500).length,
    longestPauseMs: Math.round(Math.max(0, ...pauses(before, 0), ...pauses(afterKill, 0))),
    arrivalsPerSecond: perSecond(report.arrivals),
    startToDoneSec: round((m.doneAt - m.startedAt) / 1000),
    firstMessageAfterStartSec: round((first - m.startedAt) / 1000, 2),
    messagesAtEmulator: report.messages,
    chatsReached: report.reached,
    duplicates: report.duplicated,
    losses: report.missing,
    strangers: report.strangers,
    floodRefusals429: report.refused.broadcast + report.refused.other,
    floodRefusals429Broadcast: report.refused.broadcast,
    floodRefusalsSample: report.refusedSample,
    receivedAtKill: m.atKill,
    inDoubt: m.inDoubt,
    restartGapSec: round(((afterKill[0] ?? Number.NaN) - (before.at(-1) ?? Number.NaN)) / 1000, 2),
    resumeAfterRestartSpawnSec: round(((afterKill[0] ?? Number.NaN) - m.restartedAt) / 1000, 2),
    resumeAfterStartedLineSec: round(((afterKill[0] ?? Number.NaN) - m.upAt) / 1000, 2),
    conversation: {
      everyMs: 1000,
      baseline: latencies("baseline"),
      duringBroadcast: latencies("broadcast"),
      unansweredBaseline: talk("baseline").filter((s) => s.ms === undefined).length,
      unansweredDuringBroadcast: talk("broadcast").filter((s) => s.ms === undefined).length,
      aroundRestart: talk("restart").length,
      /** Every turn: its phase, seconds from the broadcast's start, and its reply time. */
      turns: report.talk.map((s) => ({ phase: s.phase, atSec: round((s.at - m.startedAt) / 1000), ms: s.ms ?? null })),
    },
    ledger: m.ledger,
    telegramLimits: TELEGRAM_LIMITS,
    storage: "embedded MongoDB (separate process)",
    telegram: "Bot API emulator (tests/support/telegram-emulator.ts, separate process), flood limits enforced",
    node: process.version,
    cpus: cpus().length,
    loadAverage: loadavg().map((l) => round(l, 2)),
    recordedAt: new Date().toISOString(),
  };
}

function print(f: ReturnType<typeof figuresOf>): void {
  const c = f.conversation;
  console.log([
    `Broadcast to ${f.recipients} Telegram customers at ${f.configuredPerSecond}/s, kill -9 half-way, flood limits 30/s per bot and 1/s per chat`,
    `  delivered/s (sending time, no restart gap)  ${f.deliveredPerSecond} (${round(f.deliveredVsConfigured * 100)} % of ${f.configuredPerSecond}/s)`,
    `  delivered/s before kill | after restart     ${f.deliveredPerSecondBeforeKill} | ${f.deliveredPerSecondAfterRestart}`,
    `  delivered/s overall (first to last)         ${f.deliveredPerSecondOverall}`,
    `  start → done                                ${f.startToDoneSec} s`,
    `  pauses over 500 ms | longest                ${f.pausesOver500Ms} | ${f.longestPauseMs} ms (restart gap apart)`,
    `  429s at the emulator                        ${f.floodRefusals429} (broadcast ${f.floodRefusals429Broadcast})`,
    `  duplicates | losses | outside the audience  ${f.duplicates} | ${f.losses} | ${f.strangers}`,
    `  received at the kill | in doubt             ${f.receivedAtKill} | ${f.inDoubt}`,
    `  restart gap | resume after spawn | after start line  ${f.restartGapSec} s | ${f.resumeAfterRestartSpawnSec} s | ${f.resumeAfterStartedLineSec} s`,
    `  conversation p50/p99, before               ${c.baseline.p50} / ${c.baseline.p99} ms (${c.baseline.count} replies, ${c.unansweredBaseline} unanswered)`,
    `  conversation p50/p99, during               ${c.duringBroadcast.p50} / ${c.duringBroadcast.p99} ms (${c.duringBroadcast.count} replies, ${c.unansweredDuringBroadcast} unanswered)`,
  ].join("\n"));
}

await main(readSettings());
