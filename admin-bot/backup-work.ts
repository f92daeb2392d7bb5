/**
 * The owner bot's backup work runs beside the bot, never inside an update's handler: a backup,
 * a verification or a restore takes minutes, and the bot keeps answering (`/status`) meanwhile.
 * `BackupWork` starts each piece of work in the background, one at a time in this bot, keeps
 * it until it ends (the bot's `stop` waits for it), and catches whatever it throws: the owner
 * is told, with an error id, and the log has the details.
 *
 * ```ts
 * if (work.busy) return say("ownerbot.backup.busy");
 * work.start(chatId, async () => { … await progress.finish(text); });
 * await work.idle();
 * ```
 */
import type { Api } from "grammy";
import { newErrorId } from "../flows/engine/index.ts";
import type { Locale } from "../flows/engine/index.ts";
import { t } from "../locales/i18n.ts";
import { BackupError } from "../storage/backup/errors.ts";
import { BackupBusy } from "../storage/backup/service.ts";
import { auditPlatform, type OwnerActor } from "./owner-audit.ts";
import type { AlertLog } from "./owner-alerts.ts";
import { reasonText } from "./backup-views.ts";
import type { ViewOptions } from "./owner-views.ts";

export class BackupWork {
  readonly #running = new Set<Promise<void>>();
  readonly #api: Api;
  readonly #log: AlertLog;
  readonly #locale: Locale;

  constructor(options: { api: Api; log: AlertLog; locale: Locale }) {
    [this.#api, this.#log, this.#locale] = [options.api, options.log, options.locale];
  }

  /** Work started here runs now. */
  get busy(): boolean {
    return this.#running.size > 0;
  }

  /** Runs `work` in the background; anything it throws is logged and told to the owner in `chatId`. */
  start(chatId: number | string, work: () => Promise<void>): void {
    const running: Promise<void> = work()
      .catch(async (error: unknown) => {
        const errorId = newErrorId();
        this.#log.error("owner bot: backup work failed", { errorId, error: describe(error) });
        await this.#api.sendMessage(chatId, t(this.#locale, "ownerbot.error", { errorId })).catch(() => undefined);
      })
      .finally(() => this.#running.delete(running));
    this.#running.add(running);
  }

  /** Resolves when no work runs. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  /** Why work failed, in words: a `BackupError`'s reason, busy, or the cause (logged with an error id). */
  failure(error: unknown, v: ViewOptions): { busy: boolean; reason: string } {
    if (error instanceof BackupBusy) return { busy: true, reason: t(v.locale, "ownerbot.backup.busy") };
    if (error instanceof BackupError) return { busy: false, reason: reasonText(error, v) };
    const errorId = newErrorId();
    this.#log.error("owner bot: backup work failed", { errorId, error: describe(error) });
    return { busy: false, reason: t(v.locale, "ownerbot.backup.other_error", { detail: describe(error).slice(0, 300), errorId }) };
  }

  /** An audit entry on the platform; a failure to write it is logged, never thrown (the work itself is done). */
  async audit(actor: OwnerActor, action: string, target: string, after: Record<string, unknown>): Promise<void> {
    await auditPlatform(actor, action, target, { after }).catch((error: unknown) => this.#log.error("owner bot: an audit entry could not be written", { action, target, error: describe(error) }));
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
