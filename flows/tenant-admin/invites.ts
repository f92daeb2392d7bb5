// Single-use invites: an owner asks for a link, sends it to the new colleague, and the
// first person to open it within its lifetime joins the store with the invite's role.
// Only a hash of the token is stored, so a database dump holds no usable invite.
import { createHash, randomBytes } from "node:crypto";
import { Schema, Types, model } from "mongoose";
import { Member, ROLES, type Channel, type Role } from "../../storage/models/index.ts";
import { tenantScoped } from "../../storage/tenant-scope.ts";

/** Invites start with this, so a /start payload can be told apart from a promo code. */
export const INVITE_PREFIX = "inv_";
/** Redeemed or expired invites are kept this long, so a late click hears why it failed. */
const KEEP_AFTER_EXPIRY_MS = 7 * 24 * 3_600_000;

const inviteSchema = new Schema(
  {
    tenantId: { type: Schema.Types.ObjectId, required: true },
    tokenHash: { type: String, required: true },
    role: { type: String, enum: ROLES, required: true },
    createdBy: { channel: { type: String, required: true }, userId: { type: String, required: true } },
    expiresAt: { type: Date, required: true },
    usedAt: { type: Date },
    usedBy: { channel: { type: String }, userId: { type: String } },
    purgeAt: { type: Date, required: true },
  },
  { collection: "staff_invites", timestamps: true },
);
inviteSchema.plugin(tenantScoped);
inviteSchema.index({ tenantId: 1, tokenHash: 1 }, { unique: true });
inviteSchema.index({ purgeAt: 1 }, { expireAfterSeconds: 0 });

export const StaffInvite = model("StaffInvite", inviteSchema);

const hashOf = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

export async function createInvite(
  tenantId: string,
  role: Role,
  createdBy: { channel: string; userId: string },
  ttlMs: number,
  now: Date,
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const token = INVITE_PREFIX + randomBytes(18).toString("base64url");
  const expiresAt = new Date(now.getTime() + ttlMs);
  const invite = await StaffInvite.create({
    tenantId: new Types.ObjectId(tenantId),
    tokenHash: hashOf(token),
    role,
    createdBy,
    expiresAt,
    purgeAt: new Date(expiresAt.getTime() + KEEP_AFTER_EXPIRY_MS),
  });
  return { id: invite._id.toString(), token, expiresAt };
}

export type Redemption =
  | { kind: "joined"; role: Role; inviteId: string }
  | { kind: "already-member"; role: Role }
  | { kind: "unknown" | "used" | "expired" };

/** Whether typed text looks like an invite token at all (before any database work). */
export function looksLikeInvite(text: string): boolean {
  return /^inv_[A-Za-z0-9_-]{16,64}$/.test(text.trim());
}

/**
 * Redeems an invite for the person writing. One conditional update claims it, so two
 * people opening the same link at once cannot both join.
 */
export async function redeemInvite(tenantId: string, token: string, who: { channel: Channel; userId: string; displayName?: string }, now: Date): Promise<Redemption> {
  if (!looksLikeInvite(token)) return { kind: "unknown" };
  const tenant = new Types.ObjectId(tenantId);
  const memberFilter = { tenantId: tenant, channel: who.channel, channelUserId: who.userId };
  const member = await Member.findOne(memberFilter as never, { role: 1 }).lean<{ role: Role }>().exec();
  if (member) return { kind: "already-member", role: member.role };
  const tokenHash = hashOf(token.trim());
  const claimed = await StaffInvite.findOneAndUpdate(
    { tenantId: tenant, tokenHash, usedAt: null, expiresAt: { $gt: now } },
    { $set: { usedAt: now, usedBy: { channel: who.channel, userId: who.userId } } },
    { returnDocument: "after" },
  )
    .lean<{ _id: Types.ObjectId; role: Role }>()
    .exec();
  if (!claimed) {
    const invite = await StaffInvite.findOne({ tenantId: tenant, tokenHash }, { usedAt: 1 }).lean<{ usedAt?: Date }>().exec();
    return { kind: !invite ? "unknown" : invite.usedAt ? "used" : "expired" };
  }
  try {
    await Member.create({ ...memberFilter, role: claimed.role, addedBy: `invite:${claimed._id.toString()}`, ...(who.displayName !== undefined && { displayName: who.displayName.slice(0, 128) }) });
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) {
      // The member could not be written: give the invite back rather than burn it.
      await StaffInvite.updateOne({ tenantId: tenant, _id: claimed._id }, { $unset: { usedAt: 1, usedBy: 1 } }).exec();
      throw err;
    }
  }
  return { kind: "joined", role: claimed.role, inviteId: claimed._id.toString() };
}
