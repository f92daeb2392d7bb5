// The door every admin step goes through: the rate limit when a command starts, and the
// permission check before anything is read or changed. A refusal is a polite message and
// the `stop` outcome, which every admin flow routes to a silent end.
import type { Action, ActionContext, ActionResult } from "../engine/actions.ts";
import type { Outbound, TextParams } from "../engine/message.ts";
import { t } from "../../locales/i18n.ts";
import { recordAudit, type Role } from "../../storage/models/index.ts";
import { Types } from "mongoose";
import type { ResolvedAdminServices } from "./admin-services.ts";
import { findMember, isPlatformOwner, requirePermission, type AccessVerdict, type Actor, type Permission } from "./permissions.ts";

/** The outcome that ends an admin flow after its action has said why. */
export const STOP = "stop";

export function say(key: string, params?: TextParams): Outbound {
  return { text: params ? { key, params } : { key } };
}

/** Says something and ends the flow. */
export function stop(...messages: Outbound[]): ActionResult {
  return { say: messages, outcome: STOP };
}

export function roleName(locale: string, role: Role | "platform"): string {
  switch (role) {
    case "owner":
      return t(locale, "admin.roles.owner");
    case "admin":
      return t(locale, "admin.roles.admin");
    case "staff":
      return t(locale, "admin.roles.staff");
    case "platform":
      return t(locale, "admin.roles.platform");
  }
}

function refusal(ctx: ActionContext, verdict: Extract<AccessVerdict, { allowed: false }>): ActionResult {
  if (verdict.reason === "not-member") return stop(say("admin.denied.not_member"));
  return stop(say("admin.denied.role", { role: roleName(ctx.locale, verdict.role!) }));
}

/**
 * An admin action: runs `body` only when the writer holds `permission`, and hands it the
 * actor for the audit log.
 */
export function adminAction(services: ResolvedAdminServices, permission: Permission, body: (ctx: ActionContext, actor: Actor) => Promise<ActionResult | void>): Action {
  return async (ctx) => {
    const verdict = await requirePermission(ctx, permission, services.ownerChatIds);
    if (!verdict.allowed) return refusal(ctx, verdict);
    return body(ctx, verdict.actor);
  };
}

/**
 * The first step of every admin flow: counts the command against the writer's rate limit,
 * then checks the flow's permission (`null`: any member of the store).
 */
export function accessGuard(services: ResolvedAdminServices, flowPermissions: Readonly<Record<string, Permission | null>>): Action {
  return async (ctx) => {
    const { limit, windowMs } = services.adminRateLimit;
    const quota = await services.limiter.consume(`admin:${ctx.tenant.id}:${ctx.channel}:${ctx.user.id}`, limit, windowMs);
    if (!quota.allowed) return stop(say("admin.rate_limited", { seconds: Math.max(1, Math.ceil(quota.retryAfterMs / 1000)) }));
    if (!Object.hasOwn(flowPermissions, ctx.flowId)) throw new Error(`admin flow "${ctx.flowId}" has no permission entry`);
    const permission = flowPermissions[ctx.flowId];
    if (permission !== null) {
      const verdict = await requirePermission(ctx, permission, services.ownerChatIds);
      return verdict.allowed ? {} : refusal(ctx, verdict);
    }
    if (isPlatformOwner(ctx, services.ownerChatIds) || (await findMember(ctx))) return {};
    return stop(say("admin.denied.not_member"));
  };
}

/** The actor as the audit log and orders record them; the platform owner is marked as such. */
export function recordedActor(actor: Actor): { channel: string; userId: string; name?: string } {
  const name = actor.role === "platform" ? `${actor.name ?? ""} (platform)`.trim() : actor.name;
  return { channel: actor.channel, userId: actor.userId, ...(name !== undefined && { name }) };
}

/** Where an admin change came from, as the audit log records it: the channel and the chat (`telegram:123456`). */
export function auditWhere(ctx: Pick<ActionContext, "channel" | "chatId">): string {
  return `${ctx.channel}:${ctx.chatId}`.slice(0, 64);
}

/** Records an admin change in the store's audit log. Values pass the log's secret redaction. */
export async function audit(
  ctx: ActionContext,
  actor: Actor,
  action: string,
  target: { type: string; id?: string },
  change: { before?: unknown; after?: unknown } = {},
): Promise<void> {
  await recordAudit({
    tenantId: new Types.ObjectId(ctx.tenant.id),
    actor: recordedActor(actor),
    action,
    target,
    ...(change.before !== undefined && { before: change.before }),
    ...(change.after !== undefined && { after: change.after }),
    where: auditWhere(ctx),
  });
}

/** The command's arguments (`/harga netflix 30000` → "netflix 30000"), or "" when it came from a menu. */
export function commandArgs(ctx: ActionContext): string {
  return typeof ctx.data.commandArgs === "string" ? ctx.data.commandArgs.trim() : "";
}
