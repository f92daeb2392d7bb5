import { linkGuild, SNOWFLAKE, unlinkGuild } from "../../storage/discord/guild-links.ts";
import { BROADCAST_LIMIT_RANGE, Tenant, SLUG_PATTERN, sealTenantSecret, recordAudit, type TenantDoc } from "../../storage/models/index.ts";
import { configureEncryption } from "../../storage/crypto.ts";
import { requireEncryptionKey } from "../config.ts";
import { parseFlags, requireFlag } from "./args.ts";
import type { CliContext } from "./context.ts";
import { UsageError } from "./usage-error.ts";

const TELEGRAM_TOKEN = /^\d{5,}:[A-Za-z0-9_-]{30,}$/;

export async function tenantCommand(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "create":
      return createTenant(rest, ctx);
    case "list":
      return listTenants(rest, ctx);
    case "suspend":
    case "resume":
      return setStatus(sub, rest, ctx);
    case "set":
      return setTenant(rest, ctx);
    default:
      throw new UsageError(sub ? "cli.unknown_subcommand" : "cli.missing_subcommand", { sub: sub ?? "" }, "cli.usage_tenant");
  }
}

async function createTenant(argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_tenant_create";
  const { values } = parseFlags(
    argv,
    {
      slug: { type: "string" },
      name: { type: "string" },
      locale: { type: "string" },
      timezone: { type: "string" },
      currency: { type: "string" },
      "telegram-token": { type: "string" },
    },
    usage,
  );
  const slug = requireFlag(values.slug, "--slug", usage);
  const name = requireFlag(values.name, "--name", usage);
  if (!SLUG_PATTERN.test(slug)) throw new UsageError("cli.bad_slug", { slug }, usage);
  if (values.locale !== undefined && !["id", "en"].includes(values.locale)) {
    throw new UsageError("cli.bad_locale", { locale: values.locale }, usage);
  }
  const token = values["telegram-token"];
  if (token !== undefined && !TELEGRAM_TOKEN.test(token)) throw new UsageError("cli.bad_telegram_token", {}, usage);
  const config = ctx.config();
  if (token !== undefined) {
    const key = requireEncryptionKey(config);
    configureEncryption(key, config.encryptionKeysOld);
  }

  return ctx.withDatabase(async () => {
    const tenant = new Tenant({
      slug,
      name,
      locale: values.locale ?? config.defaultLocale,
      ...(values.timezone ? { timezone: values.timezone } : {}),
      ...(values.currency ? { currency: values.currency.toUpperCase() } : {}),
    });
    if (token !== undefined) tenant.set("channels.telegram.token", sealTenantSecret(tenant, "channels.telegram.token", token));
    try {
      await tenant.validate();
    } catch (err) {
      const field = Object.keys((err as { errors?: object }).errors ?? {})[0] ?? "?";
      throw new UsageError("cli.bad_field", { field, reason: firstReason(err) }, usage);
    }
    if (await Tenant.exists({ slug })) throw new UsageError("cli.duplicate_slug", { slug }, usage);
    try {
      await tenant.save();
    } catch (err) {
      if ((err as { code?: number }).code === 11000) throw new UsageError("cli.duplicate_slug", { slug }, usage);
      throw err;
    }
    await recordAudit({
      tenantId: tenant._id,
      actor: ctx.actor,
      action: "tenant.create",
      target: { type: "tenant", id: slug },
      after: { slug, name, locale: tenant.locale, telegram: token ? "set" : "none" },
      where: "cli",
    });
    ctx.out(ctx.t("cli.tenant_created", { slug, name, id: String(tenant._id) }));
    return 0;
  });
}

function firstReason(err: unknown): string {
  const errors = (err as { errors?: Record<string, { message?: string }> }).errors ?? {};
  return Object.values(errors)[0]?.message ?? (err as Error).message;
}

async function listTenants(argv: string[], ctx: CliContext): Promise<number> {
  parseFlags(argv, {}, "cli.usage_tenant");
  return ctx.withDatabase(async () => {
    const tenants = await Tenant.find({}).sort({ slug: 1 }).lean();
    if (tenants.length === 0) {
      ctx.out(ctx.t("cli.no_tenants"));
      return 0;
    }
    const rows = tenants.map((t) => [
      t.slug,
      t.name,
      t.status,
      t.locale,
      [t.channels?.telegram?.token ? `telegram(${t.channels.telegram.mode})` : "", t.channels?.discord?.guildId ? `discord(${t.channels.discord.guildId})` : ""].filter(Boolean).join(" ") || "-",
    ]);
    const header = ["slug", "name", "status", "locale", "channels"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
    for (const row of [header, ...rows]) ctx.out(row.map((c, i) => String(c).padEnd(widths[i])).join("  ").trimEnd());
    return 0;
  });
}

async function setStatus(action: "suspend" | "resume", argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_tenant";
  const { positionals, values } = parseFlags(argv, { reason: { type: "string" } }, usage, 1);
  const slug = positionals[0];
  if (!slug) throw new UsageError("cli.missing_slug", {}, usage);
  const status = action === "suspend" ? "suspended" : "active";
  return ctx.withDatabase(async () => {
    const before: TenantDoc | null = await Tenant.findOne({ slug });
    if (!before) throw new UsageError("cli.unknown_tenant", { slug }, usage);
    if (before.status === status) {
      ctx.out(ctx.t(action === "suspend" ? "cli.tenant_already_suspended" : "cli.tenant_already_active", { slug }));
      return 0;
    }
    await Tenant.updateOne(
      { _id: before._id },
      action === "suspend" ? { $set: { status, suspendedReason: values.reason ?? "" } } : { $set: { status }, $unset: { suspendedReason: 1 } },
    );
    await recordAudit({
      tenantId: before._id,
      actor: ctx.actor,
      action: `tenant.${action}`,
      target: { type: "tenant", id: slug },
      before: { status: before.status },
      after: { status },
      where: "cli",
    });
    ctx.out(ctx.t(action === "suspend" ? "cli.tenant_suspended" : "cli.tenant_resumed", { slug }));
    return 0;
  });
}

const TELEGRAM_MODES = ["polling", "webhook"];
const PAYMENT_METHODS = ["manual", "simulator"];

/**
 * `niaga tenant set S …`: what the operator changes on a store — its name, language, bot
 * token (a new one also clears a revocation), Telegram mode (the failover between polling
 * and webhook), payment methods, Discord guild (`--discord-guild ID`, or `none` to unlink;
 * `/niaga hubungkan peran kanal` in the guild then sets the staff role and channel), and
 * its broadcast limits (`--broadcasts-per-day N`, `--broadcast-recipients N`, or `default`
 * for the platform's). A running `niaga start` follows within its sweep interval.
 */
async function setTenant(argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_tenant_set";
  const { positionals, values } = parseFlags(
    argv,
    {
      name: { type: "string" },
      locale: { type: "string" },
      "telegram-token": { type: "string" },
      "telegram-mode": { type: "string" },
      "payment-methods": { type: "string" },
      "discord-guild": { type: "string" },
      "broadcasts-per-day": { type: "string" },
      "broadcast-recipients": { type: "string" },
    },
    usage,
    1,
  );
  const slug = positionals[0];
  if (!slug) throw new UsageError("cli.missing_slug", {}, usage);
  if (Object.values(values).every((v) => v === undefined)) throw new UsageError("cli.nothing_to_set", {}, usage);
  const name = values.name?.trim();
  if (name !== undefined && (name.length === 0 || name.length > 64)) throw new UsageError("cli.bad_field", { field: "name", reason: ctx.t("cli.name_length") }, usage);
  if (values.locale !== undefined && !["id", "en"].includes(values.locale)) throw new UsageError("cli.bad_locale", { locale: values.locale }, usage);
  const token = values["telegram-token"];
  if (token !== undefined && !TELEGRAM_TOKEN.test(token)) throw new UsageError("cli.bad_telegram_token", {}, usage);
  const mode = values["telegram-mode"];
  if (mode !== undefined && !TELEGRAM_MODES.includes(mode)) throw new UsageError("cli.bad_telegram_mode", { mode }, usage);
  const methods = values["payment-methods"]?.split(",").map((m) => m.trim()).filter((m) => m !== "");
  if (methods !== undefined) {
    const unknown = methods.find((m) => !PAYMENT_METHODS.includes(m));
    if (methods.length === 0 || unknown !== undefined) throw new UsageError("cli.bad_payment_methods", { method: unknown ?? "", allowed: PAYMENT_METHODS.join(", ") }, usage);
  }
  const guild = values["discord-guild"]?.trim();
  if (guild !== undefined && guild !== "none" && !SNOWFLAKE.test(guild)) throw new UsageError("cli.bad_discord_guild", { guild }, usage);
  const perDay = broadcastLimit(values["broadcasts-per-day"], "--broadcasts-per-day", BROADCAST_LIMIT_RANGE.perDay, usage);
  const recipients = broadcastLimit(values["broadcast-recipients"], "--broadcast-recipients", BROADCAST_LIMIT_RANGE.maxRecipients, usage);
  const config = ctx.config();
  if (token !== undefined) configureEncryption(requireEncryptionKey(config), config.encryptionKeysOld);

  return ctx.withDatabase(async () => {
    const tenant: TenantDoc | null = await Tenant.findOne({ slug });
    if (!tenant) throw new UsageError("cli.unknown_tenant", { slug }, usage);
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    const change = (field: string, path: string, value: unknown, shown: unknown = value) => {
      before[field] = field === "telegramToken" ? (tenant.get(path) ? "set" : "none") : tenant.get(path);
      after[field] = shown;
      tenant.set(path, value);
    };
    if (name !== undefined) change("name", "name", name);
    if (values.locale !== undefined) change("locale", "locale", values.locale);
    if (mode !== undefined) {
      if (mode === "webhook" && !config.publicUrl) throw new UsageError("cli.webhook_needs_public_url", {}, usage);
      change("telegramMode", "channels.telegram.mode", mode);
    }
    if (methods !== undefined) change("paymentMethods", "settings.ordering.paymentMethods", [...new Set(methods)]);
    // `default` unsets the store's own limit: the platform's (BROADCAST_PER_DAY, BROADCAST_MAX_RECIPIENTS) applies again.
    if (perDay !== undefined) change("broadcastsPerDay", "limits.broadcast.perDay", perDay === "default" ? undefined : perDay, perDay);
    if (recipients !== undefined) change("broadcastRecipients", "limits.broadcast.maxRecipients", recipients === "default" ? undefined : recipients, recipients);
    if (token !== undefined) {
      change("telegramToken", "channels.telegram.token", sealTenantSecret(tenant, "channels.telegram.token", token), "changed");
      tenant.set("channels.telegram.revokedAt", undefined);
    }
    // The guild first: a guild another store has stops the command before anything else changes.
    if (guild !== undefined) await setDiscordGuild(String(tenant._id), slug, guild, ctx, usage);
    if (Object.keys(after).length > 0) {
      await tenant.save();
      await recordAudit({ tenantId: tenant._id, actor: ctx.actor, action: "tenant.update", target: { type: "tenant", id: slug }, before, after, where: "cli" });
    }
    ctx.out(ctx.t("cli.tenant_updated", { slug, fields: [...Object.keys(after), ...(guild !== undefined ? ["discordGuild"] : [])].join(", ") }));
    return 0;
  });
}

/** A store's broadcast limit as typed: a whole number within `range`, or `default`; undefined when not given. */
function broadcastLimit(value: string | undefined, flag: string, range: { max: number }, usage: string): number | "default" | undefined {
  if (value === undefined) return undefined;
  const typed = value.trim();
  if (typed === "default") return "default";
  if (!/^\d+$/.test(typed) || Number(typed) > range.max) throw new UsageError("cli.bad_broadcast_limit", { flag, value, max: range.max }, usage);
  return Number(typed);
}

/** Binds the store to a guild (its own audit entry), or unlinks it with `none`. */
async function setDiscordGuild(tenantId: string, slug: string, guild: string, ctx: CliContext, usage: string): Promise<void> {
  if (guild === "none") {
    await unlinkGuild({ tenantId, reason: "unlinked", actor: ctx.actor, where: "cli" });
    return;
  }
  const outcome = await linkGuild({ tenantId, guildId: guild, actor: ctx.actor, where: "cli" });
  if (outcome.kind === "guild-taken") throw new UsageError("cli.discord_guild_taken", { guild, other: outcome.by.slug }, usage);
  if (outcome.kind === "no-store") throw new UsageError("cli.unknown_tenant", { slug }, usage);
}
