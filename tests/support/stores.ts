// The one store seeder: a tenant in the connected test database (`openTestDatabase`), with
// products and sealed stock, a team, and a channel's credentials when a test needs them.
import { randomBytes } from "node:crypto";
import type { Types } from "mongoose";
import type { InboundTenant, Locale } from "../../flows/engine/message.ts";
import { Product } from "../../flows/ordering/product.ts";
import { addStockItems } from "../../flows/ordering/stock-item.ts";
import { Member, sealTenantSecret, Tenant, type Role } from "../../storage/models/index.ts";

export interface ProductSpec {
  code: string;
  price: number;
  /** `Produk <code>` unless given. */
  name?: string;
  /** How many items (each holding `payloadFor(slug, code, i)`), or the items' payloads. */
  stock?: number | string[];
  status?: "active" | "hidden";
  perOrderMax?: number;
  description?: string;
  /** The product's place in the catalogue. */
  sortOrder?: number;
  lowStockThreshold?: number;
}

export interface SeedStoreOptions {
  /** Unique per run unless given. */
  slug?: string;
  name?: string;
  locale?: Locale;
  currency?: string;
  /** The tenant's `settings`, as saved (`{ ordering: { paymentMethods: [...] } }`). */
  settings?: Record<string, unknown>;
  products?: ProductSpec[];
  /** The team, by user id on `memberChannel`: `{ "owner-1": "owner" }`. */
  members?: Record<string, Role>;
  /** The channel the members' ids belong to; `console` unless given. */
  memberChannel?: string;
  /** A Telegram bot for the store: its token sealed, as `niaga tenant create` saves it. */
  telegram?: { token?: string; mode?: "polling" | "webhook"; botUsername?: string };
}

export interface SeededStore extends InboundTenant {
  /** The same as `id`. */
  tenantId: string;
  tenant: Types.ObjectId;
  /** Product ids by code. */
  products: Record<string, Types.ObjectId>;
}

/** A small catalogue: two products in stock, one sold out, one hidden. */
export const SMALL_CATALOGUE: ProductSpec[] = [
  { code: "pulsa-10k", name: "Pulsa 10K", price: 11_000, stock: 3, sortOrder: 1, description: "Deskripsi Pulsa 10K" },
  { code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, stock: 2, sortOrder: 2, description: "Deskripsi Netflix 1 Bulan" },
  { code: "habis", name: "Voucher Habis", price: 50_000, stock: 0, sortOrder: 3, description: "Deskripsi Voucher Habis" },
  { code: "rahasia", name: "Produk Tersembunyi", price: 1, status: "hidden", sortOrder: 9 },
];

let seeded = 0;

/**
 * Saves a store and what it sells.
 *
 * ```ts
 * const store = await seedStore({ products: [{ code: "netflix-1m", price: 35_000, stock: 2 }], members: { "owner-1": "owner" } });
 * ```
 */
export async function seedStore(opts: SeedStoreOptions = {}): Promise<SeededStore> {
  seeded += 1;
  const slug = opts.slug ?? `toko-${seeded}-${randomBytes(3).toString("hex")}`;
  const tenant = new Tenant({
    slug,
    name: opts.name ?? `Toko Uji ${seeded}`,
    locale: opts.locale ?? "id",
    ...(opts.currency && { currency: opts.currency }),
    ...(opts.settings && { settings: opts.settings }),
  });
  if (opts.telegram?.token) tenant.set("channels.telegram.token", sealTenantSecret(tenant, "channels.telegram.token", opts.telegram.token));
  if (opts.telegram?.mode) tenant.set("channels.telegram.mode", opts.telegram.mode);
  if (opts.telegram?.botUsername) tenant.set("channels.telegram.botUsername", opts.telegram.botUsername);
  await tenant.save();

  const products: Record<string, Types.ObjectId> = {};
  for (const p of opts.products ?? []) {
    const product = await Product.create({
      tenantId: tenant._id,
      code: p.code,
      name: p.name ?? `Produk ${p.code}`,
      price: p.price,
      status: p.status ?? "active",
      ...(p.sortOrder !== undefined && { sortOrder: p.sortOrder }),
      ...(p.perOrderMax !== undefined && { perOrderMax: p.perOrderMax }),
      ...(p.description !== undefined && { description: p.description }),
      ...(p.lowStockThreshold !== undefined && { lowStockThreshold: p.lowStockThreshold }),
    });
    products[p.code] = product._id;
    const stock = typeof p.stock === "number" ? Array.from({ length: p.stock }, (_, i) => payloadFor(slug, p.code, i)) : (p.stock ?? []);
    if (stock.length > 0) await addStockItems(tenant._id, product._id, stock);
  }
  for (const [userId, role] of Object.entries(opts.members ?? {})) {
    // The tenant wall adds `tenantId` outside Member's inferred type.
    await Member.create({ tenantId: tenant._id, channel: (opts.memberChannel ?? "console") as "console", channelUserId: userId, role } as never);
  }
  const id = tenant._id.toString();
  return { id, tenantId: id, tenant: tenant._id, slug, name: tenant.name, products };
}

/** The secret each seeded stock item holds: recognisable, and unique across the whole test run. */
export function payloadFor(slug: string, code: string, i: number): string {
  return `SECRET-${slug}-${code}-${i}`;
}
