// The store's catalog as customers see it: active products in the store's order, with
// their live stock. Prices are formatted for the store's currency and the user's language.
import { Types } from "mongoose";
import type { Locale } from "../engine/message.ts";
import { Tenant } from "../../storage/models/index.ts";
import { Product } from "./product.ts";
import { StockItem } from "./stock-item.ts";

export interface CatalogEntry {
  code: string;
  name: string;
  description: string;
  price: number;
  status: "active" | "hidden";
  /** Stock items still available to buy. */
  available: number;
}

/** The store's products in catalog order with available stock; hidden ones only when asked. */
export async function listCatalog(tenantId: string, opts: { includeHidden?: boolean } = {}): Promise<CatalogEntry[]> {
  const tenant = new Types.ObjectId(tenantId);
  const [products, stock] = await Promise.all([
    Product.find({ tenantId: tenant, ...(!opts.includeHidden && { status: "active" }) })
      .sort({ sortOrder: 1, name: 1 })
      .lean()
      .exec(),
    StockItem.aggregate<{ _id: Types.ObjectId; available: number }>([
      { $match: { tenantId: tenant, status: "available" } },
      { $group: { _id: "$productId", available: { $sum: 1 } } },
    ]).exec(),
  ]);
  const availableByProduct = new Map(stock.map((s) => [s._id.toString(), s.available]));
  return products.map((p) => ({
    code: p.code,
    name: p.name,
    description: p.description ?? "",
    price: p.price,
    status: p.status ?? "active",
    available: availableByProduct.get(p._id.toString()) ?? 0,
  }));
}

/** One active product with its available stock, or `undefined` when it is gone or hidden. */
export async function findCatalogEntry(tenantId: string, code: string): Promise<CatalogEntry | undefined> {
  const tenant = new Types.ObjectId(tenantId);
  const product = await Product.findOne({ tenantId: tenant, code, status: "active" }).lean().exec();
  if (!product) return undefined;
  const available = await StockItem.countDocuments({ tenantId: tenant, productId: product._id, status: "available" }).exec();
  return { code: product.code, name: product.name, description: product.description ?? "", price: product.price, status: "active", available };
}

/** The store's currency (ISO 4217). */
export async function storeCurrency(tenantId: string): Promise<string> {
  const tenant = await Tenant.findById(tenantId, { currency: 1 }).lean().exec();
  return tenant?.currency ?? "IDR";
}

// Currencies whose smallest unit in daily use is the whole unit (rupiah are never written with sen).
const WHOLE_UNIT_CURRENCIES = new Set(["IDR", "JPY", "KRW", "VND", "CLP", "ISK"]);

/** Digits after the decimal sign in the currency's prices: 0 for the rupiah and other whole-unit currencies, else 2. */
export function minorDigits(currency: string): 0 | 2 {
  return WHOLE_UNIT_CURRENCIES.has(currency) ? 0 : 2;
}

/**
 * A price as people in the store's market write it: `Rp25.000` in Indonesian,
 * `Rp25,000` in English. `amount` is in the currency's smallest unit.
 */
export function formatPrice(amount: number, currency: string, locale: Locale): string {
  const digits = minorDigits(currency);
  return new Intl.NumberFormat(locale === "id" ? "id-ID" : "en-US", {
    style: "currency",
    currency,
    currencyDisplay: "narrowSymbol",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
    .format(amount / 10 ** digits)
    .replace(/[\s\u00a0]+/g, "");
}
