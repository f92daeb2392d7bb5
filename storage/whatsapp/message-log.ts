/**
 * What a store's WhatsApp number received and sent, for a few days:
 *
 * - `whatsapp_inbound`: one document per (store, message id) claimed, under a unique index,
 *   so a message delivered twice (live and again from the offline queue, after a restart, or
 *   to two instances during a takeover) is processed once.
 * - `whatsapp_sent`: each sent message, sealed (Baileys resends it when the customer's phone
 *   could not decrypt it: `getMessage`), with its delivery and read receipts.
 *
 * Both expire through a TTL index on `expiresAt` (7 days unless `keepDays` says otherwise).
 *
 * ```ts
 * const log = createMongoWhatsAppMessageLog();
 * if (await log.claimInbound(tenantId, msg.key.id)) … handle it …
 * await log.rememberSent(tenantId, id, jid, content);       // before sending with messageId: id
 * makeWASocket({ getMessage: (key) => log.sentMessage(tenantId, key.id!), … });
 * ```
 */
import { proto } from "baileys";
import mongoose, { Types, type Connection } from "mongoose";
import { decryptSecret, encryptSecret } from "../crypto.ts";
import { DAY_MS, inboundSchema, MESSAGE_LOG_KEEP_DAYS, sentContext, sentRecordId, sentSchema } from "./message-records.ts";
import type { WhatsAppMessageLog } from "./types.ts";

export interface MessageLogOptions {
  /** How long received ids and sent messages are kept. */
  keepDays?: number;
  /** Another connection than mongoose's default (a second instance in tests). */
  connection?: Connection;
  now?: () => number;
}

export function createMongoWhatsAppMessageLog({ keepDays = MESSAGE_LOG_KEEP_DAYS, connection = mongoose.connection, now = Date.now }: MessageLogOptions = {}): WhatsAppMessageLog {
  const Inbound = connection.models.WhatsAppInbound ?? connection.model("WhatsAppInbound", inboundSchema);
  const Sent = connection.models.WhatsAppSent ?? connection.model("WhatsAppSent", sentSchema);
  const expiresAt = () => new Date(now() + keepDays * DAY_MS);
  const store = (tenantId: string) => new Types.ObjectId(tenantId);

  return {
    async claimInbound(tenantId, messageId) {
      try {
        await Inbound.create({ tenantId: store(tenantId), messageId, expiresAt: expiresAt() });
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === 11000) return false;
        throw error;
      }
    },

    async rememberSent(tenantId, messageId, to, message) {
      const _id = sentRecordId(tenantId, messageId);
      const encoded = Buffer.from(proto.Message.encode(proto.Message.fromObject(message as Record<string, unknown>)).finish()).toString("base64");
      await Sent.updateOne(
        { _id, tenantId: store(tenantId) },
        { $set: { messageId, to, message: encryptSecret(encoded, sentContext(_id)), expiresAt: expiresAt() } },
        { upsert: true },
      ).exec();
    },

    async sentMessage(tenantId, messageId) {
      const _id = sentRecordId(tenantId, messageId);
      const row = await Sent.findOne({ _id, tenantId: store(tenantId) }, { message: 1 }).lean<{ message?: string }>().exec();
      if (!row?.message) return undefined;
      return proto.Message.decode(Buffer.from(decryptSecret(row.message, sentContext(_id)), "base64"));
    },

    async recordReceipt(tenantId, messageId, status, at) {
      // $min keeps the first time each state was reached, so a late or repeated receipt never moves it; being read implies being delivered.
      const reached = status === "read" ? { deliveredAt: at, readAt: at } : { deliveredAt: at };
      await Sent.updateOne(
        { _id: sentRecordId(tenantId, messageId), tenantId: store(tenantId) },
        { $min: reached, $setOnInsert: { messageId, expiresAt: expiresAt() } },
        { upsert: true },
      ).exec();
    },

    async receipts(tenantId, messageId) {
      const row = await Sent.findOne({ _id: sentRecordId(tenantId, messageId), tenantId: store(tenantId) }, { deliveredAt: 1, readAt: 1 })
        .lean<{ deliveredAt?: Date; readAt?: Date }>()
        .exec();
      if (!row) return undefined;
      return { ...(row.deliveredAt && { deliveredAt: row.deliveredAt }), ...(row.readAt && { readAt: row.readAt }) };
    },
  };
}
