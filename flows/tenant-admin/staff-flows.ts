// The store's team from the chat: list it, add someone by their user id, remove someone,
// or send a single-use invite link; and, for the invited person, joining with it.
import type { ActionContext, ActionRegistry } from "../engine/actions.ts";
import { forgetMembership } from "../engine/audience.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { Locale } from "../engine/message.ts";
import { t } from "../../locales/i18n.ts";
import { Tenant, type Channel, type Role } from "../../storage/models/index.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { adminAction, adminGuard, audit, commandArgs, roleName, say, stop } from "./admin-access.ts";
import type { ResolvedAdminServices } from "./admin-services.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { createInvite, INVITE_PREFIX, redeemInvite } from "./invites.ts";
import { addMember, listMembers, parseMemberRef, removeMember, type MemberView } from "./staff.ts";

export const staffListFlow = defineFlow({
  id: "admin-staff",
  guard: adminGuard("staff.manage"),
  audience: "seller",
  triggers: { commands: ["staf", "staff"] },
  help: "admin.help.staff",
  steps: {
    list: { kind: "action", action: "adminListStaff" },
  },
});

export const staffAddFlow = defineFlow({
  id: "admin-staff-add",
  guard: adminGuard("staff.manage"),
  audience: "seller",
  triggers: { commands: ["tambahstaf", "addstaff"] },
  help: "admin.help.staff_add",
  steps: {
    add: { kind: "action", action: "adminAddStaff" },
  },
});

export const staffRemoveFlow = defineFlow({
  id: "admin-staff-remove",
  guard: adminGuard("staff.manage"),
  audience: "seller",
  triggers: { commands: ["hapusstaf", "removestaff"] },
  help: "admin.help.staff_remove",
  steps: {
    remove: { kind: "action", action: "adminRemoveStaff" },
  },
});

export const staffInviteFlow = defineFlow({
  id: "admin-staff-invite",
  guard: adminGuard("staff.manage"),
  audience: "seller",
  triggers: { commands: ["undang", "invite"] },
  help: "admin.help.staff_invite",
  steps: {
    invite: { kind: "action", action: "adminInviteStaff" },
  },
});

/**
 * Joining with an invite. Open to everyone (the invited person is not a member yet) and
 * unlisted in /help. `/gabung inv_…` works on every channel; the invite's Telegram deep
 * link (`t.me/<bot>?start=inv_…`) arrives as `/start inv_…`, which the engine routes here
 * by the payload's prefix — any other `/start` payload still opens the store's welcome.
 */
export const staffJoinFlow = defineFlow({
  id: "staff-join",
  triggers: { commands: ["gabung", "join"], startPayloads: [INVITE_PREFIX] },
  steps: {
    join: { kind: "action", action: "adminRedeemInvite" },
  },
});

export const staffFlows = [staffListFlow, staffAddFlow, staffRemoveFlow, staffInviteFlow, staffJoinFlow];

const ROLE_WORDS: Record<string, Role> = { owner: "owner", pemilik: "owner", admin: "admin", staff: "staff", staf: "staff" };

function memberLine(locale: Locale, m: MemberView): string {
  return t(locale, "admin.staff.line", { name: m.displayName ?? "–", role: roleName(locale, m.role), channel: m.channel, id: m.userId });
}

/**
 * The person's role changed: this process's engines forget the role they remembered, and
 * `onMembershipChanged` is told without holding up the reply (its failure is the log's, not
 * the seller's).
 */
function membershipChanged(services: ResolvedAdminServices, ctx: ActionContext, channel: string, userId: string): void {
  forgetMembership({ tenantId: ctx.tenant.id, channel, userId });
  const hook = services.onMembershipChanged;
  if (!hook) return;
  void Promise.resolve()
    .then(() => hook({ tenantId: ctx.tenant.id, channel, userId }))
    .catch((error: unknown) => ctx.log.warn("onMembershipChanged failed", { channel, error: error instanceof Error ? error.message : String(error) }));
}

export function staffActions(services: ResolvedAdminServices): ActionRegistry {
  return {
    adminListStaff: adminAction(services, "staff.manage", async (ctx) => {
      const members = await listMembers(ctx.tenant.id);
      return stop(say("admin.staff.list", { count: members.length, lines: members.map((m) => memberLine(ctx.locale, m)).join("\n") }));
    }),

    adminAddStaff: adminAction(services, "staff.manage", async (ctx, actor) => {
      const m = /^(\S+)\s+(\S+)(?:\s+(.+))?$/s.exec(commandArgs(ctx));
      const role = m ? ROLE_WORDS[m[1].toLowerCase()] : undefined;
      const ref = m ? parseMemberRef(m[2], ctx.channel) : undefined;
      const displayName = m?.[3]?.trim().slice(0, 128);
      if (!role || !ref) return stop(say("admin.usage.staff_add"));
      const outcome = await addMember(ctx.tenant.id, { ...ref, role, ...(displayName && { displayName }), addedBy: `${actor.channel}:${actor.userId}` });
      const params = { id: ref.userId, channel: ref.channel, role: roleName(ctx.locale, role) };
      switch (outcome.kind) {
        case "added":
          await audit(ctx, actor, "staff.add", { type: "member", id: `${ref.channel}:${ref.userId}` }, { after: { role } });
          membershipChanged(services, ctx, ref.channel, ref.userId);
          return stop(say("admin.staff.added", params));
        case "role-changed":
          await audit(ctx, actor, "staff.role", { type: "member", id: `${ref.channel}:${ref.userId}` }, { before: { role: outcome.before.role }, after: { role } });
          membershipChanged(services, ctx, ref.channel, ref.userId);
          return stop(say("admin.staff.role_changed", { ...params, before: roleName(ctx.locale, outcome.before.role) }));
        case "unchanged":
          return stop(say("admin.staff.unchanged", params));
        case "last-owner":
          return stop(say("admin.staff.last_owner"));
      }
    }),

    adminRemoveStaff: adminAction(services, "staff.manage", async (ctx, actor) => {
      const args = commandArgs(ctx);
      const ref = /^\S+$/.test(args) ? parseMemberRef(args, ctx.channel) : undefined;
      if (!ref) return stop(say("admin.usage.staff_remove"));
      const outcome = await removeMember(ctx.tenant.id, ref);
      switch (outcome.kind) {
        case "not-found":
          return stop(say("admin.staff.not_found", { id: ref.userId, channel: ref.channel }));
        case "last-owner":
          return stop(say("admin.staff.last_owner"));
        case "removed":
          await audit(ctx, actor, "staff.remove", { type: "member", id: `${ref.channel}:${ref.userId}` }, { before: { role: outcome.member.role } });
          membershipChanged(services, ctx, ref.channel, ref.userId);
          return stop(say("admin.staff.removed", { id: ref.userId, channel: ref.channel, role: roleName(ctx.locale, outcome.member.role) }));
      }
    }),

    adminInviteStaff: adminAction(services, "staff.manage", async (ctx, actor) => {
      const args = commandArgs(ctx).toLowerCase();
      const role = args === "" ? "staff" : ROLE_WORDS[args];
      if (!role) return stop(say("admin.usage.staff_invite"));
      const invite = await createInvite(ctx.tenant.id, role, { channel: actor.channel, userId: actor.userId }, services.inviteTtlMs, services.clock());
      await audit(ctx, actor, "staff.invite", { type: "invite", id: invite.id }, { after: { role, expiresAt: invite.expiresAt } });
      const [tenant, store] = await Promise.all([
        Tenant.findById(ctx.tenant.id, { "channels.telegram.botUsername": 1 }).lean<{ channels?: { telegram?: { botUsername?: string } } }>().exec(),
        storeSettings(ctx.tenant.id),
      ]);
      const bot = tenant?.channels?.telegram?.botUsername;
      const expires = formatWhen(invite.expiresAt, { locale: ctx.locale, timeZone: store?.timezone ?? "Asia/Jakarta", style: "compact" });
      const how = bot
        ? t(ctx.locale, "admin.staff.invite_link", { link: `https://t.me/${bot}?start=${invite.token}`, token: invite.token })
        : t(ctx.locale, "admin.staff.invite_command", { token: invite.token });
      return stop(say("admin.staff.invited", { role: roleName(ctx.locale, role), how, expires }));
    }),

    adminRedeemInvite: async (ctx) => {
      const quota = await services.limiter.consume(`admin-join:${ctx.tenant.id}:${ctx.channel}:${ctx.user.id}`, 5, 10 * 60_000);
      if (!quota.allowed) return { say: [say("admin.rate_limited", { seconds: Math.max(1, Math.ceil(quota.retryAfterMs / 1000)) })] };
      const token = commandArgs(ctx);
      if (token === "") return { say: [say("admin.usage.staff_join")] };
      const outcome = await redeemInvite(
        ctx.tenant.id,
        token,
        { channel: ctx.channel as Channel, userId: ctx.user.id, ...(ctx.user.name !== undefined && { displayName: ctx.user.name }) },
        services.clock(),
      );
      switch (outcome.kind) {
        case "joined":
          await audit(ctx, { channel: ctx.channel, userId: ctx.user.id, role: outcome.role, ...(ctx.user.name !== undefined && { name: ctx.user.name }) }, "staff.join", { type: "member", id: `${ctx.channel}:${ctx.user.id}` }, { after: { role: outcome.role, invite: outcome.inviteId } });
          membershipChanged(services, ctx, ctx.channel, ctx.user.id);
          return { say: [say("admin.staff.joined", { role: roleName(ctx.locale, outcome.role) })] };
        case "already-member":
          return { say: [say("admin.staff.already_member", { role: roleName(ctx.locale, outcome.role) })] };
        case "used":
          return { say: [say("admin.staff.invite_used")] };
        case "expired":
          return { say: [say("admin.staff.invite_expired")] };
        case "unknown":
          return { say: [say("admin.staff.invite_unknown")] };
      }
    },
  };
}
