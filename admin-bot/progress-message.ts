/**
 * One message that tells how long work is going, edited as it goes: Telegram limits how often
 * a message may be edited, so edits are at most one every `everyMs` (default 2 s); only the
 * latest text is sent, and the final one always goes out (after the same pause).
 *
 * ```ts
 * const progress = await ProgressMessage.open(api, chatId, "💾 Making a backup…");
 * onProgress: (p) => progress.update(progressText(…, p)),   // cheap: no call until it is due
 * await progress.finish("✅ Backup niaga-… done");            // then nothing more is edited
 * ```
 *
 * Progress is a courtesy: an edit Telegram refuses is dropped (the next one may pass). The
 * final text, if its edit fails, is sent as a new message so the owner still reads it.
 */
import type { Api } from "grammy";
import type { InlineKeyboardMarkup } from "grammy/types";

const MAX_TEXT = 4096;

export interface ProgressLog {
  warn(message: string, meta?: object): void;
}

export class ProgressMessage {
  readonly #api: Api;
  readonly #chatId: number | string;
  readonly #messageId: number;
  readonly #everyMs: number;
  readonly #log: ProgressLog;
  #shown: string;
  #wanted: string;
  #lastAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #editing: Promise<void> = Promise.resolve();
  #finished = false;

  private constructor(api: Api, chatId: number | string, messageId: number, text: string, everyMs: number, log: ProgressLog) {
    [this.#api, this.#chatId, this.#messageId, this.#shown, this.#wanted, this.#everyMs, this.#log] = [api, chatId, messageId, fit(text), text, everyMs, log];
  }

  /** Sends the first text; the message edited from then on. */
  static async open(api: Api, chatId: number | string, text: string, options: { everyMs?: number; log: ProgressLog }): Promise<ProgressMessage> {
    const sent = await api.sendMessage(chatId, fit(text));
    return new ProgressMessage(api, chatId, sent.message_id, text, options.everyMs ?? 2_000, options.log);
  }

  /** The text to show next; edited when the pause since the last edit is over. */
  update(text: string): void {
    if (this.#finished) return;
    this.#wanted = text;
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#editing = this.#editing.then(async () => void (await this.#edit(this.#wanted)));
    }, this.#waitMs());
  }

  /** The final text (and buttons, if any): edited once the pause is over; nothing is edited after it. */
  async finish(text: string, keyboard?: InlineKeyboardMarkup): Promise<void> {
    this.#finished = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#editing;
    await new Promise((resolve) => setTimeout(resolve, this.#waitMs()));
    const done = await this.#edit(text, keyboard);
    if (!done) await this.#api.sendMessage(this.#chatId, fit(text), keyboard && { reply_markup: keyboard });
  }

  #waitMs(): number {
    return Math.max(0, this.#lastAt + this.#everyMs - Date.now());
  }

  async #edit(full: string, keyboard?: InlineKeyboardMarkup): Promise<boolean> {
    const text = fit(full);
    if (text === this.#shown && !keyboard) return true;
    this.#lastAt = Date.now();
    try {
      await this.#api.editMessageText(this.#chatId, this.#messageId, text, keyboard && { reply_markup: keyboard });
      this.#shown = text;
      return true;
    } catch (error) {
      if (/message is not modified/.test(String((error as Error).message))) return true;
      this.#log.warn("owner bot: a progress message could not be edited", { error: error instanceof Error ? error.message : String(error) });
      return false;
    } finally {
      this.#lastAt = Date.now();
    }
  }
}

/** One message holds 4096 characters; a longer text is cut (progress and plans rarely come near). */
function fit(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}
