// Whether the store itself is off a channel (suspended, its bot's token revoked, its
// WhatsApp number restricted or logged out, no Discord guild), as the store's record says —
// as opposed to this instance not serving it (another instance holds the store's WhatsApp
// session, the Discord gateway is still connecting). The first pauses a broadcast as
// restricted; the second only makes this instance step aside for a while.
import type { Types } from "mongoose";
import { Tenant } from "../../storage/models/index.ts";

interface StoreChannels {
  status?: string;
  channels?: {
    telegram?: { token?: string | null; revokedAt?: Date | null } | null;
    whatsapp?: { status?: string | null } | null;
    discord?: { guildId?: string | null } | null;
  } | null;
}

const OFF: Record<string, (channels: NonNullable<StoreChannels["channels"]>) => boolean> = {
  telegram: (c) => !c.telegram?.token || Boolean(c.telegram.revokedAt),
  whatsapp: (c) => c.whatsapp?.status !== "linked",
  discord: (c) => !c.discord?.guildId,
};

export async function storeOffChannel(tenantId: Types.ObjectId, channel: string): Promise<boolean> {
  const store = await Tenant.findById(tenantId, { status: 1, "channels.telegram.token": 1, "channels.telegram.revokedAt": 1, "channels.whatsapp.status": 1, "channels.discord.guildId": 1 })
    .lean<StoreChannels>()
    .exec();
  if (!store || store.status === "suspended") return true;
  return OFF[channel]?.(store.channels ?? {}) ?? false;
}
