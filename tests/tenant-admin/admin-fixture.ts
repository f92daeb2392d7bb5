// A store with its team in the test database, and an engine running the platform's
// storefront flows with seller administration, as the store bots run them.
import { randomBytes } from "node:crypto";
import { after, before } from "node:test";
import { Types } from "mongoose";
import { combineFlowBundles } from "../../flows/engine/flow-bundle.ts";
import type { Engine } from "../../flows/engine/engine.ts";
import type { Audience, Inbound, InboundTenant, Locale, Outbound } from "../../flows/engine/message.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { catalogFlows } from "../../flows/ordering/catalog-flows.ts";
import { Product } from "../../flows/ordering/product.ts";
import { addStockItems } from "../../flows/ordering/stock-item.ts";
import { createAdminFlows } from "../../flows/tenant-admin/admin-flows.ts";
import type { AdminServices, SellerNotifier, SellerRecipient } from "../../flows/tenant-admin/admin-services.ts";
import { withPlatformOwners } from "../../flows/tenant-admin/permissions.ts";
import { configureLogging } from "../../bots/logger.ts";
import { connectMongo, disconnectMongo, syncAllIndexes } from "../../storage/connection.ts";
import { configureEncryption } from "../../storage/crypto.ts";
import { Member, Tenant, type Role } from "../../storage/models/index.ts";
import { capturingLog, ChatUser, testEngine, type LogLine } from "../engine/chat-harness.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";

export { ChatUser };

/** Connects this test file to its own database for its whole run. */
export function useTestDatabase(name: string): void {
  let mongo: TestMongo;
  before(async () => {
    // The domain logs deliveries at info; the test report needs only problems.
    configureLogging({ level: "error" });
    configureEncryption(randomBytes(32));
    mongo = await startTestMongo(name);
    await connectMongo(mongo.uri, { attempts: 1 });
    await syncAllIndexes();
  });
  after(async () => {
    await disconnectMongo();
    await mongo.stop();
  });
}

export interface ShopProduct {
  code: string;
  name: string;
  price: number;
  stock?: string[];
  status?: "active" | "hidden";
  lowStockThreshold?: number;
}

export const DEFAULT_PRODUCTS: ShopProduct[] = [
  { code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, stock: ["NF-A", "NF-B", "NF-C"], lowStockThreshold: 2 },
  { code: "spotify-1m", name: "Spotify 1 Bulan", price: 25_000, stock: ["SP-A"] },
  { code: "draf", name: "Paket Draf", price: 99_000, status: "hidden" },
];

let shopCounter = 0;

/** A store with products, stock and members (`{ "owner-1": "owner", … }`, on the given channel). */
export async function seedShop(opts: {
  name?: string;
  currency?: string;
  locale?: Locale;
  channel?: string;
  members?: Record<string, Role>;
  products?: ShopProduct[];
  botUsername?: string;
} = {}): Promise<InboundTenant> {
  shopCounter += 1;
  const slug = `toko-${shopCounter}-${randomBytes(3).toString("hex")}`;
  const tenant = await Tenant.create({
    slug,
    name: opts.name ?? "Toko Uji",
    currency: opts.currency ?? "IDR",
    locale: opts.locale ?? "id",
    ...(opts.botUsername && { channels: { telegram: { botUsername: opts.botUsername } } }),
  });
  for (const [index, p] of (opts.products ?? DEFAULT_PRODUCTS).entries()) {
    const product = await Product.create({
      tenantId: tenant._id,
      code: p.code,
      name: p.name,
      price: p.price,
      status: p.status ?? "active",
      sortOrder: index,
      lowStockThreshold: p.lowStockThreshold ?? 0,
    });
    if (p.stock?.length) await addStockItems(tenant._id, product._id, p.stock);
  }
  for (const [userId, role] of Object.entries(opts.members ?? {})) {
    // The tenant wall adds `tenantId` outside Member's inferred type.
    await Member.create({ tenantId: tenant._id, channel: (opts.channel ?? "console") as "console", channelUserId: userId, role } as never);
  }
  return { id: tenant._id.toString(), slug, name: tenant.name };
}

/** Messages a notifier was asked to send. */
export class RecordingNotifier implements SellerNotifier {
  readonly sent: { to: SellerRecipient; message: Outbound }[] = [];
  async notify(to: SellerRecipient, message: Outbound): Promise<void> {
    this.sent.push({ to, message });
  }
}

/** Looks membership up on every message (the platform's `memberAudience` remembers it for 10 s). */
async function membersAreSellers(inbound: Inbound): Promise<Audience> {
  const member = await Member.exists({ tenantId: inbound.tenant.id, channel: inbound.channel, channelUserId: inbound.user.id } as never);
  return member ? "seller" : "customer";
}

export interface AdminHarness {
  engine: Engine;
  logs: LogLine[];
}

export function adminEngine(services: AdminServices = {}): AdminHarness {
  const { lines, logFor } = capturingLog();
  const bundle = combineFlowBundles(catalogFlows, createAdminFlows(services));
  const engine = testEngine({
    ...bundle,
    sessions: new MongoSessionStore(),
    audienceOf: withPlatformOwners(membersAreSellers, services.ownerChatIds ?? []),
    logFor,
  });
  return { engine, logs: lines };
}

/** A person in a store's chat on the console channel (or another). */
export function person(engine: Engine, tenant: InboundTenant, userId: string, opts: { channel?: string; locale?: Locale } = {}): ChatUser {
  return new ChatUser(engine, { tenant, userId, chatId: `chat-${userId}`, channel: opts.channel ?? "console", ...(opts.locale && { locale: opts.locale }) });
}

export const oid = (id: string) => new Types.ObjectId(id);
