// Sales for a period in the store's own calendar: "today" starts at midnight where the
// store is, not where the server is. Orders are counted by when they were placed;
// revenue counts the ones that were paid and not refunded.
import { Types } from "mongoose";
import { Order } from "../ordering/order.ts";

export const PERIODS = ["today", "7d", "30d"] as const;
export type Period = (typeof PERIODS)[number];

/** Orders whose money the store keeps. */
const EARNING = ["paid", "delivered", "completed"];

export interface SalesReport {
  from: Date;
  to: Date;
  orders: number;
  byStatus: Record<string, number>;
  revenue: number;
  top: { sku: string; name: string; quantity: number; revenue: number }[];
}

/** Milliseconds the zone is ahead of UTC at that instant (Asia/Jakarta: +7 h). */
export function zoneOffset(at: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second) - Math.floor(at / 1000) * 1000;
}

/** The instant the store's calendar day `daysBack` days before `now`'s began. */
export function startOfStoreDay(now: Date, timeZone: string, daysBack = 0): Date {
  const local = new Date(now.getTime() + zoneOffset(now.getTime(), timeZone));
  const midnightAsUtc = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - daysBack);
  // Twice: the offset at local midnight may differ from now's across a daylight-saving change.
  const guess = midnightAsUtc - zoneOffset(midnightAsUtc, timeZone);
  return new Date(midnightAsUtc - zoneOffset(guess, timeZone));
}

export function periodStart(period: Period, now: Date, timeZone: string): Date {
  return startOfStoreDay(now, timeZone, period === "today" ? 0 : period === "7d" ? 6 : 29);
}

export async function salesReport(tenantId: string, period: Period, timeZone: string, now: Date): Promise<SalesReport> {
  const tenant = new Types.ObjectId(tenantId);
  const from = periodStart(period, now, timeZone);
  const placed = { tenantId: tenant, createdAt: { $gte: from, $lte: now } };
  const [statuses, top] = await Promise.all([
    Order.aggregate<{ _id: string; count: number; revenue: number }>([
      { $match: placed },
      { $group: { _id: "$status", count: { $sum: 1 }, revenue: { $sum: "$total" } } },
    ]).exec(),
    Order.aggregate<{ _id: string; name: string; quantity: number; revenue: number }>([
      { $match: { ...placed, status: { $in: EARNING } } },
      { $unwind: "$items" },
      {
        $group: {
          _id: "$items.code",
          name: { $last: "$items.name" },
          quantity: { $sum: "$items.quantity" },
          revenue: { $sum: { $multiply: ["$items.unitPrice", "$items.quantity"] } },
        },
      },
      { $sort: { quantity: -1, revenue: -1, _id: 1 } },
      { $limit: 5 },
    ]).exec(),
  ]);
  const byStatus = Object.fromEntries(statuses.map((s) => [s._id, s.count]));
  return {
    from,
    to: now,
    orders: statuses.reduce((sum, s) => sum + s.count, 0),
    byStatus,
    revenue: statuses.filter((s) => EARNING.includes(s._id)).reduce((sum, s) => sum + s.revenue, 0),
    top: top.map((p) => ({ sku: p._id, name: p.name, quantity: p.quantity, revenue: p.revenue })),
  };
}
