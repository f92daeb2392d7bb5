/**
 * What the Telegram channel does for a store outside a conversation turn: messages to a
 * chat (goods after a payment, an expired order, a reminder, a broadcast), a member's
 * command menu after a role change, a file a user sent. Each goes through the store's
 * running bot, or, when its bot does not run in this process (another instance polls it,
 * or it is stopped here), through an idle bot made on demand that never takes updates.
 * Each use of an idle bot checks the saved store again, so a suspension or a new token is
 * seen at once.
 */
import { Api } from "grammy";
import { notSent } from "../../flows/engine/index.ts";
import type { EngineLog, Locale, MembershipChange, Outbound, SendOptions, SendReport } from "../../flows/engine/index.ts";
import { resolveLocale } from "../../locales/i18n.ts";
import { Tenant } from "../../storage/models/index.ts";
import type { TenantDoc } from "../../storage/models/index.ts";
import { describe, StoreBotError } from "./bot-status.ts";
import { tokenOf } from "./bot-tokens.ts";
import { TELEGRAM_CHANNEL } from "./customer-records.ts";
import { downloadTelegramFile } from "./file-download.ts";
import type { StoreBot, StoreTenant } from "./store-bot.ts";

export interface OutsideTurnsOptions {
  apiRoot: string;
  /** The store's bot when it runs in this process. */
  runningBot(tenantId: string): StoreBot | undefined;
  /** The saved store, refused when unknown or suspended (`StoreBotError`). */
  load(tenantId: string): Promise<TenantDoc>;
  /** A bot for `store` that only sends; `onUnauthorized` when Telegram answers 401. */
  makeIdle(store: StoreTenant, token: string, onUnauthorized: () => void): StoreBot;
  /** Telegram rejected the store's token: record it and tell the owner. */
  revoked(store: StoreTenant): Promise<void>;
  logFor(slug: string): EngineLog;
  /** Largest file `downloadFile` accepts when the caller names no limit. */
  maxDownloadBytes?: number;
}

export class OutsideTurns {
  readonly #options: OutsideTurnsOptions;
  readonly #idle = new Map<string, StoreBot>();
  readonly #sending = new Set<Promise<unknown>>();
  #closing = false;

  constructor(options: OutsideTurnsOptions) {
    this.#options = options;
  }

  /**
   * Sends messages to a chat outside a conversation turn, rendered like a turn's replies
   * (same texts, buttons signed the same way) in `opts.locale`, else the language the
   * customer chose, else the store's; paced within Telegram's flood limits, behind live
   * replies, after the batches already queued for the chat.
   *
   * Never throws for what Telegram or the customer did: the report says, per message,
   * what was sent and why the rest was not. A customer who blocked the bot is recorded
   * (`blocked: true`) as when a reply bounces. Messages stop at the first failure.
   */
  sendTo(tenantId: string, chatId: string, replies: readonly Outbound[], opts: SendOptions = {}): Promise<SendReport> {
    if (replies.length === 0) return Promise.resolve(notSent(0, "failed"));
    return this.#outsideTurn(tenantId, chatId, replies.length, opts, (bot, chat, locale) =>
      bot.sendProactively(chat, replies, locale, { bulk: opts.bulk === true, ...(opts.committing && { committing: opts.committing }) }));
  }

  /**
   * Replaces a message the store's bot sent to a chat outside a turn (a seller's progress
   * message) with `outbound`'s text and buttons, rendered and paced as `sendTo` does. A
   * message Telegram no longer lets the bot edit (deleted, too old) is reported `rejected`.
   * Never throws.
   */
  edit(tenantId: string, chatId: string, messageId: string, outbound: Outbound, opts: Pick<SendOptions, "locale"> = {}): Promise<SendReport> {
    if (!/^\d{1,12}$/.test(messageId)) return Promise.resolve(notSent(1, "rejected", "not a Telegram message id"));
    return this.#outsideTurn(tenantId, chatId, 1, opts, (bot, chat, locale) => bot.editProactively(chat, Number(messageId), outbound, locale));
  }

  /**
   * A member joined a store's team, changed role or left it: their private chat gets the
   * seller's command menu for their role, or loses it and shows the customer menu again.
   * Reads the member record, so the order of calls does not matter. Only Telegram members
   * have a menu here. Never rejects.
   */
  async memberChanged(change: MembershipChange): Promise<void> {
    if (change.channel !== TELEGRAM_CHANNEL || this.#closing) return;
    let bot: StoreBot;
    try {
      bot = await this.#botFor(change.tenantId);
    } catch (error) {
      const level = error instanceof StoreBotError ? "info" : "warn";
      this.#options.logFor(change.tenantId)[level]("telegram member menu not updated: the store has no usable bot", { tenantId: change.tenantId, error: describe(error) });
      return;
    }
    await bot.memberMenus.refresh(change.userId);
  }

  /**
   * The bytes of a file a user sent (a payment proof, a stock file), by the `fileRef` the
   * engine got. Refuses files over `maxBytes` with a `TelegramFileError`.
   */
  async downloadFile(tenantId: string, fileRef: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const maxBytes = options.maxBytes ?? this.#options.maxDownloadBytes;
    const bot = this.#options.runningBot(tenantId);
    if (bot) return bot.download(fileRef, maxBytes);
    // A job may need a proof while the store's bot is stopped here; the token still works.
    const tenant = await Tenant.findById(tenantId).exec();
    const token = tenant ? tokenOf(tenant) : undefined;
    if (!token) throw new StoreBotError("not-running", `store ${tenantId} has no Telegram bot to fetch the file with`);
    return downloadTelegramFile(new Api(token, { apiRoot: this.#options.apiRoot }), this.#options.apiRoot, fileRef, maxBytes);
  }

  /** The store's bot now runs here: its idle one is not needed. */
  forgetIdle(tenantId: string): void {
    this.#idle.delete(tenantId);
  }

  /** From now on sends report `shutting-down`; resolves when the sends under way have finished. */
  async close(): Promise<void> {
    this.#closing = true;
    while (this.#sending.size > 0) await Promise.allSettled([...this.#sending]);
    this.#idle.clear();
  }

  /** Runs `work` on the store's bot for `chatId`, counted as a send under way until it ends; `count` messages are at stake. */
  async #outsideTurn(
    tenantId: string, chatId: string, count: number, opts: Pick<SendOptions, "locale">, work: (bot: StoreBot, chatId: number, locale: Locale) => Promise<SendReport>,
  ): Promise<SendReport> {
    if (this.#closing) return notSent(count, "shutting-down", "the platform is shutting down");
    if (!/^-?\d{1,20}$/.test(chatId)) return notSent(count, "unreachable", "not a Telegram chat id");
    const sending = this.#onBot(tenantId, Number(chatId), count, opts, work);
    this.#sending.add(sending);
    try {
      return await sending;
    } finally {
      this.#sending.delete(sending);
    }
  }

  async #onBot(
    tenantId: string, chatId: number, count: number, opts: Pick<SendOptions, "locale">, work: (bot: StoreBot, chatId: number, locale: Locale) => Promise<SendReport>,
  ): Promise<SendReport> {
    let bot: StoreBot;
    try {
      bot = await this.#botFor(tenantId);
    } catch (error) {
      return notSent(count, error instanceof StoreBotError ? "store-unavailable" : "failed", describe(error));
    }
    const locale = opts.locale ?? (await bot.chosenLocale(chatId).catch(() => undefined)) ?? bot.tenant.locale;
    const report = await work(bot, chatId, locale);
    if (!report.ok) {
      const log = this.#options.logFor(bot.tenant.slug);
      // A customer who left is news for the sender (in the report), not trouble for the operator.
      const expected = report.reason === "blocked" || report.reason === "unreachable";
      (expected ? log.info : log.warn).call(log, "telegram message to a customer not sent", {
        tenant: bot.tenant.slug, chatId, reason: report.reason, detail: report.detail, sent: report.sent, of: count,
      });
    }
    return report;
  }

  /** The store's running bot, else its idle one, made (or re-made for a new token) as needed. */
  async #botFor(tenantId: string): Promise<StoreBot> {
    const running = this.#options.runningBot(tenantId);
    if (running) return running;
    if (!/^[0-9a-f]{24}$/i.test(tenantId)) throw new StoreBotError("unknown-store", `no store has the id ${tenantId}`);
    const tenant = await this.#options.load(tenantId);
    const token = tokenOf(tenant);
    if (!token) throw new StoreBotError("no-token", `store ${tenant.slug} has no Telegram bot token`);
    if (tenant.channels?.telegram?.revokedAt) throw new StoreBotError("token-revoked", `Telegram revoked the bot token of store ${tenant.slug}`);
    const known = this.#idle.get(tenantId);
    if (known && known.bot.token === token) return known;
    const store: StoreTenant = { id: tenantId, slug: tenant.slug, name: tenant.name, locale: resolveLocale(tenant.locale) };
    const bot = this.#options.makeIdle(store, token, () => {
      this.#idle.delete(tenantId);
      this.#options.revoked(store).catch((error: unknown) => {
        this.#options.logFor(store.slug).error("telegram revoked token not recorded", { tenant: store.slug, error: describe(error) });
      });
    });
    this.#idle.set(tenantId, bot);
    return bot;
  }
}
