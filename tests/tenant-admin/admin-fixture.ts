// A store with its team in the test database, and an engine running the platform's
// storefront flows with seller administration, as the store bots run them.
import { Types } from "mongoose";
import { combineFlowBundles } from "../../flows/engine/flow-bundle.ts";
import type { Engine } from "../../flows/engine/engine.ts";
import type { Audience, Inbound, InboundTenant, Locale } from "../../flows/engine/message.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { catalogFlows } from "../../flows/ordering/catalog-flows.ts";
import { createAdminFlows } from "../../flows/tenant-admin/admin-flows.ts";
import { createTicketFlows } from "../../flows/ticketing/ticket-flows.ts";
import { createBroadcastFlows } from "../../flows/broadcast/broadcast-flows.ts";
import type { BroadcastService } from "../../flows/broadcast/contract.ts";
import type { TicketService } from "../../flows/ticketing/contract.ts";
import type { AdminServices } from "../../flows/tenant-admin/admin-services.ts";
import { NO_PLATFORM_OWNERS, withPlatformOwners } from "../../flows/tenant-admin/permissions.ts";
import { configureLogging } from "../../bots/logger.ts";
import { Member, type Role } from "../../storage/models/index.ts";
import { seedStore, type ProductSpec } from "../support/stores.ts";
import { capturingLog, ChatUser, testEngine, type LogLine } from "../engine/chat-harness.ts";

export { ChatUser };

// The domain logs deliveries at info; the test report needs only problems.
configureLogging({ level: "error" });

export const DEFAULT_PRODUCTS: ProductSpec[] = [
  { code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, stock: ["NF-A", "NF-B", "NF-C"], lowStockThreshold: 2 },
  { code: "spotify-1m", name: "Spotify 1 Bulan", price: 25_000, stock: ["SP-A"] },
  { code: "draf", name: "Paket Draf", price: 99_000, status: "hidden" },
];

/** A store with products in the order given, stock and members (`{ "owner-1": "owner", … }`, on the given channel). */
export async function seedShop(opts: {
  name?: string;
  currency?: string;
  locale?: Locale;
  channel?: string;
  members?: Record<string, Role>;
  products?: ProductSpec[];
  botUsername?: string;
} = {}): Promise<InboundTenant> {
  const store = await seedStore({
    name: opts.name ?? "Toko Uji",
    currency: opts.currency ?? "IDR",
    locale: opts.locale ?? "id",
    products: (opts.products ?? DEFAULT_PRODUCTS).map((p, index) => ({ ...p, sortOrder: index, lowStockThreshold: p.lowStockThreshold ?? 0 })),
    members: opts.members ?? {},
    ...(opts.channel && { memberChannel: opts.channel }),
    ...(opts.botUsername && { telegram: { botUsername: opts.botUsername } }),
  });
  return { id: store.id, slug: store.slug, name: store.name };
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

export function adminEngine(
  services: AdminServices = {},
  tickets?: TicketService,
  broadcasts?: BroadcastService,
  /** Who is a seller; default: membership looked up on every message. */
  audienceOf: (inbound: Inbound) => Promise<Audience> = membersAreSellers,
): AdminHarness {
  const { lines, logFor } = capturingLog();
  const owners = services.platformOwners && { platformOwners: services.platformOwners };
  const ticketing = createTicketFlows({ ...(tickets && { tickets }), ...owners });
  const broadcasting = createBroadcastFlows({
    ...(broadcasts && { broadcasts }),
    ...(services.files && { files: services.files }),
    ...(services.clock && { clock: services.clock }),
    ...owners,
  });
  const bundle = combineFlowBundles(catalogFlows, createAdminFlows(services), ticketing, broadcasting);
  const engine = testEngine({
    ...bundle,
    sessions: new MongoSessionStore(),
    audienceOf: withPlatformOwners(audienceOf, services.platformOwners ?? NO_PLATFORM_OWNERS),
    logFor,
  });
  return { engine, logs: lines };
}

/** A person in a store's chat on the console channel (or another). */
export function person(engine: Engine, tenant: InboundTenant, userId: string, opts: { channel?: string; locale?: Locale } = {}): ChatUser {
  return new ChatUser(engine, { tenant, userId, chatId: `chat-${userId}`, channel: opts.channel ?? "console", ...(opts.locale && { locale: opts.locale }) });
}

export const oid = (id: string) => new Types.ObjectId(id);
