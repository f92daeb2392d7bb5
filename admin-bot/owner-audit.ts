/**
 * Every owner-bot action is audited with the owner as actor (channel "owner", their Telegram
 * user id): what concerns one store in that store's `AuditLog`, what concerns the whole
 * platform (maintenance, muted alerts) in `platform_audit`.
 */
import { Types } from "mongoose";
import type { Context } from "grammy";
import { recordAudit, recordPlatformAudit } from "../storage/models/index.ts";
import { OWNER_CHANNEL } from "./owner-alerts.ts";

export interface OwnerActor {
  channel: string;
  userId: string;
  name?: string;
}

const WHERE = "owner-bot";

export function ownerActor(ctx: Pick<Context, "from">): OwnerActor {
  const name = [ctx.from?.first_name, ctx.from?.last_name].filter(Boolean).join(" ");
  return { channel: OWNER_CHANNEL, userId: String(ctx.from?.id ?? "?"), ...(name && { name }) };
}

export async function auditStore(store: { tenantId: string; slug: string }, actor: OwnerActor, action: string, change: { before?: unknown; after?: unknown } = {}): Promise<void> {
  await recordAudit({ tenantId: new Types.ObjectId(store.tenantId), actor, action, target: { type: "tenant", id: store.slug }, ...change, where: WHERE });
}

export async function auditPlatform(actor: OwnerActor, action: string, target: string, change: { before?: unknown; after?: unknown } = {}): Promise<void> {
  await recordPlatformAudit({ actor, action, target, ...change, where: WHERE });
}
