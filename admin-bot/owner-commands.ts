/**
 * The owner bot's commands, behind `ownerAccess`: status and the stores, acting on one store's
 * bot, a store's broadcast limits (`/limit`), maintenance mode, alerts and jobs, the `/newstore` wizard, and backups
 * (`backup-commands.ts`). A command with wrong
 * arguments answers its usage; an unknown slug answers one clear line; every action is
 * audited with the owner as actor (`owner-audit.ts`).
 */
import { Composer } from "grammy";
import { createConversation } from "@grammyjs/conversations";
import type { Api, CommandContext } from "grammy";
import type { Locale } from "../flows/engine/index.ts";
import { formatWhen } from "../locales/format-when.ts";
import { t } from "../locales/i18n.ts";
import type { Backups } from "../storage/backup/service.ts";
import { BROADCAST_LIMIT_RANGE } from "../storage/models/index.ts";
import { backupCommands } from "./backup-commands.ts";
import type { BackupWork } from "./backup-work.ts";
import { newStoreWizard, NEW_STORE_WIZARD } from "./new-store-wizard.ts";
import { ALERT_KINDS, isAlertKind } from "./owner-alerts.ts";
import type { AlertLog, OwnerAlerts } from "./owner-alerts.ts";
import { auditPlatform, auditStore, ownerActor } from "./owner-audit.ts";
import type { OwnerContext } from "./owner-context.ts";
import { OwnerControlError } from "./owner-control.ts";
import type { BroadcastLimitsChange, OwnerControl, StoreBroadcastLimits, StoreSummary } from "./owner-control.ts";
import { splitText } from "./owner-text.ts";
import { alertsView, jobsView, statusView, storesPage, storeView } from "./owner-views.ts";

export interface OwnerCommandsOptions {
  control: OwnerControl;
  alerts: Pick<OwnerAlerts, "recent" | "mute" | "unmute" | "mutes">;
  locale: Locale;
  timeZone: string;
  /** Backups, when configured (BACKUP_KEY); their work runs in `work`, its messages through `api`. */
  backups: Backups | undefined;
  work: BackupWork;
  api: Api;
  log: AlertLog;
  progressEveryMs?: number;
}

const MAX_MUTE_MS = 30 * 86_400_000;
const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

type Ctx = CommandContext<OwnerContext>;

export function ownerCommands(o: OwnerCommandsOptions): Composer<OwnerContext> {
  const { control, locale } = o;
  const view = { locale, timeZone: o.timeZone };
  const composer = new Composer<OwnerContext>();
  const say = async (ctx: OwnerContext, key: string, params?: Record<string, unknown>) => sayText(ctx, t(locale, key, params));
  const sayText = async (ctx: OwnerContext, text: string) => {
    for (const part of splitText(text, 4096)) await ctx.reply(part);
  };
  const args = (ctx: Ctx) => ctx.match.trim().split(/\s+/).filter(Boolean);
  /** The store named by the first argument; answers the usage or "unknown store" and resolves undefined. */
  const storeArg = async (ctx: Ctx, usage: string): Promise<StoreSummary | undefined> => {
    const slug = args(ctx)[0];
    if (!slug) return void (await say(ctx, `ownerbot.usage.${usage}`));
    const store = await control.store(slug.toLowerCase());
    if (!store) await say(ctx, "ownerbot.unknown_store", { slug });
    return store;
  };
  /** Runs a store action; a refusal the owner can act on is one line, anything else goes to `bot.catch`. */
  const act = async (ctx: Ctx, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof OwnerControlError)) throw error;
      if (error.reason === "unknown-store") return say(ctx, "ownerbot.unknown_store", { slug: args(ctx)[0] ?? "" });
      const known = ["no-public-url", "no-token", "token-revoked", "suspended"].includes(error.reason);
      return say(ctx, known ? `ownerbot.refused.${error.reason}` : "ownerbot.refused.failed", { reason: error.message });
    }
  };
  const word = (w: string) => t(locale, `ownerbot.word.${w}`);

  const backups = backupCommands({ backups: o.backups, control, api: o.api, work: o.work, view, log: o.log, progressEveryMs: o.progressEveryMs });

  composer.command("cancel", async (ctx) => {
    if (await backups.cancel(ctx)) return;
    const active = await ctx.conversation.active(NEW_STORE_WIZARD);
    if (active === 0) return say(ctx, "ownerbot.wizard.nothing");
    await ctx.conversation.exitAll();
    await say(ctx, "ownerbot.wizard.cancelled");
  });
  composer.use(createConversation(newStoreWizard({ control, locale }), { id: NEW_STORE_WIZARD, maxMillisecondsToWait: 30 * 60_000 }));
  composer.command("newstore", (ctx) => ctx.conversation.enter(NEW_STORE_WIZARD));

  composer.command(["start", "help"], (ctx) => say(ctx, "ownerbot.help"));

  composer.command("status", async (ctx) => {
    const [status, stores, maintenance] = await Promise.all([control.status(), control.stores(), control.maintenance()]);
    await sayText(ctx, statusView(status, stores, maintenance, view));
  });

  composer.command("stores", async (ctx) => {
    const [page, ...extra] = args(ctx);
    if (extra.length > 0 || (page !== undefined && !/^\d{1,4}$/.test(page))) return say(ctx, "ownerbot.usage.stores");
    await sayText(ctx, storesPage(await control.stores(), Number(page ?? 1), view));
  });

  composer.command("store", async (ctx) => {
    if (args(ctx).length !== 1) return say(ctx, "ownerbot.usage.store");
    const store = await storeArg(ctx, "store");
    if (!store) return;
    const [recent, orders] = await Promise.all([o.alerts.recent(200), control.lastOrders(store.tenantId, 5)]);
    const problems = recent.filter((a) => a.store?.slug === store.slug).slice(0, 5);
    await sayText(ctx, storeView(store, problems, orders, view));
  });

  composer.command("suspend", async (ctx) => {
    const store = await storeArg(ctx, "suspend");
    if (!store) return;
    if (store.status === "suspended") return say(ctx, "ownerbot.done.already_suspended", { slug: store.slug });
    const reason = args(ctx).slice(1).join(" ").slice(0, 200);
    await act(ctx, async () => {
      await control.suspend(store.slug, reason);
      await auditStore(store, ownerActor(ctx), "tenant.suspend", { before: { status: store.status }, after: { status: "suspended", reason } });
      await say(ctx, "ownerbot.done.suspended", { slug: store.slug });
    });
  });

  composer.command("resume", async (ctx) => {
    if (args(ctx).length !== 1) return say(ctx, "ownerbot.usage.resume");
    const store = await storeArg(ctx, "resume");
    if (!store) return;
    await act(ctx, async () => {
      const after = await control.resume(store.slug);
      await auditStore(store, ownerActor(ctx), "tenant.resume", { before: { status: store.status }, after: { status: after.status, bot: after.bot.state } });
      await say(ctx, store.status === "active" ? "ownerbot.done.already_active" : "ownerbot.done.resumed", { slug: store.slug, state: word(after.bot.state) });
    });
  });

  composer.command("restart", async (ctx) => {
    if (args(ctx).length !== 1) return say(ctx, "ownerbot.usage.restart");
    const store = await storeArg(ctx, "restart");
    if (!store) return;
    await act(ctx, async () => {
      const after = await control.restart(store.slug);
      await auditStore(store, ownerActor(ctx), "tenant.restart-bot", { before: { bot: store.bot.state }, after: { bot: after.bot.state } });
      await say(ctx, "ownerbot.done.restarted", { slug: store.slug, state: word(after.bot.state), mode: word(after.telegramMode) });
    });
  });

  composer.command("mode", async (ctx) => {
    const [, mode, ...extra] = args(ctx);
    if ((mode !== "polling" && mode !== "webhook") || extra.length > 0) return say(ctx, "ownerbot.usage.mode");
    const store = await storeArg(ctx, "mode");
    if (!store) return;
    await act(ctx, async () => {
      const after = await control.switchMode(store.slug, mode);
      await auditStore(store, ownerActor(ctx), "tenant.telegram-mode", { before: { telegramMode: store.telegramMode }, after: { telegramMode: mode } });
      await say(ctx, "ownerbot.done.mode", { slug: store.slug, mode: word(mode), state: word(after.bot.state) });
    });
  });

  composer.command("limit", async (ctx) => {
    const change = broadcastLimitsChange(args(ctx).slice(1));
    if (!change) return say(ctx, "ownerbot.usage.limit");
    const store = await storeArg(ctx, "limit");
    if (!store) return;
    await act(ctx, async () => {
      if (Object.keys(change).length === 0) return sayText(ctx, limitsView(store.slug, await control.broadcastLimits(store.slug)));
      const before = await control.broadcastLimits(store.slug);
      const after = await control.setBroadcastLimits(store.slug, change);
      // Audited as `niaga tenant set --broadcasts-per-day/--broadcast-recipients` is: `default` for the platform's limit.
      const audited = (limits: StoreBroadcastLimits["own"], changed: BroadcastLimitsChange) => ({
        ...(changed.perDay !== undefined && { broadcastsPerDay: limits.perDay ?? "default" }),
        ...(changed.maxRecipients !== undefined && { broadcastRecipients: limits.maxRecipients ?? "default" }),
      });
      await auditStore(store, ownerActor(ctx), "tenant.update", { before: audited(before.own, change), after: audited(after.own, change) });
      await sayText(ctx, `${t(locale, "ownerbot.limit.saved", { slug: store.slug })}\n${limitsView(store.slug, after)}`);
    });
  });
  const limitsView = (slug: string, limits: StoreBroadcastLimits) => {
    const source = (own: number | undefined) => t(locale, own === undefined ? "ownerbot.limit.platform" : "ownerbot.limit.own");
    const number = new Intl.NumberFormat(locale === "id" ? "id-ID" : "en-US");
    return t(locale, "ownerbot.limit.view", {
      slug,
      perDay: number.format(limits.effective.perDay), perDaySource: source(limits.own.perDay),
      maxRecipients: number.format(limits.effective.maxRecipients), recipientsSource: source(limits.own.maxRecipients),
    });
  };

  composer.command("maintenance", async (ctx) => {
    const [onOff] = args(ctx);
    const text = ctx.match.trim().slice(onOff?.length ?? 0).trim();
    if ((onOff !== "on" && onOff !== "off") || (onOff === "off" && text)) return say(ctx, "ownerbot.usage.maintenance");
    const actor = ownerActor(ctx);
    const before = await control.maintenance();
    const after = await control.setMaintenance(onOff === "on", text.slice(0, 1000) || undefined, `${actor.channel}:${actor.userId}`);
    await auditPlatform(actor, onOff === "on" ? "maintenance.on" : "maintenance.off", "maintenance", { before: { on: before.on, text: before.text }, after: { on: after.on, text: after.text } });
    if (!after.on) return say(ctx, "ownerbot.maintenance.off");
    await say(ctx, "ownerbot.maintenance.on", { text: after.text ?? t(locale, "ownerbot.maintenance.customer_default") });
  });

  composer.command("alerts", async (ctx) => {
    const [sub, kind, span, ...extra] = args(ctx);
    if (sub === undefined) {
      const [recent, mutes] = await Promise.all([o.alerts.recent(15), o.alerts.mutes()]);
      return sayText(ctx, alertsView(recent, mutes, view));
    }
    if ((sub !== "mute" && sub !== "unmute") || kind === undefined || extra.length > 0 || (sub === "mute") !== (span !== undefined)) return say(ctx, "ownerbot.usage.alerts");
    if (!isAlertKind(kind)) return say(ctx, "ownerbot.alerts.unknown_kind", { kind, kinds: Object.keys(ALERT_KINDS).join(", ") });
    const actor = ownerActor(ctx);
    if (sub === "unmute") {
      await o.alerts.unmute(kind);
      await auditPlatform(actor, "alerts.unmute", kind);
      return say(ctx, "ownerbot.alerts.unmuted", { kind });
    }
    const ms = durationMs(span!);
    if (ms === undefined) return say(ctx, "ownerbot.alerts.bad_duration", { duration: span });
    const until = new Date(Date.now() + ms);
    await o.alerts.mute(kind, until, `${actor.channel}:${actor.userId}`);
    await auditPlatform(actor, "alerts.mute", kind, { after: { until } });
    await say(ctx, "ownerbot.alerts.muted", { kind, until: formatWhen(until, { locale, timeZone: o.timeZone }) });
  });

  composer.command("jobs", async (ctx) => {
    const [sub, id, ...extra] = args(ctx);
    if (sub === undefined) return sayText(ctx, jobsView(await control.jobs(20), view));
    if (sub !== "retry" || id === undefined || extra.length > 0) return say(ctx, "ownerbot.usage.jobs");
    if (!(await control.retryJob(id))) return say(ctx, "ownerbot.jobs.unknown", { id });
    await auditPlatform(ownerActor(ctx), "job.retry", id);
    await say(ctx, "ownerbot.jobs.retried", { id });
  });

  composer.use(backups.composer);

  composer.on("message", (ctx) => say(ctx, "ownerbot.unknown_command"));
  return composer;
}

/**
 * `/limit SLUG`'s words after the slug: pairs of `perday` or `recipients` and a number
 * within what a store may be given, or `default`. `{}` for none (show the limits);
 * undefined for anything else.
 */
export function broadcastLimitsChange(words: readonly string[]): BroadcastLimitsChange | undefined {
  if (words.length % 2 !== 0) return undefined;
  const change: BroadcastLimitsChange = {};
  for (let i = 0; i < words.length; i += 2) {
    const field = ({ perday: "perDay", recipients: "maxRecipients" } as const)[words[i]!.toLowerCase()];
    const value = words[i + 1]!.toLowerCase();
    if (!field || field in change) return undefined;
    if (value === "default") change[field] = null;
    else if (/^\d{1,7}$/.test(value) && Number(value) <= BROADCAST_LIMIT_RANGE[field].max) change[field] = Number(value);
    else return undefined;
  }
  return change;
}

/** `30m`, `2h`, `1d` in ms, at most 30 days; undefined for anything else. */
export function durationMs(text: string): number | undefined {
  const match = /^(\d{1,4})([mhd])$/.exec(text);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS[match[2]!]!;
  return ms > 0 && ms <= MAX_MUTE_MS ? ms : undefined;
}
