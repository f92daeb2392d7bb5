// The provider events the platform has applied: one row per method and provider event id,
// held by a unique index across every store. A provider's event pays one order, once; the
// same id arriving for another order, in this store or another, is not a second payment.
//
// No transaction is needed: inserting the row is the claim (the unique index lets one
// insert win), and `markPaid` stays idempotent on its own, so a crash between the two is
// finished by the provider's retry of the same event.
import { Schema, model, type Types } from "mongoose";
import { tenantScoped } from "../../../storage/tenant-scope.ts";

const providerEventSchema = new Schema(
  {
    // The store whose order the event paid; the tenantScoped plugin adds its index and wall.
    tenantId: { type: Schema.Types.ObjectId, required: true },
    method: { type: String, required: true },
    eventId: { type: String, required: true },
    orderId: { type: Schema.Types.ObjectId, ref: "Order", required: true },
    appliedAt: { type: Date, required: true },
  },
  { collection: "provider_events" },
);
providerEventSchema.plugin(tenantScoped);
providerEventSchema.index({ method: 1, eventId: 1 }, { unique: true });

export const ProviderEvent = model("ProviderEvent", providerEventSchema);

/**
 * `new`: first time this event is seen, apply it. `replay`: already claimed for this very
 * order, apply again (idempotent; finishes what a crash interrupted). `taken`: the id
 * belongs to another order, here or in another store: refuse.
 */
export type EventClaim = "new" | "replay" | "taken";

export async function claimProviderEvent(claim: { tenantId: Types.ObjectId; method: string; eventId: string; orderId: Types.ObjectId }): Promise<EventClaim> {
  try {
    await ProviderEvent.create({ ...claim, appliedAt: new Date() });
    return "new";
  } catch (error) {
    if ((error as { code?: number }).code !== 11000) throw error;
    return (await ProviderEvent.exists(claim).exec()) ? "replay" : "taken";
  }
}
