// A small store in the connected database: a tenant, three products (one sold out, one
// hidden) with sealed stock, and an owner on the console channel.
import { randomBytes } from "node:crypto";
import { Product } from "../../flows/ordering/product.ts";
import { addStockItems } from "../../flows/ordering/stock-item.ts";
import { configureEncryption } from "../../storage/crypto.ts";
import { Member, Tenant } from "../../storage/models/index.ts";

export async function seedStore(opts: { slug: string; name: string; ownerId?: string; locale?: "id" | "en" }): Promise<{ tenantId: string }> {
  configureEncryption(randomBytes(32));
  const tenant = await Tenant.create({ slug: opts.slug, name: opts.name, locale: opts.locale ?? "id" });
  const products = [
    { code: "pulsa-10k", name: "Pulsa 10K", price: 11_000, stock: 3, sortOrder: 1 },
    { code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, stock: 2, sortOrder: 2 },
    { code: "habis", name: "Voucher Habis", price: 50_000, stock: 0, sortOrder: 3 },
  ];
  for (const p of products) {
    const product = await Product.create({ tenantId: tenant._id, code: p.code, name: p.name, price: p.price, sortOrder: p.sortOrder, description: `Deskripsi ${p.name}` });
    await addStockItems(tenant._id, product._id, Array.from({ length: p.stock }, (_, i) => `SECRET-${p.code}-${i}`));
  }
  await Product.create({ tenantId: tenant._id, code: "rahasia", name: "Produk Tersembunyi", price: 1, status: "hidden", sortOrder: 9 });
  if (opts.ownerId) {
    const owner = { tenantId: tenant._id, channel: "console", channelUserId: opts.ownerId, role: "owner" } as const;
    await Member.create(owner);
  }
  return { tenantId: tenant._id.toString() };
}
