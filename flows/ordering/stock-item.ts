// One deliverable unit of a product (a voucher code, an account login). The payload is
// sealed with the platform key, bound to its store, and never logged.
//
// Life of an item: `available` → `reserved` (for one order, until `reservedUntil`) →
// `sold` (delivered to that order's customer). A reservation goes back to `available`
// when its order expires, is cancelled or rejected; see stock-reservation.ts.
import { Schema, model, type InferSchemaType, type Types } from "mongoose";
import { encryptSecret } from "../../storage/crypto.ts";
import { registerSecretFields } from "../../storage/secret-fields.ts";
import { tenantScoped } from "../../storage/tenant-scope.ts";

export const STOCK_STATUSES = ["available", "reserved", "sold"] as const;

const stockItemSchema = new Schema(
  {
    // Declared for the types; the tenantScoped plugin adds its index and the query wall.
    tenantId: { type: Schema.Types.ObjectId, required: true },
    productId: { type: Schema.Types.ObjectId, ref: "Product", required: true },
    /** Ciphertext from storage/crypto.ts; see `stockPayloadContext`. */
    payload: { type: String, required: true },
    status: { type: String, enum: STOCK_STATUSES, default: "available" },
    /** The order holding (reserved) or owning (sold) the item. */
    orderId: { type: Schema.Types.ObjectId, ref: "Order" },
    reservedAt: { type: Date },
    /**
     * After this a sweeper may look at the reservation: it releases it when its order is
     * gone or closed. The order's own expiry normally releases it first.
     */
    reservedUntil: { type: Date },
    soldAt: { type: Date },
    deliveredAt: { type: Date },
  },
  { collection: "stock_items", timestamps: true },
);
stockItemSchema.plugin(tenantScoped);
stockItemSchema.index({ tenantId: 1, productId: 1, status: 1 });
// Releasing, selling and delivering an order's items.
stockItemSchema.index({ tenantId: 1, orderId: 1 });
// The platform's sweep for reservations whose order never came into being or ended.
stockItemSchema.index({ status: 1, reservedUntil: 1 });

export type StockItemFields = InferSchemaType<typeof stockItemSchema>;
export const StockItem = model("StockItem", stockItemSchema);

/** Binds a payload's ciphertext to its store, so one copied into another store's data does not open. */
export function stockPayloadContext(tenantId: unknown): string {
  return `stock-item:${String(tenantId)}:payload`;
}

registerSecretFields({ model: StockItem, paths: ["payload"], context: (doc) => stockPayloadContext(doc.tenantId) });

/** Adds stock: each payload is sealed before it reaches the database. Returns how many were added. */
export async function addStockItems(tenantId: Types.ObjectId, productId: Types.ObjectId, payloads: readonly string[]): Promise<number> {
  const docs = payloads.map((payload) => ({ tenantId, productId, payload: encryptSecret(payload, stockPayloadContext(tenantId)), status: "available" as const }));
  const inserted = await StockItem.insertMany(docs);
  return inserted.length;
}
