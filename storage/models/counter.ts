import type { Types} from "mongoose";
import { Schema, model } from "mongoose";
import { tenantScoped } from "../tenant-scope.ts";

/**
 * Per-tenant sequences (order, ticket and broadcast numbers). One document per (tenant, name),
 * advanced with a single atomic `$inc`, so two processes never hand out the same number
 * and no transaction is needed.
 */
export const SEQUENCES = ["order", "ticket", "broadcast"] as const;
export type SequenceName = (typeof SEQUENCES)[number];

const counterSchema = new Schema({
  name: { type: String, enum: SEQUENCES, required: true },
  seq: { type: Number, required: true, default: 0 },
});
counterSchema.plugin(tenantScoped);
counterSchema.index({ tenantId: 1, name: 1 }, { unique: true });

export const Counter = model("Counter", counterSchema);

export async function nextSequence(tenantId: Types.ObjectId, name: SequenceName): Promise<number> {
  // Two first-ever calls can both try to insert the counter; the loser sees 11000 and
  // simply increments the winner's document.
  for (let attempt = 0; ; attempt++) {
    try {
      const doc = await Counter.findOneAndUpdate(
        { tenantId, name },
        { $inc: { seq: 1 } },
        { upsert: true, returnDocument: "after", setDefaultsOnInsert: false },
      ).lean();
      return doc!.seq;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000 || attempt >= 2) throw err;
    }
  }
}
