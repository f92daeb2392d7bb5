// Payment proofs and claim screenshots: customer data the seller needs for a while and
// nobody needs after. Kept apart from the order (an order list never drags photos
// along), sealed with the platform key and bound to their store and record, and purged
// once the store's retention period has passed.
import { Schema, Types, model } from "mongoose";
import { decryptSecret, encryptSecret } from "../../storage/crypto.ts";
import { registerSecretFields } from "../../storage/secret-fields.ts";
import { tenantScoped } from "../../storage/tenant-scope.ts";
import { Order } from "./order.ts";

export const PROOF_KINDS = ["payment", "claim"] as const;
export type ProofKind = (typeof PROOF_KINDS)[number];

/** The largest proof file kept; a screenshot or a transfer receipt is far smaller. */
export const MAX_PROOF_BYTES = 5 * 1024 * 1024;

const proofFileSchema = new Schema(
  {
    tenantId: { type: Schema.Types.ObjectId, required: true },
    orderId: { type: Schema.Types.ObjectId, ref: "Order", required: true },
    kind: { type: String, enum: PROOF_KINDS, required: true },
    /** The channel's reference to the file (e.g. a Telegram file_id), sealed. */
    sealedRef: { type: String },
    /** The file's bytes (base64 before sealing), sealed. */
    sealedData: { type: String },
    mimeType: { type: String, maxlength: 100 },
    size: { type: Number },
    purgeAt: { type: Date, required: true },
  },
  { collection: "proof_files", timestamps: true },
);
proofFileSchema.plugin(tenantScoped);
proofFileSchema.index({ tenantId: 1, orderId: 1, kind: 1 });
proofFileSchema.index({ purgeAt: 1 });

export const ProofFile = model("ProofFile", proofFileSchema);

/** Binds a proof's ciphertexts to its store and record. */
export function proofContext(tenantId: unknown, proofId: unknown): string {
  return `proof-file:${String(tenantId)}:${String(proofId)}`;
}

registerSecretFields({ model: ProofFile, paths: ["sealedRef", "sealedData"], context: (doc) => proofContext(doc.tenantId, doc._id) });

/** A file the customer sent: the channel's reference to it, its bytes, or both. */
export interface ProofInput {
  fileRef?: string;
  bytes?: Uint8Array;
  mimeType?: string;
}

export class ProofTooLargeError extends Error {
  override name = "ProofTooLargeError";
}

/** Seals and stores a proof; returns its id and when it will be purged. */
export async function saveProof(
  tenantId: Types.ObjectId,
  orderId: Types.ObjectId,
  kind: ProofKind,
  proof: ProofInput,
  retentionDays: number,
  now = new Date(),
): Promise<{ id: Types.ObjectId; purgeAt: Date }> {
  if (proof.bytes && proof.bytes.byteLength > MAX_PROOF_BYTES) {
    throw new ProofTooLargeError(`a proof may be at most ${MAX_PROOF_BYTES} bytes; this one is ${proof.bytes.byteLength}`);
  }
  const _id = new Types.ObjectId();
  const context = proofContext(tenantId, _id);
  const purgeAt = new Date(now.getTime() + retentionDays * 24 * 60 * 60 * 1000);
  await ProofFile.create({
    _id,
    tenantId,
    orderId,
    kind,
    ...(proof.fileRef ? { sealedRef: encryptSecret(proof.fileRef, context) } : {}),
    ...(proof.bytes ? { sealedData: encryptSecret(Buffer.from(proof.bytes).toString("base64"), context), size: proof.bytes.byteLength } : {}),
    ...(proof.mimeType ? { mimeType: proof.mimeType.slice(0, 100) } : {}),
    purgeAt,
  });
  return { id: _id, purgeAt };
}

export interface OpenedProof {
  kind: ProofKind;
  fileRef?: string;
  bytes?: Buffer;
  mimeType?: string;
  createdAt: Date;
}

/** Opens a stored proof for the seller (the order detail shows it); `undefined` once purged. */
export async function openProof(tenantId: Types.ObjectId, proofId: Types.ObjectId): Promise<OpenedProof | undefined> {
  const doc = await ProofFile.findOne({ tenantId, _id: proofId }).lean().exec();
  if (!doc) return undefined;
  const context = proofContext(doc.tenantId, doc._id);
  return {
    kind: doc.kind as ProofKind,
    ...(doc.sealedRef ? { fileRef: decryptSecret(doc.sealedRef, context) } : {}),
    ...(doc.sealedData ? { bytes: Buffer.from(decryptSecret(doc.sealedData, context), "base64") } : {}),
    ...(doc.mimeType ? { mimeType: doc.mimeType } : {}),
    createdAt: (doc as { createdAt?: Date }).createdAt ?? new Date(0),
  };
}

/** Deletes a proof now (a replaced payment proof). */
export async function deleteProof(tenantId: Types.ObjectId, proofId: Types.ObjectId): Promise<void> {
  await ProofFile.deleteOne({ tenantId, _id: proofId }).exec();
}

/**
 * Deletes every proof past its store's retention, across stores, and notes the purge on
 * its order so the seller sees "purged" rather than a missing file. Safe to repeat.
 */
export async function purgeExpiredProofs(now = new Date(), batch = 500): Promise<number> {
  const due = await ProofFile.find({ purgeAt: { $lte: now } }, { tenantId: 1, orderId: 1, kind: 1 })
    .setOptions({ crossTenant: true })
    .limit(batch)
    .lean()
    .exec();
  let purged = 0;
  for (const proof of due) {
    const res = await ProofFile.deleteOne({ tenantId: proof.tenantId, _id: proof._id }).exec();
    purged += res.deletedCount;
    if (proof.kind === "payment") {
      await Order.updateOne({ tenantId: proof.tenantId, _id: proof.orderId, "payment.proof.fileId": proof._id }, { $set: { "payment.proof.purgedAt": now } }).exec();
    }
  }
  return purged;
}
