import { Schema, model, type HydratedDocument, type InferSchemaType } from "mongoose";

/**
 * What the platform owner is told about: one document per alert (`owner_alerts`), platform-wide
 * (not tenant-scoped: the owner sees every store). While an alert is open its `openKey` holds
 * its de-duplication key, so raising the same key again counts on the same document; resolving
 * it unsets `openKey`, and the next raise opens a new alert.
 */
const ownerAlertSchema = new Schema(
  {
    openKey: { type: String, maxlength: 300 },
    key: { type: String, required: true, maxlength: 300 },
    kind: { type: String, required: true, maxlength: 64 },
    severity: { type: String, enum: ["critical", "warning", "info"], required: true },
    /** The store it is about (`bot_store_name` is `store.name`); absent for the platform itself. */
    store: { tenantId: { type: String }, slug: { type: String }, name: { type: String } },
    message: { key: { type: String, required: true }, params: { type: Schema.Types.Mixed } },
    details: { type: Schema.Types.Mixed },
    count: { type: Number, default: 1 },
    firstAt: { type: Date, required: true },
    lastAt: { type: Date, required: true },
    state: { type: String, enum: ["open", "resolved"], default: "open" },
    resolvedAt: { type: Date },
    resolution: { type: Schema.Types.Mixed },
    /** When the owner was last sent a message about it (raised or reminder). */
    notifiedAt: { type: Date },
    reminders: { type: Number, default: 0 },
    /** The instance that raised it first. */
    instance: { type: String },
  },
  { collection: "owner_alerts" },
);
ownerAlertSchema.index({ openKey: 1 }, { unique: true, sparse: true });
ownerAlertSchema.index({ lastAt: -1 });
ownerAlertSchema.index({ "store.slug": 1, lastAt: -1 });

export type OwnerAlertFields = InferSchemaType<typeof ownerAlertSchema>;
export type OwnerAlertDoc = HydratedDocument<OwnerAlertFields>;
export const OwnerAlertRecord = model("OwnerAlert", ownerAlertSchema);

/**
 * One message to one owner chat about one alert: raised, reminded (still open after the
 * de-duplication window), or resolved. Claimed atomically before it is sent, so it is sent once
 * whichever instance sends it (`owner_notices`).
 */
const ownerNoticeSchema = new Schema(
  {
    alertId: { type: Schema.Types.ObjectId, required: true },
    type: { type: String, enum: ["raised", "reminder", "resolved"], required: true },
    /** Tells reminders of one alert apart. */
    seq: { type: Number, default: 0 },
    /** An owner's chat id on the owner bot, or "log" when no owner bot is configured. */
    chatId: { type: String, required: true },
    state: { type: String, enum: ["pending", "sent", "muted", "dropped"], default: "pending" },
    createdAt: { type: Date, required: true },
    nextAttemptAt: { type: Date, required: true },
    claimUntil: { type: Date },
    claimedBy: { type: String },
    attempts: { type: Number, default: 0 },
    lastError: { type: String, maxlength: 500 },
    sentAt: { type: Date },
  },
  { collection: "owner_notices" },
);
ownerNoticeSchema.index({ alertId: 1, type: 1, seq: 1, chatId: 1 }, { unique: true });
ownerNoticeSchema.index({ state: 1, nextAttemptAt: 1 });

export type OwnerNoticeFields = InferSchemaType<typeof ownerNoticeSchema>;
export const OwnerNoticeRecord = model("OwnerNotice", ownerNoticeSchema);

/** Alert kinds the owner muted, until when (`owner_mutes`). */
const ownerMuteSchema = new Schema(
  {
    kind: { type: String, required: true, unique: true, maxlength: 64 },
    until: { type: Date, required: true },
    by: { type: String },
  },
  { collection: "owner_mutes" },
);
export const OwnerMuteRecord = model("OwnerMute", ownerMuteSchema);
