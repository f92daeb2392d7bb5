/**
 * The last steps of `/restore ID`: once the owner has read the plan and pressed Restore, they
 * type the backup id's last 4 characters — a restore replaces the live data, so it is never one
 * tap. Then the restore runs in the background (`BackupWork`) with a progress message, and
 * maintenance mode is on while it runs, so customers get the maintenance answer rather than
 * half-restored data; afterwards it is set back to what it was, also when the restore fails.
 *
 * The typing step is a grammY conversation like `/newstore`; `/cancel` leaves it. Commands
 * typed meanwhile (`/status`) pass through to their handlers; the restore itself runs
 * outside the conversation, so nothing waits for it.
 */
import type { Conversation } from "@grammyjs/conversations";
import type { Api, Context } from "grammy";
import { t } from "../locales/i18n.ts";
import type { DestinationName } from "../storage/backup/destination.ts";
import type { Backups } from "../storage/backup/service.ts";
import { progressText } from "./backup-views.ts";
import type { BackupWork } from "./backup-work.ts";
import { describe } from "./backup-work.ts";
import { ownerActor, type OwnerActor } from "./owner-audit.ts";
import type { OwnerContext } from "./owner-context.ts";
import type { MaintenanceView, OwnerControl } from "./owner-control.ts";
import type { ViewOptions } from "./owner-views.ts";
import { ProgressMessage } from "./progress-message.ts";

export const RESTORE_WIZARD = "restore";

export interface RestoreRunOptions {
  backups: Backups;
  control: OwnerControl;
  work: BackupWork;
  api: Api;
  view: ViewOptions;
  log: { warn(message: string, meta?: object): unknown };
  progressEveryMs?: number;
}

/** The code the owner types to confirm: the backup id's last 4 characters. */
export function confirmCode(id: string): string {
  return id.slice(-4).toLowerCase();
}

/** The conversation: asks for the code until it is typed (or `/cancel`), then starts the restore. */
export function restoreWizard(o: RestoreRunOptions) {
  const text = (key: string, params?: Record<string, unknown>) => t(o.view.locale, `ownerbot.backup.${key}`, params);
  return async function restore(conversation: Conversation<OwnerContext, Context>, ctx: Context, id: string, from: DestinationName | null): Promise<void> {
    const code = confirmCode(id);
    await ctx.reply(text("confirm", { id, code }));
    for (;;) {
      const answer = await conversation.waitFor("message:text", { next: true });
      const typed = answer.message.text.trim();
      if (typed.startsWith("/")) await conversation.skip({ next: true });
      if (typed.toLowerCase() === code) break;
      await answer.reply(text("confirm_again", { code }));
    }
    const actor = ownerActor(ctx);
    const chatId = ctx.chat!.id;
    await conversation.external(() => startRestore(o, chatId, actor, id, from ?? undefined));
  };
}

/** Starts the restore in the background: maintenance on, progress edited as it goes, maintenance back, audited. */
export async function startRestore(o: RestoreRunOptions, chatId: number, actor: OwnerActor, id: string, from: DestinationName | undefined): Promise<void> {
  const { view } = o;
  if (o.work.busy) {
    await o.api.sendMessage(chatId, t(view.locale, "ownerbot.backup.busy"));
    return;
  }
  const title = "ownerbot.backup.restoring";
  const progress = await ProgressMessage.open(o.api, chatId, progressText(title, { id }, undefined, view), { everyMs: o.progressEveryMs, log: o.log });
  o.work.start(chatId, async () => {
    const by = `${actor.channel}:${actor.userId}`;
    let before: MaintenanceView | undefined;
    let lines: string[];
    let after: Record<string, unknown>;
    try {
      before = await o.control.maintenance();
      if (!before.on) await o.control.setMaintenance(true, t(view.locale, "ownerbot.backup.maintenance_text"), by);
      const plan = await o.backups.restore(id, { ...(from && { from }), onProgress: (p) => progress.update(progressText(title, { id }, p, view)) });
      const documents = plan.collections.reduce((sum, c) => sum + c.backup, 0);
      lines = [t(view.locale, "ownerbot.backup.restored", { id, collections: plan.collections.length, documents }), t(view.locale, "ownerbot.backup.restart_now")];
      after = { outcome: "ok", from: from ?? "default", collections: plan.collections.length, documents };
    } catch (error) {
      const failed = o.work.failure(error, view);
      lines = [failed.busy ? failed.reason : t(view.locale, "ownerbot.backup.restore_failed", { id, reason: failed.reason })];
      after = { outcome: failed.busy ? "busy" : "failed", reason: failed.reason };
    }
    // The restore may have replaced the maintenance setting with the backup's: set it back to what it was, always.
    if (before) {
      try {
        await o.control.setMaintenance(before.on, before.text, by);
        lines.push(t(view.locale, before.on ? "ownerbot.backup.maintenance_kept" : "ownerbot.backup.maintenance_off"));
      } catch (error) {
        lines.push(t(view.locale, "ownerbot.backup.maintenance_stuck", { reason: describe(error) }));
        after.maintenance = "not set back";
      }
    }
    // Written after the restore, which replaced the audit collection with the backup's.
    await o.work.audit(actor, "backup.restore", id, after);
    await progress.finish(lines.join("\n"));
  });
}
