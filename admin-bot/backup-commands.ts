/**
 * The owner bot's backup commands, behind `ownerAccess`:
 *
 * - `/backup` makes a backup now; `/verify [ID]` checks one (default: the newest). Each runs
 *   in the background (`BackupWork`) with one progress message edited as it goes and ending
 *   with the result.
 * - `/backups [page]` lists them, newest first: when, size, and each destination's state.
 * - `/restore ID [local|offsite]` shows the plan (which collections are replaced, documents
 *   now → in the backup, what is left alone) with Restore / Cancel buttons; Restore asks for
 *   the id's last 4 characters (`restore-wizard.ts`), then restores.
 *
 * Without `backups` (no BACKUP_KEY) each answers one line saying so. Every action is audited
 * on the platform (`backup.create`, `backup.verify`, `backup.restore`, `backup.restore-cancel`)
 * with the owner as actor, the backup and the outcome.
 */
import { Composer, InlineKeyboard } from "grammy";
import type { Api, CommandContext } from "grammy";
import { createConversation } from "@grammyjs/conversations";
import { t } from "../locales/i18n.ts";
import type { DestinationName } from "../storage/backup/destination.ts";
import type { Backups, BackupListing } from "../storage/backup/service.ts";
import { backupsPage, createdText, planText, progressText, verifyText } from "./backup-views.ts";
import type { BackupWork } from "./backup-work.ts";
import type { AlertLog } from "./owner-alerts.ts";
import { ownerActor } from "./owner-audit.ts";
import type { OwnerContext } from "./owner-context.ts";
import type { OwnerControl } from "./owner-control.ts";
import type { ViewOptions } from "./owner-views.ts";
import { ProgressMessage } from "./progress-message.ts";
import { RESTORE_WIZARD, restoreWizard } from "./restore-wizard.ts";

export interface BackupCommandsOptions {
  /** Undefined when backups are not configured (no BACKUP_KEY). */
  backups: Backups | undefined;
  control: OwnerControl;
  api: Api;
  work: BackupWork;
  view: ViewOptions;
  log: AlertLog;
  /** The least time between two edits of a progress message. Default 2 s. */
  progressEveryMs?: number;
}

/** How long a plan's Restore button stays good: the live data moves on. */
const PLAN_VALID_MS = 30 * 60_000;
const BUTTON = /^backup:(restore|cancel):(.+)$/;

type Ctx = CommandContext<OwnerContext>;

export interface BackupCommands {
  composer: Composer<OwnerContext>;
  /** `/cancel` while the owner is asked for the restore's code: leaves it, audited. False when there was none. */
  cancel(ctx: OwnerContext): Promise<boolean>;
}

export function backupCommands(o: BackupCommandsOptions): BackupCommands {
  const { view, work } = o;
  const composer = new Composer<OwnerContext>();
  const say = (ctx: OwnerContext, key: string, params?: Record<string, unknown>) => ctx.reply(t(view.locale, key, params));
  const args = (ctx: Ctx) => ctx.match.trim().split(/\s+/).filter(Boolean);
  const open = (ctx: OwnerContext, text: string) => ProgressMessage.open(o.api, ctx.chat!.id, text, { everyMs: o.progressEveryMs, log: o.log });
  /** Plans shown with a Restore button: `chatId:backupId` → when, and from where. */
  const offers = new Map<string, { at: number; from: DestinationName | undefined }>();
  /** The backup whose code each chat is asked for. */
  const confirming = new Map<number, string>();
  const backups = o.backups;

  if (backups) composer.use(createConversation(restoreWizard({ backups, control: o.control, work, api: o.api, view, log: o.log, progressEveryMs: o.progressEveryMs }), { id: RESTORE_WIZARD, maxMillisecondsToWait: 10 * 60_000 }));

  /** The commands' guard: backups configured, and no other backup work running here. */
  const ready = async (ctx: OwnerContext, needsIdle: boolean): Promise<Backups | undefined> => {
    if (!backups) return void (await say(ctx, "ownerbot.backup.not_configured"));
    if (needsIdle && work.busy) return void (await say(ctx, "ownerbot.backup.busy"));
    return backups;
  };
  /** The listing of `id`, or one line saying there is none (with the usage when `usage` is given). */
  const known = async (ctx: OwnerContext, service: Backups, id: string, usage?: string): Promise<BackupListing | undefined> => {
    const found = (await service.list()).find((b) => b.id === id);
    if (!found) await ctx.reply([t(view.locale, "ownerbot.backup.unknown", { id }), ...(usage ? [t(view.locale, usage)] : [])].join("\n"));
    return found;
  };

  composer.command("backup", async (ctx) => {
    if (args(ctx).length > 0) return say(ctx, "ownerbot.usage.backup");
    const service = await ready(ctx, true);
    if (!service) return;
    const actor = ownerActor(ctx);
    const title = "ownerbot.backup.creating";
    const progress = await open(ctx, progressText(title, {}, undefined, view));
    work.start(ctx.chat.id, async () => {
      try {
        const made = await service.create({ trigger: "owner-bot", by: `owner:${actor.userId}`, onProgress: (p) => progress.update(progressText(title, {}, p, view)) });
        const destinations = Object.fromEntries(Object.entries(made.destinations).map(([name, s]) => [name, s.state]));
        await work.audit(actor, "backup.create", made.id, { outcome: "ok", size: made.size, documents: made.documents, destinations });
        await progress.finish(createdText(made, view));
      } catch (error) {
        const failed = work.failure(error, view);
        await work.audit(actor, "backup.create", "backup", { outcome: failed.busy ? "busy" : "failed", reason: failed.reason });
        await progress.finish(failed.busy ? failed.reason : t(view.locale, "ownerbot.backup.failed", { reason: failed.reason }));
      }
    });
  });

  composer.command("backups", async (ctx) => {
    const [page, ...extra] = args(ctx);
    if (extra.length > 0 || (page !== undefined && !/^\d{1,4}$/.test(page))) return say(ctx, "ownerbot.usage.backups");
    const service = await ready(ctx, false);
    if (!service) return;
    await ctx.reply(backupsPage(await service.list(), Number(page ?? 1), view));
  });

  composer.command("verify", async (ctx) => {
    const [given, ...extra] = args(ctx);
    if (extra.length > 0) return say(ctx, "ownerbot.usage.verify");
    const service = await ready(ctx, true);
    if (!service) return;
    const id = given ?? (await service.list())[0]?.id;
    if (!id) return say(ctx, "ownerbot.backup.none");
    if (given && !(await known(ctx, service, given, "ownerbot.usage.verify"))) return;
    const actor = ownerActor(ctx);
    const title = "ownerbot.backup.verifying";
    const progress = await open(ctx, progressText(title, { id }, undefined, view));
    work.start(ctx.chat.id, async () => {
      try {
        const outcome = await service.verify(id, { onProgress: (p) => progress.update(progressText(title, { id }, p, view)) });
        const problems = Object.fromEntries(Object.entries(outcome.destinations).map(([name, r]) => [name, r.ok ? "ok" : r.problems.map((p) => p.reason)]));
        await work.audit(actor, "backup.verify", id, { outcome: outcome.ok ? "ok" : "failed", destinations: problems });
        await progress.finish(verifyText(outcome, view));
      } catch (error) {
        const failed = work.failure(error, view);
        await work.audit(actor, "backup.verify", id, { outcome: failed.busy ? "busy" : "failed", reason: failed.reason });
        await progress.finish(failed.busy ? failed.reason : t(view.locale, "ownerbot.backup.verify_error", { reason: failed.reason }));
      }
    });
  });

  composer.command("restore", async (ctx) => {
    const [id, from, ...extra] = args(ctx);
    if (!id || extra.length > 0 || (from !== undefined && from !== "local" && from !== "offsite")) return say(ctx, "ownerbot.usage.restore");
    const service = await ready(ctx, true);
    if (!service || !(await known(ctx, service, id, "ownerbot.usage.restore"))) return;
    const actor = ownerActor(ctx);
    const title = "ownerbot.backup.planning";
    const progress = await open(ctx, progressText(title, { id }, undefined, view));
    const chatId = ctx.chat.id;
    work.start(chatId, async () => {
      try {
        const plan = await service.plan(id, { ...(from && { from }), onProgress: (p) => progress.update(progressText(title, { id }, p, view)) });
        const text = planText(plan, view);
        for (const [key, offer] of offers) if (Date.now() - offer.at > PLAN_VALID_MS) offers.delete(key);
        offers.set(`${chatId}:${id}`, { at: Date.now(), from });
        const keyboard = new InlineKeyboard().text(t(view.locale, "ownerbot.backup.button.restore"), `backup:restore:${id}`).text(t(view.locale, "ownerbot.backup.button.cancel"), `backup:cancel:${id}`);
        await progress.finish(text, keyboard);
      } catch (error) {
        const failed = work.failure(error, view);
        await work.audit(actor, "backup.restore", id, { outcome: failed.busy ? "busy" : "refused", reason: failed.reason });
        await progress.finish(failed.busy ? failed.reason : t(view.locale, "ownerbot.backup.plan.failed", { id, reason: failed.reason }));
      }
    });
  });

  composer.callbackQuery(BUTTON, async (ctx) => {
    const [, action, id] = ctx.match as RegExpMatchArray as [string, "restore" | "cancel", string];
    const key = `${ctx.chat!.id}:${id}`;
    const offer = offers.get(key);
    const message = ctx.callbackQuery.message;
    const stale = !offer || Date.now() - offer.at > PLAN_VALID_MS;
    const answer = stale ? "stale" : action === "cancel" ? "cancelled" : "restore_pressed";
    await ctx.answerCallbackQuery({ text: t(view.locale, `ownerbot.backup.button.${answer}`) });
    // The plan's buttons go, whatever was pressed: each offer is answered once.
    offers.delete(key);
    if (message) await ctx.api.editMessageReplyMarkup(message.chat.id, message.message_id).catch(() => undefined);
    if (stale) return say(ctx, "ownerbot.backup.stale", { id });
    if (action === "cancel") {
      await work.audit(ownerActor(ctx), "backup.restore-cancel", id, { outcome: "cancelled", step: "plan" });
      return say(ctx, "ownerbot.backup.cancelled");
    }
    if (ctx.conversation.active(RESTORE_WIZARD) > 0) await ctx.conversation.exit(RESTORE_WIZARD);
    confirming.set(ctx.chat!.id, id);
    await ctx.conversation.enter(RESTORE_WIZARD, id, offer.from ?? null);
  });

  async function cancel(ctx: OwnerContext): Promise<boolean> {
    if (ctx.conversation.active(RESTORE_WIZARD) === 0) return false;
    await ctx.conversation.exit(RESTORE_WIZARD);
    const id = confirming.get(ctx.chat!.id) ?? "?";
    confirming.delete(ctx.chat!.id);
    await work.audit(ownerActor(ctx), "backup.restore-cancel", id, { outcome: "cancelled", step: "confirm" });
    await say(ctx, "ownerbot.backup.cancelled");
    return true;
  }

  return { composer, cancel };
}
