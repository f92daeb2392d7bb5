// Who is writing: a member of the store (owner, admin, staff) is a seller; everyone
// else is a customer. Membership is looked up per message, with a short memory so a
// busy chat does not query for every line.
import { Member, type Channel } from "../../storage/models/index.ts";
import type { Audience, Inbound } from "./message.ts";

const REMEMBER_MS = 10_000;
const MAX_REMEMBERED = 10_000;

/**
 * The `audienceOf` of a platform engine. A member removed from a store stops being
 * treated as a seller within ten seconds.
 */
export function memberAudience(): (inbound: Inbound) => Promise<Audience> {
  const remembered = new Map<string, { audience: Audience; until: number }>();
  return async (inbound) => {
    const key = `${inbound.tenant.id}:${inbound.channel}:${inbound.user.id}`;
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
