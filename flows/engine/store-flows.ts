// A store's own flows (its FAQ, its menu), kept as JSON in MongoDB and run by the same
// engine through the same schema and checks as the platform's flows.
import { Schema, model } from "mongoose";
import { tenantScoped } from "../../storage/tenant-scope.ts";
import type { Engine, StoreFlowSource } from "./engine.ts";

const storeFlowSchema = new Schema(
  {
    // Declared for the types; the tenantScoped plugin adds its index and the query wall.
    tenantId: { type: Schema.Types.ObjectId, required: true },
    flowId: { type: String, required: true },
    /** The flow definition exactly as the store wrote it; validated before it is saved and when loaded. */
    definition: { type: Schema.Types.Mixed, required: true },
    updatedBy: { type: String, maxlength: 128 },
  },
  { collection: "store_flows", timestamps: true, minimize: false },
);
storeFlowSchema.plugin(tenantScoped);
storeFlowSchema.index({ tenantId: 1, flowId: 1 }, { unique: true });

export const StoreFlow = model("StoreFlow", storeFlowSchema);

/** Reads each store's flows from the `store_flows` collection. */
export class MongoStoreFlows implements StoreFlowSource {
  async flowsOf(tenantId: string): Promise<unknown[]> {
    const docs = await StoreFlow.find({ tenantId }, { _id: 0, definition: 1 }).sort({ flowId: 1 }).lean<{ definition: unknown }[]>().exec();
    return docs.map((doc) => doc.definition);
  }
}

/**
 * Saves (or replaces) one of a store's flows after validating it together with the
 * store's other flows. Throws `FlowValidationError` and writes nothing when it is invalid.
 */
export async function saveStoreFlow(
  engine: Engine,
  tenant: { id: string; slug: string },
  definition: unknown,
  updatedBy?: string,
): Promise<void> {
  // Validated alone first, so a definition without a usable id is refused before it is used as one.
  engine.checkStoreFlows(tenant.slug, [definition]);
  const flowId = (definition as { id: string }).id;
  const others = await StoreFlow.find({ tenantId: tenant.id, flowId: { $ne: flowId } }, { _id: 0, definition: 1 }).lean<{ definition: unknown }[]>().exec();
  engine.checkStoreFlows(tenant.slug, [...others.map((doc) => doc.definition), definition]);
  await StoreFlow.updateOne(
    { tenantId: tenant.id, flowId },
    { $set: { definition, ...(updatedBy !== undefined && { updatedBy }) } },
    { upsert: true },
  ).exec();
  await engine.loadStoreFlows(tenant);
}
