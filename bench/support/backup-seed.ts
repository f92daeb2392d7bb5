// A platform database of realistic shape for the backup benchmark: a few stores with their
// products, customers, N orders across every status (with payment, delivery and SNK fields
// as the checkout writes them) and N stock items whose payloads are sealed with the real
// data key (storage/crypto.ts, bound to their store), the sold and reserved ones linked to
// their orders. Written through the real models with `insertMany` in batches, into the
// connected mongoose database (indexes synced first, so the backup carries them).
//
//   configureEncryption(dataKey);
//   await connectMongo(uri);
//   const counts = await seedShop({ orders: 100_000, stock: 100_000 });
import { createHash, randomBytes } from "node:crypto";
import { Types } from "mongoose";
import { orderCodeFor, Order, type OrderStatus } from "../../flows/ordering/order.ts";
import { Product } from "../../flows/ordering/product.ts";
import { StockItem, stockPayloadContext } from "../../flows/ordering/stock-item.ts";
import { encryptSecret } from "../../storage/crypto.ts";
import { Counter, Customer, Tenant } from "../../storage/models/index.ts";

export interface SeedOptions {
  orders: number;
  stock: number;
  /** Default 4. */
  stores?: number;
  /** Per store; default 5. */
  products?: number;
}

export interface SeedCounts {
  stores: number;
  products: number;
  customers: number;
  orders: number;
  stock: number;
  /** Stock items held by an order (sold or reserved). */
  linked: number;
}

const BATCH = 1000;
const DAY = 24 * 60 * 60 * 1000;
const NAMES = ["Siti Rahmawati", "Budi Santoso", "Dewi Lestari", "Agus Pratama", "Rina Wulandari", "Joko Susilo", "Putri Ayu", "Andi Saputra", "Maya Sari", "Rizky Hidayat"];
const CATALOGUE = [
  { code: "pulsa-10k", name: "Pulsa 10K", price: 11_000, category: "Pulsa" },
  { code: "netflix-1m", name: "Netflix Premium 1 Bulan", price: 35_000, category: "Streaming" },
  { code: "spotify-3m", name: "Spotify Premium 3 Bulan", price: 49_000, category: "Streaming" },
  { code: "ml-86", name: "Mobile Legends 86 Diamond", price: 22_500, category: "Game" },
  { code: "gpay-100k", name: "Google Play 100K", price: 102_000, category: "Voucher" },
  { code: "canva-1y", name: "Canva Pro 1 Tahun", price: 45_000, category: "Aplikasi" },
  { code: "steam-60k", name: "Steam Wallet 60K", price: 63_000, category: "Game" },
];
/** Out of every 20 orders: 14 completed, 2 delivered, 1 each paid, waiting for payment, expired, cancelled. */
const STATUS_CYCLE: OrderStatus[] = [...Array<OrderStatus>(14).fill("completed"), "delivered", "delivered", "paid", "pending_payment", "expired", "cancelled"];

interface Store {
  id: Types.ObjectId;
  slug: string;
  products: { id: Types.ObjectId; code: string; name: string; price: number }[];
  snkDigest: string;
}

/** A voucher code or an account login, as sellers upload them. */
function payloadFor(i: number): string {
  const r = randomBytes(12).toString("base64url").toUpperCase();
  return i % 3 === 0 ? `akun${i}@mail.example.com | ${r.slice(0, 12)}` : `${r.slice(0, 4)}-${r.slice(4, 8)}-${r.slice(8, 12)}-${r.slice(12, 16)}`;
}

function orderFor(i: number, store: Store, storeCount: number, customersPerStore: number, now: number, total: number) {
  const status = STATUS_CYCLE[i % STATUS_CYCLE.length];
  const product = store.products[(i * 7 + 3) % store.products.length];
  const quantity = i % 10 === 0 ? 2 : 1;
  const customer = (i * 13) % customersPerStore;
  const createdAt = new Date(now - (total - i) * ((180 * DAY) / Math.max(total, 1)));
  const paid = status !== "pending_payment" && status !== "expired" && status !== "cancelled";
  const delivered = status === "completed" || status === "delivered";
  const method = ["qris", "bank_transfer", "ewallet"][i % 3];
  const reference = `PG-${createdAt.getTime().toString(36).toUpperCase()}-${i}`;
  return {
    _id: new Types.ObjectId(),
    tenantId: store.id,
    code: orderCodeFor(Math.floor(i / storeCount) + 1),
    customer: { channel: "telegram", channelUserId: String(700_000_000 + customer), chatId: String(700_000_000 + customer), locale: i % 4 === 0 ? "en" : "id", name: NAMES[customer % NAMES.length] },
    items: [{ productId: product.id, code: product.code, name: product.name, unitPrice: product.price, quantity }],
    total: product.price * quantity,
    currency: "IDR",
    status,
    expiresAt: new Date(createdAt.getTime() + 30 * 60 * 1000),
    stockItemIds: [] as Types.ObjectId[],
    payment: {
      method,
      reference,
      payUrl: `https://pay.example.com/checkout/${reference}`,
      startedAt: new Date(createdAt.getTime() + 20_000),
      ...(paid ? { paidAt: new Date(createdAt.getTime() + 4 * 60 * 1000), gatewayEventIds: [`evt_${reference.toLowerCase()}`] } : {}),
    },
    delivery: {
      attempts: delivered ? 1 : 0,
      nextAttemptAt: paid ? new Date(createdAt.getTime() + 4 * 60 * 1000) : undefined,
      deliveredAt: delivered ? new Date(createdAt.getTime() + 4 * 60 * 1000 + 900) : undefined,
    },
    snk: {
      acceptedAt: new Date(createdAt.getTime() + 5_000),
      acceptedTextDigest: store.snkDigest,
      ...(delivered
        ? {
            state: status === "completed" ? "confirmed" : "open",
            windowEndsAt: new Date(createdAt.getTime() + DAY),
            remindAt: new Date(createdAt.getTime() + 20 * 60 * 60 * 1000),
            ...(status === "completed" ? { closedAt: new Date(createdAt.getTime() + 2 * 60 * 60 * 1000) } : {}),
          }
        : {}),
    },
    ...(status === "cancelled" ? { closing: { reason: "Dibatalkan oleh pembeli", at: new Date(createdAt.getTime() + 10 * 60 * 1000) } } : {}),
    createdAt,
    updatedAt: new Date(createdAt.getTime() + 2 * 60 * 60 * 1000),
  };
}

async function seedStores(count: number, productsPerStore: number): Promise<Store[]> {
  const stores: Store[] = [];
  const run = randomBytes(3).toString("hex");
  for (let s = 0; s < count; s++) {
    const tenant = await Tenant.create({ slug: `bench-${run}-${s}`, name: `Toko Bench ${s + 1}` });
    const products = await Product.insertMany(
      Array.from({ length: productsPerStore }, (_, p) => {
        const c = CATALOGUE[p % CATALOGUE.length];
        const suffix = p < CATALOGUE.length ? "" : `-${p}`;
        return { tenantId: tenant._id, ...c, code: `${c.code}${suffix}`, description: `Deskripsi ${c.name}: dikirim otomatis setelah pembayaran.`, sortOrder: p, lowStockThreshold: 10 };
      }),
    );
    const snkDigest = createHash("sha256").update(`SNK toko ${s}`).digest("hex");
    stores.push({ id: tenant._id, slug: tenant.slug, snkDigest, products: products.map((p) => ({ id: p._id, code: p.code, name: p.name, price: p.price })) });
  }
  return stores;
}

/** Fills the connected database; `onBatch` sees the documents written so far. */
export async function seedShop(opts: SeedOptions, onBatch?: (written: number) => void): Promise<SeedCounts> {
  const stores = await seedStores(opts.stores ?? 4, opts.products ?? 5);
  const customersPerStore = Math.max(1, Math.ceil(opts.orders / 5 / stores.length));
  let written = 0;
  for (const store of stores) {
    for (let from = 0; from < customersPerStore; from += BATCH) {
      const docs = [];
      for (let c = from; c < Math.min(from + BATCH, customersPerStore); c++) {
        docs.push({ tenantId: store.id, channel: "telegram", channelUserId: String(700_000_000 + c), displayName: NAMES[c % NAMES.length], locale: c % 4 === 0 ? "en" : "id", lastSeenAt: new Date() });
      }
      await Customer.insertMany(docs);
      onBatch?.((written += docs.length));
    }
  }

  const now = Date.now();
  let linked = 0;
  const longest = Math.max(opts.orders, opts.stock);
  for (let from = 0; from < longest; from += BATCH) {
    const orders = [];
    const items = [];
    for (let i = from; i < Math.min(from + BATCH, longest); i++) {
      const store = stores[i % stores.length];
      const order = i < opts.orders ? orderFor(i, store, stores.length, customersPerStore, now, opts.orders) : undefined;
      const holds = order !== undefined && i < opts.stock && ["completed", "delivered", "paid", "pending_payment"].includes(order.status);
      if (i < opts.stock) {
        const _id = new Types.ObjectId();
        const sold = holds && (order.status === "completed" || order.status === "delivered");
        const productId = order ? order.items[0].productId : store.products[i % store.products.length].id;
        items.push({
          _id,
          tenantId: store.id,
          productId,
          payload: encryptSecret(payloadFor(i), stockPayloadContext(store.id)),
          status: holds ? (sold ? "sold" : "reserved") : "available",
          ...(holds ? { orderId: order._id, reservedAt: order.createdAt, reservedUntil: order.expiresAt } : {}),
          ...(sold ? { soldAt: order.payment.paidAt, deliveredAt: order.delivery.deliveredAt } : {}),
        });
        if (holds) {
          order.stockItemIds = [_id];
          linked++;
        }
      }
      if (order) orders.push(order);
    }
    await Order.insertMany(orders);
    await StockItem.insertMany(items);
    onBatch?.((written += orders.length + items.length));
  }
  await Counter.insertMany(stores.map((s, k) => ({ tenantId: s.id, name: "order", seq: Math.ceil((opts.orders - k) / stores.length) })));
  return { stores: stores.length, products: stores.length * (opts.products ?? 5), customers: customersPerStore * stores.length, orders: opts.orders, stock: opts.stock, linked };
}
