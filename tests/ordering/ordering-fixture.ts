// A database and a store for the ordering tests: the embedded MongoDB (or MONGODB_URI)
// through mongoose's default connection, a sealed-stock store, and a recording outbox
// that keeps what customers were sent.
import { randomBytes } from "node:crypto";
import type { Types } from "mongoose";
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import type { PaymentGateway } from "../../flows/ordering/payments/gateway.ts";
import { createOrdering, type Ordering } from "../../flows/ordering/ordering.ts";
import type { OrderingDeps } from "../../flows/ordering/ordering-deps.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";

export { RecordingOutbox } from "../support/recording-outbox.ts";
import type { CustomerRef } from "../../flows/ordering/order.ts";
import { Product } from "../../flows/ordering/product.ts";
import { addStockItems } from "../../flows/ordering/stock-item.ts";
import { createPlatformHttp, type PlatformHttp } from "../../bots/http-server.ts";
import { configureLogging, logger } from "../../bots/logger.ts";
import { registerPaymentRoutes } from "../../flows/ordering/payments/payment-webhooks.ts";
import { simulatorGateway, simulatorSecretFrom, type SimulatorGateway } from "../../flows/ordering/payments/simulator.ts";
import { connectMongo, disconnectMongo, syncAllIndexes } from "../../storage/connection.ts";
import { configureEncryption } from "../../storage/crypto.ts";
import { Tenant } from "../../storage/models/index.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import "../../flows/ordering/order.ts";
import "../../flows/ordering/proof-store.ts";

export interface OrderingDb {
  mongo: TestMongo;
  /** The key stock is sealed with, for child processes that must open it too. */
  encryptionKey: Buffer;
  close(): Promise<void>;
}

export async function openOrderingDb(name: string): Promise<OrderingDb> {
  configureLogging({ level: "error" });
  const encryptionKey = randomBytes(32);
  configureEncryption(encryptionKey);
  const mongo = await startTestMongo(name);
  await connectMongo(mongo.uri, { attempts: 1 });
  await syncAllIndexes();
  return {
    mongo,
    encryptionKey,
    async close() {
      await disconnectMongo();
      await mongo.stop();
    },
  };
}

export interface ProductSpec {
  code: string;
  price: number;
  stock: number;
  name?: string;
  perOrderMax?: number;
  status?: "active" | "hidden";
  description?: string;
  sortOrder?: number;
}

export interface SeededStore {
  tenantId: string;
  tenant: Types.ObjectId;
  slug: string;
  products: Record<string, Types.ObjectId>;
}

let storeCount = 0;

export async function seedStore(opts: {
  products: ProductSpec[];
  name?: string;
  settings?: Record<string, unknown>;
}): Promise<SeededStore> {
  const slug = `toko-${++storeCount}-${randomBytes(3).toString("hex")}`;
  const tenant = await Tenant.create({
    slug,
    name: opts.name ?? `Toko Uji ${storeCount}`,
    settings: { ordering: { paymentMethods: ["manual", "simulator"], paymentInstructions: "BCA 1234567890 a.n. Toko Uji", ...opts.settings } },
  });
  const products: Record<string, Types.ObjectId> = {};
  for (const p of opts.products) {
    const product = await Product.create({
      tenantId: tenant._id,
      code: p.code,
      name: p.name ?? `Produk ${p.code}`,
      price: p.price,
      status: p.status ?? "active",
      ...(p.perOrderMax ? { perOrderMax: p.perOrderMax } : {}),
      ...(p.description ? { description: p.description } : {}),
      ...(p.sortOrder !== undefined ? { sortOrder: p.sortOrder } : {}),
    });
    products[p.code] = product._id;
    await addStockItems(tenant._id, product._id, Array.from({ length: p.stock }, (_, i) => payloadFor(slug, p.code, i)));
  }
  return { tenantId: String(tenant._id), tenant: tenant._id, slug, products };
}

/** The secret each seeded stock item holds: recognisable, and unique across the whole test run. */
export function payloadFor(slug: string, code: string, i: number): string {
  return `SECRET-${slug}-${code}-${i}`;
}

export function customer(n: number | string, channel = "telegram"): CustomerRef {
  return { channel, channelUserId: `u${n}`, chatId: `c${n}`, locale: "id", name: `Pembeli ${n}` };
}

/** Ordering over a recording outbox (a timeout: `new RecordingOutbox().use(withTimeout(ms))`). */
export function testOrdering<O extends RecordingOutbox>(
  outbox: O = new RecordingOutbox() as O,
  extra: Omit<Partial<OrderingDeps>, "gateways"> & { gateways?: PaymentGateway[] } = {},
): { ordering: Ordering; outbox: O } {
  const { gateways, ...rest } = extra;
  const ordering = createOrdering({ outbox, gateways: gatewayMap(manualGateway(), ...(gateways ?? [])), ...rest });
  return { ordering, outbox };
}

export interface PaymentsServer {
  ordering: Ordering;
  outbox: RecordingOutbox;
  simulator: SimulatorGateway;
  http: PlatformHttp;
  /** `http://127.0.0.1:<port>`, where pay links point and webhooks are posted. */
  base: string;
}

/** Ordering with the simulator, behind the platform's HTTP server (payment webhooks, pay pages) on 127.0.0.1. */
export async function servePayments(db: OrderingDb, outbox = new RecordingOutbox()): Promise<PaymentsServer> {
  let base = "";
  const simulator = simulatorGateway({ secret: simulatorSecretFrom(db.encryptionKey), publicUrl: () => base });
  const { ordering } = testOrdering(outbox, { gateways: [simulator] });
  const http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
  registerPaymentRoutes(http, ordering.deps, { simulator });
  base = `http://127.0.0.1:${await http.listen(0, "127.0.0.1")}`;
  return { ordering, outbox, simulator, http, base };
}

export const seller = { channel: "telegram", userId: "seller-1", name: "Pemilik" };

/** Waits until `check` holds, polling; fails with `what` after `ms`. Not a timing assertion: only a bound on waiting. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
