// Where the WhatsApp message log lives (storage/whatsapp/message-log.ts): `whatsapp_inbound`
// and `whatsapp_sent`, both expiring through a TTL index on `expiresAt`. Kept free of Baileys
// so `niaga migrate` and key rotation load it cheaply.
import { Schema, model } from "mongoose";
import { registerSecretFields } from "../secret-fields.ts";
import { tenantScoped } from "../tenant-scope.ts";

export const MESSAGE_LOG_KEEP_DAYS = 7;
export const DAY_MS = 24 * 60 * 60 * 1000;

export const inboundSchema = new Schema(
  {
    messageId: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: "whatsapp_inbound", timestamps: { createdAt: true, updatedAt: false }, versionKey: false },
);
inboundSchema.plugin(tenantScoped);
inboundSchema.index({ tenantId: 1, messageId: 1 }, { unique: true });
inboundSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export const sentSchema = new Schema(
  {
    /** `<tenantId>:<messageId>`: the record the sealed message is bound to, known before it exists. */
    _id: { type: String, required: true },
    messageId: { type: String, required: true },
    to: { type: String },
    /** The `proto.Message`, encoded, sealed with the data key. */
    message: { type: String },
    deliveredAt: { type: Date },
    readAt: { type: Date },
    expiresAt: { type: Date, required: true },
  },
  { collection: "whatsapp_sent", timestamps: true, versionKey: false },
);
sentSchema.plugin(tenantScoped);
sentSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export const WhatsAppInboundRecord = model("WhatsAppInbound", inboundSchema);
export const WhatsAppSentRecord = model("WhatsAppSent", sentSchema);

export function sentRecordId(tenantId: string, messageId: string): string {
  return `${tenantId}:${messageId}`;
}

export function sentContext(recordId: string): string {
  return `whatsapp-sent:${recordId}`;
}

registerSecretFields({ model: WhatsAppSentRecord, paths: ["message"], context: (doc) => sentContext(String(doc._id)) });
