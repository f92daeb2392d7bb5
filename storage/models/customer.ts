import { Schema, model, type HydratedDocument, type InferSchemaType } from "mongoose";
import { tenantScoped } from "../tenant-scope.ts";
import { CHANNELS } from "./tenant.ts";

/** Someone who talks to a store's bot on one channel. */
const customerSchema = new Schema(
  {
    channel: { type: String, enum: CHANNELS, required: true },
    channelUserId: { type: String, required: true, trim: true, minlength: 1, maxlength: 64 },
    displayName: { type: String, maxlength: 128, default: "" },
    // Unset until the customer picks a language; until then their channel's language is used.
    locale: { type: String, enum: ["id", "en"] },
    broadcastOptOut: { type: Boolean, default: false },
    blocked: { type: Boolean, default: false },
    blockedReason: { type: String, maxlength: 200 },
    lastSeenAt: { type: Date },
  },
  { timestamps: true },
);
customerSchema.plugin(tenantScoped);
customerSchema.index({ tenantId: 1, channel: 1, channelUserId: 1 }, { unique: true });
customerSchema.index({ tenantId: 1, broadcastOptOut: 1, blocked: 1 });

export type CustomerFields = InferSchemaType<typeof customerSchema>;
export type CustomerDoc = HydratedDocument<CustomerFields>;
export const Customer = model("Customer", customerSchema);
