// Low-stock alerts: when a product's available stock falls to its threshold, the store's
// owners and admins (and its team room) hear it once; they hear it again only after stock has risen above the
// threshold and fallen again. The scheduler runs `checkLowStock` after stock changes (an
// order reserved or sold items, a seller added some), never on a timer per order.
import { Schema, Types, model } from "mongoose";
import type { EngineLog } from "../engine/actions.ts";
import type { Role } from "../../storage/models/index.ts";
import { tenantScoped } from "../../storage/tenant-scope.ts";
import { Product } from "../ordering/product.ts";
import { StockItem } from "../ordering/stock-item.ts";
import type { TeamOutbox } from "./admin-services.ts";
import { actionChoice, tellTeam } from "./seller-alerts.ts";

const lowStockStateSchema = new Schema(
  {
    tenantId: { type: Schema.Types.ObjectId, required: true },
    productId: { type: Schema.Types.ObjectId, required: true },
    /** True from the alert until stock rises above the threshold again. */
    alerted: { type: Boolean, required: true },
    alertedAt: { type: Date },
  },
  { collection: "low_stock_states", timestamps: true },
);
lowStockStateSchema.plugin(tenantScoped);
lowStockStateSchema.index({ tenantId: 1, productId: 1 }, { unique: true });

export const LowStockState = model("LowStockState", lowStockStateSchema);

/** The Agenda job the composition root defines; its data is `{ tenantId, productId }`. */
export const LOW_STOCK_JOB = "tenant-admin.check-low-stock";

export type LowStockOutcome = "no-threshold" | "enough" | "alerted" | "already-alerted" | "no-product";

const ALERTED_ROLES: Role[] = ["owner", "admin"];

/**
 * Compares a product's available stock with its threshold and alerts the store's owners
 * and admins once per crossing. Safe to run any number of times, concurrently too: the
 * alert is claimed with one conditional write before anyone is told.
 */
export async function checkLowStock(tenantId: string, productId: string, outbox: TeamOutbox | undefined, log?: EngineLog): Promise<LowStockOutcome> {
  if (!Types.ObjectId.isValid(tenantId) || !Types.ObjectId.isValid(productId)) return "no-product";
  const tenant = new Types.ObjectId(tenantId);
  const productOid = new Types.ObjectId(productId);
  const product = await Product.findOne({ tenantId: tenant, _id: productOid }, { code: 1, name: 1, lowStockThreshold: 1 })
    .lean<{ code: string; name: string; lowStockThreshold?: number }>()
    .exec();
  if (!product) return "no-product";
  const threshold = product.lowStockThreshold ?? 0;
  const available = await StockItem.countDocuments({ tenantId: tenant, productId: productOid, status: "available" }).exec();
  if (threshold <= 0 || available > threshold) {
    // Re-arms the alert for the next fall.
    await LowStockState.updateOne({ tenantId: tenant, productId: productOid, alerted: true }, { $set: { alerted: false } }).exec();
    return threshold <= 0 ? "no-threshold" : "enough";
  }
  try {
    const claimed = await LowStockState.findOneAndUpdate(
      { tenantId: tenant, productId: productOid, alerted: { $ne: true } },
      { $set: { alerted: true, alertedAt: new Date() } },
      { upsert: true, returnDocument: "after" },
    ).exec();
    if (!claimed) return "already-alerted";
  } catch (err) {
    // The upsert met the unique index: the state exists and is already alerted.
    if ((err as { code?: number }).code === 11000) return "already-alerted";
    throw err;
  }
  await alertSellers(tenantId, { sku: product.code, name: product.name, count: available, threshold }, outbox, log);
  return "alerted";
}

async function alertSellers(
  tenantId: string,
  params: { sku: string; name: string; count: number; threshold: number },
  outbox: TeamOutbox | undefined,
  log: EngineLog | undefined,
): Promise<void> {
  if (!outbox) {
    log?.warn("low stock, but no outbox to tell the sellers is configured", { sku: params.sku });
    return;
  }
  const key = params.count === 0 ? "admin.low_stock.sold_out_alert" : "admin.low_stock.alert";
  const choices = actionChoice("desk.alert_action.add_stock", "tambahstok", params.sku);
  await tellTeam(tenantId, ALERTED_ROLES, (store) => ({ text: { key, params: { ...params, store: store.name } } }), outbox, log, "low_stock", { room: { choices } });
}
