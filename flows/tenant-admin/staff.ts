// The people who run a store: owners, admins and staff, each known by their user id on
// one channel. A store always keeps at least one owner.
import { Types } from "mongoose";
import { CHANNELS, Member, type Channel, type Role } from "../../storage/models/index.ts";

export interface MemberView {
  channel: string;
  userId: string;
  role: Role;
  displayName?: string;
}

/** "telegram:12345" names the channel; a bare "12345" means the channel the seller writes from. */
export function parseMemberRef(raw: string, defaultChannel: string): { channel: Channel; userId: string } | undefined {
  const m = /^(?:([a-z]+):)?([A-Za-z0-9_.:@+-]{1,64})$/.exec(raw.trim());
  if (!m) return undefined;
  const channel = m[1] ?? defaultChannel;
  if (!(CHANNELS as readonly string[]).includes(channel)) return undefined;
  return { channel: channel as Channel, userId: m[2] };
}

const scope = (tenantId: string) => ({ tenantId: new Types.ObjectId(tenantId) });

type StoredMember = { channel: string; channelUserId: string; role: Role; displayName?: string | null };

const viewOf = (m: StoredMember): MemberView => ({
  channel: m.channel,
  userId: m.channelUserId,
  role: m.role,
  ...(m.displayName ? { displayName: m.displayName } : {}),
});

const ROLE_ORDER: Record<Role, number> = { owner: 0, admin: 1, staff: 2 };

export async function listMembers(tenantId: string): Promise<MemberView[]> {
  const members = await Member.find(scope(tenantId) as never).lean<StoredMember[]>().exec();
  return members.map(viewOf).sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.userId.localeCompare(b.userId));
}

async function ownerCount(tenantId: string): Promise<number> {
  return Member.countDocuments({ ...scope(tenantId), role: "owner" } as never).exec();
}

export type AddOutcome =
  | { kind: "added"; member: MemberView }
  | { kind: "role-changed"; before: MemberView; after: MemberView }
  | { kind: "unchanged"; member: MemberView }
  | { kind: "last-owner" };

/** Adds a member, or changes the role of one already there (never the store's last owner's). */
export async function addMember(
  tenantId: string,
  who: { channel: Channel; userId: string; role: Role; displayName?: string; addedBy: string },
): Promise<AddOutcome> {
  const filter = { ...scope(tenantId), channel: who.channel, channelUserId: who.userId };
  const existing = await Member.findOne(filter as never).lean<StoredMember>().exec();
  if (existing) {
    if (existing.role === who.role) return { kind: "unchanged", member: viewOf(existing) };
    if (existing.role === "owner" && (await ownerCount(tenantId)) <= 1) return { kind: "last-owner" };
    await Member.updateOne(filter as never, { $set: { role: who.role } }).exec();
    return { kind: "role-changed", before: viewOf(existing), after: viewOf({ ...existing, role: who.role }) };
  }
  try {
    const created = await Member.create({ ...filter, role: who.role, addedBy: who.addedBy, ...(who.displayName !== undefined && { displayName: who.displayName }) });
    return { kind: "added", member: viewOf(created.toObject() as StoredMember) };
  } catch (err) {
    // Added by someone else a moment ago: the same person, whatever role they got.
    if ((err as { code?: number }).code === 11000) return addMember(tenantId, who);
    throw err;
  }
}

export type RemoveOutcome = { kind: "removed"; member: MemberView } | { kind: "not-found" } | { kind: "last-owner" };

/**
 * Removes a member. The last owner stays: checked before, and checked again after, since
 * two owners removing each other at the same moment would otherwise leave none.
 */
export async function removeMember(tenantId: string, ref: { channel: Channel; userId: string }): Promise<RemoveOutcome> {
  const filter = { ...scope(tenantId), channel: ref.channel, channelUserId: ref.userId };
  const existing = await Member.findOne(filter as never).lean<StoredMember & { addedBy?: string }>().exec();
  if (!existing) return { kind: "not-found" };
  if (existing.role === "owner" && (await ownerCount(tenantId)) <= 1) return { kind: "last-owner" };
  const removed = await Member.findOneAndDelete(filter as never).lean<StoredMember & { addedBy?: string }>().exec();
  if (!removed) return { kind: "not-found" };
  if (removed.role === "owner" && (await ownerCount(tenantId)) === 0) {
    const { channel, channelUserId, role, displayName, addedBy } = removed;
    await Member.create({ ...scope(tenantId), channel: channel as Channel, channelUserId, role, ...(displayName && { displayName }), ...(addedBy && { addedBy }) });
    return { kind: "last-owner" };
  }
  return { kind: "removed", member: viewOf(removed) };
}
