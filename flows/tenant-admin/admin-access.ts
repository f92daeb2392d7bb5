// The door to seller administration: the `admin` guard every admin flow declares (the
// rate limit when a flow starts, then the flow's permission), and the permission check
// each admin action repeats before anything is read or changed. A refusal is a polite
// message, and the flow ends there.
import { END, type Action, type ActionContext, type ActionResult, type Guard } from "../engine/actions.ts";
import type { GuardRef } from "../engine/flow-schema.ts";
import type { Outbound, TextParams } from "../engine/message.ts";
import type { SessionData } from "../engine/session.ts";
import { t } from "../../locales/i18n.ts";
import { recordAudit, type Role } from "../../storage/models/index.ts";
import { Types } from "mongoose";
import type { ResolvedAdminServices } from "./admin-services.ts";
import { findMember, isPlatformOwner, PERMISSIONS, requirePermission, type AccessVerdict, type Actor, type Permission } from "./permissions.ts";

/** The name admin flows know their guard by. */
export const ADMIN_GUARD = "admin";

export function say(key: string, params?: TextParams): Outbound {
  return { text: params ? { key, params } : { key } };
}

/** Says something and ends the flow. */
export function stop(...messages: Outbound[]): ActionResult<never, never> {
  return { say: messages, outcome: END };
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

function refusal(ctx: Pick<ActionContext, "locale">, verdict: Extract<AccessVerdict, { allowed: false }>): Outbound {
  if (verdict.reason === "not-member") return say("admin.denied.not_member");
  return say("admin.denied.role", { role: roleName(ctx.locale, verdict.role!) });
}

/**
 * An admin action: runs `body` only when the writer holds `permission`, and hands it the
 * actor for the audit log. The flow's guard let them in; this asks again at every step,
 * so a member demoted mid-conversation loses the right at once.
 */
export function adminAction<Data = SessionData, Outcome extends string = never>(
  services: ResolvedAdminServices,
  permission: Permission,
  body: (ctx: ActionContext<Data>, actor: Actor) => Promise<ActionResult<Outcome, Data> | void>,
): Action<Data, Outcome> {
  return async (ctx) => {
    const verdict = await requirePermission(ctx, permission, services.platformOwners);
    if (!verdict.allowed) return stop(refusal(ctx, verdict));
    return body(ctx, verdict.actor);
  };
}

/**
 * What an admin flow declares: only members holding `permission` (without one: any member
 * of the store) may start it, a few times a minute at most.
 *
 * ```ts
 * export const auditFlow = defineFlow({ id: "admin-audit", guard: adminGuard("audit.read"), … });
 * ```
 */
export function adminGuard(permission?: Permission): GuardRef {
  return permission === undefined ? { name: ADMIN_GUARD } : { name: ADMIN_GUARD, arg: permission };
}

/** The permission an admin flow's guard asks for: `null` for any member, `undefined` when the flow is not an admin one. */
export function guardedPermission(guard: GuardRef | undefined): Permission | null | undefined {
  if (guard?.name !== ADMIN_GUARD) return undefined;
  if (guard.arg === undefined) return null;
  if (!(PERMISSIONS as readonly string[]).includes(guard.arg)) throw new Error(`admin guard: unknown permission "${guard.arg}"`);
  return guard.arg as Permission;
}

/**
 * The `admin` guard: counts the start against the writer's rate limit, then checks the
 * flow's permission. Each refusal says why ("admin.rate_limited", "admin.denied.…").
 */
export function adminAccess(services: ResolvedAdminServices): Guard {
  return async (ctx, arg) => {
    const { limit, windowMs } = services.adminRateLimit;
    const quota = await services.limiter.consume(`admin:${ctx.tenant.id}:${ctx.channel}:${ctx.user.id}`, limit, windowMs);
    if (!quota.allowed) return { allowed: false, say: [say("admin.rate_limited", { seconds: Math.max(1, Math.ceil(quota.retryAfterMs / 1000)) })] };
    const permission = guardedPermission({ name: ADMIN_GUARD, ...(arg !== undefined && { arg }) });
    if (permission) {
      const verdict = await requirePermission(ctx, permission, services.platformOwners);
      return verdict.allowed ? { allowed: true } : { allowed: false, say: [refusal(ctx, verdict)] };
    }
    if (isPlatformOwner(ctx, services.platformOwners) || (await findMember(ctx))) return { allowed: true };
    return { allowed: false, say: [say("admin.denied.not_member")] };
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
  ctx: Pick<ActionContext, "tenant" | "channel" | "chatId">,
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
export function commandArgs(ctx: ActionContext<{ commandArgs?: unknown }>): string {
  return typeof ctx.data.commandArgs === "string" ? ctx.data.commandArgs.trim() : "";
}
