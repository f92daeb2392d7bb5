/**
 * The owner bot: a Telegram bot on `OWNER_BOT_TOKEN` that only `OWNER_CHAT_IDS` may use, for
 * the platform owner — alerts naming the store, `/status`, the stores' bots, maintenance,
 * jobs, a wizard that creates a store, and backups (`/backup`, `/backups`, `/verify`, `/restore`). To the platform it is a `Channel` named "owner",
 * so `OwnerAlerts` delivers through the outbox to `{ tenantId: "platform", channel: "owner", chatId }`.
 *
 * ```ts
 * const owner = new OwnerBot({ token, apiRoot, ownerChatIds: [42], locale: "id", control, alerts, leases, log });
 * channels.add(owner);                 // before the channels start
 * await owner.start();                 // polls here only while this instance holds its lease
 * await outbox.send({ tenantId: PLATFORM_TENANT, channel: OWNER_CHANNEL, chatId: "42" }, [outbound]);
 * await owner.stop(10_000);
 * ```
 *
 * - **Polls on one instance**: the holder of the lease "owner-bot" (`OwnerBotLease`); the
 *   others stand by and take over within one lease period when it dies. Any instance sends.
 * - **Every Bot API call has a timeout** (`callTimeoutMs`; the long poll its own).
 * - **Sends** render each `Outbound`'s text in the options' locale (else the owner's),
 *   split at 4096 characters, and say what went out in a `SendReport`.
 *
 * - **Or a webhook** (`webhook: { url, secret }`, `OWNER_BOT_MODE=webhook`): every instance
 *   sets the same webhook at start and answers `POST /telegram-owner` (`owner-webhook.ts`).
 */
import type { FastifyPluginAsync } from "fastify";
import { Bot, GrammyError, HttpError } from "grammy";
import type { Update } from "grammy/types";
import { conversations } from "@grammyjs/conversations";
import { FileFetchError, i18nTexts, newErrorId, renderText } from "../flows/engine/index.ts";
import type { Channel, ChannelAddress, ChannelCapabilities, ChannelStoresReport, Locale, Outbound, SendOptions, SendReport, SentOutbound, SendFailureReason } from "../flows/engine/index.ts";
import { t } from "../locales/i18n.ts";
import type { Backups } from "../storage/backup/service.ts";
import type { Leases } from "../storage/leases.ts";
import { BackupWork } from "./backup-work.ts";
import { ownerAccess } from "./owner-access.ts";
import type { OwnerContext } from "./owner-context.ts";
import { OWNER_CHANNEL } from "./owner-alerts.ts";
import type { AlertLog, AlertSink, OwnerAlerts } from "./owner-alerts.ts";
import { OwnerBotLease } from "./owner-bot-lease.ts";
import { ownerCommands } from "./owner-commands.ts";
import type { OwnerControl } from "./owner-control.ts";
import { splitText } from "./owner-text.ts";
import { ownerWebhookRoutes } from "./owner-webhook.ts";

export type { OwnerContext } from "./owner-context.ts";

/** What the owner bot shows: plain text, 4096 characters a message. */
export const OWNER_CAPABILITIES: ChannelCapabilities = { buttons: false, messageEdits: false, media: false, maxTextLength: 4096 };

export interface OwnerBotOptions {
  token: string;
  /** The Bot API root (`TELEGRAM_API_ROOT`), the same as the store bots'. */
  apiRoot: string;
  /** `OWNER_CHAT_IDS`: the Telegram user ids of the platform's owners. */
  ownerChatIds: readonly (number | string)[];
  /** The owner's language (`DEFAULT_LOCALE`). */
  locale: Locale;
  control: OwnerControl;
  alerts: AlertSink & Pick<OwnerAlerts, "recent" | "mute" | "unmute" | "mutes">;
  leases: Leases;
  /** `POLL_LEASE_MS`. Default 15 s. */
  leaseMs?: number;
  log: AlertLog;
  /** How long one Bot API call (not the long poll) may take. Default 10 s. */
  callTimeoutMs?: number;
  /** The long poll's `timeout`. Default 25 s. */
  pollTimeoutSec?: number;
  /** The time zone times are shown in. Default Asia/Jakarta. */
  timeZone?: string;
  /** Receive updates on a webhook instead of polling: its full URL and the secret Telegram sends with each update. */
  webhook?: { url: string; secret: string };
  /** The platform's backups (`BackupService`), when BACKUP_KEY is set; without them the backup commands say so. */
  backups?: Backups;
  /** The least time between two edits of a progress message (Telegram limits edits). Default 2 s. */
  progressEveryMs?: number;
}

export class OwnerBot implements Channel {
  readonly name = OWNER_CHANNEL;
  readonly capabilities = OWNER_CAPABILITIES;
  readonly bot: Bot<OwnerContext>;
  /** With a webhook: `POST /telegram-owner`, registered on the platform's server. */
  readonly routes?: FastifyPluginAsync;
  readonly #o: OwnerBotOptions;
  readonly #handling = new Set<Promise<unknown>>();
  /** Backups, verifications and restores the owner started, running beside the bot. */
  readonly #backupWork: BackupWork;
  #accepting = false;
  readonly #lease: OwnerBotLease;
  readonly #sends = new Set<Promise<unknown>>();
  #polling: Promise<void> | undefined;
  #stopping: Promise<unknown> | undefined;
  #restart: NodeJS.Timeout | undefined;
  #closed = false;
  #quietStop = false;
  readonly #menuShown = new Set<string>();
  /** Every update below this offset is confirmed to Telegram (a getUpdates carried it). */
  #confirmedBelow = 0;
  #highestUpdateId = -1;

  constructor(options: OwnerBotOptions) {
    this.#o = options;
    const pollTimeoutSec = options.pollTimeoutSec ?? 25;
    const callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.bot = new Bot<OwnerContext>(options.token, { client: { apiRoot: options.apiRoot, timeoutSeconds: pollTimeoutSec + 15 } });
    // Every call but the long poll gets its own deadline.
    this.bot.api.config.use((prev, method, payload, signal) => prev(method, payload, signal ?? (method === "getUpdates" ? undefined : (AbortSignal.timeout(callTimeoutMs) as never))));
    // Stopping, grammY confirms the updates handled with one more getUpdates. When the long
    // poll it abandons confirmed them already (the usual case), that call is skipped: it would
    // race the abandoned poll's connection closing, and Telegram would answer that poll 409.
    this.bot.api.config.use((prev, method, payload, signal) => {
      if (method !== "getUpdates") return prev(method, payload, signal);
      const offset = (payload as { offset?: number }).offset ?? 0;
      if (this.#quietStop && this.#highestUpdateId < this.#confirmedBelow) return Promise.resolve({ ok: true, result: [] } as never);
      if (offset > this.#confirmedBelow) this.#confirmedBelow = offset;
      return prev(method, payload, signal);
    });
    this.bot.use((ctx, next) => {
      this.#highestUpdateId = Math.max(this.#highestUpdateId, ctx.update.update_id);
      return next();
    });
    this.bot.use(ownerAccess({ ownerChatIds: options.ownerChatIds, locale: options.locale, alerts: options.alerts, log: options.log }));
    this.bot.use((ctx, next) => {
      if (ctx.chat && !this.#menuShown.has(String(ctx.chat.id))) void this.#showMenu([ctx.chat.id]);
      return next();
    });
    this.bot.use(conversations());
    this.#backupWork = new BackupWork({ api: this.bot.api, log: options.log, locale: options.locale });
    this.bot.use(
      ownerCommands({
        control: options.control,
        alerts: options.alerts,
        locale: options.locale,
        timeZone: options.timeZone ?? "Asia/Jakarta",
        backups: options.backups,
        work: this.#backupWork,
        api: this.bot.api,
        log: options.log,
        ...(options.progressEveryMs !== undefined && { progressEveryMs: options.progressEveryMs }),
      }),
    );
    this.bot.catch((error) => this.#failed(error.ctx, error.error));
    if (options.webhook) {
      this.routes = ownerWebhookRoutes({ secret: options.webhook.secret, accepting: () => this.#accepting, handle: (update) => this.#handleUpdate(update) });
    }
    this.#lease = new OwnerBotLease({
      leases: options.leases,
      leaseMs: options.leaseMs ?? 15_000,
      log: options.log,
      onGranted: () => this.#startPolling(),
      onLost: () => void this.#stopPolling(),
    });
  }

  /** Whether this instance polls the owner bot now. */
  get polling(): boolean {
    return this.#polling !== undefined;
  }

  async start(): Promise<ChannelStoresReport> {
    this.#closed = false;
    void this.#showMenu(this.#o.ownerChatIds);
    if (!this.#o.webhook) {
      this.#lease.start();
      return { started: [], stopped: [], failed: [] };
    }
    try {
      await this.bot.init();
      // Every instance sets the same webhook; whichever Telegram reaches answers.
      await this.bot.api.setWebhook(this.#o.webhook.url, { secret_token: this.#o.webhook.secret, allowed_updates: ["message", "callback_query"] });
      this.#accepting = true;
      return { started: [], stopped: [], failed: [] };
    } catch (error) {
      this.#o.log.error("owner bot: its webhook could not be set; it hears nothing until the next start", { error: describe(error) });
      return { started: [], stopped: [], failed: [{ slug: "owner-bot", reason: describe(error) }] };
    }
  }

  async stop(graceMs: number): Promise<boolean> {
    this.#closed = true;
    this.#accepting = false;
    clearTimeout(this.#restart);
    // Backup work the owner started is waited for too: a restore stopped halfway helps no one.
    if (this.#o.webhook) return within(Promise.all([...this.#handling, ...this.#sends, this.#backupWork.idle()]), graceMs);
    // Polling stops (and confirms what it handled) before the lease is released, so the next holder never polls beside it.
    const stopped = this.#lease.stop(() => this.#stopPolling());
    return within(Promise.all([stopped, ...this.#sends, this.#backupWork.idle()]), graceMs);
  }

  async followStoreChanges(): Promise<ChannelStoresReport> {
    return { started: [], stopped: [], failed: [] };
  }

  async fetchFile(): Promise<Buffer> {
    throw new FileFetchError("the owner bot carries no files", "not-supported");
  }

  send(to: ChannelAddress, outbounds: readonly Outbound[], options: SendOptions = {}): Promise<SendReport> {
    const sending = this.#send(to.chatId, outbounds, options.locale ?? this.#o.locale);
    this.#sends.add(sending);
    void sending.finally(() => this.#sends.delete(sending));
    return sending;
  }

  async #send(chatId: string, outbounds: readonly Outbound[], locale: Locale): Promise<SendReport> {
    const messages: SentOutbound[] = outbounds.map(() => ({ status: "skipped", messageIds: [] }));
    for (const [i, outbound] of outbounds.entries()) {
      const ids: string[] = [];
      for (const part of splitText(renderText(outbound.text, locale, i18nTexts), this.capabilities.maxTextLength)) {
        try {
          ids.push(String((await this.bot.api.sendMessage(chatId, part)).message_id));
        } catch (error) {
          const failure = sendFailure(error);
          messages[i] = { status: "failed", messageIds: ids, reason: failure.reason, detail: failure.detail };
          return { ok: false, sent: i, reason: failure.reason, detail: failure.detail, ...(failure.retryAfterSec !== undefined && { retryAfterSec: failure.retryAfterSec }), messages };
        }
      }
      messages[i] = { status: "sent", messageIds: ids };
    }
    return { ok: true, sent: outbounds.length, messages };
  }

  /**
   * The command menu, shown in the owners' chats only: a stranger sees no list of commands.
   * Telegram knows an owner's chat only once they wrote to the bot, so a chat it refused is
   * tried again at the owner's next message.
   */
  async #showMenu(chatIds: readonly (number | string)[]): Promise<void> {
    const commands = OWNER_MENU.map((command) => ({ command, description: t(this.#o.locale, `ownerbot.menu.${command}`) }));
    for (const chatId of chatIds) {
      if (this.#menuShown.has(String(chatId))) continue;
      this.#menuShown.add(String(chatId));
      await this.bot.api.setMyCommands(commands, { scope: { type: "chat", chat_id: chatId } }).catch(() => this.#menuShown.delete(String(chatId)));
    }
  }

  async #handleUpdate(update: Update): Promise<void> {
    const handling = this.bot.handleUpdate(update).catch((error: unknown) => this.#failed(undefined, error, update));
    this.#handling.add(handling);
    try {
      await handling;
    } finally {
      this.#handling.delete(handling);
    }
  }

  /** A command failed: logged with an error id, and the owner told that id. */
  async #failed(ctx: OwnerContext | undefined, error: unknown, update?: Update): Promise<void> {
    const errorId = newErrorId();
    const cause = (error as { error?: unknown }).error ?? error;
    this.#o.log.error("owner bot: a command failed", { errorId, error: describe(cause) });
    const chatId = ctx?.chat?.id ?? update?.message?.chat.id ?? update?.callback_query?.message?.chat.id;
    // Only an owner hears of it; a stranger got their one line already.
    if (chatId !== undefined && this.#o.ownerChatIds.map(String).includes(String(chatId))) await this.bot.api.sendMessage(chatId, t(this.#o.locale, "ownerbot.error", { errorId })).catch(() => undefined);
  }

  #startPolling(): void {
    if (this.#polling || this.#closed) return;
    const run = this.bot
      .start({ timeout: this.#o.pollTimeoutSec ?? 25, allowed_updates: ["message", "callback_query"] })
      .catch((error: unknown) => void this.#o.log.warn("owner bot: polling stopped with an error", { error: describe(error) }));
    this.#polling = run.finally(() => {
      this.#polling = undefined;
      // Still the holder: poll again shortly (a 409 from a poller that has not noticed yet, a network error).
      if (this.#lease.held && !this.#closed) this.#restart = setTimeout(() => this.#startPolling(), 1_000);
    });
  }

  #stopPolling(): Promise<unknown> {
    clearTimeout(this.#restart);
    const polling = this.#polling;
    if (!polling) return Promise.resolve();
    return (this.#stopping ??= (async () => {
      this.#quietStop = true;
      await this.bot.stop().catch((error: unknown) => this.#o.log.warn("owner bot: confirming the last update failed", { error: describe(error) }));
      await polling;
    })().finally(() => {
      this.#quietStop = false;
      this.#stopping = undefined;
    }));
  }
}

const OWNER_MENU = ["status", "stores", "store", "suspend", "resume", "restart", "mode", "limit", "maintenance", "alerts", "jobs", "newstore", "backup", "backups", "verify", "restore", "cancel", "help"] as const;

/** What a refused or failed Bot API call means for a send (see `SendFailureReason`). */
function sendFailure(error: unknown): { reason: SendFailureReason; detail: string; retryAfterSec?: number } {
  if (error instanceof GrammyError) {
    const detail = `${error.error_code}: ${error.description}`;
    if (error.error_code === 403) return { reason: "blocked", detail };
    if (error.error_code === 429) return { reason: "rate-limited", detail, retryAfterSec: error.parameters.retry_after ?? 1 };
    if (error.error_code >= 500) return { reason: "failed", detail };
    if (error.error_code === 400 && /chat not found|user not found/i.test(error.description)) return { reason: "unreachable", detail };
    return { reason: "rejected", detail };
  }
  // The network, or no answer within the call's deadline.
  if (error instanceof HttpError) return { reason: "failed", detail: error.message };
  return { reason: "failed", detail: describe(error) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true as const, () => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
