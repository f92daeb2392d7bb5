import { Schema, model, type HydratedDocument, type InferSchemaType } from "mongoose";
import { tenantScoped } from "../tenant-scope.ts";
import { CHANNELS } from "./tenant.ts";

/** A seller-side person of a store: owner, admin or staff, as known on one channel. */
export const ROLES = ["owner", "admin", "staff"] as const;
export type Role = (typeof ROLES)[number];

const memberSchema = new Schema(
  {
    channel: { type: String, enum: CHANNELS, required: true },
    channelUserId: { type: String, required: true, trim: true, minlength: 1, maxlength: 64 },
    role: { type: String, enum: ROLES, required: true },
    displayName: { type: String, maxlength: 128 },
    addedBy: { type: String, maxlength: 128 },
  },
  { timestamps: true },
);
memberSchema.plugin(tenantScoped);
memberSchema.index({ tenantId: 1, channel: 1, channelUserId: 1 }, { unique: true });

export type MemberFields = InferSchemaType<typeof memberSchema>;
export type MemberDoc = HydratedDocument<MemberFields>;
export const Member = model("Member", memberSchema);
