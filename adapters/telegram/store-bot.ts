/**
 * One store's Telegram bot: a grammY `Bot` with resilient outgoing calls, fed by long
 * polling (`@grammyjs/runner`) or by the platform's webhook endpoint, turning each update
 * into an engine turn and the turn's replies into messages. `StoreBots` owns the
 * lifecycle; this class knows one bot.
 *
 * Every update is handled once (update ids already seen are dropped, which matters while a
 * store moves between polling and webhook), updates of one chat strictly in order
 * (`sequentialize` by chat; the engine also serialises turns, but the customer lookup
 * before the turn must not reorder them), and every message gets an answer: when
 * something fails outside the engine, the customer gets `common.error_apology` with an
 * error id that is in the log line too.
 */
import { timingSafeEqual, createHash } from "node:crypto";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Bot, GrammyError } from "grammy";
import type { Context } from "grammy";
import type { Update, User, UserFromGetMe } from "grammy/types";
import { run, sequentialize } from "@grammyjs/runner";
import type { RunnerHandle } from "@grammyjs/runner";
import type { SendOptions, SendReport } from "../../flows/engine/index.ts";
import type { EngineLog } from "../../flows/engine/index.ts";
import { ChatQueue, newErrorId } from "../../flows/engine/index.ts";
import type { Engine } from "../../flows/engine/index.ts";
import type { InboundMessage, InboundTenant, Locale, Outbound } from "../../flows/engine/index.ts";
import { resolveLocale, t } from "../../locales/i18n.ts";
import { resilientCalls } from "./api-resilience.ts";
import { BotHealth } from "./bot-health.ts";
import type { StoreTroubles } from "./bot-health.ts";
import type { ResilientCallsOptions } from "./api-resilience.ts";
import { customerMenus, registerCustomerCommands } from "./bot-commands.ts";
import type { ButtonSigner, PromptTags } from "./button-data.ts";
import { deliverReplies, LiveKeyboards } from "./chat-replies.ts";
import type { ChatReplies, PressedButton } from "./chat-replies.ts";
import { CustomerRecords, TELEGRAM_CHANNEL } from "./customer-records.ts";
import { downloadTelegramFile } from "./file-download.ts";
import { displayNameOf, inboundMessageOf } from "./inbound-message.ts";
import { MemberMenus } from "./member-menus.ts";
import { PollingGuard } from "./polling-guard.ts";
import type { PollingRight } from "./polling-leases.ts";
import type { SellerMenuFilter } from "./member-menus.ts";
import { sendingProactively } from "./outgoing-pacer.ts";
import type { OutgoingPacer } from "./outgoing-pacer.ts";
import { editMessage, sendBatch } from "./proactive-send.ts";
import { digestOf } from "./telegram-memory.ts";
import type { TelegramMemory } from "./telegram-memory.ts";

import type { TelegramMode } from "./bot-status.ts";

export type { TelegramMode };

/** The updates a store bot asks Telegram for. */
export const ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"] as const;

/** What a store bot shares with every other one in the process. */
export interface StoreBotShared {
  engine: Engine;
  apiRoot: string;
  buttons: ButtonSigner;
  tags: PromptTags;
  /** Options for `resilientCalls`, apart from the callbacks the bot installs itself. */
  resilience?: Omit<ResilientCallsOptions, "onUnauthorized" | "onBlocked" | "log">;
  /** Long-poll timeout in seconds. Default 30. */
  pollingTimeoutSec?: number;
  /** How long a bot's start may wait for Telegram's `getMe`. Default 20 000 ms. */
  startTimeoutMs?: number;
  /** How long a turn may run before the customer sees "typing…". Default 1000 ms. */
  typingAfterMs?: number;
  lookupBudgetMs?: number;
  /** Which seller commands a member's own menu lists, by role; all of them by default. */
  sellerMenu?: SellerMenuFilter;
  /** Members read per page when a bot sets its members' menus at start. Default 100. */
  memberMenuPageSize?: number;
  /** How long every call must fail (network, 5xx) before the store counts as unable to reach Telegram. Default 60 000 ms. */
  unreachableAfterMs?: number;
  /** After long polling stopped on a 409 Conflict, how long until it tries again. Default 30 000 ms. */
  conflictRetryMs?: number;
}

export interface StoreTenant extends InboundTenant {
  /** The store's language, for customers whose Telegram does not say theirs. */
  locale: Locale;
}

export interface StoreBotOptions extends StoreBotShared {
  tenant: StoreTenant;
  token: string;
  log: EngineLog;
  /** The store's flood-limit pacer; one per token, outliving this bot across restarts. */
  pacer: OutgoingPacer;
  /** Telegram answered 401: the token is revoked. Called at most once. */
  onUnauthorized(): void;
  /**
   * When instances share stores: this instance's right to poll the store (its polling
   * lease). Every `getUpdates` is checked against it (`PollingGuard`).
   */
  pollingRight?: PollingRight;
  /** Where the bot reports trouble reaching Telegram and polling conflicts (see `BotHealth`). */
  troubles?: StoreTroubles;
  /**
   * What Telegram already has for this bot (see `TelegramMemory`): with a remembered
   * identity, `init` asks nothing, and the webhook and menus are set only when they differ.
   */
  memory?: TelegramMemory;
}

// Update ids remembered to drop a redelivered update (polling and webhook overlapping during a switch).
const REMEMBERED_UPDATES = 512;

export class StoreBot {
  readonly tenant: StoreTenant;
  readonly bot: Bot;
  readonly customers: CustomerRecords;
  /** The command menus of the store's members, in their private chats. */
  readonly memberMenus: MemberMenus;
  #mode: TelegramMode | "stopped" = "stopped";
  #runner: RunnerHandle | undefined;
  /** The runner being stopped: polling starts again only once it has let go of its long poll. */
  #stopping: Promise<unknown> | undefined;
  readonly #guard: PollingGuard | undefined;
  readonly #health: BotHealth | undefined;
  /** Polling again after a 409 Conflict. */
  #retryTimer: NodeJS.Timeout | undefined;
  #webhookSecretDigest: Buffer | undefined;
  readonly #identityRemembered: boolean;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #seen = new Set<number>();
  #highestUpdateId = 0;
  /** The highest offset a getUpdates was sent with: every update below it is confirmed to Telegram. */
  #confirmedBelow = 1;
  readonly #keyboards = new LiveKeyboards();
  /**
   * Proactive batches to one chat, one after another; bulk ones (broadcasts) in a line of
   * their own. Not shared with a turn's replies: a batch waiting its turn behind a
   * broadcast must not hold up the answer to a customer, nor their goods.
   */
  readonly #proactive = { proactive: new ChatQueue(), bulk: new ChatQueue() };
  readonly #options: StoreBotOptions;
  readonly #log: EngineLog;

  constructor(options: StoreBotOptions) {
    this.#options = options;
    this.#log = options.log;
    this.tenant = options.tenant;
    this.#identityRemembered = options.memory?.botInfo !== undefined;
    this.customers = new CustomerRecords({
      tenantId: options.tenant.id,
      log: options.log,
      ...(options.lookupBudgetMs !== undefined && { lookupBudgetMs: options.lookupBudgetMs }),
    });
    const botInfo = options.memory?.botInfo;
    this.bot = new Bot(options.token, { client: { apiRoot: options.apiRoot }, ...(botInfo && { botInfo }) });
    // First of all, right above the network: each getUpdates' offset is recorded as it goes
    // out, and, when instances share stores, checked against this one's right to poll.
    this.bot.api.config.use((prev, method, payload, signal) => {
      const offset = method === "getUpdates" ? (payload as { offset?: number }).offset ?? 0 : 0;
      if (offset > this.#confirmedBelow) this.#confirmedBelow = offset;
      return prev(method, payload, signal);
    });
    this.#health = options.troubles && new BotHealth(options.troubles, {
      ...(options.unreachableAfterMs !== undefined && { unreachableAfterMs: options.unreachableAfterMs }),
    });
    if (this.#health) this.bot.api.config.use(this.#health.transformer());
    this.#guard = options.pollingRight && new PollingGuard(options.pollingRight);
    if (this.#guard) this.bot.api.config.use(this.#guard.transformer());
    // Installed before the retries, so it sits under them: each retry waits its turn too.
    this.bot.api.config.use(options.pacer.transformer());
    this.bot.api.config.use(resilientCalls({
      ...options.resilience,
      log: options.log,
      onUnauthorized: options.onUnauthorized,
      onBlocked: (chatId, reason) => {
        this.customers.markUnreachable(chatId, reason).catch((error: unknown) => {
          this.#log.warn("telegram customer could not be marked unreachable", { tenant: this.tenant.slug, error: (error as Error).message });
        });
      },
    }));
    this.memberMenus = new MemberMenus({
      api: this.bot.api, flows: options.engine.platformFlows, tenant: options.tenant, log: options.log,
      ...(options.memory && { memory: options.memory }),
      ...(options.sellerMenu !== undefined && { sellerMenu: options.sellerMenu }),
      ...(options.memberMenuPageSize !== undefined && { pageSize: options.memberMenuPageSize }),
    });
    this.#installHandlers();
  }

  /** "polling" also while standing by (another instance polls the store); see `fetching`. */
  get mode(): TelegramMode | "stopped" {
    return this.#mode;
  }

  /** Whether this bot is long polling now. */
  get fetching(): boolean {
    return this.#runner !== undefined;
  }

  /** Whether the bot's identity came from memory, so no `getMe` has checked its token yet. */
  get identityRemembered(): boolean {
    return this.#identityRemembered;
  }

  /**
   * Asks Telegram who the bot is (`getMe`), unless it is remembered; a revoked token fails
   * here with a 401 `GrammyError`. grammY retries a failing network or Telegram for ever; this gives up
   * after `startTimeoutMs`, so one unreachable store cannot hold up the others' start.
   */
  async init(): Promise<UserFromGetMe> {
    const timeoutMs = this.#options.startTimeoutMs ?? 20_000;
    try {
      // grammY types its signal as the `abort-controller` polyfill's; Node's own works the same.
      await this.bot.init(AbortSignal.timeout(timeoutMs) as Parameters<Bot["init"]>[0]);
    } catch (error) {
      if (this.bot.isInited()) return this.bot.botInfo;
      if (error instanceof GrammyError && error.error_code < 500 && error.error_code !== 429) throw error;
      throw new Error(`Telegram did not answer getMe within ${timeoutMs} ms (${describe(error)})`);
    }
    return this.bot.botInfo;
  }

  /**
   * Starts long polling; removes a webhook first, since Telegram refuses getUpdates while one
   * is set. `webhookRemoved` skips that call (a takeover: the store's last poller removed it);
   * should a webhook be set after all, the first getUpdates fails with 409 and polling starts
   * again at once, removing it.
   */
  async startPolling(opts: { webhookRemoved?: boolean } = {}): Promise<void> {
    await this.#stopping;
    this.#cancelRetry();
    if (this.#runner) return;
    if (!opts.webhookRemoved) await this.bot.api.deleteWebhook();
    await this.#options.memory?.remember("webhook", undefined);
    const runner = run(this.bot, {
      runner: { fetch: { timeout: this.#options.pollingTimeoutSec ?? 30, allowed_updates: [...ALLOWED_UPDATES] }, silent: true },
    });
    this.#runner = runner;
    this.#mode = "polling";
    runner.task()?.catch((error: unknown) => {
      if (this.#runner !== runner) return;
      this.#runner = undefined;
      this.#guard?.abandon();
      if (error instanceof GrammyError && error.error_code === 409 && opts.webhookRemoved && /webhook is active/.test(error.description)) {
        return void this.startPolling().catch((retryError: unknown) => this.#conflicted(retryError instanceof GrammyError ? retryError : error));
      }
      if (error instanceof GrammyError && error.error_code === 409) return this.#conflicted(error);
      this.#mode = "stopped";
      this.#log.error("telegram long polling stopped", { tenant: this.tenant.slug, error: describe(error) });
    });
  }

  /**
   * Telegram ended our long poll with 409 Conflict: someone outside the platform's leases
   * polls (or set a webhook on) this token. The bot stays in polling mode and tries again
   * after `conflictRetryMs`; the owner hears of it through `troubles`.
   */
  #conflicted(error: GrammyError): void {
    this.#log.error("telegram long polling conflict: someone else polls this bot's token; trying again later", { tenant: this.tenant.slug, error: error.description });
    this.#health?.conflict(error.description);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#mode !== "polling" || this.#runner) return;
      this.startPolling().catch((retryError: unknown) => {
        this.#log.warn("telegram long polling did not start again after a conflict", { tenant: this.tenant.slug, error: describe(retryError) });
      });
    }, this.#options.conflictRetryMs ?? 30_000);
    this.#retryTimer.unref();
  }

  #cancelRetry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /**
   * Stops long polling: tells Telegram the updates already fetched are done (a last
   * `getUpdates` with the next offset), so whoever receives the store's updates next — a
   * webhook, another process — does not get them again, and resolves once they are handled.
   */
  async stopPolling(): Promise<void> {
    this.#cancelRetry();
    if (this.#mode === "polling") this.#mode = "stopped";
    if (!(await this.#stopFetching())) return;
    // Usually the long poll just abandoned already confirmed them; a getUpdates now would
    // race that poll's connection closing, and Telegram would answer the poll 409 Conflict.
    if (this.#highestUpdateId >= this.#confirmedBelow) {
      await this.bot.api.getUpdates({ offset: this.#highestUpdateId + 1, limit: 1, timeout: 0 }).catch((error: unknown) => {
        this.#log.warn("telegram could not confirm the last polled updates", { tenant: this.tenant.slug, error: describe(error) });
      });
    }
    this.#guard?.abandon();
    await this.#drain();
  }

  /**
   * Polling mode without polling: another instance holds the store's polling lease. A long
   * poll under way is abandoned and nothing is confirmed to Telegram (the lease is gone, and
   * a getUpdates now would cut into the other instance's poll): updates fetched and not yet
   * confirmed are left to the instance that polls now. `startPolling` resumes.
   */
  async standBy(): Promise<void> {
    this.#cancelRetry();
    this.#mode = "polling";
    await this.#stopFetching();
    this.#guard?.abandon();
  }

  /** Stops the runner, if any; resolves true when there was one, once its long poll is let go. */
  async #stopFetching(): Promise<boolean> {
    const runner = this.#runner;
    this.#runner = undefined;
    if (!runner) return false;
    const stopping = Promise.resolve(runner.isRunning() ? runner.stop() : undefined).catch(() => undefined);
    this.#stopping = stopping;
    await stopping;
    if (this.#stopping === stopping) this.#stopping = undefined;
    return true;
  }

  /** Points Telegram at the platform's endpoint for this store, with the secret it must send back. */
  async useWebhook(url: string, secret: string): Promise<void> {
    this.acceptSecret(secret);
    const memory = this.#options.memory;
    const digest = digestOf(["webhook", url, secret, ALLOWED_UPDATES]);
    if (!memory?.has("webhook", digest)) {
      await this.bot.api.setWebhook(url, { secret_token: secret, allowed_updates: [...ALLOWED_UPDATES] });
      await memory?.remember("webhook", digest);
    }
    this.#mode = "webhook";
  }

  /**
   * Asks Telegram who the bot is now: a revoked token answers 401 (and `onUnauthorized`
   * stops the bot); a renamed bot is remembered under its new name.
   */
  async checkIdentity(): Promise<void> {
    const timeoutMs = this.#options.startTimeoutMs ?? 20_000;
    const me = await this.bot.api.getMe(AbortSignal.timeout(timeoutMs) as Parameters<Bot["api"]["getMe"]>[0]);
    if (JSON.stringify(me) === JSON.stringify(this.bot.botInfo)) return;
    this.bot.botInfo = me;
    await this.#options.memory?.rememberBotInfo(me, undefined);
  }

  /** The webhook secret this bot accepts (also while polling, for deliveries still under way during a switch). */
  acceptSecret(secret: string): void {
    this.#webhookSecretDigest = secretDigest(secret);
  }

  /** Whether a webhook request carries this store's secret. */
  checkSecret(header: string | undefined): boolean {
    return carriesSecret(header, this.#webhookSecretDigest);
  }

  /** Handles an update that came through the webhook. Resolves when the customer has the answer. */
  async receive(update: Update): Promise<void> {
    await this.bot.handleUpdate(update);
  }

  /** Stops taking updates and waits for the ones under way. A webhook stays set, so Telegram keeps the updates for the next start. */
  async stop(): Promise<void> {
    await this.stopPolling();
    this.#mode = "stopped";
    await this.#drain();
    await this.memberMenus.close();
    this.#health?.close();
  }

  /** The customer menu, for everyone, unless Telegram has it already; members get theirs from `memberMenus`. */
  async registerCommands(): Promise<void> {
    const menus = customerMenus(this.#options.engine.platformFlows, this.tenant.name);
    const digest = digestOf(["commands", menus]);
    const memory = this.#options.memory;
    if (memory?.has("commands", digest)) return;
    await registerCustomerCommands(this.bot.api, menus);
    await memory?.remember("commands", digest);
  }

  download(fileRef: string, maxBytes?: number): Promise<Buffer> {
    return downloadTelegramFile(this.bot.api, this.#options.apiRoot, fileRef, maxBytes);
  }

  /**
   * Sends `replies` to a chat outside a turn, rendered as a turn's replies are, paced as
   * proactive sends, after the batches already queued for the chat; `committing` is asked
   * once, when the first message has its turn (see `sendingProactively`). Never rejects.
   */
  sendProactively(chatId: number, replies: readonly Outbound[], locale: Locale, opts: Pick<SendOptions, "bulk" | "committing"> = {}): Promise<SendReport> {
    const line = opts.bulk ? this.#proactive.bulk : this.#proactive.proactive;
    return line.run(String(chatId), () => sendingProactively(() => sendBatch(this.#chatReplies(chatId, locale), replies), opts));
  }

  /**
   * Replaces a message the bot sent outside a turn (a progress message) with `outbound`'s
   * text and buttons, paced as a proactive send, in line with the chat's other proactive
   * batches. Never rejects.
   */
  editProactively(chatId: number, messageId: number, outbound: Outbound, locale: Locale): Promise<SendReport> {
    return this.#proactive.proactive.run(String(chatId), () => sendingProactively(() => editMessage(this.#chatReplies(chatId, locale), messageId, outbound)));
  }

  /** The language a customer chose in this store, if they did. */
  chosenLocale(chatId: number): Promise<Locale | undefined> {
    return this.customers.chosenLocale(chatId);
  }

  // ---------------------------------------------------------------- updates

  #installHandlers(): void {
    const bot = this.bot;
    bot.use((ctx, next) => this.#once(ctx.update.update_id, next));
    bot.on("my_chat_member", (ctx) => this.#onMembership(ctx));
    bot.use(sequentialize((ctx: Context) => (ctx.chat ? String(ctx.chat.id) : undefined)));
    bot.on("callback_query", (ctx) => this.#onPress(ctx));
    bot.on("message", (ctx) => this.#onMessage(ctx));
    bot.catch((error) => {
      this.#log.error("telegram update failed outside a conversation", { tenant: this.tenant.slug, updateId: error.ctx.update.update_id, error: describe(error.error) });
    });
  }

  async #once(updateId: number, next: () => Promise<void>): Promise<void> {
    if (this.#seen.has(updateId)) return;
    this.#seen.add(updateId);
    if (this.#seen.size > REMEMBERED_UPDATES) this.#seen.delete(this.#seen.values().next().value as number);
    if (updateId > this.#highestUpdateId) this.#highestUpdateId = updateId;
    const work = this.#guard ? this.#onceConfirmed(updateId, next) : next();
    this.#inFlight.add(work);
    try {
      await work;
    } finally {
      this.#inFlight.delete(work);
    }
  }

  /** A polled update is handled only once Telegram is told it is done with it (see `PollingGuard`). */
  async #onceConfirmed(updateId: number, next: () => Promise<void>): Promise<void> {
    if (await this.#guard!.confirmed(updateId)) return next();
    this.#seen.delete(updateId);
    this.#log.warn("telegram update left for the instance that polls the store now: this one's polling lease ran out before it confirmed the update", { tenant: this.tenant.slug, updateId });
  }

  async #drain(): Promise<void> {
    await nextTurn();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #onMembership(ctx: Context): void {
    const change = ctx.myChatMember;
    if (!change || change.chat.type !== "private") return;
    const status = change.new_chat_member.status;
    if (status === "kicked") {
      this.customers.markUnreachable(change.chat.id, "blocked").catch((error: unknown) => {
        this.#log.warn("telegram customer could not be marked unreachable", { tenant: this.tenant.slug, error: describe(error) });
      });
    } else if (status === "member") {
      this.customers.markReachable(change.chat.id);
    }
  }

  async #onMessage(ctx: Context): Promise<void> {
    const message = ctx.message;
    const from = ctx.from;
    if (!message || !from || message.chat.type !== "private" || from.is_bot) return;
    const chatId = message.chat.id;
    this.memberMenus.seen(from.id);
    const locale = await this.#localeOf(from);
    await this.#answering(chatId, locale, async () => {
      const inbound = inboundMessageOf(message);
      if (!inbound) {
        await this.bot.api.sendMessage(chatId, t(locale, "telegram.unsupported_message"));
        return;
      }
      await this.#converse(chatId, from, locale, inbound);
    });
  }

  async #onPress(ctx: Context): Promise<void> {
    const query = ctx.callbackQuery;
    const chat = query?.message?.chat;
    if (!query || !chat || chat.type !== "private") {
      if (query) await ctx.answerCallbackQuery().catch(() => undefined);
      return;
    }
    const locale = await this.#localeOf(query.from);
    const opened = this.#options.buttons.open(this.tenant.id, String(chat.id), query.data);
    if (!opened) {
      // Not a button this store sent to this chat: a modified client, or data from elsewhere.
      this.#log.warn("telegram button with an invalid signature ignored", { tenant: this.tenant.slug, chatId: chat.id });
      await this.#answering(chat.id, locale, () => ctx.answerCallbackQuery({ text: t(locale, "telegram.button_invalid") }));
      return;
    }
    await this.#answering(chat.id, locale, async () => {
      // Answered first: the spinner on the button stops even if the turn takes a while.
      await ctx.answerCallbackQuery().catch((error: unknown) => {
        this.#log.warn("telegram callback query not answered", { tenant: this.tenant.slug, error: describe(error) });
      });
      const prompt = opened.tag === "" ? undefined : this.#options.tags.resolve(opened.tag);
      const pressed: PressedButton = { message: query.message!, data: query.data!, tag: opened.tag };
      await this.#converse(chat.id, query.from, locale, { kind: "choice", choiceId: opened.choiceId, ...(prompt && { prompt }) }, pressed);
    });
  }

  /** One engine turn; the replies are delivered inside it, so replies of consecutive messages stay in order. */
  async #converse(chatId: number, from: User, locale: Locale, message: InboundMessage, pressed?: PressedButton): Promise<void> {
    const { engine } = this.#options;
    const chat = this.#chatReplies(chatId, locale);
    let typing: Promise<unknown> | undefined;
    const typingTimer = setTimeout(() => {
      typing = this.bot.api.sendChatAction(chatId, "typing").catch(() => undefined);
    }, this.#options.typingAfterMs ?? 1000);
    try {
      await engine.handle(
        {
          tenant: { id: this.tenant.id, slug: this.tenant.slug, name: this.tenant.name },
          channel: TELEGRAM_CHANNEL,
          chatId: String(chatId),
          user: { id: String(from.id), name: displayNameOf(from) },
          locale,
          message,
        },
        async (replies) => {
          clearTimeout(typingTimer);
          await typing;
          await deliverReplies(chat, replies, pressed);
        },
      );
    } finally {
      clearTimeout(typingTimer);
    }
  }

  #chatReplies(chatId: number, locale: Locale): ChatReplies {
    return {
      api: this.bot.api, tenantId: this.tenant.id, chatId, locale, log: this.#log,
      buttons: this.#options.buttons, tags: this.#options.tags, keyboards: this.#keyboards,
    };
  }

  /** Runs `work`; if it fails, logs why with an error id and tells the customer, unless Telegram will not let us. */
  async #answering(chatId: number, locale: Locale, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      const errorId = newErrorId();
      this.#log.error("telegram update could not be answered", { tenant: this.tenant.slug, errorId, error: describe(error) });
      if (error instanceof GrammyError && (error.error_code === 401 || error.error_code === 403)) return;
      await this.bot.api.sendMessage(chatId, t(locale, "common.error_apology", { errorId })).catch((apologyError: unknown) => {
        this.#log.error("telegram apology could not be sent", { tenant: this.tenant.slug, errorId, error: describe(apologyError) });
      });
    }
  }

  async #localeOf(user: User): Promise<Locale> {
    const chosen = await this.customers.seen(user);
    if (chosen) return chosen;
    return user.language_code ? resolveLocale(user.language_code) : this.tenant.locale;
  }
}

/** A webhook secret kept as its digest: compared in constant time whatever the length of what was sent. */
export function secretDigest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** Whether a webhook request's secret header is the one whose digest is `expected`. */
export function carriesSecret(header: string | undefined, expected: Buffer | undefined): boolean {
  return expected !== undefined && header !== undefined && timingSafeEqual(secretDigest(header), expected);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
