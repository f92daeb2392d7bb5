/**
 * A WhatsApp customer's one stable id per store, whichever address they write from. WhatsApp
 * addresses a person by phone number (`628…@s.whatsapp.net`, "pn") or by LID (`…@lid`), and
 * one chat may switch between them; the engine must see one customer throughout.
 *
 * `whatsapp_contacts` holds one record per person with either or both addresses, under
 * unique indexes on (store, lid) and (store, pn) that ignore a missing address, so two
 * first messages arriving at once cannot both create a record for the same address: the
 * loser's insert fails on the index, and it reads the winner's record instead.
 *
 * The stable id is `wa:` and 16 random characters, given once and never changed. Random,
 * not the first-seen address: it becomes the engine's chat id and the Customer id, which
 * appear in logs, audits and exports, and a phone number there would spread a customer's
 * number everywhere; and neither address is a safe name for the person (numbers are
 * recycled to new owners, and a chat first seen by LID would carry the LID forever).
 *
 * Two records can still turn out to be one person: first seen by LID only and by number
 * only, then a message or `lid-mapping.update` carrying both. The rule: the OLDER record
 * (created first, by its ObjectId) keeps its id; the younger one is marked `mergedInto` the older id
 * and keeps its address, so both addresses resolve to the older id from then on. Whatever the
 * engine already keeps under the younger id (a conversation, an order) stays under it; only
 * new messages go to the older id. `replyJid` answers for either id.
 *
 * A phone number that now comes with a different LID than its record has was given to
 * someone else (WhatsApp recycles numbers): the number moves to the new LID's person and
 * the old record keeps only its LID. A known LID with a new number keeps its id and takes
 * the new number (the LID is the account).
 */
import { randomBytes } from "node:crypto";
import { Schema, Types, model } from "mongoose";
import { tenantScoped } from "../tenant-scope.ts";
import type { WhatsAppAddresses, WhatsAppIdentities } from "./types.ts";

const contactSchema = new Schema(
  {
    tenantId: { type: Schema.Types.ObjectId, required: true },
    /** The stable id: the engine's chat id and Customer id on channel "whatsapp". */
    customerId: { type: String, required: true, immutable: true },
    lid: { type: String },
    pn: { type: String },
    /** The id of the older record this one turned out to be the same person as. */
    mergedInto: { type: String },
    /** The `remoteJid` last received: where to answer. */
    replyTo: { type: String },
    lastSeenAt: { type: Date },
  },
  { collection: "whatsapp_contacts", timestamps: true, versionKey: false },
);
contactSchema.plugin(tenantScoped);
contactSchema.index({ tenantId: 1, customerId: 1 }, { unique: true });
contactSchema.index({ tenantId: 1, lid: 1 }, { unique: true, partialFilterExpression: { lid: { $type: "string" } } });
contactSchema.index({ tenantId: 1, pn: 1 }, { unique: true, partialFilterExpression: { pn: { $type: "string" } } });

export const WhatsAppContactRecord = model("WhatsAppContact", contactSchema);

interface Contact {
  _id: Types.ObjectId;
  customerId: string;
  lid?: string;
  pn?: string;
  mergedInto?: string;
  replyTo?: string;
}

export const WHATSAPP_CUSTOMER_ID_PREFIX = "wa:";

function newCustomerId(): string {
  return WHATSAPP_CUSTOMER_ID_PREFIX + randomBytes(12).toString("base64url");
}

/** `628…:12@s.whatsapp.net` → `628…@s.whatsapp.net`: a person's address without the device. */
export function personAddress(jid: string): string {
  const at = jid.indexOf("@");
  if (at < 0) return jid;
  const server = jid.slice(at + 1) === "c.us" ? "s.whatsapp.net" : jid.slice(at + 1);
  return `${jid.slice(0, at).split(":")[0]!}@${server}`;
}

/** Races on the unique indexes are settled by reading again; a handful of rounds covers every interleaving of two writers. */
const ROUNDS = 8;

export function createMongoWhatsAppIdentities(): WhatsAppIdentities {
  return {
    resolve: (tenantId, addresses, replyTo) => attach(tenantId, addresses, replyTo),
    async link(tenantId, lid, pn) {
      await attach(tenantId, { lid, pn });
    },
    async replyJid(tenantId, customerId) {
      const contact = await findContact(tenantId, { customerId });
      if (!contact) return undefined;
      const canonical = await canonicalOf(tenantId, contact);
      return canonical.replyTo ?? contact.replyTo;
    },
  };
}

async function attach(tenantId: string, addresses: WhatsAppAddresses, replyTo?: string): Promise<string> {
  const lid = addresses.lid ? personAddress(addresses.lid) : undefined;
  const pn = addresses.pn ? personAddress(addresses.pn) : undefined;
  if (!lid && !pn) throw new RangeError("a WhatsApp customer needs a LID or a phone-number address");
  const store = new Types.ObjectId(tenantId);
  for (let round = 1; round <= ROUNDS; round++) {
    try {
      const byLid = lid ? await findContact(tenantId, { lid }) : undefined;
      const byPn = pn ? await findContact(tenantId, { pn }) : undefined;
      const found = byLid ?? byPn;
      if (!found) {
        const customerId = newCustomerId();
        await WhatsAppContactRecord.create({ tenantId: store, customerId, lid, pn, replyTo, lastSeenAt: new Date() });
        return customerId;
      }
      if (byLid && byPn && !byLid._id.equals(byPn._id)) {
        if (byPn.lid && byPn.lid !== lid) {
          // The number was recycled: it now belongs to the person with this LID.
          await WhatsAppContactRecord.updateOne({ _id: byPn._id, tenantId: store, pn, lid: byPn.lid }, { $unset: { pn: 1 } }).exec();
          continue;
        }
        if (await merge(tenantId, byLid, byPn)) continue;
      } else if (lid && !byLid) {
        if (found.lid) {
          // The record has another LID for this number: recycled, the number moves to the new person.
          await WhatsAppContactRecord.updateOne({ _id: found._id, tenantId: store, pn, lid: found.lid }, { $unset: { pn: 1 } }).exec();
          continue;
        }
        await WhatsAppContactRecord.updateOne({ _id: found._id, tenantId: store, lid: { $exists: false } }, { $set: { lid } }).exec();
      } else if (pn && !byPn) {
        // A first number for this LID, or the person's new number (the LID is the account, the number may change).
        await WhatsAppContactRecord.updateOne({ _id: found._id, tenantId: store, pn: found.pn ?? { $exists: false } }, { $set: { pn } }).exec();
      }
      const canonical = await canonicalOf(tenantId, found);
      if (replyTo) {
        await WhatsAppContactRecord.updateOne({ _id: canonical._id, tenantId: store }, { $set: { replyTo, lastSeenAt: new Date() } }).exec();
      }
      return canonical.customerId;
    } catch (error) {
      // Another writer took this address (or the new id) first: read again and join its record.
      if ((error as { code?: number }).code !== 11000 || round === ROUNDS) throw error;
    }
  }
  throw new Error("unreachable");
}

/** Marks the younger of two records (after following earlier merges) as the older one's; false when they already are one. */
async function merge(tenantId: string, a: Contact, b: Contact): Promise<boolean> {
  const [first, second] = await Promise.all([canonicalOf(tenantId, a), canonicalOf(tenantId, b)]);
  if (first._id.equals(second._id)) return false;
  // An ObjectId starts with its creation second, so the smaller one is the older record, and every instance picks the same survivor.
  const [older, younger] = first._id.toHexString() < second._id.toHexString() ? [first, second] : [second, first];
  await WhatsAppContactRecord.updateOne(
    { _id: younger._id, tenantId: new Types.ObjectId(tenantId), mergedInto: { $exists: false } },
    { $set: { mergedInto: older.customerId } },
  ).exec();
  return true;
}

/** The record whose id stands for this person: itself, or the one it was merged into. */
async function canonicalOf(tenantId: string, contact: Contact): Promise<Contact> {
  let current = contact;
  for (let hop = 0; current.mergedInto && hop < ROUNDS; hop++) {
    const next = await findContact(tenantId, { customerId: current.mergedInto });
    if (!next) break;
    current = next;
  }
  return current;
}

async function findContact(tenantId: string, by: { lid?: string; pn?: string; customerId?: string }): Promise<Contact | undefined> {
  const found = await WhatsAppContactRecord.findOne({ tenantId: new Types.ObjectId(tenantId), ...by }).lean<Contact>().exec();
  return found ?? undefined;
}
