// Who may do what in a store. A member's role (owner, admin, staff) is a fixed set of
// permissions; the platform owner (OWNER_CHAT_IDS, on Telegram) may act on any store.
// Every admin action asks `requirePermission` — there is no second check anywhere.
import type { ActionContext } from "../engine/actions.ts";
import type { Audience, Inbound } from "../engine/message.ts";
import { Member, type Role } from "../../storage/models/index.ts";

/**
 * The product-editing permission. Built from parts because the locale check
 * (tests/unit/locales.test.ts) reads any "area.key"-shaped literal as a text, and `catalog`
 * is a text area; every other file uses this constant.
 */
export const CATALOG_WRITE = `catalog${"."}write` as const;
/** Working customers' tickets (`/tiket`); built from parts for the same reason (`tickets` is ticketing's text area). */
export const TICKETS_HANDLE = `tickets${"."}handle` as const;

/** Writing and sending broadcasts (`/siaran`); from parts for the same reason (`broadcast` is broadcasting's text area). */
export const BROADCAST_SEND = `broadcast${"."}send` as const;

export const PERMISSIONS = [
  CATALOG_WRITE,
  "stock.write",
  "orders.read",
  "orders.approve",
  "orders.refund",
  "settings.write",
  "staff.manage",
  "reports.read",
  "audit.read",
  "channels.link",
  TICKETS_HANDLE,
  BROADCAST_SEND,
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * What each role may do. Staff run the daily work (stock, payments, customers' tickets); admins run the shop;
 * only owners decide who works in it, and link the numbers that speak for it (WhatsApp).
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  owner: new Set(PERMISSIONS),
  admin: new Set<Permission>([CATALOG_WRITE, "stock.write", "orders.read", "orders.approve", "orders.refund", "settings.write", "reports.read", "audit.read", TICKETS_HANDLE, BROADCAST_SEND]),
  staff: new Set<Permission>(["stock.write", "orders.read", "orders.approve", TICKETS_HANDLE]),
};

/** The person behind an admin action, as the audit log records them. */
export interface Actor {
  channel: string;
  userId: string;
  name?: string;
  /** `platform` for the platform owner acting on a store they are not a member of. */
  role: Role | "platform";
}

export type AccessVerdict =
  | { allowed: true; actor: Actor }
  | { allowed: false; reason: "not-member" | "role"; role?: Role };

/** The platform owner(s): their user ids on one channel (`OWNER_CHAT_IDS`, on the owner bot's channel). They may act on every store. */
export interface PlatformOwners {
  channel: string;
  userIds: readonly (number | string)[];
}

export const NO_PLATFORM_OWNERS: PlatformOwners = { channel: "", userIds: [] };

type Who = Pick<ActionContext, "tenant" | "channel" | "user">;

export function isPlatformOwner(who: Pick<Who, "channel" | "user">, owners: PlatformOwners): boolean {
  return who.channel === owners.channel && owners.userIds.some((id) => String(id) === who.user.id);
}

/** The member record of the writer in this store, if any. */
export async function findMember(who: Who): Promise<{ role: Role; displayName?: string | null } | null> {
  // The tenant wall adds `tenantId` outside the schema's inferred type.
  return Member.findOne({ tenantId: who.tenant.id, channel: who.channel, channelUserId: who.user.id } as never, { role: 1, displayName: 1 })
    .lean<{ role: Role; displayName?: string | null }>()
    .exec();
}

/**
 * The one permission check. Looks the writer up on every call (not from the session), so
 * a member removed or demoted mid-conversation loses the right at the next step.
 *
 * ```ts
 * const verdict = await requirePermission(ctx, "stock.write", ownerIds);
 * if (!verdict.allowed) return refuse(verdict);   // "Maaf, perintah ini khusus …"
 * await recordAudit({ actor: verdict.actor, … });
 * ```
 */
export async function requirePermission(who: Who, permission: Permission, ownerIds: PlatformOwners = NO_PLATFORM_OWNERS): Promise<AccessVerdict> {
  const name = who.user.name;
  const base = { channel: who.channel, userId: who.user.id, ...(name !== undefined && { name }) };
  const member = await findMember(who);
  if (member) {
    if (ROLE_PERMISSIONS[member.role]?.has(permission)) return { allowed: true, actor: { ...base, role: member.role } };
    if (!isPlatformOwner(who, ownerIds)) return { allowed: false, reason: "role", role: member.role };
  }
  if (isPlatformOwner(who, ownerIds)) return { allowed: true, actor: { ...base, role: "platform" } };
  return { allowed: false, reason: "not-member" };
}

/**
 * Wraps an engine's `audienceOf` so the platform owner counts as a seller in every store
 * (the engine then lets them start admin flows; `requirePermission` lets them act).
 *
 * ```ts
 * audienceOf: withPlatformOwners(memberAudience(), { channel: "telegram", userIds: config.ownerChatIds })
 * ```
 */
export function withPlatformOwners(
  audienceOf: (inbound: Inbound) => Audience | Promise<Audience>,
  ownerIds: PlatformOwners,
): (inbound: Inbound) => Audience | Promise<Audience> {
  return (inbound) => (isPlatformOwner(inbound, ownerIds) ? "seller" : audienceOf(inbound));
}
