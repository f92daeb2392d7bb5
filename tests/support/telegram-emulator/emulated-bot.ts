// Everything the emulator knows about one bot: its identity, the private chats it has,
// the messages in them, the files it can send, its update queue, webhook, commands and
// the faults a test asked for. One instance per bot; tokens point at it.
import { EventEmitter } from "node:events";
import { createHash, randomBytes } from "node:crypto";
import type {
  BotCommand, BotCommandScope, Chat, Message, Update, User, UserFromGetMe,
} from "grammy/types";
import { forbidden, badRequest } from "./bot-api-error.ts";
import type { BotApiError } from "./bot-api-error.ts";
import { FloodWindows } from "./flood-limits.ts";

export interface StoredFile {
  readonly fileId: string;
  readonly fileUniqueId: string;
  readonly filePath: string;
  readonly kind: "photo" | "document";
  readonly bytes: Buffer;
  readonly fileName: string | undefined;
  readonly mimeType: string;
  readonly width: number | undefined;
  readonly height: number | undefined;
}

interface StoredMessage {
  message: Message;
  readonly fromBot: boolean;
  readonly order: number;
  deleted: boolean;
}

export interface ChatState {
  readonly user: User;
  readonly chat: Chat.PrivateChat;
  readonly messages: Map<number, StoredMessage>;
  nextMessageId: number;
  blocked: boolean;
}

/** One Bot API call the bot made, as the emulator received it. */
export interface ApiCall {
  /** The method name as the bot spelled it (`sendMessage`). */
  readonly method: string;
  /** Parameters as received; uploaded files appear as `{ upload: fileName, size }`. */
  readonly params: Readonly<Record<string, unknown>>;
  /** True when the bot answered a webhook request with this call in the response body. */
  readonly viaWebhookReply: boolean;
  /** Which client made the call, when it used an API root from `apiRootFor(client)`. */
  readonly client?: string;
  /** The answer, once given: `{ ok: true }` or the error Telegram would return. */
  response?: { readonly ok: boolean; readonly error_code?: number; readonly description?: string };
  /** When the emulator received the call (`performance.now()`, ms). */
  readonly receivedAt: number;
  /** When it answered. */
  answeredAt?: number;
  /** Refused with 429 by the flood limits the test asked the emulator to enforce. */
  floodRefused?: boolean;
}

/** What the bot answered to a button press. */
export interface CallbackAnswer {
  readonly callback_query_id: string;
  /** callback_data of the pressed button. */
  readonly data: string | undefined;
  readonly user_id: number;
  readonly text?: string;
  readonly show_alert?: boolean;
  readonly url?: string;
  readonly cache_time?: number;
}

/** Commands set with setMyCommands for one scope and language. */
export interface RegisteredCommands {
  readonly scope: BotCommandScope;
  readonly language_code: string | undefined;
  readonly commands: BotCommand[];
}

/**
 * A fault to inject into the next call(s) of a method; see `TelegramEmulator.failNext`.
 * `status` answers with that Bot API error instead of running the method; `delayMs`
 * holds the answer first (a slow Bot API); `dropConnection` destroys the socket, which
 * grammY reports as an `HttpError`.
 */
export interface Fault {
  readonly status?: number;
  readonly description?: string;
  /** Seconds, sent as `parameters.retry_after`; with status 429 (default 1). */
  readonly retryAfter?: number;
  readonly delayMs?: number;
  readonly dropConnection?: boolean;
  /** How many calls the fault applies to; default 1. */
  readonly times?: number;
}

export interface WebhookState {
  readonly url: string;
  readonly secretToken: string | undefined;
  readonly maxConnections: number;
  lastErrorDate?: number;
  lastErrorMessage?: string;
  failures: number;
}

interface PendingPoll {
  /** Answers the held getUpdates: with the error, or with no updates. */
  terminate(error?: BotApiError): void;
}

// Telegram's default when allowed_updates was never set or set to [].
const NOT_DELIVERED_BY_DEFAULT = new Set(["chat_member", "message_reaction", "message_reaction_count"]);

export const unixTime = () => Math.floor(Date.now() / 1000);

export class EmulatedBot {
  readonly info: UserFromGetMe;
  token: string;
  readonly retiredTokens = new Set<string>();
  readonly chats = new Map<number, ChatState>();
  readonly files = new Map<string, StoredFile>();
  readonly filesByPath = new Map<string, StoredFile>();
  readonly commandSets = new Map<string, RegisteredCommands>();
  readonly callbackQueries = new Map<string, { data: string | undefined; userId: number; answered: boolean }>();
  readonly callbackAnswers: CallbackAnswer[] = [];
  readonly calls: ApiCall[] = [];
  readonly faults = new Map<string, Array<{ fault: Fault; left: number }>>();
  /** Recent messages, held against the flood limits when the emulator enforces them. */
  readonly flood = new FloodWindows();
  /**
   * "update" when one is queued, "poll" when a getUpdates is being held, "message"
   * (Message) when the bot sends or edits, "call" (ApiCall) when a call is answered.
   */
  readonly events = new EventEmitter();
  updates: Update[] = [];
  allowedUpdates: string[] | undefined;
  poll: PendingPoll | undefined;
  webhook: WebhookState | undefined;
  private nextUpdateId = 100_000_001;
  private nextFile = 1;
  private nextCallbackQuery = 1;
  private messageOrder = 0;

  constructor(token: string, info: UserFromGetMe) {
    this.token = token;
    this.info = info;
    this.events.setMaxListeners(0);
  }

  get botUser(): User {
    return { id: this.info.id, is_bot: true, first_name: this.info.first_name, username: this.info.username };
  }

  // ---------------------------------------------------------------- updates

  enqueue(update: Omit<Update, "update_id">): Update {
    const full = { update_id: this.nextUpdateId++, ...update } as Update;
    // Telegram does not even store an update of a type the bot did not ask for.
    if (this.isAllowed(full)) {
      this.updates.push(full);
      this.events.emit("update", full);
    }
    return full;
  }

  /** getUpdates' `offset`: confirms everything below it; a negative one keeps only the last -offset. */
  confirm(offset: number | undefined): void {
    if (offset === undefined || offset === 0) return;
    this.updates = offset > 0 ? this.updates.filter((u) => u.update_id >= offset) : this.updates.slice(offset);
  }

  deliverable(limit: number): Update[] {
    this.updates = this.updates.filter((u) => this.isAllowed(u));
    return this.updates.slice(0, limit);
  }

  private isAllowed(update: Update): boolean {
    const type = Object.keys(update).find((k) => k !== "update_id") ?? "";
    const allowed = this.allowedUpdates;
    return allowed === undefined || allowed.length === 0 ? !NOT_DELIVERED_BY_DEFAULT.has(type) : allowed.includes(type);
  }

  nextCallbackQueryId(): string {
    return `${this.info.id}${String(this.nextCallbackQuery++).padStart(9, "0")}`;
  }

  // ---------------------------------------------------------------- chats and messages

  /** The private chat with a user, created when the user first writes to the bot. */
  chatWith(user: User): ChatState {
    let chat = this.chats.get(user.id);
    if (!chat) {
      chat = {
        user,
        chat: {
          id: user.id, type: "private", first_name: user.first_name,
          ...(user.last_name ? { last_name: user.last_name } : {}),
          ...(user.username ? { username: user.username } : {}),
        },
        messages: new Map(),
        nextMessageId: 1,
        blocked: false,
      };
      this.chats.set(user.id, chat);
    }
    return chat;
  }

  /** The chat a bot call targets, refused the way Telegram refuses it. */
  targetChat(chatId: number | undefined, directory: UserDirectory): ChatState {
    if (chatId === undefined) throw badRequest("chat_id is empty");
    const chat = this.chats.get(chatId);
    if (!chat) {
      if (directory.users.has(chatId)) throw forbidden("bot can't initiate conversation with a user");
      throw badRequest("chat not found");
    }
    if (directory.deactivated.has(chatId)) throw forbidden("user is deactivated");
    if (chat.blocked) throw forbidden("bot was blocked by the user");
    return chat;
  }

  addMessage(chat: ChatState, fromBot: boolean, content: Partial<Message>): Message {
    const message = {
      message_id: chat.nextMessageId++,
      from: fromBot ? this.botUser : chat.user,
      chat: chat.chat,
      date: unixTime(),
      ...content,
    } as Message;
    chat.messages.set(message.message_id, { message, fromBot, order: this.messageOrder++, deleted: false });
    if (fromBot) this.events.emit("message", message);
    return message;
  }

  findMessage(chat: ChatState, messageId: number | undefined): StoredMessage | undefined {
    if (messageId === undefined) return undefined;
    const stored = chat.messages.get(messageId);
    return stored && !stored.deleted ? stored : undefined;
  }

  replaceMessage(stored: StoredMessage, message: Message): void {
    stored.message = message;
    this.events.emit("message", message);
  }

  sentMessages(chatId?: number): Message[] {
    const chats = chatId === undefined ? [...this.chats.values()] : [this.chats.get(chatId)].filter((c) => c !== undefined);
    return chats
      .flatMap((c) => [...c.messages.values()])
      .filter((m) => m.fromBot && !m.deleted)
      .sort((a, b) => a.order - b.order)
      .map((m) => structuredClone(m.message));
  }

  // ---------------------------------------------------------------- files

  storeFile(kind: "photo" | "document", bytes: Buffer, fileName: string | undefined, mimeType: string, size?: { width: number; height: number }): StoredFile {
    const n = this.nextFile++;
    // Opaque ids shaped like Telegram's; the unique id follows the content, as Telegram's does.
    const fileId = `${kind === "photo" ? "AgACAgUAAxkBAAI" : "BQACAgUAAxkBAAI"}${randomBytes(24).toString("base64url")}`;
    const digest = createHash("sha256").update(kind).update(bytes).digest("base64url");
    const extension = kind === "photo" ? "jpg" : (/\.([A-Za-z0-9]{1,8})$/.exec(fileName ?? "")?.[1] ?? "dat");
    const file: StoredFile = {
      fileId,
      fileUniqueId: `${kind === "photo" ? "AQAD" : "AgAD"}${digest.slice(0, 12)}`,
      filePath: `${kind === "photo" ? "photos" : "documents"}/file_${n}.${extension}`,
      kind, bytes, fileName, mimeType,
      width: size?.width, height: size?.height,
    };
    this.files.set(fileId, file);
    this.filesByPath.set(file.filePath, file);
    return file;
  }

  // ---------------------------------------------------------------- faults

  takeFault(method: string): Fault | undefined {
    for (const key of [method.toLowerCase(), "*"]) {
      const queue = this.faults.get(key);
      const next = queue?.[0];
      if (next) {
        if (--next.left <= 0) queue.shift();
        return next.fault;
      }
    }
    return undefined;
  }
}

/** Users known to the emulator, shared by all bots (one person can talk to many stores). */
export interface UserDirectory {
  readonly users: Map<number, User>;
  readonly deactivated: Set<number>;
}

export function scopeKey(scope: BotCommandScope | undefined, languageCode: string | undefined): string {
  const s = (scope ?? { type: "default" }) as { type: string; chat_id?: number | string; user_id?: number };
  return JSON.stringify([s.type, s.chat_id ?? null, s.user_id ?? null, languageCode ?? ""]);
}
