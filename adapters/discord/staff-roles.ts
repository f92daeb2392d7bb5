/**
 * The store's staff role in its guild, as store members: someone holding the role who is not
 * yet a member becomes one (role `staff`, `addedBy: "discord-role"`); a member added that way
 * who no longer holds the role is removed. Members added any other way (the owner, admins,
 * `/tambahstaf`) are never touched here. Both changes are audited.
 *
 * Checked on each interaction in a linked guild (Discord tells each interaction's roles), so
 * a role given or taken counts from the person's next command. What a member may then do is
 * the flows' business (their guards read `Member` records), never Discord's command
 * permissions.
 */
import { Types } from "mongoose";
import type { EngineLog } from "../../flows/engine/index.ts";
import { Member, recordAudit } from "../../storage/models/index.ts";
import { DISCORD_CHANNEL } from "./contract.ts";
import type { GuildStore } from "./contract.ts";

export const ROLE_SOURCE = "discord-role";
const REMEMBER_MS = 30_000;
const MAX_REMEMBERED = 20_000;

export class StaffRoles {
  /** What was last settled per (store, user, role, holds): unchanged answers skip the database. */
  readonly #settled = new Map<string, number>();
  readonly #log: EngineLog;
  readonly #clock: () => number;

  constructor(log: EngineLog, clock: () => number = Date.now) {
    this.#log = log;
    this.#clock = clock;
  }

  /** Makes the store's members follow whether `user` holds the staff role now; `changed` hears a change. */
  async settle(store: GuildStore, user: { id: string; name?: string }, roles: readonly string[], changed?: () => void): Promise<void> {
    const roleId = store.link.staffRoleId;
    if (!roleId) return;
    const holds = roles.includes(roleId);
    const key = `${store.tenantId}:${user.id}:${roleId}:${holds ? 1 : 0}`;
    const now = this.#clock();
    if ((this.#settled.get(key) ?? 0) > now) return;
    const tenantId = new Types.ObjectId(store.tenantId);
    const actor = { channel: DISCORD_CHANNEL, userId: user.id, ...(user.name && { name: user.name }) };
    const target = { type: "member", id: `${DISCORD_CHANNEL}:${user.id}` };
    if (holds) {
      // The tenant wall adds `tenantId` outside Member's inferred type.
      const result = await Member.updateOne(
        { tenantId, channel: DISCORD_CHANNEL, channelUserId: user.id } as never,
        { $setOnInsert: { role: "staff", addedBy: ROLE_SOURCE, ...(user.name && { displayName: user.name.slice(0, 128) }) } },
        { upsert: true },
      ).exec().catch((error: unknown) => ((error as { code?: number }).code === 11000 ? { upsertedCount: 0 } : Promise.reject(error)));
      if (result.upsertedCount > 0) {
        await recordAudit({ tenantId, actor, action: "staff.add", target, after: { role: "staff", addedBy: ROLE_SOURCE, roleId }, where: DISCORD_CHANNEL });
        this.#log.info("discord staff role holder became a member", { tenant: store.slug, userId: user.id });
        changed?.();
      }
    } else {
      const result = await Member.deleteOne({ tenantId, channel: DISCORD_CHANNEL, channelUserId: user.id, addedBy: ROLE_SOURCE } as never).exec();
      if (result.deletedCount > 0) {
        await recordAudit({ tenantId, actor, action: "staff.remove", target, before: { role: "staff", addedBy: ROLE_SOURCE, roleId }, where: DISCORD_CHANNEL });
        this.#log.info("discord member who lost the staff role removed", { tenant: store.slug, userId: user.id });
        changed?.();
      }
    }
    if (this.#settled.size >= MAX_REMEMBERED) this.#settled.clear();
    this.#settled.delete(`${store.tenantId}:${user.id}:${roleId}:${holds ? 0 : 1}`);
    this.#settled.set(key, now + REMEMBER_MS);
  }
}
