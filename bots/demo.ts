// `npm run demo [-- --as seller] [-- --locale en]`: Niaga with no services and no tokens.
// An embedded database in this process, a demo store ("Toko Demo") with products and
// stock, and a terminal chat with it. Everything lives in memory and is gone at exit.
//
// Buying works end to end: the simulator's pay page is served on 127.0.0.1 (open the link
// in a browser and press Pay, or press "Pay now" in the chat, which presses it for you),
// its signed webhook marks the order paid, and the goods arrive in the chat.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Channels, createEngine, MemorySessionStore, saveStoreFlow } from "../flows/engine/index.ts";
import type { Locale } from "../flows/engine/index.ts";
import { Product } from "../flows/ordering/product.ts";
import { addStockItems } from "../flows/ordering/stock-item.ts";
import { paymentRoutes } from "../flows/ordering/payments/payment-webhooks.ts";
import { platformFlows } from "../flows/platform.ts";
import { initI18n, t } from "../locales/i18n.ts";
import { connectMongo, disconnectMongo, syncAllIndexes } from "../storage/connection.ts";
import { configureEncryption } from "../storage/crypto.ts";
import { startEmbeddedServer } from "../storage/embedded/index.ts";
import { Member, Tenant } from "../storage/models/index.ts";
import { CONSOLE_CHANNEL, ConsoleChannel, openStoreChat } from "./channels.ts";
import { createCommerce } from "./commerce.ts";
import { createPlatformHttp } from "./http-server.ts";
import { configureLogging, logger, registerSecret } from "./logger.ts";
import { createPlatformEngine, platformOutbox } from "./platform-engine.ts";
import { createCoordination } from "../storage/coordination.ts";

const DEMO_SLUG = "demo";
const DEMO_CUSTOMER = "demo-customer";
const DEMO_SELLER = "demo-seller";

const DEMO_PRODUCTS = [
  { code: "ml-86", name: "Mobile Legends 86 Diamond", price: 23_500, description: "Top up langsung masuk. Kirim ID + Zone setelah bayar.", stock: 12 },
  { code: "netflix-1m", name: "Netflix Premium 1 Bulan", price: 35_000, description: "Akun sharing 1 profil, garansi 30 hari.", stock: 5 },
  { code: "spotify-1m", name: "Spotify Premium 1 Bulan", price: 25_000, description: "Akun individual, bisa ganti password.", stock: 8 },
  { code: "canva-1y", name: "Canva Pro 1 Tahun", price: 45_000, description: "Undangan tim ke email kamu.", stock: 3 },
  { code: "gplay-100k", name: "Voucher Google Play 100K", price: 98_000, description: "Kode voucher resmi, berlaku di Indonesia.", stock: 0 },
  { code: "steam-60k", name: "Steam Wallet 60K", price: 57_000, description: "Kode Steam Wallet IDR.", stock: 4 },
  { code: "youtube-1m", name: "YouTube Premium 1 Bulan", price: 15_000, description: "Undangan family plan.", stock: 10 },
  { code: "chatgpt-1m", name: "ChatGPT Plus 1 Bulan", price: 95_000, description: "Akun shared, 1 perangkat.", stock: 2 },
];

async function main(argv: string[]): Promise<number> {
  // The conversation is the demo's output; log lines would only clutter the terminal.
  configureLogging({ level: process.env.LOG_LEVEL?.trim() || "error" });
  await initI18n();
  const options = parseDemoArgs(argv);
  if (typeof options === "string") {
    process.stderr.write(`demo: ${options}\n${t("id", "demo.usage")}\n`);
    return 2;
  }
  const { as, locale } = options;

  const key = ephemeralOrConfiguredKey();
  configureEncryption(key);
  const server = await startEmbeddedServer();
  // The simulator's pay page, for a browser: the same page and signed webhook as on a server.
  const http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
  const coordination = createCoordination({ log: logger });
  let stopBroadcasts = async () => undefined as void;
  try {
    // The port first: the pay links carry it, and the pay page is registered with them.
    const port = await http.open(0, "127.0.0.1");
    await connectMongo(`${server.uri}/niaga`, { attempts: 1 });
    await syncAllIndexes();
    await seedDemoStore(locale);
    const consoleChannel = new ConsoleChannel();
    const channels = new Channels([consoleChannel]);
    const commerce = createCommerce({
      outbox: platformOutbox(channels),
      files: channels,
      encryptionKey: key,
      payPageUrl: () => `http://127.0.0.1:${port}`,
      payInChat: true,
    });
    http.register(paymentRoutes(commerce.ordering.deps, { simulator: commerce.simulator }));
    await http.serve();
    // A seller's /siaran goes out here too, with its progress message in the terminal.
    commerce.broadcasts.start();
    stopBroadcasts = () => commerce.broadcasts.stop(1_000);
    process.stdout.write(`${t(locale, as === "seller" ? "demo.banner_seller" : "demo.banner_customer", { store: "Toko Demo", uri: `${server.uri}/niaga` })}\n\n`);
    return await openStoreChat({
      slug: DEMO_SLUG,
      userId: as === "seller" ? DEMO_SELLER : DEMO_CUSTOMER,
      userName: as === "seller" ? "Pemilik Toko Demo" : "Pelanggan Demo",
      locale,
      engine: createPlatformEngine({ flows: commerce.flows, config: { ownerChatIds: [] }, coordination, channels }),
      console: consoleChannel,
      io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env },
    });
  } finally {
    await stopBroadcasts();
    await coordination.close();
    await http.close();
    await disconnectMongo();
    await server.close();
  }
}

/** The demo's options, or what is wrong with them. */
function parseDemoArgs(argv: string[]): { as: "customer" | "seller"; locale: Locale } | string {
  try {
    const { values } = parseArgs({ args: argv, options: { as: { type: "string" }, locale: { type: "string" } }, strict: true });
    const as = values.as ?? "customer";
    const locale = values.locale ?? "id";
    if (as !== "customer" && as !== "seller") return `--as must be customer or seller, not "${as}"`;
    if (locale !== "id" && locale !== "en") return `--locale must be id or en, not "${locale}"`;
    return { as, locale };
  } catch (err) {
    return (err as Error).message.split("\n")[0];
  }
}

/** `ENCRYPTION_KEY` when it is set (base64 of 32 bytes), otherwise a key made for this run only. */
function ephemeralOrConfiguredKey(): Buffer {
  const configured = process.env.ENCRYPTION_KEY?.trim();
  const key = configured ? Buffer.from(configured, "base64") : randomBytes(32);
  if (key.length !== 32) throw new Error("ENCRYPTION_KEY must be base64 of exactly 32 bytes (generate one with: openssl rand -base64 32)");
  registerSecret(key.toString("base64"));
  return key;
}

async function seedDemoStore(locale: Locale): Promise<void> {
  const tenant = await Tenant.create({
    slug: DEMO_SLUG,
    name: "Toko Demo",
    locale,
    timezone: "Asia/Jakarta",
    currency: "IDR",
    settings: { ordering: { paymentMethods: ["simulator", "manual"], snkText: t(locale, "demo.snk"), paymentInstructions: t(locale, "demo.transfer"), paymentTimeoutMinutes: 30 } },
  });
  for (const [index, item] of DEMO_PRODUCTS.entries()) {
    const product = await Product.create({ tenantId: tenant._id, code: item.code, name: item.name, description: item.description, price: item.price, sortOrder: index });
    const payloads = Array.from({ length: item.stock }, (_, n) => `${item.code.toUpperCase()}-${randomBytes(4).toString("hex").toUpperCase()}-${n + 1}`);
    if (payloads.length > 0) await addStockItems(tenant._id, product._id, payloads);
  }
  await Product.create({ tenantId: tenant._id, code: "draft-bundle", name: "Paket Bundling (draf)", price: 120_000, status: "hidden", sortOrder: 99 });
  // The tenant wall's `tenantId` is not part of Member's inferred schema type.
  const owner = { tenantId: tenant._id, channel: CONSOLE_CHANNEL, channelUserId: DEMO_SELLER, role: "owner", displayName: "Pemilik Toko Demo" } as const;
  await Member.create(owner);
  // The store's own FAQ, as a seller would write it: JSON, validated like the platform's flows.
  const faq: unknown = JSON.parse(readFileSync(new URL("../flows/faq/example-store-faq.json", import.meta.url), "utf8"));
  const validator = createEngine({ ...platformFlows, sessions: new MemorySessionStore(), audienceOf: () => "customer" });
  await saveStoreFlow(validator, { id: tenant._id.toString(), slug: tenant.slug }, faq, "demo");
}

process.exitCode = await main(process.argv.slice(2));
