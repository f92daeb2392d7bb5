// The per-store limits: broadcasts per day (the store's calendar day) and recipients per
// broadcast. The platform owner sets a store's own on the tenant (`limits.broadcast`);
// otherwise the platform's defaults apply.
import type { Types } from "mongoose";
import { Tenant } from "../../storage/models/index.ts";
import { startOfStoreDay } from "../tenant-admin/sales-report.ts";
import type { BroadcastLimits } from "./contract.ts";
import { Broadcast } from "./broadcast-model.ts";
import type { BroadcastContext } from "./broadcast-records.ts";

export async function storeLimits(ctx: BroadcastContext, tenantId: Types.ObjectId): Promise<BroadcastLimits> {
  const tenant = await Tenant.findById(tenantId, { "limits.broadcast": 1 }).lean<{ limits?: { broadcast?: Partial<BroadcastLimits> | null } | null }>().exec();
  const own = tenant?.limits?.broadcast ?? {};
  return {
    perDay: typeof own.perDay === "number" ? own.perDay : ctx.limits.perDay,
    maxRecipients: typeof own.maxRecipients === "number" ? own.maxRecipients : ctx.limits.maxRecipients,
  };
}

/**
 * How many broadcasts of the store run on the store's calendar day of `at`: scheduled for
 * it or started on it, whatever became of them since, except those cancelled before they
 * started (a draft never counts).
 */
export async function broadcastsOnDay(tenantId: Types.ObjectId, at: Date, timeZone: string, except?: Types.ObjectId): Promise<number> {
  const from = startOfStoreDay(at, timeZone);
  const to = startOfStoreDay(at, timeZone, -1);
  return Broadcast.countDocuments({
    tenantId,
    scheduledAt: { $gte: from, $lt: to },
    $or: [{ status: { $in: ["scheduled", "preparing", "sending", "paused", "done"] } }, { status: "cancelled", startedAt: { $exists: true } }],
    ...(except && { _id: { $ne: except } }),
  }).exec();
}
