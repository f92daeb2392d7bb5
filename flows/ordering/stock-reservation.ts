// Holding stock for an order without transactions.
//
// Each unit is taken with one conditional single-document update
// (`available` → `reserved` for this order), so two buyers can never hold the same
// item, on a standalone mongod as on a replica set. A buyer who cannot get every unit
// they asked for gives back what they got. Items are tagged with their order's id
// before the order document exists, so a crash between the two leaves a trail: items
// reserved for an order that never appeared, which `releaseOrphanedReservations`
// returns to sale once their `reservedUntil` has passed.
import type { Types } from "mongoose";
import { HOLDING_STATUSES, Order, type OrderStatus } from "./order.ts";
import { StockItem } from "./stock-item.ts";

export type ReservationResult =
  | { ok: true; stockItemIds: Types.ObjectId[] }
  /** Nothing left, or fewer than asked (`available` is what was free just after the attempt). */
  | { ok: false; reason: "sold_out" | "not_enough_stock"; available: number };

/**
 * Reserves `quantity` available items of one product for `orderId` until `reservedUntil`.
 * All or nothing: when fewer could be had, the ones taken are released before returning.
 *
 * ```ts
 * const held = await reserveStock(tenantId, product._id, orderId, 2, deadline);
 * if (!held.ok) return held.reason; // "sold_out" | "not_enough_stock"
 * ```
 */
export async function reserveStock(
  tenantId: Types.ObjectId,
  productId: Types.ObjectId,
  orderId: Types.ObjectId,
  quantity: number,
  reservedUntil: Date,
): Promise<ReservationResult> {
  const now = new Date();
  // Independent single-document updates: they may run side by side, each takes a different item.
  const taken = await Promise.all(
    Array.from({ length: quantity }, () =>
      StockItem.findOneAndUpdate(
        { tenantId, productId, status: "available" },
        { $set: { status: "reserved", orderId, reservedAt: now, reservedUntil } },
        { projection: { _id: 1 }, returnDocument: "after" },
      )
        .lean()
        .exec(),
    ),
  );
  const ids = taken.filter((doc) => doc !== null).map((doc) => doc._id);
  if (ids.length === quantity) return { ok: true, stockItemIds: ids };
  // None taken: every attempt found nothing available, so there is nothing to count.
  if (ids.length === 0) return { ok: false, reason: "sold_out", available: 0 };
  await releaseReservation(tenantId, orderId);
  const available = await StockItem.countDocuments({ tenantId, productId, status: "available" }).exec();
  return { ok: false, reason: available === 0 ? "sold_out" : "not_enough_stock", available };
}

/** Puts an order's reserved (not sold) items back on sale. Safe to repeat; returns how many were released. */
export async function releaseReservation(tenantId: Types.ObjectId, orderId: Types.ObjectId): Promise<number> {
  const res = await StockItem.updateMany(
    { tenantId, orderId, status: "reserved" },
    { $set: { status: "available" }, $unset: { orderId: 1, reservedAt: 1, reservedUntil: 1 } },
  ).exec();
  return res.modifiedCount;
}

/** Marks an order's reserved items sold and delivered. Safe to repeat. */
export async function markStockSold(tenantId: Types.ObjectId, orderId: Types.ObjectId, at: Date): Promise<number> {
  const res = await StockItem.updateMany({ tenantId, orderId, status: "reserved" }, { $set: { status: "sold", soldAt: at, deliveredAt: at } }).exec();
  return res.modifiedCount;
}

export interface OrphanSweepReport {
  /** Items returned to sale because their order never existed or has ended. */
  released: number;
  /** Items of delivered orders that a crash left reserved, now recorded as sold. */
  markedSold: number;
  /** Items whose order still holds them; looked at again later. */
  stillHeld: number;
}

/** How long a live order's overdue reservation is left alone before the sweep looks again. */
const RECHECK_MS = 60 * 60 * 1000;

/**
 * The safety net for reservations: across all stores, every reserved item past its
 * `reservedUntil` is checked against its order. Orders that still hold stock (unpaid
 * or paid) keep it; delivered orders get their items marked sold; anything else —
 * including an order that never came into being after a crash — releases it.
 */
export async function releaseOrphanedReservations(now = new Date(), batch = 1000): Promise<OrphanSweepReport> {
  const report: OrphanSweepReport = { released: 0, markedSold: 0, stillHeld: 0 };
  const overdue = await StockItem.find({ status: "reserved", reservedUntil: { $lte: now } }, { tenantId: 1, orderId: 1 })
    .setOptions({ crossTenant: true })
    .limit(batch)
    .lean()
    .exec();
  const byOrder = new Map<string, { tenantId: Types.ObjectId; orderId?: Types.ObjectId; itemIds: Types.ObjectId[] }>();
  for (const item of overdue) {
    const key = `${String(item.tenantId)}:${String(item.orderId ?? item._id)}`;
    const group = byOrder.get(key) ?? { tenantId: item.tenantId, orderId: item.orderId ?? undefined, itemIds: [] };
    group.itemIds.push(item._id);
    byOrder.set(key, group);
  }
  for (const { tenantId, orderId, itemIds } of byOrder.values()) {
    const order = orderId ? await Order.findOne({ tenantId, _id: orderId }, { status: 1 }).lean().exec() : null;
    const status = order?.status as OrderStatus | undefined;
    const mine = { tenantId, _id: { $in: itemIds }, status: "reserved" as const };
    if (status && HOLDING_STATUSES.includes(status)) {
      await StockItem.updateMany(mine, { $set: { reservedUntil: new Date(now.getTime() + RECHECK_MS) } }).exec();
      report.stillHeld += itemIds.length;
    } else if (status === "delivered" || status === "completed") {
      const res = await StockItem.updateMany(mine, { $set: { status: "sold", soldAt: now, deliveredAt: now } }).exec();
      report.markedSold += res.modifiedCount;
    } else {
      const res = await StockItem.updateMany(mine, { $set: { status: "available" }, $unset: { orderId: 1, reservedAt: 1, reservedUntil: 1 } }).exec();
      report.released += res.modifiedCount;
    }
  }
  return report;
}
