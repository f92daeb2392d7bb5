// The seller's side of the catalog: checking what a seller typed (sku, name, …; a price in
// price-input.ts), and creating, changing, hiding and listing products. Knows nothing of
// chats: it returns verdicts with an i18n key and params the flow shows as they are.
import { Types } from "mongoose";
import type { TextParams } from "../engine/message.ts";
import { Product } from "../ordering/product.ts";
import { StockItem } from "../ordering/stock-item.ts";

export type Verdict<T> = { ok: true; value: T } | { ok: false; key: string; params?: TextParams };

const ok = <T>(value: T): Verdict<T> => ({ ok: true, value });
const no = (key: string, params?: TextParams): Verdict<never> => ({ ok: false, key, params });

export const LIMITS = {
  sku: 32,
  name: 80,
  description: 1000,
  category: 40,
  perOrderMax: 1000,
  lowStockThreshold: 100_000,
} as const;

/** Typed by the seller as "-" (or "kosong"/"none") to leave an optional field empty. */
const EMPTY_ANSWERS = new Set(["-", "kosong", "none", "tidak ada"]);

export function isEmptyAnswer(raw: string): boolean {
  return EMPTY_ANSWERS.has(raw.trim().toLowerCase());
}

/** "Netflix-1M" → "netflix-1m". The sku is the product's `code`: what customers' buttons carry. */
export function checkSku(raw: string): Verdict<string> {
  const sku = raw.trim().toLowerCase();
  if (sku.length === 0) return no("admin.product.sku_invalid", { max: LIMITS.sku });
  if (sku.length > LIMITS.sku) return no("admin.product.sku_too_long", { max: LIMITS.sku, length: sku.length });
  if (!/^[a-z0-9][a-z0-9-]*$/.test(sku)) return no("admin.product.sku_invalid", { max: LIMITS.sku });
  return ok(sku);
}

export function checkName(raw: string): Verdict<string> {
  const name = raw.trim().replace(/\s+/g, " ");
  if (name.length === 0) return no("admin.product.name_empty");
  if (name.length > LIMITS.name) return no("admin.product.name_too_long", { max: LIMITS.name, length: name.length });
  return ok(name);
}

export function checkDescription(raw: string): Verdict<string> {
  if (isEmptyAnswer(raw)) return ok("");
  const description = raw.trim();
  if (description.length > LIMITS.description) return no("admin.product.description_too_long", { max: LIMITS.description, length: description.length });
  return ok(description);
}

export function checkCategory(raw: string): Verdict<string> {
  if (isEmptyAnswer(raw)) return ok("");
  const category = raw.trim().replace(/\s+/g, " ");
  if (category.length > LIMITS.category) return no("admin.product.category_too_long", { max: LIMITS.category, length: category.length });
  return ok(category);
}

/** A whole number for an optional setting; "-" leaves it unset (`null`). */
export function checkOptionalWhole(raw: string, min: number, max: number): Verdict<number | null> {
  if (isEmptyAnswer(raw)) return ok(null);
  const typed = raw.trim();
  // "1000", "1.000" and "1,000" are the same number to a seller.
  if (!/^(\d+|\d{1,3}([.,]\d{3})+)$/.test(typed)) return no("admin.product.whole_number", { min, max });
  const value = Number(typed.replace(/[.,]/g, ""));
  if (value < min || value > max) return no("admin.product.whole_number", { min, max });
  return ok(value);
}

export interface ProductDraft {
  sku: string;
  name: string;
  price: number;
  description: string;
  category: string;
  perOrderMax: number | null;
  lowStockThreshold: number;
}

/** What the audit log and the seller see of a product. */
export interface ProductView {
  id: string;
  sku: string;
  name: string;
  price: number;
  description: string;
  category: string;
  perOrderMax: number | null;
  lowStockThreshold: number;
  status: "active" | "hidden";
}

type StoredProduct = {
  _id: Types.ObjectId;
  code: string;
  name: string;
  price: number;
  description?: string | null;
  category?: string | null;
  perOrderMax?: number | null;
  lowStockThreshold?: number | null;
  status?: "active" | "hidden" | null;
  updatedAt?: Date;
};

function viewOf(p: StoredProduct): ProductView {
  return {
    id: p._id.toString(),
    sku: p.code,
    name: p.name,
    price: p.price,
    description: p.description ?? "",
    category: p.category ?? "",
    perOrderMax: p.perOrderMax ?? null,
    lowStockThreshold: p.lowStockThreshold ?? 0,
    status: p.status ?? "active",
  };
}

const tenantOid = (tenantId: string) => new Types.ObjectId(tenantId);

/** A product as found, with `version`: when it last changed, for saving an edit only if nobody changed it since. */
export async function findProduct(tenantId: string, sku: string): Promise<(ProductView & { version: string }) | undefined> {
  const product = await Product.findOne({ tenantId: tenantOid(tenantId), code: sku }).lean<StoredProduct>().exec();
  return product ? { ...viewOf(product), version: versionOf(product) } : undefined;
}

function versionOf(product: StoredProduct): string {
  return product.updatedAt?.toISOString() ?? "";
}

export async function skuTaken(tenantId: string, sku: string): Promise<boolean> {
  return (await Product.exists({ tenantId: tenantOid(tenantId), code: sku })) !== null;
}

/** Creates the product at the end of the catalog; `taken` when the sku was claimed meanwhile. */
export async function createProduct(tenantId: string, draft: ProductDraft): Promise<{ created: ProductView } | { taken: true }> {
  const tenant = tenantOid(tenantId);
  const last = await Product.findOne({ tenantId: tenant }, { sortOrder: 1 }).sort({ sortOrder: -1 }).lean<{ sortOrder?: number }>().exec();
  const doc = new Product(
    {
      tenantId: tenant,
      code: draft.sku,
      name: draft.name,
      price: draft.price,
      description: draft.description,
      category: draft.category,
      ...(draft.perOrderMax !== null && { perOrderMax: draft.perOrderMax }),
      lowStockThreshold: draft.lowStockThreshold,
      sortOrder: (last?.sortOrder ?? 0) + 1,
    },
  );
  try {
    await doc.save();
  } catch (err) {
    if ((err as { code?: number }).code === 11000) return { taken: true };
    throw err;
  }
  return { created: viewOf(doc.toObject() as StoredProduct) };
}

export type ProductField = "name" | "description" | "category" | "price" | "perOrderMax" | "lowStockThreshold" | "status";

/**
 * Changes fields of one product; returns it before and after, or `undefined` when the store
 * has no such sku. With `unchangedSince` (a `version` from `findProduct`), only if nobody
 * changed the product since: otherwise nothing is written and `conflict` is the product now.
 */
export async function updateProduct(
  tenantId: string,
  sku: string,
  changes: Partial<Record<ProductField, string | number | null>>,
  { unchangedSince }: { unchangedSince?: string } = {},
): Promise<{ before: ProductView; after: ProductView } | { conflict: ProductView } | undefined> {
  const set: Record<string, unknown> = {};
  const unset: Record<string, 1> = {};
  for (const [field, value] of Object.entries(changes)) {
    if (value === null) unset[field] = 1;
    else set[field] = value;
  }
  const update = { ...(Object.keys(set).length > 0 && { $set: set }), ...(Object.keys(unset).length > 0 && { $unset: unset }) };
  const filter = { tenantId: tenantOid(tenantId), code: sku, ...(unchangedSince && { updatedAt: new Date(unchangedSince) }) };
  const before = await Product.findOneAndUpdate(filter, update, { returnDocument: "before", runValidators: true })
    .lean<StoredProduct>()
    .exec();
  if (!before) {
    const now = unchangedSince ? await findProduct(tenantId, sku) : undefined;
    if (!now) return undefined;
    const { version: _version, ...conflict } = now;
    return { conflict };
  }
  const after = { ...before, ...set } as StoredProduct;
  for (const field of Object.keys(unset)) delete (after as Record<string, unknown>)[field];
  return { before: viewOf(before), after: viewOf(after) };
}

export interface ProductStock {
  product: ProductView;
  available: number;
  reserved: number;
  sold: number;
}

/** Every product of the store (hidden ones too) with its stock by status, in catalog order. */
export async function listProductsWithStock(tenantId: string): Promise<ProductStock[]> {
  const tenant = tenantOid(tenantId);
  const [products, counts] = await Promise.all([
    Product.find({ tenantId: tenant }).sort({ sortOrder: 1, name: 1 }).lean<StoredProduct[]>().exec(),
    StockItem.aggregate<{ _id: { product: Types.ObjectId; status: string }; count: number }>([
      { $match: { tenantId: tenant } },
      { $group: { _id: { product: "$productId", status: "$status" }, count: { $sum: 1 } } },
    ]).exec(),
  ]);
  const byProduct = new Map<string, Record<string, number>>();
  for (const { _id, count } of counts) {
    const key = _id.product.toString();
    byProduct.set(key, { ...byProduct.get(key), [_id.status]: count });
  }
  return products.map((p) => {
    const c = byProduct.get(p._id.toString()) ?? {};
    return { product: viewOf(p), available: c.available ?? 0, reserved: c.reserved ?? 0, sold: c.sold ?? 0 };
  });
}

/** Available stock at or below the product's threshold (0 = the seller wants no warning). */
export function isLowStock(product: Pick<ProductView, "lowStockThreshold">, available: number): boolean {
  return product.lowStockThreshold > 0 && available <= product.lowStockThreshold;
}
