// Where a store's WhatsApp session lives: `whatsapp_sessions` (one document per store, the
// newest owner's epoch) and `whatsapp_auth` (the creds and every signal key, one document
// each, sealed). Kept free of Baileys so `niaga migrate` and key rotation load it cheaply;
// storage/whatsapp/auth-state.ts reads and writes them.
import { Schema, model } from "mongoose";
import { registerSecretFields } from "../secret-fields.ts";
import { tenantScoped } from "../tenant-scope.ts";

const sessionSchema = new Schema(
  {
    /** The store's id again (`tenantId`): one document per store without a second unique index. */
    _id: { type: Schema.Types.ObjectId, required: true },
    /** The newest owner's fencing epoch: raised (never lowered) by each owner that opens the session. */
    epoch: { type: Number, required: true, default: 0 },
  },
  { collection: "whatsapp_sessions", timestamps: true, versionKey: false },
);
sessionSchema.plugin(tenantScoped);

export const WhatsAppSessionRecord = model("WhatsAppSession", sessionSchema);

const authSchema = new Schema(
  {
    /** `<tenantId>:creds`, or `<tenantId>:<type>:<key id>`: one upsert target per value, no race on a second index. */
    _id: { type: String, required: true },
    /** `creds`, or a Baileys signal key type (`session`, `pre-key`, `app-state-sync-key`, …). */
    type: { type: String, required: true },
    /** The epoch of the owner that last wrote or claimed the record; a write from an older epoch does not match it. */
    epoch: { type: Number, required: true },
    /** `JSON.stringify(value, BufferJSON.replacer)`, sealed with the data key and bound to this record's `_id`. */
    value: { type: String, required: true },
    /** On the creds record only: whether the device is linked (`creds.registered`), readable without opening the seal. */
    registered: { type: Boolean },
  },
  { collection: "whatsapp_auth", timestamps: true, versionKey: false },
);
authSchema.plugin(tenantScoped);
authSchema.index({ tenantId: 1, type: 1 });

export const WhatsAppAuthRecord = model("WhatsAppAuth", authSchema);

export function credsRecordId(tenantId: string): string {
  return `${tenantId}:creds`;
}

export function keyRecordId(tenantId: string, type: string, id: string): string {
  return `${tenantId}:${type}:${id}`;
}

/**
 * Binds a sealed value to its record: the `_id` names the store, the key type and the key
 * id, so a ciphertext copied to another record or another store's session does not open.
 */
export function authRecordContext(recordId: string): string {
  return `whatsapp-auth:${recordId}`;
}

registerSecretFields({ model: WhatsAppAuthRecord, paths: ["value"], context: (doc) => authRecordContext(String(doc._id)) });
