// A local Telegram Bot API server for tests: real grammY talks to it over HTTP
// (`new Bot(token, { client: { apiRoot: tg.apiRoot } })`), and the test acts as the
// users on the other side and reads what the bots sent.
//
// ```ts
// const tg = await startTelegramEmulator();
// const { token } = tg.bot();
// const user = tg.user({ first_name: "Sari", language_code: "id" });
// const bot = new Bot(token, { client: { apiRoot: tg.apiRoot } });
// bot.command("start", (ctx) => ctx.reply("Selamat datang!"));
// void bot.start();
// await tg.sendCommand(token, user, "/start");
// const reply = await tg.waitForSent(token, user, (m) => m.text === "Selamat datang!");
// await bot.stop();
// await tg.stop();
// ```
//
// Many bots at once, each with its own chats, update queue, webhook and files. What it
// refuses, it refuses with Telegram's status and wording (see bot-api-methods.ts). The
// catch: private chats only — no groups, channels, inline mode or payments.
import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import type {
  BotCommand, BotCommandScope, CallbackQuery, ChatMemberUpdated, Message, Update, User, UserFromGetMe,
} from "grammy/types";
import { BotApiError, defaultDescription, notFound, tooManyRequests, unauthorized } from "./telegram-emulator/bot-api-error.ts";
import { BOT_API_METHODS, documentOf, mimeTypeOf, photoSizes } from "./telegram-emulator/bot-api-methods.ts";
import { EmulatedBot, scopeKey } from "./telegram-emulator/emulated-bot.ts";
import type {
  ApiCall, CallbackAnswer, ChatState, Fault, RegisteredCommands, UserDirectory,
} from "./telegram-emulator/emulated-bot.ts";
import { countsAsMessage } from "./telegram-emulator/flood-limits.ts";
import type { FloodLimits } from "./telegram-emulator/flood-limits.ts";
import { imageSize } from "./telegram-emulator/images.ts";
import { isUpload, readParams } from "./telegram-emulator/request-params.ts";
import type { Params } from "./telegram-emulator/request-params.ts";
import { detectEntities } from "./telegram-emulator/text-formatting.ts";
import { WebhookDelivery } from "./telegram-emulator/webhook-delivery.ts";

export type { ApiCall, CallbackAnswer, Fault, RegisteredCommands } from "./telegram-emulator/emulated-bot.ts";
export type { FloodLimits } from "./telegram-emulator/flood-limits.ts";
export { samplePng } from "./telegram-emulator/images.ts";

export interface TelegramEmulatorOptions {
  /** First wait before re-sending an update the webhook refused; doubles up to 2 s. Default 50 ms. */
  readonly webhookRetryDelayMs?: number;
  /** How long a webhook may take to answer before the delivery counts as failed. Default 15 s. */
  readonly webhookTimeoutMs?: number;
  /** Telegram's flood limits, enforced with 429s (see `enforceFloodLimits`). Default: not enforced. */
  readonly floodLimits?: FloodLimits;
}

/** A registered bot: what BotFather would have given you. */
export interface EmulatedBotIdentity {
  readonly token: string;
  readonly id: number;
  readonly username: string;
  /** What getMe answers. */
  readonly info: UserFromGetMe;
}

/** A private chat, named by its id or by the user on the other side. */
export type ChatRef = number | User;

/** Starts an emulator on 127.0.0.1 and a free port. Call `stop()` when done. */
export async function startTelegramEmulator(options: TelegramEmulatorOptions = {}): Promise<TelegramEmulator> {
  const emulator = new TelegramEmulator(options);
  await emulator.listen();
  return emulator;
}

const DROP_CONNECTION = Symbol("drop connection");
type Outcome = { ok: true; result: unknown } | BotApiError | typeof DROP_CONNECTION;

// Telegram's clients split what a user types into messages of at most this many characters.
const MAX_TEXT = 4096;

// Fields the emulator shows in `calls()` with their documented types even when they came
// as multipart strings, so an assertion reads the same whichever way grammY sent the call.
const JSON_FIELDS = new Set(["reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates", "reply_parameters", "link_preview_options"]);
const INTEGER_FIELDS = new Set(["chat_id", "message_id", "offset", "limit", "timeout", "cache_time", "max_connections", "reply_to_message_id"]);

export class TelegramEmulator {
  /** Pass as grammY's `client.apiRoot`, e.g. `http://127.0.0.1:41234`. */
  apiRoot = "";
  private readonly server: Server;
  private readonly tokens = new Map<string, EmulatedBot>();
  private readonly deliveries = new Map<EmulatedBot, WebhookDelivery>();
  private readonly directory: UserDirectory = { users: new Map(), deactivated: new Set() };
  private readonly stopping = new AbortController();
  private readonly options: Required<Omit<TelegramEmulatorOptions, "floodLimits">>;
  private floodLimits: FloodLimits | undefined;
  private nextUserId = 1_000_001;
  private nextBotId = 7_000_000_001;

  /** Use `startTelegramEmulator()`. */
  constructor(options: TelegramEmulatorOptions) {
    this.options = { webhookRetryDelayMs: options.webhookRetryDelayMs ?? 50, webhookTimeoutMs: options.webhookTimeoutMs ?? 15_000 };
    this.floodLimits = options.floodLimits;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        console.error("telegram emulator: request failed", error);
        reply(res, new BotApiError(500, "Internal Server Error"));
      });
    });
  }

  /** @internal */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    this.apiRoot = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers pending long polls, stops webhook delivery and closes the server. */
  async stop(): Promise<void> {
    this.stopping.abort();
    for (const bot of new Set(this.tokens.values())) bot.poll?.terminate();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  // ---------------------------------------------------------------- bots and users

  /**
   * Registers a bot (or returns the one already registered under `token`). Without a
   * token, one is made up in Telegram's format. The bot id is the token's numeric
   * prefix, as with Telegram.
   */
  bot(token?: string, options: { id?: number; username?: string; firstName?: string } = {}): EmulatedBotIdentity {
    const existing = token === undefined ? undefined : this.tokens.get(token);
    if (existing) return identityOf(existing);
    const prefix = token === undefined ? undefined : /^(\d+):/.exec(token)?.[1];
    const id = options.id ?? (prefix !== undefined ? Number(prefix) : this.nextBotId++);
    const clash = [...this.tokens.values()].find((b) => b.info.id === id);
    if (clash) throw new Error(`telegram emulator: bot ${id} is already registered with another token; use tg.revoke(token) to re-token a bot`);
    const info: UserFromGetMe = {
      id, is_bot: true, first_name: options.firstName ?? `Store Bot ${id}`, username: options.username ?? `store_${id}_bot`,
      can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false,
      can_connect_to_business: false, has_main_web_app: false, has_topics_enabled: false,
      allows_users_to_create_topics: false, can_manage_bots: false, supports_join_request_queries: false,
    };
    const bot = new EmulatedBot(token ?? newToken(id), info);
    this.tokens.set(bot.token, bot);
    this.deliveries.set(bot, new WebhookDelivery(bot, {
      retryDelayMs: this.options.webhookRetryDelayMs,
      timeoutMs: this.options.webhookTimeoutMs,
      stopped: this.stopping.signal,
      executeReply: async (b, method, params) => void (await this.dispatch(b, b.token, method, params, this.stopping.signal, true)),
    }));
    return identityOf(bot);
  }

  /** A Telegram user who can talk to any of the bots. Ids are made up unless given. */
  user(profile: { id?: number; first_name?: string; last_name?: string; username?: string; language_code?: string } = {}): User {
    const id = profile.id ?? this.nextUserId++;
    const user: User = {
      id, is_bot: false, first_name: profile.first_name ?? `User ${id}`,
      ...(profile.last_name ? { last_name: profile.last_name } : {}),
      ...(profile.username ? { username: profile.username } : {}),
      ...(profile.language_code ? { language_code: profile.language_code } : {}),
    };
    this.directory.users.set(id, user);
    return user;
  }

  /**
   * The user has a chat with the bot (as if they had pressed Start some time ago) without
   * sending anything now. Bots cannot write to users who never opened a chat with them:
   * Telegram answers 403 "bot can't initiate conversation with a user".
   */
  openChat(token: string, user: User): void {
    this.botFor(token).chatWith(this.known(user));
  }

  // ---------------------------------------------------------------- acting as a user

  /**
   * The user types `text`. Commands, mentions, hashtags and links get their entities as
   * a Telegram client would send them. Like the clients, a text longer than 4096
   * characters goes out as several messages; the promise resolves with the last.
   */
  async sendText(token: string, user: User, text: string): Promise<Message.TextMessage> {
    if (text.length === 0) throw new Error("telegram emulator: Telegram clients cannot send an empty message");
    let last: Message | undefined;
    for (let start = 0; start < text.length;) {
      let end = Math.min(text.length, start + MAX_TEXT);
      if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1])) end -= 1; // keep an emoji whole
      const part = text.slice(start, end);
      const entities = detectEntities(part);
      last = this.fromUser(token, user, { text: part, ...(entities.length ? { entities } : {}) });
      start = end;
    }
    return last as Message.TextMessage;
  }

  /** The user sends `/command payload` (`payload` as after a t.me/bot?start= link). */
  async sendCommand(token: string, user: User, command: string, payload?: string): Promise<Message.TextMessage> {
    const name = command.startsWith("/") ? command : `/${command}`;
    if (!/^\/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?$/.test(name)) throw new Error(`telegram emulator: "${command}" is not a command`);
    return this.sendText(token, user, payload ? `${name} ${payload}` : name);
  }

  /** The user sends a photo (real image bytes; see `samplePng`). */
  async sendPhoto(token: string, user: User, bytes: Buffer, caption?: string): Promise<Message.PhotoMessage> {
    const size = imageSize(bytes);
    if (!size) throw new Error("telegram emulator: a photo must be a PNG, JPEG, GIF or WebP image; samplePng() makes one");
    const file = this.botFor(token).storeFile("photo", Buffer.from(bytes), undefined, mimeTypeOf(`x.${bytes[0] === 0x89 ? "png" : "jpg"}`), size);
    return this.fromUser(token, user, { photo: photoSizes(file), ...captionOf(caption) }) as Message.PhotoMessage;
  }

  /** The user sends a file as a document. The MIME type defaults to the one Telegram infers from the name. */
  async sendDocument(token: string, user: User, bytes: Buffer, fileName: string, mimeType?: string): Promise<Message.DocumentMessage> {
    const file = this.botFor(token).storeFile("document", Buffer.from(bytes), fileName, mimeType ?? mimeTypeOf(fileName));
    return this.fromUser(token, user, { document: documentOf(file) }) as Message.DocumentMessage;
  }

  /**
   * The user shares a contact: their own (the default, as a "share my phone number"
   * button does, with their user id) or someone else's.
   */
  async sendContact(token: string, user: User, contact: { phone_number: string; first_name?: string; last_name?: string; user_id?: number } = { phone_number: "+6281234567890" }): Promise<Message.ContactMessage> {
    const own = contact.user_id === undefined && contact.first_name === undefined;
    const lastName = contact.last_name ?? (own ? user.last_name : undefined);
    const userId = contact.user_id ?? (own ? user.id : undefined);
    return this.fromUser(token, user, {
      contact: {
        phone_number: contact.phone_number,
        first_name: contact.first_name ?? user.first_name,
        ...(lastName !== undefined ? { last_name: lastName } : {}),
        ...(userId !== undefined ? { user_id: userId } : {}),
      },
    }) as Message.ContactMessage;
  }

  /**
   * The user presses an inline button under one of the bot's messages: by its
   * callback_data, or `{ text }` to find it by its label. A button that is not on the
   * message (now) throws — pass `{ forged: true }` to send any callback_data anyway, as
   * a modified client could.
   */
  async pressButton(token: string, user: User, message: number | Message, button: string | { text: string }, options: { forged?: boolean } = {}): Promise<CallbackQuery> {
    const bot = this.botFor(token);
    const from = this.known(user);
    const messageId = typeof message === "number" ? message : message.message_id;
    const chat = bot.chats.get(from.id);
    const stored = chat && bot.findMessage(chat, messageId);
    if (!stored?.fromBot) {
      throw new Error(`telegram emulator: the chat with user ${from.id} has no message ${messageId} from the bot (never sent or deleted)`);
    }
    const buttons = (stored.message.reply_markup?.inline_keyboard ?? []).flat();
    const offered = buttons.map((b) => `${JSON.stringify(b.text)}${"callback_data" in b ? ` → ${JSON.stringify(b.callback_data)}` : ""}`).join(", ") || "none";
    let data: string;
    if (typeof button === "string") {
      data = button;
      if (!options.forged && !buttons.some((b) => "callback_data" in b && b.callback_data === data)) {
        throw new Error(`telegram emulator: message ${messageId} has no button with callback_data ${JSON.stringify(data)} (buttons: ${offered})`);
      }
    } else {
      const found = buttons.find((b) => b.text === button.text);
      if (!found || !("callback_data" in found) || found.callback_data === undefined) {
        throw new Error(`telegram emulator: message ${messageId} has no callback button labelled ${JSON.stringify(button.text)} (buttons: ${offered})`);
      }
      data = found.callback_data;
    }
    this.unblockOnContact(bot, bot.chatWith(from));
    const id = bot.nextCallbackQueryId();
    bot.callbackQueries.set(id, { data, userId: from.id, answered: false });
    const query: CallbackQuery = {
      id, from, message: structuredClone(stored.message), chat_instance: `-${bot.info.id}${from.id}`, data,
    };
    bot.enqueue({ callback_query: query });
    return structuredClone(query);
  }

  // ---------------------------------------------------------------- reading what the bot did

  /** The bot's messages (in one chat, or all), in the order sent, as they are now: edits applied, deleted ones gone. */
  sent(token: string, chat?: ChatRef): Message[] {
    return this.botFor(token).sentMessages(chat === undefined ? undefined : chatIdOf(chat));
  }

  /**
   * Resolves with the first of the bot's messages in the chat that matches — including
   * ones already sent, since a reply can arrive before the test starts waiting — or
   * when a message is sent or edited to match. To wait for a reply to a particular
   * message, compare ids: `(m) => m.message_id > asked.message_id` (ids are shared by
   * both sides of a chat).
   */
  waitForSent(token: string, chat: ChatRef, predicate: (message: Message) => boolean = () => true, timeoutMs = 5000): Promise<Message> {
    const bot = this.botFor(token);
    const chatId = chatIdOf(chat);
    const already = bot.sentMessages(chatId).find(predicate);
    if (already) return Promise.resolve(already);
    return waitForEvent<Message>(bot, "message", (m) => m.chat.id === chatId && predicate(structuredClone(m)), timeoutMs, () => {
      const texts = bot.sentMessages(chatId).map((m) => JSON.stringify(m.text ?? m.caption ?? (m.photo ? "[photo]" : "[document]")));
      return `no message from the bot in chat ${chatId} matched within ${timeoutMs} ms; it sent: ${texts.join(", ") || "nothing"}`;
    }).then((m) => structuredClone(m));
  }

  /** Every answerCallbackQuery the bot made, in order. */
  callbackAnswers(token: string): CallbackAnswer[] {
    return structuredClone(this.botFor(token).callbackAnswers);
  }

  /** Every command list set with setMyCommands, per scope and language. */
  commands(token: string): RegisteredCommands[] {
    return structuredClone([...this.botFor(token).commandSets.values()]);
  }

  /**
   * The commands a user's Telegram client would show in a private chat: the narrowest
   * scope that has commands (chat, then all private chats, then default), each in the
   * user's language before the language-less list, as the Bot API documents.
   */
  commandsFor(token: string, { chat, languageCode }: { chat?: ChatRef; languageCode?: string } = {}): BotCommand[] {
    const bot = this.botFor(token);
    const scopes: BotCommandScope[] = [
      ...(chat === undefined ? [] : [{ type: "chat", chat_id: chatIdOf(chat) } as const]),
      { type: "all_private_chats" }, { type: "default" },
    ];
    for (const scope of scopes) {
      for (const language of languageCode ? [languageCode, undefined] : [undefined]) {
        const set = bot.commandSets.get(scopeKey(scope, language));
        if (set) return structuredClone(set.commands);
      }
    }
    return [];
  }

  /**
   * An API root that tags every call made through it with `client`, for tests that run
   * several processes or registries against one bot: `calls()` then says who called.
   * `apiRootFor("a")` is `<apiRoot>/client/a`; downloads work through it too.
   */
  apiRootFor(client: string): string {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(client)) throw new Error(`telegram emulator: client names are 1–64 of A–Z a–z 0–9 _ - (got ${JSON.stringify(client)})`);
    return `${this.apiRoot}/client/${client}`;
  }

  /**
   * The bot's getUpdates calls Telegram answered with 409 Conflict: two pollers at once
   * ("terminated by other getUpdates request"), or polling while a webhook is set.
   */
  conflicts(token: string): ApiCall[] {
    return this.calls(token).filter((c) => c.response?.error_code === 409);
  }

  /** Every Bot API call the bot made (optionally of one method), faulted and failed ones included. */
  calls(token: string, method?: string): ApiCall[] {
    const all = this.botFor(token).calls;
    return (method === undefined ? all : all.filter((c) => c.method.toLowerCase() === method.toLowerCase())).map((c) => ({ ...c }));
  }

  /** Resolves with the first answered call of `method` that matches, including earlier ones. */
  waitForCall(token: string, method: string, predicate: (call: ApiCall) => boolean = () => true, timeoutMs = 5000): Promise<ApiCall> {
    const bot = this.botFor(token);
    const matches = (c: ApiCall) => c.response !== undefined && c.method.toLowerCase() === method.toLowerCase() && predicate(c);
    const already = bot.calls.find(matches);
    if (already) return Promise.resolve({ ...already });
    return waitForEvent<ApiCall>(bot, "call", matches, timeoutMs, () =>
      `the bot made no matching ${method} call within ${timeoutMs} ms (calls: ${bot.calls.map((c) => c.method).join(", ") || "none"})`,
    ).then((c) => ({ ...c }));
  }

  /** Resolves once a getUpdates of the bot is being held (long polling is up and idle). */
  waitForPoll(token: string, timeoutMs = 5000): Promise<void> {
    const bot = this.botFor(token);
    if (bot.poll) return Promise.resolve();
    return waitForEvent<void>(bot, "poll", () => true, timeoutMs, () => `the bot did not long-poll within ${timeoutMs} ms`);
  }

  /** Updates queued for the bot and not yet confirmed (by getUpdates' offset or a webhook's 2xx). */
  pendingUpdates(token: string): Update[] {
    return structuredClone(this.botFor(token).updates);
  }

  /** The bytes behind a file_id the bot knows (one it sent or received). */
  fileBytes(token: string, fileId: string): Buffer {
    const file = this.botFor(token).files.get(fileId);
    if (!file) throw new Error(`telegram emulator: the bot has no file ${fileId}`);
    return Buffer.from(file.bytes);
  }

  // ---------------------------------------------------------------- faults and account events

  /**
   * From now on, every bot's messages are held to Telegram's documented flood limits:
   * `{ perChatPerSecond: 1, perBotPerSecond: 30 }` refuses a second message in a chat
   * within a second, or a 31st of the bot, with 429 and the `retry_after` that would let
   * it through. Counted: send*, copy*, forward* and edit* calls (not sendChatAction) as
   * they arrive. `undefined` turns enforcement off.
   */
  enforceFloodLimits(limits: FloodLimits | undefined): void {
    this.floodLimits = limits;
  }

  /** The bot's calls refused by enforced flood limits (not by `failNext`). */
  floodRefusals(token: string): ApiCall[] {
    return this.botFor(token).calls.filter((c) => c.floodRefused === true).map((c) => ({ ...c }));
  }

  /**
   * The next call(s) of `method` (`"*"`: any method) fail or slow down:
   * `{ status: 429, retryAfter: 2 }`, `{ status: 500, times: 2 }`, `{ delayMs: 200 }`,
   * `{ dropConnection: true }`. Faults queue up and are used in order.
   */
  failNext(token: string, method: string, fault: Fault): void {
    const bot = this.botFor(token);
    const key = method === "*" ? "*" : method.toLowerCase();
    const queue = bot.faults.get(key) ?? [];
    queue.push({ fault, left: fault.times ?? 1 });
    bot.faults.set(key, queue);
  }

  /**
   * Revokes the token, as BotFather's /revoke does: every call with it answers 401
   * (a held getUpdates too). Returns the bot's new token; chats, files and commands stay.
   */
  revoke(token: string): string {
    const bot = this.botFor(token);
    if (bot.token !== token) throw new Error("telegram emulator: this token was already revoked");
    bot.retiredTokens.add(token);
    bot.token = newToken(bot.info.id);
    this.tokens.set(bot.token, bot);
    bot.poll?.terminate(unauthorized());
    return bot.token;
  }

  /** The user blocks the bot: sends to them answer 403 and the bot gets a my_chat_member update. */
  blockBy(token: string, user: User): void {
    const bot = this.botFor(token);
    const chat = bot.chatWith(this.known(user));
    if (chat.blocked) return;
    chat.blocked = true;
    bot.enqueue({ my_chat_member: memberChange(bot, chat, "member", "kicked") });
  }

  /** The user unblocks the bot (writing to it again does this too). */
  unblockBy(token: string, user: User): void {
    const bot = this.botFor(token);
    this.unblockOnContact(bot, bot.chatWith(this.known(user)));
  }

  /** The user deleted their account: sends to them answer 403 "user is deactivated". */
  deactivateUser(user: User): void {
    this.directory.deactivated.add(user.id);
  }

  // ---------------------------------------------------------------- internals

  private botFor(token: string): EmulatedBot {
    const bot = this.tokens.get(token);
    if (!bot) throw new Error(`telegram emulator: no bot has the token ${token.split(":")[0]}:…; register it with tg.bot(token)`);
    return bot;
  }

  private known(user: User): User {
    if (!this.directory.users.has(user.id)) this.directory.users.set(user.id, user);
    return this.directory.users.get(user.id) as User;
  }

  private unblockOnContact(bot: EmulatedBot, chat: ChatState): void {
    if (!chat.blocked) return;
    chat.blocked = false;
    bot.enqueue({ my_chat_member: memberChange(bot, chat, "kicked", "member") });
  }

  private fromUser(token: string, user: User, content: Partial<Message>): Message {
    const bot = this.botFor(token);
    const from = this.known(user);
    if (this.directory.deactivated.has(from.id)) throw new Error(`telegram emulator: user ${from.id} is deactivated and cannot write`);
    const chat = bot.chatWith(from);
    this.unblockOnContact(bot, chat);
    const message = bot.addMessage(chat, false, content);
    bot.enqueue({ message: structuredClone(message) as Update["message"] });
    return structuredClone(message);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://emulator");
    const tagged = /^\/client\/([A-Za-z0-9_-]{1,64})(\/.*)$/.exec(url.pathname);
    const client = tagged?.[1];
    const path = tagged?.[2] ?? url.pathname;
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(path);
    if (download) {
      req.resume();
      return this.download(res, decodeURIComponent(download[1]), decodeURIComponent(download[2]));
    }
    const route = /^\/bot([^/]+)\/([^/]*)$/.exec(path);
    const token = route ? decodeURIComponent(route[1]) : "";
    const bot = this.tokens.get(token);
    if (!route || !bot) {
      req.resume();
      return reply(res, route ? unauthorized() : notFound());
    }
    let params: Params;
    try {
      params = await readParams(req, url);
    } catch (error) {
      if (error instanceof BotApiError) return reply(res, error);
      throw error;
    }
    const disconnected = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) disconnected.abort();
    });
    const outcome = await this.dispatch(bot, token, route[2], params, disconnected.signal, false, client);
    if (outcome === DROP_CONNECTION) req.socket.destroy();
    else reply(res, outcome);
  }

  private async dispatch(bot: EmulatedBot, token: string, method: string, params: Params, disconnected: AbortSignal, viaWebhookReply: boolean, client?: string): Promise<Outcome> {
    const call: ApiCall = { method, params: describeParams(params), viaWebhookReply, receivedAt: performance.now(), ...(client !== undefined && { client }) };
    bot.calls.push(call);
    let outcome: Outcome;
    try {
      if (token !== bot.token) throw unauthorized();
      const fault = bot.takeFault(method);
      if (fault?.delayMs) await delay(fault.delayMs, this.stopping.signal);
      if (fault?.dropConnection) {
        outcome = DROP_CONNECTION;
      } else if (fault?.status !== undefined) {
        const retryAfter = fault.retryAfter ?? (fault.status === 429 ? 1 : undefined);
        const description = fault.description ?? (fault.status === 429 ? `Too Many Requests: retry after ${retryAfter}` : defaultDescription(fault.status));
        throw new BotApiError(fault.status, description, retryAfter === undefined ? undefined : { retry_after: retryAfter });
      } else {
        const limits = this.floodLimits;
        const retryAfter = limits && countsAsMessage(method) ? bot.flood.admit(limits, chatParam(params), call.receivedAt) : undefined;
        if (retryAfter !== undefined) {
          call.floodRefused = true;
          throw tooManyRequests(retryAfter);
        }
        const run = BOT_API_METHODS.get(method.toLowerCase());
        if (!run) throw notFound();
        const result = await run({
          bot, params, directory: this.directory, disconnected,
          webhookChanged: () => this.deliveries.get(bot)?.webhookChanged(),
        });
        outcome = { ok: true, result };
      }
    } catch (error) {
      if (!(error instanceof BotApiError)) console.error(`telegram emulator: ${method} failed`, error);
      outcome = error instanceof BotApiError ? error : new BotApiError(500, "Internal Server Error");
    }
    call.response = outcome === DROP_CONNECTION
      ? { ok: false, description: "connection dropped by an injected fault" }
      : outcome instanceof BotApiError
        ? { ok: false, error_code: outcome.errorCode, description: outcome.message }
        : { ok: true };
    call.answeredAt = performance.now();
    bot.events.emit("call", call);
    return outcome;
  }

  private download(res: ServerResponse, token: string, path: string): void {
    const bot = this.tokens.get(token);
    if (!bot || bot.token !== token) return reply(res, unauthorized());
    const file = bot.filesByPath.get(path);
    if (!file) return reply(res, notFound());
    res.writeHead(200, { "content-type": file.mimeType, "content-length": file.bytes.length }).end(file.bytes);
  }
}

function reply(res: ServerResponse, outcome: { ok: true; result: unknown } | BotApiError): void {
  if (res.headersSent || res.destroyed) return;
  const status = outcome instanceof BotApiError ? outcome.errorCode : 200;
  const body = JSON.stringify(outcome instanceof BotApiError ? outcome.toJSON() : outcome);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
}

function describeParams(params: Params): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([name, value]) => {
    if (isUpload(value)) return [name, { upload: value.fileName, size: value.bytes.length }];
    if (typeof value === "string" && JSON_FIELDS.has(name)) {
      try {
        return [name, JSON.parse(value)];
      } catch {
        return [name, value];
      }
    }
    if (typeof value === "string" && INTEGER_FIELDS.has(name) && /^-?\d+$/.test(value)) return [name, Number(value)];
    return [name, value];
  }));
}

function chatParam(params: Params): string | undefined {
  const value = params.chat_id;
  return (typeof value === "string" && value !== "") || typeof value === "number" ? String(value) : undefined;
}

function identityOf(bot: EmulatedBot): EmulatedBotIdentity {
  return { token: bot.token, id: bot.info.id, username: bot.info.username, info: structuredClone(bot.info) };
}

function newToken(botId: number): string {
  return `${botId}:AA${randomBytes(33).toString("base64url").slice(0, 33)}`;
}

function chatIdOf(chat: ChatRef): number {
  return typeof chat === "number" ? chat : chat.id;
}

function captionOf(caption: string | undefined): Partial<Message> {
  if (!caption) return {};
  if (caption.length > 1024) throw new Error("telegram emulator: Telegram clients refuse captions over 1024 characters");
  const entities = detectEntities(caption);
  return { caption, ...(entities.length ? { caption_entities: entities } : {}) };
}

function memberChange(bot: EmulatedBot, chat: ChatState, from: "member" | "kicked", to: "member" | "kicked"): ChatMemberUpdated {
  const member = (status: "member" | "kicked") =>
    status === "kicked" ? { status, user: bot.botUser, until_date: 0 } as const : { status, user: bot.botUser } as const;
  return { chat: chat.chat, from: chat.user, date: Math.floor(Date.now() / 1000), old_chat_member: member(from), new_chat_member: member(to) };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

function waitForEvent<T>(bot: EmulatedBot, event: "message" | "call" | "poll", matches: (value: T) => boolean, timeoutMs: number, explain: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const listener = (value: T) => {
      let matched: boolean;
      try {
        matched = matches(value);
      } catch (error) {
        settle();
        reject(error);
        return;
      }
      if (matched) {
        settle();
        resolve(value);
      }
    };
    const timer = setTimeout(() => {
      settle();
      reject(new Error(`telegram emulator: ${explain()}`));
    }, timeoutMs);
    function settle() {
      clearTimeout(timer);
      bot.events.off(event, listener);
    }
    bot.events.on(event, listener);
  });
}
