import { CHANNELS, Member, ROLES, Tenant, recordAudit, type Channel, type Role } from "../../storage/models/index.ts";
import { internationalNumber } from "../../flows/tenant-admin/phone-numbers.ts";
import { createMongoWhatsAppIdentities } from "../../storage/whatsapp/identities.ts";
import { parseFlags, requireFlag } from "./args.ts";
import type { CliContext } from "./context.ts";
import { UsageError } from "./usage-error.ts";

const USER_ID = /^[A-Za-z0-9@._+:-]{1,64}$/;

export async function memberCommand(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "add":
      return addMember(rest, ctx);
    case "list":
      return listMembers(rest, ctx);
    case "remove":
      return removeMember(rest, ctx);
    default:
      throw new UsageError(sub ? "cli.unknown_subcommand" : "cli.missing_subcommand", { sub: sub ?? "" }, "cli.usage_member");
  }
}

const memberFlags = {
  tenant: { type: "string" },
  channel: { type: "string" },
  user: { type: "string" },
  role: { type: "string" },
  name: { type: "string" },
} as const;

function memberIdentity(values: { tenant?: string; channel?: string; user?: string }, usage: string) {
  const slug = requireFlag(values.tenant, "--tenant", usage);
  const channel = requireFlag(values.channel, "--channel", usage);
  const user = requireFlag(values.user, "--user", usage);
  if (!(CHANNELS as readonly string[]).includes(channel)) {
    throw new UsageError("cli.bad_channel", { channel, allowed: CHANNELS.join(", ") }, usage);
  }
  // A WhatsApp member may be named by phone number (+62 812-3456-7890), checked where it is read.
  const phoneNumber = channel === "whatsapp" && !user.startsWith("wa:");
  if (!phoneNumber && !USER_ID.test(user)) throw new UsageError("cli.bad_user_id", { user }, usage);
  return { slug, channel: channel as Channel, user };
}

/**
 * The member's id on the channel. A WhatsApp member is named by their phone number (`+62 812…`):
 * the channel knows each person by a stable id that covers their phone number and their LID,
 * so the number is looked up, or recorded, as that person's (storage/whatsapp/identities.ts);
 * their messages, by either address, then come from this member. An id (`wa:…`) is taken as it is.
 */
async function channelUserId(tenantId: string, channel: Channel, user: string, usage: string): Promise<string> {
  if (channel !== "whatsapp" || user.startsWith("wa:")) return user;
  const number = internationalNumber(user);
  if ("problem" in number) {
    throw new UsageError(number.problem === "local" ? "cli.whatsapp_phone_local" : "cli.whatsapp_phone_malformed", { phone: user }, usage);
  }
  const jid = `${number.digits}@s.whatsapp.net`;
  return createMongoWhatsAppIdentities().resolve(tenantId, { pn: jid }, jid);
}

async function findTenant(slug: string, usage: string) {
  const tenant = await Tenant.findOne({ slug });
  if (!tenant) throw new UsageError("cli.unknown_tenant", { slug }, usage);
  return tenant;
}

async function addMember(argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_member_add";
  const { values } = parseFlags(argv, memberFlags, usage);
  const { slug, channel, user } = memberIdentity(values, usage);
  const role = requireFlag(values.role, "--role", usage);
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError("cli.bad_role", { role, allowed: ROLES.join(", ") }, usage);
  return ctx.withDatabase(async () => {
    const tenant = await findTenant(slug, usage);
    const filter = { tenantId: tenant._id, channel, channelUserId: await channelUserId(tenant._id.toString(), channel, user, usage) };
    const before = await Member.findOne(filter).lean();
    if (before?.role === "owner" && role !== "owner") {
      const owners = await Member.countDocuments({ tenantId: tenant._id, role: "owner" });
      if (owners <= 1) throw new UsageError("cli.last_owner", { slug }, usage);
    }
    await Member.updateOne(
      filter,
      { $set: { role: role as Role, ...(values.name ? { displayName: values.name } : {}) }, $setOnInsert: { addedBy: `cli:${ctx.actor.userId}` } },
      { upsert: true, runValidators: true },
    );
    await recordAudit({
      tenantId: tenant._id,
      actor: ctx.actor,
      action: before ? "member.role" : "member.add",
      target: { type: "member", id: `${channel}:${user}` },
      before: before ? { role: before.role } : undefined,
      after: { role },
      where: "cli",
    });
    ctx.out(ctx.t(before ? "cli.member_updated" : "cli.member_added", { slug, channel, user, role }));
    return 0;
  });
}

async function listMembers(argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_member";
  const { values } = parseFlags(argv, { tenant: { type: "string" } }, usage);
  const slug = requireFlag(values.tenant, "--tenant", usage);
  return ctx.withDatabase(async () => {
    const tenant = await findTenant(slug, usage);
    const members = await Member.find({ tenantId: tenant._id }).sort({ role: 1, channel: 1, channelUserId: 1 }).lean();
    if (members.length === 0) ctx.out(ctx.t("cli.no_members", { slug }));
    for (const m of members) ctx.out(`${m.channel}:${m.channelUserId}  ${m.role}${m.displayName ? `  ${m.displayName}` : ""}`);
    return 0;
  });
}

async function removeMember(argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_member";
  const { values } = parseFlags(argv, memberFlags, usage);
  const { slug, channel, user } = memberIdentity(values, usage);
  return ctx.withDatabase(async () => {
    const tenant = await findTenant(slug, usage);
    const filter = { tenantId: tenant._id, channel, channelUserId: await channelUserId(tenant._id.toString(), channel, user, usage) };
    const member = await Member.findOne(filter).lean();
    if (!member) throw new UsageError("cli.unknown_member", { slug, channel, user }, usage);
    if (member.role === "owner" && (await Member.countDocuments({ tenantId: tenant._id, role: "owner" })) <= 1) {
      throw new UsageError("cli.last_owner", { slug }, usage);
    }
    await Member.deleteOne(filter);
    await recordAudit({
      tenantId: tenant._id,
      actor: ctx.actor,
      action: "member.remove",
      target: { type: "member", id: `${channel}:${user}` },
      before: { role: member.role },
      where: "cli",
    });
    ctx.out(ctx.t("cli.member_removed", { slug, channel, user }));
    return 0;
  });
}
