// `npm run bench:discord [-- --guilds 100] [--rate 200] [--seconds 20] [--warmup 3] [--customers 5] [--client platform|bare]`
//
// Stores' guilds served by the platform's one Discord application, the way `niaga start`
// runs it: the real `DiscordChannel` (discord.js over the gateway and REST), the engine with
// the store's flows (ordering, tenant admin) and MongoDB sessions — the embedded server, in
// its own process as a mongod would be.
//
// Discord is the local Discord (`tests/support/discord/`) in a second process, so its CPU is
// not the platform's: `--guilds` guilds, each linked to a seeded store with a small catalogue,
// a staff role held by one staff member and `--customers` customers. It dispatches
// interactions open-loop at `--rate` per second for `--seconds` (after `--warmup` seconds
// not counted), a mix of what people do: a customer's `/toko` (50 %), a customer pressing the
// first button of a menu they got earlier (30 % when one is waiting), a staff member's seller command (20 %).
//
// For each interaction, from its creation (its id's timestamp, as Discord judges the 3 s
// rule) to: the first answer (the callback: reply or defer), and the first visible content
// (the reply, or the edit / follow-up after a defer). p50/p95/p99/max of both, per kind and
// overall, the errors Discord would have given (10062 late first answer, 40060 acknowledged
// twice), interactions left unanswered and those the platform dropped as already too late on
// arrival, and the CPU each process spent per interaction (platform, database, local Discord).
// Prints a table and writes bench/results/discord.json (`--out` elsewhere).
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startChildSide } from "./support/child-side.ts";
import type { ChildSide } from "./support/child-side.ts";
import { startEmbeddedDatabase } from "./support/embedded-database.ts";
import { summarize } from "./support/percentiles.ts";
import type { LatencySummary } from "./support/percentiles.ts";

const resultsFile = fileURLToPath(new URL("./results/discord.json", import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    role: { type: "string", default: "platform" },
    guilds: { type: "string", default: "100" },
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "20" },
    warmup: { type: "string", default: "3" },
    customers: { type: "string", default: "5" },
    /** `platform` (default) or `bare`: a discord.js bot without engine or database, for the plumbing's own cost. */
    client: { type: "string", default: "platform" },
    out: { type: "string", default: resultsFile },
  },
  strict: true,
});

interface Settings {
  guilds: number;
  rate: number;
  seconds: number;
  warmup: number;
  customers: number;
}

/** One guild as the platform side links it to a store. */
interface GuildSetup {
  guildId: string;
  staffRoleId: string;
  staffChannelId: string;
}

type Kind = "toko" | "press" | "seller";

interface Measured {
  kind: Kind;
  ackMs?: number;
  contentMs?: number;
  errors: number[];
}

type ToDiscord =
  | { type: "setup"; guilds: number; customers: number }
  | { type: "settle" }
  | { type: "drive"; rate: number; seconds: number; warmup: number }
  | { type: "stop" };

type FromDiscord =
  | { type: "ready"; apiRoot: string; token: string; applicationId: string; guilds: GuildSetup[] }
  | { type: "settled"; sellerCommand: string; commands: number }
  | { type: "result"; measured: Measured[]; elapsedMs: number; dispatched: number; unhandled: number; cpuMs: number };

// ---------------------------------------------------------------- the Discord side (child process)

async function discordSide(): Promise<void> {
  const { LocalDiscord } = await import("../tests/support/discord/index.ts");
  type Discord = Awaited<ReturnType<typeof LocalDiscord.start>>;
  type User = ReturnType<Discord["user"]>;
  type Message = NonNullable<ReturnType<Discord["message"]>>;
  const discord = await LocalDiscord.start();
  const send = (message: FromDiscord) => process.send!(message);
  interface Place {
    guild: ReturnType<Discord["guild"]>;
    staff: User;
    customers: User[];
  }
  let places: Place[] = [];
  let sellerCommand = "";
  // Menus customers got and have not pressed yet: a press is by the customer who got it.
  const menus: Array<{ customer: User; menu: Message }> = [];

  const dispatch = (n: number) => {
    const place = places[n % places.length]!;
    const roll = (n * 7919) % 100;
    const channel = place.guild.defaultChannel;
    if (roll < 20) return { kind: "seller" as const, record: discord.command(place.staff, channel, sellerCommand) };
    const waiting = roll < 50 ? menus.shift() : undefined;
    const button = waiting?.menu.controls().find((c) => c.type === 2 && c.customId && !c.disabled)?.customId;
    if (waiting && button) return { kind: "press" as const, record: discord.press(waiting.customer, waiting.menu, button) };
    const customer = place.customers[Math.floor(n / places.length) % place.customers.length]!;
    const record = discord.command(customer, channel, "toko");
    void record.waitForAnswer(30_000).then((menu) => menus.push({ customer, menu }), () => undefined);
    return { kind: "toko" as const, record };
  };

  process.on("disconnect", () => process.exit(0));
  process.on("message", async (message: ToDiscord) => {
    if (message.type === "setup") {
      places = Array.from({ length: message.guilds }, (_, i) => {
        const owner = discord.user({ username: `pemilik${i}` });
        const guild = discord.guild({ name: `Toko Bench ${i}`, owner });
        const staffRole = guild.role("Staf");
        discord.textChannel(guild, "staf");
        const staff = discord.user({ username: `staf${i}` });
        guild.member(staff, { roles: [staffRole] });
        const customers = Array.from({ length: message.customers }, (_, c) => discord.user({ username: `pembeli${i}-${c}` }));
        for (const customer of customers) guild.member(customer);
        discord.addBot(guild);
        return { guild, staff, customers };
      });
      send({
        type: "ready", apiRoot: discord.apiRoot, token: discord.application.token, applicationId: discord.application.id,
        guilds: places.map((p) => ({ guildId: p.guild.id, staffRoleId: p.guild.role("Staf").id, staffChannelId: p.guild.textChannel("staf").id })),
      });
    } else if (message.type === "settle") {
      while (discord.globalCommands().length === 0 || discord.connectedSessions === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      const names = discord.globalCommands().map((c) => c.name);
      sellerCommand = ["pesanan", "laporan", "produk", "stok"].find((n) => names.includes(n)) ?? names.find((n) => !["toko", "bantuan", "tiket", "niaga"].includes(n))!;
      send({ type: "settled", sellerCommand, commands: names.length });
    } else if (message.type === "drive") {
      const { rate, seconds, warmup } = message;
      const total = Math.round(rate * (seconds + warmup));
      const warm = Math.round(rate * warmup);
      const pending: Array<Promise<Measured | undefined>> = [];
      const started = performance.now();
      let cpuFrom = process.cpuUsage();
      let sent = 0;
      let measuredFrom = 0;
      while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
        for (; sent < due; sent++) {
          if (sent === warm) {
            measuredFrom = performance.now();
            cpuFrom = process.cpuUsage();
          }
          const { kind, record } = dispatch(sent);
          const counted = sent >= warm;
          pending.push(record.waitForAnswer(30_000).then(() => undefined, () => undefined).then(() => counted ? {
            kind, ackMs: record.acks[0]?.afterMs, contentMs: record.contentAfterMs, errors: record.errors.map((e) => e.code),
          } : undefined));
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const elapsedMs = performance.now() - measuredFrom;
      const measured = (await Promise.all(pending)).filter((m): m is Measured => m !== undefined);
      const cpu = process.cpuUsage(cpuFrom);
      send({ type: "result", measured, elapsedMs, dispatched: total - warm, unhandled: discord.unhandled.length, cpuMs: (cpu.user + cpu.system) / 1000 });
    } else if (message.type === "stop") {
      await discord.close();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------- the platform side (this process)

function startDiscord(): ChildSide<ToDiscord, FromDiscord> {
  return startChildSide<ToDiscord, FromDiscord>(import.meta.url, "discord");
}

/** What answers the interactions: the platform (channel, engine, database), or a bare bot. */
interface Served {
  readonly label: string;
  /** The database's own process, when there is one (its CPU is reported apart). */
  readonly databasePid?: number;
  /** Interactions the platform dropped as already past Discord's deadline on arrival. */
  late?(): number;
  stop(): Promise<void>;
}

/** The real thing: `DiscordChannel` on the engine with the store's flows and MongoDB. */
async function startPlatform(discordSide: ReturnType<typeof startDiscord>, settings: Settings): Promise<Served> {
  const [{ configureLogging, logger }, { initI18n }, { connectMongo, disconnectMongo, syncAllIndexes }, { configureEncryption }, { Tenant }, { Channels }, { createCommerce }, { createPlatformEngine, platformOutbox }, { createCoordination }, { DiscordChannel }, { GuildDirectory }, { seedStore, SMALL_CATALOGUE }] = await Promise.all([
    import("../bots/logger.ts"),
    import("../locales/i18n.ts"),
    import("../storage/connection.ts"),
    import("../storage/crypto.ts"),
    import("../storage/models/index.ts"),
    import("../flows/engine/index.ts"),
    import("../bots/commerce.ts"),
    import("../bots/platform-engine.ts"),
    import("../storage/coordination.ts"),
    import("../adapters/discord/discord-channel.ts"),
    import("../adapters/discord/guild-directory.ts"),
    import("../tests/support/stores.ts"),
  ]);
  configureLogging({ level: "warn" });
  await initI18n();
  const database = await startEmbeddedDatabase();
  const stop = async (channel?: { stop(graceMs: number): Promise<boolean> }) => {
    await channel?.stop(5_000).catch(() => undefined);
    await disconnectMongo().catch(() => undefined);
    database.child.kill();
  };
  try {
    await connectMongo(`${database.server}/niaga_bench_discord`, { attempts: 3 });
    await syncAllIndexes();
    const encryptionKey = randomBytes(32);
    configureEncryption(encryptionKey);

    const { apiRoot, token, applicationId, guilds } = await discordSide.ask({ type: "setup", guilds: settings.guilds, customers: settings.customers }, "ready");
    for (const [i, g] of guilds.entries()) {
      const store = await seedStore({ slug: `bench-${String(i).padStart(4, "0")}`, name: `Toko Bench ${i}`, products: SMALL_CATALOGUE });
      await Tenant.updateOne({ _id: store.tenant }, { $set: { "channels.discord": { guildId: g.guildId, staffRoleId: g.staffRoleId, staffChannelId: g.staffChannelId, linkedAt: new Date(), linkedBy: "cli" } } }).exec();
    }

    const channels = new Channels();
    const outbox = platformOutbox(channels);
    const coordination = createCoordination({ log: logger });
    const commerce = createCommerce({ outbox, files: channels, encryptionKey, payPageUrl: () => "http://127.0.0.1:9" });
    const engine = createPlatformEngine({ flows: commerce.flows, config: { ownerChatIds: [] }, coordination, channels });
    const directory = new GuildDirectory();
    const channel = new DiscordChannel({
      engine, token, applicationId, apiRoot, log: logger,
      guilds: {
        // Linking is not measured here: the stores are linked when seeded.
        handle: async (interaction) => void (await interaction.reply({ content: "-", flags: 64 })),
        guildRemoved: async () => undefined,
        storeOf: (guildId) => directory.storeOf(guildId),
        forget: (guildId) => directory.forget(guildId),
      },
    });
    channels.add(channel);
    const report = await channel.start();
    if (report.failed.length > 0) throw new Error(`stores failed to start: ${JSON.stringify(report.failed.slice(0, 3))}`);
    return {
      label: "DiscordChannel + engine (store flows) + embedded MongoDB (separate process)", stop: () => stop(channel),
      ...(database.child.pid !== undefined && { databasePid: database.child.pid }),
      late: () => channel.turns.late,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A bare discord.js bot that answers as the channel does (an ephemeral defer, then the
 * content as an edit) with no engine or database: what the Discord plumbing alone costs.
 */
async function startBareBot(discordSide: ReturnType<typeof startDiscord>, settings: Settings): Promise<Served> {
  const { ActionRowBuilder, ButtonBuilder, ButtonStyle, Client, Events, GatewayIntentBits, MessageFlags } = await import("discord.js");
  const { apiRoot, token, applicationId } = await discordSide.ask({ type: "setup", guilds: settings.guilds, customers: settings.customers }, "ready");
  const { exemptInteractionWebhooks } = await import("../adapters/discord/interaction-rest.ts");
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: apiRoot } });
  // As the channel does: interaction answers outside discord.js's global limit.
  const stopInteractionRest = exemptInteractionWebhooks(client.rest, applicationId);
  const row = new ActionRowBuilder<InstanceType<typeof ButtonBuilder>>().addComponents(new ButtonBuilder().setCustomId("katalog").setLabel("Katalog").setStyle(ButtonStyle.Primary));
  client.on(Events.InteractionCreate, (interaction) => {
    if (!interaction.isRepliable()) return;
    void (async () => {
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      await interaction.editReply({ content: `Menu ${interaction.id}`, components: [row] });
    })().catch(() => undefined);
  });
  const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(token);
  await ready;
  await client.application!.commands.set([
    { name: "toko", description: "Buka toko" },
    { name: "pesanan", description: "Pesanan" },
  ]);
  return { label: "bare discord.js bot (defer + edit, no engine or database)", stop: async () => {
    await client.destroy();
    stopInteractionRest();
  } };
}

async function platformSide(settings: Settings): Promise<void> {
  const discordSide = startDiscord();
  let served: Served | undefined;
  try {
    served = await (args.client === "bare" ? startBareBot : startPlatform)(discordSide, settings);
    const settled = await discordSide.ask({ type: "settle" }, "settled");

    const load = loadavg()[0]!;
    // The platform's CPU over the whole drive (warm-up included), ÷ every interaction it served.
    const cpuBefore = process.cpuUsage();
    const databaseCpuBefore = processCpuMs(served.databasePid);
    const lateBefore = served.late?.() ?? 0;
    const result = await discordSide.ask({ type: "drive", rate: settings.rate, seconds: settings.seconds, warmup: settings.warmup }, "result");
    const cpu = process.cpuUsage(cpuBefore);
    const databaseCpuAfter = processCpuMs(served.databasePid);
    const late = (served.late?.() ?? 0) - lateBefore;
    const driven = Math.round(settings.rate * (settings.seconds + settings.warmup));
    const figuresOf = (measured: Measured[]) => {
      const acked = measured.filter((m) => m.ackMs !== undefined);
      const shown = measured.filter((m) => m.contentMs !== undefined);
      const codes = measured.flatMap((m) => m.errors);
      return {
        interactions: measured.length,
        firstAnswerMs: summarize(acked.map((m) => m.ackMs!)),
        firstContentMs: summarize(shown.map((m) => m.contentMs!)),
        unanswered: measured.length - acked.length,
        withoutContent: measured.length - shown.length,
        unknownInteraction10062: codes.filter((c) => c === 10062).length,
        alreadyAcknowledged40060: codes.filter((c) => c === 40060).length,
        otherErrors: codes.filter((c) => c !== 10062 && c !== 40060).length,
      };
    };
    const byKind = Object.fromEntries((["toko", "press", "seller"] as const).map((kind) => [kind, figuresOf(result.measured.filter((m) => m.kind === kind))]));
    const figures = {
      guilds: settings.guilds,
      targetRatePerSecond: settings.rate,
      achievedRatePerSecond: Math.round((result.dispatched / (result.elapsedMs / 1000)) * 10) / 10,
      measuredSeconds: settings.seconds,
      warmupSeconds: settings.warmup,
      customersPerGuild: settings.customers,
      sellerCommand: settled.sellerCommand,
      globalCommands: settled.commands,
      ...figuresOf(result.measured),
      byKind,
      unhandledRoutes: result.unhandled,
      platformCpuMsPerInteraction: Math.round(((cpu.user + cpu.system) / 1000 / driven) * 100) / 100,
      localDiscordCpuMsPerInteraction: Math.round((result.cpuMs / result.dispatched) * 100) / 100,
      databaseCpuMsPerInteraction: databaseCpuBefore === undefined || databaseCpuAfter === undefined ? null : Math.round(((databaseCpuAfter - databaseCpuBefore) / driven) * 100) / 100,
      droppedAsLate: late,
      served: served.label,
      discord: "local Discord (separate process)",
      node: process.version,
      cpus: cpus().length,
      loadAverageBefore: Math.round(load * 100) / 100,
      recordedAt: new Date().toISOString(),
    };

    const row = (label: string, s: LatencySummary) => `  ${label.padEnd(30)} p50 ${s.p50} · p95 ${s.p95} · p99 ${s.p99} · max ${s.max} ms (n=${s.count})`;
    const lines = [
      `Discord: ${figures.guilds} guilds on one application, ${figures.targetRatePerSecond} interactions/s for ${figures.measuredSeconds} s (achieved ${figures.achievedRatePerSecond}/s)`,
      row("creation → first answer", figures.firstAnswerMs),
      row("creation → visible content", figures.firstContentMs),
      ...(["toko", "press", "seller"] as const).flatMap((kind) => [
        row(`${kind === "seller" ? `/${figures.sellerCommand} (staff)` : kind === "toko" ? "/toko" : "menu button"} → answer`, byKind[kind]!.firstAnswerMs),
        row(`${kind === "seller" ? `/${figures.sellerCommand} (staff)` : kind === "toko" ? "/toko" : "menu button"} → content`, byKind[kind]!.firstContentMs),
      ]),
      `  CPU per interaction: platform ${figures.platformCpuMsPerInteraction} ms, database ${figures.databaseCpuMsPerInteraction ?? "?"} ms, local Discord ${figures.localDiscordCpuMsPerInteraction} ms (load average before: ${figures.loadAverageBefore} on ${figures.cpus} CPUs)`,
      `  dropped by the platform as already too late ${figures.droppedAsLate} · unanswered ${figures.unanswered} · no content ${figures.withoutContent} · 10062 ${figures.unknownInteraction10062} · 40060 ${figures.alreadyAcknowledged40060} · other errors ${figures.otherErrors} · unhandled routes ${figures.unhandledRoutes}`,
    ];
    console.log(lines.join("\n"));
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`\nwrote ${args.out}`);
  } finally {
    await served?.stop();
    discordSide.child.send({ type: "stop" } satisfies ToDiscord);
  }
}

/** A process's CPU time so far (user + system, ms), from /proc; undefined where there is none. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th, in clock ticks (100 a second on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

if (args.role === "discord") {
  await discordSide();
} else {
  const settings: Settings = {
    guilds: Number(args.guilds), rate: Number(args.rate), seconds: Number(args.seconds), warmup: Number(args.warmup), customers: Number(args.customers),
  };
  const bad = Object.entries(settings).find(([name, value]) => !Number.isFinite(value) || value < (name === "warmup" ? 0 : 1));
  if (bad) {
    console.error("usage: npm run bench:discord [-- --guilds N] [--rate R] [--seconds S] [--warmup S] [--customers C]");
    process.exit(2);
  }
  await platformSide(settings);
}
