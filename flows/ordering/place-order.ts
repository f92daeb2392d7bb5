// Checkout: turning "2 × Netflix 1 Bulan" into an order that holds its stock until paid.
import { createHash } from "node:crypto";
import { Types } from "mongoose";
import { CHANNELS, Customer, nextSequence, type Channel } from "../../storage/models/index.ts";
import { asObjectId } from "./object-ids.ts";
import { Order, normalizeOrderCode, orderCodeFor, toOrderView, type CustomerKey, type CustomerRef, type OrderRecord, type OrderView } from "./order.ts";
import { emit, logOf, type OrderingDeps } from "./ordering-deps.ts";
import { Product } from "./product.ts";
import { StockItem } from "./stock-item.ts";
import { releaseReservation, reserveStock } from "./stock-reservation.ts";
import { storeSettings } from "./store-settings.ts";

/** Unpaid orders one customer may have open in a store: enough for real use, too few to hoard stock. */
export const MAX_OPEN_ORDERS_PER_CUSTOMER = 3;
/** Reservations outlive their order's deadline by this much, so the sweep never beats the order's own expiry. */
const RESERVATION_GRACE_MS = 10 * 60 * 1000;

export interface OrderLine {
  /** The product's code in the store (`netflix-1m`). */
  productCode: string;
  quantity: number;
}

export interface PlaceOrderInput {
  tenantId: string;
  customer: CustomerRef;
  items: OrderLine[];
  /** The customer accepted the store's SNK in this conversation (recorded with the text's digest). */
  snkAccepted?: boolean;
}

/** Why an order was not placed; each is something the customer can be told and act on. */
export type PlaceOrderRefusal =
  | { ok: false; reason: "store_unavailable" }
  | { ok: false; reason: "customer_blocked" }
  | { ok: false; reason: "too_many_open_orders"; limit: number }
  | { ok: false; reason: "product_unavailable"; productCode: string }
  | { ok: false; reason: "quantity_invalid"; productCode: string; max: number }
  | { ok: false; reason: "sold_out"; productCode: string }
  | { ok: false; reason: "not_enough_stock"; productCode: string; available: number };

export type PlaceOrderResult = { ok: true; order: OrderView } | PlaceOrderRefusal;

/**
 * Places an order: checks the store, the customer and each product (active, quantity
 * within its per-order maximum), reserves the stock all-or-nothing, numbers the order
 * (`INV-000123`) and starts its payment clock. A product hidden or sold out since the
 * customer saw it is a refusal, not an exception.
 *
 * ```ts
 * const placed = await placeOrder(deps, {
 *   tenantId, customer: { channel: "telegram", channelUserId: "42", chatId: "42", locale: "id" },
 *   items: [{ productCode: "netflix-1m", quantity: 1 }], snkAccepted: true,
 * });
 * if (!placed.ok) … placed.reason …
 * ```
 */
export async function placeOrder(deps: OrderingDeps, input: PlaceOrderInput): Promise<PlaceOrderResult> {
  const tenantId = asObjectId(input.tenantId);
  if (!tenantId) return { ok: false, reason: "store_unavailable" };
  const lines = mergeLines(input.items);
  const channel = input.customer.channel as Channel;
  // Independent reads, side by side: a checkout's latency is its round trips.
  const [store, customerRecord, open, products] = await Promise.all([
    storeSettings(tenantId),
    CHANNELS.includes(channel) ? Customer.findOne({ tenantId, channel, channelUserId: input.customer.channelUserId }, { blocked: 1 }).lean().exec() : null,
    Order.countDocuments({
      tenantId,
      "customer.channel": input.customer.channel,
      "customer.channelUserId": input.customer.channelUserId,
      status: "pending_payment",
    }).exec(),
    Product.find({ tenantId, code: { $in: lines.map((l) => l.productCode) }, status: "active" }).lean().exec(),
  ]);
  if (!store || !store.active) return { ok: false, reason: "store_unavailable" };
  if (lines.length === 0) return { ok: false, reason: "quantity_invalid", productCode: "", max: store.ordering.maxQuantityPerOrder };
  if (customerRecord?.blocked) return { ok: false, reason: "customer_blocked" };
  if (open >= MAX_OPEN_ORDERS_PER_CUSTOMER) return { ok: false, reason: "too_many_open_orders", limit: MAX_OPEN_ORDERS_PER_CUSTOMER };

  const byCode = new Map(products.map((p) => [p.code, p]));
  for (const line of lines) {
    const product = byCode.get(line.productCode);
    if (!product) return { ok: false, reason: "product_unavailable", productCode: line.productCode };
    const max = product.perOrderMax ?? store.ordering.maxQuantityPerOrder;
    if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > max) {
      return { ok: false, reason: "quantity_invalid", productCode: line.productCode, max };
    }
  }

  const now = new Date();
  const orderId = new Types.ObjectId();
  const expiresAt = new Date(now.getTime() + store.ordering.paymentTimeoutMinutes * 60_000);
  const reservedUntil = new Date(expiresAt.getTime() + RESERVATION_GRACE_MS);
  const stockItemIds: Types.ObjectId[] = [];
  for (const line of lines) {
    const product = byCode.get(line.productCode)!;
    const held = await reserveStock(tenantId, product._id, orderId, line.quantity, reservedUntil);
    if (!held.ok) {
      if (stockItemIds.length > 0) await releaseReservation(tenantId, orderId);
      return held.reason === "sold_out"
        ? { ok: false, reason: "sold_out", productCode: line.productCode }
        : { ok: false, reason: "not_enough_stock", productCode: line.productCode, available: held.available };
    }
    stockItemIds.push(...held.stockItemIds);
  }

  let order: OrderRecord;
  try {
    const code = orderCodeFor(await nextSequence(tenantId, "order"));
    const items = lines.map((line) => {
      const p = byCode.get(line.productCode)!;
      return { productId: p._id, code: p.code, name: p.name, unitPrice: p.price, quantity: line.quantity };
    });
    const created = await Order.create({
      _id: orderId,
      tenantId,
      code,
      customer: { ...input.customer, name: input.customer.name?.slice(0, 128) },
      items,
      total: items.reduce((sum, i) => sum + i.unitPrice * i.quantity, 0),
      currency: store.currency,
      status: "pending_payment",
      expiresAt,
      stockItemIds,
      ...(input.snkAccepted ? { snk: { acceptedAt: now, acceptedTextDigest: snkDigest(store.ordering.snkText) } } : {}),
    });
    order = created.toObject() as OrderRecord;
  } catch (error) {
    // The reservation must not outlive an order that was never written.
    await releaseReservation(tenantId, orderId).catch(() => undefined);
    throw error;
  }

  try {
    await deps.timers?.orderPlaced({ tenantId: String(tenantId), orderId: String(orderId), expiresAt });
  } catch (error) {
    // The periodic sweep expires the order anyway; this only makes it later.
    logOf(deps).warn("could not schedule order expiry; the sweep will expire it", { orderCode: order.code, error: (error as Error).message });
  }
  emit(deps, { type: "order_placed", tenantId: String(tenantId), orderCode: order.code, productIds: [...new Set(order.items.map((i) => String(i.productId)))] });
  return { ok: true, order: toOrderView(order) };
}

export type OrderableQuantity = { ok: true; max: number; available: number } | { ok: false; reason: "product_unavailable" | "sold_out" };

/**
 * How many of a product one order may take right now: the smaller of its per-order
 * maximum and the stock available. For the quantity question ("1–5?").
 */
export async function orderableQuantity(tenantId: string, productCode: string): Promise<OrderableQuantity> {
  const store = await storeSettings(tenantId);
  if (!store || !store.active) return { ok: false, reason: "product_unavailable" };
  const product = await Product.findOne({ tenantId: store.tenantId, code: productCode, status: "active" }).lean().exec();
  if (!product) return { ok: false, reason: "product_unavailable" };
  const available = await StockItem.countDocuments({ tenantId: store.tenantId, productId: product._id, status: "available" }).exec();
  if (available === 0) return { ok: false, reason: "sold_out" };
  return { ok: true, max: Math.min(product.perOrderMax ?? store.ordering.maxQuantityPerOrder, available), available };
}

export type AcceptSnkResult = { ok: true } | { ok: false; reason: "not_found" | "not_pending" };

/** Records that the customer accepted the store's SNK for an unpaid order (when the flow asks after placing it). */
export async function acceptSnk(tenantId: string, customer: CustomerKey, code: string): Promise<AcceptSnkResult> {
  const tenant = asObjectId(tenantId);
  const normalized = normalizeOrderCode(code);
  if (!tenant || !normalized) return { ok: false, reason: "not_found" };
  const store = await storeSettings(tenant);
  const mine = { tenantId: tenant, code: normalized, "customer.channel": customer.channel, "customer.channelUserId": customer.channelUserId };
  const res = await Order.updateOne(
    { ...mine, status: "pending_payment" },
    { $set: { "snk.acceptedAt": new Date(), "snk.acceptedTextDigest": snkDigest(store?.ordering.snkText ?? "") } },
  ).exec();
  if (res.matchedCount === 1) return { ok: true };
  return (await Order.exists(mine)) ? { ok: false, reason: "not_pending" } : { ok: false, reason: "not_found" };
}

export function snkDigest(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** One line per product: "2 × A" and "1 × A" in one order are "3 × A"; a bad quantity spoils its line. */
function mergeLines(items: readonly OrderLine[]): OrderLine[] {
  const merged = new Map<string, number>();
  for (const item of items ?? []) {
    const code = String(item.productCode ?? "").trim();
    if (!code) continue;
    const quantity = Number.isInteger(item.quantity) && item.quantity >= 1 ? item.quantity : Number.NaN;
    merged.set(code, (merged.get(code) ?? 0) + quantity);
  }
  return [...merged].map(([productCode, quantity]) => ({ productCode, quantity }));
}
