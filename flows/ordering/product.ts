// A digital product a store sells (a voucher, an account). Prices are whole amounts in
// the store's currency's smallest unit (rupiah have none below 1).
import { Schema, model, type InferSchemaType } from "mongoose";
import { tenantScoped } from "../../storage/tenant-scope.ts";

export const PRODUCT_STATUSES = ["active", "hidden"] as const;

const productSchema = new Schema(
  {
    // Declared for the types; the tenantScoped plugin adds its index and the query wall.
    tenantId: { type: Schema.Types.ObjectId, required: true },
    /** The store's own short code, stable across renames (also the choice id in chats). */
    code: { type: String, required: true, match: /^[a-z0-9][a-z0-9-]{0,31}$/ },
    name: { type: String, required: true, trim: true, minlength: 1, maxlength: 80 },
    description: { type: String, trim: true, maxlength: 1000, default: "" },
    price: { type: Number, required: true, min: 0, validate: { validator: Number.isInteger, message: "price is a whole amount" } },
    status: { type: String, enum: PRODUCT_STATUSES, default: "active" },
    /** Lower first in the catalog. */
    sortOrder: { type: Number, default: 0 },
    /** The seller's own grouping (e.g. "Game", "Streaming"); free text. */
    category: { type: String, trim: true, maxlength: 40, default: "" },
    /** At most this many units in one order; unset means the store's `maxQuantityPerOrder`. */
    perOrderMax: { type: Number, min: 1, max: 1000, validate: { validator: Number.isInteger, message: "perOrderMax is a whole number" } },
    /** Available stock at or below this counts as low (the sellers are alerted once per crossing); 0 = never. */
    lowStockThreshold: { type: Number, min: 0, default: 0, validate: { validator: Number.isInteger, message: "lowStockThreshold is a whole number" } },
  },
  { collection: "products", timestamps: true },
);
productSchema.plugin(tenantScoped);
productSchema.index({ tenantId: 1, code: 1 }, { unique: true });
productSchema.index({ tenantId: 1, status: 1, sortOrder: 1 });

export type ProductFields = InferSchemaType<typeof productSchema>;
export const Product = model("Product", productSchema);
