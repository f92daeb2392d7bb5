// Who is writing: a member of the store (owner, admin, staff) is a seller; everyone
// else is a customer. Membership is looked up per message, with a short memory so a
// busy chat does not query for every line.
import { Member, type Channel } from "../../storage/models/index.ts";
import type { MembershipChange } from "./channel.ts";
import type { Audience, Inbound } from "./message.ts";

const REMEMBER_MS = 10_000;
const MAX_REMEMBERED = 10_000;

type Remembered = Map<string, { audience: Audience; until: number }>;

/** Every `memberAudience` memory of this process, so that a membership change reaches them all. */
const memories = new Set<WeakRef<Remembered>>();

const keyOf = (tenantId: string, channel: string, userId: string) => `${tenantId}:${channel}:${userId}`;

/**
 * Forgets what every `memberAudience` of this process remembers of one person in one store:
 * called when this process adds, removes, promotes or lets someone join, so their next
 * message is answered in their new role at once. (A change made by another process reaches
 * this one within the ten seconds a memory lasts.)
 */
export function forgetMembership(change: MembershipChange): void {
  const key = keyOf(change.tenantId, change.channel, change.userId);
  for (const ref of memories) {
    const remembered = ref.deref();
    if (remembered) remembered.delete(key);
    else memories.delete(ref);
  }
}

/**
 * The `audienceOf` of a platform engine. A member added or removed in this process is
 * treated in the new role from the next message (`forgetMembership`); one changed by
 * another process within ten seconds.
 */
export function memberAudience(): (inbound: Inbound) => Promise<Audience> {
  const remembered: Remembered = new Map();
  memories.add(new WeakRef(remembered));
  return async (inbound) => {
    const key = keyOf(inbound.tenant.id, inbound.channel, inbound.user.id);
    const hit = remembered.get(key);
    if (hit && hit.until > Date.now()) return hit.audience;
    // The tenant wall adds `tenantId` outside the schema's inferred type; the channel is opaque here.
    const member = await Member.exists({ tenantId: inbound.tenant.id, channel: inbound.channel as Channel, channelUserId: inbound.user.id } as never);
    const audience: Audience = member ? "seller" : "customer";
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(key, { audience, until: Date.now() + REMEMBER_MS });
    return audience;
  };
}
