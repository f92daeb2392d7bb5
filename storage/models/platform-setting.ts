import { Schema, model } from "mongoose";

/**
 * Settings of the platform as a whole (`platform_settings`), one document per setting by
 * `_id`: `maintenance` (`{ on, text?, since, by }`), switched from the owner bot and read by
 * every instance (`MaintenanceSwitch` in storage/maintenance.ts).
 */
const platformSettingSchema = new Schema(
  {
    _id: { type: String, required: true },
    value: { type: Schema.Types.Mixed },
    updatedAt: { type: Date, required: true, default: () => new Date() },
    updatedBy: { type: String },
  },
  { collection: "platform_settings" },
);

export const PlatformSetting = model("PlatformSetting", platformSettingSchema);
