// The Bot API methods the emulator answers, with Telegram's result shapes and its
// refusals (wording included), so that code which works here works against Telegram.
import { extname } from "node:path";
import type {
  BotCommand, BotCommandScope, Document, File, InlineKeyboardButton, InlineKeyboardMarkup,
  Message, MessageEntity, PhotoSize, ReplyParameters, Update, WebhookInfo,
} from "grammy/types";
import { isDeepStrictEqual } from "node:util";
import { badRequest, conflict } from "./bot-api-error.ts";
import type { BotApiError } from "./bot-api-error.ts";
import { scopeKey, unixTime } from "./emulated-bot.ts";
import type { ChatState, EmulatedBot, StoredFile, UserDirectory } from "./emulated-bot.ts";
import { imageSize } from "./images.ts";
import {
  isUpload, optionalBoolean, optionalInteger, optionalJson, optionalString, Upload,
} from "./request-params.ts";
import type { Params } from "./request-params.ts";
import { formatText } from "./text-formatting.ts";

export interface MethodCall {
  readonly bot: EmulatedBot;
  readonly params: Params;
  readonly directory: UserDirectory;
  /** Aborted when the HTTP client goes away (grammY aborts its pending getUpdates on stop). */
  readonly disconnected: AbortSignal;
  /** Tells webhook delivery that the webhook or the queue changed. */
  readonly webhookChanged: () => void;
}

type Method = (call: MethodCall) => unknown;

const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;
const MAX_CALLBACK_DATA_BYTES = 64;
const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;
const CHAT_ACTIONS = new Set([
  "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
  "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
]);

const MIME_TYPES: Record<string, string> = {
  ".pdf": "application/pdf", ".txt": "text/plain", ".csv": "text/csv", ".json": "application/json",
  ".zip": "application/zip", ".html": "text/html", ".png": "image/png", ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp", ".mp4": "video/mp4",
  ".gz": "application/gzip", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};

/** The MIME type Telegram reports for a document: it goes by the file name, not the upload's header. */
export function mimeTypeOf(fileName: string | undefined): string {
  return MIME_TYPES[extname(fileName ?? "").toLowerCase()] ?? "application/octet-stream";
}

// ---------------------------------------------------------------- identity and updates

const getMe: Method = ({ bot }) => bot.info;

const getUpdates: Method = async ({ bot, params, disconnected }) => {
  if (bot.webhook) throw conflict("can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
  // Like Telegram, a newer request wins and the one it replaces is told why.
  bot.poll?.terminate(conflict("terminated by other getUpdates request; make sure that only one bot instance is running"));
  const offset = optionalInteger(params, "offset");
  const limit = Math.min(100, Math.max(1, optionalInteger(params, "limit") ?? 100));
  const timeout = Math.max(0, optionalInteger(params, "timeout") ?? 0);
  const allowed = optionalJson<string[]>(params, "allowed_updates");
  if (allowed !== undefined) bot.allowedUpdates = allowed;
  bot.confirm(offset);
  const ready = bot.deliverable(limit);
  if (ready.length > 0 || timeout === 0 || disconnected.aborted) return ready;

  return await new Promise<Update[]>((resolve, reject) => {
    const poll = {
      terminate(error?: BotApiError) {
        settle();
        if (error) reject(error);
        else resolve([]);
      },
    };
    const onUpdate = () => {
      const updates = bot.deliverable(limit);
      if (updates.length > 0) {
        settle();
        resolve(updates);
      }
    };
    const onTimeout = () => {
      settle();
      resolve(bot.deliverable(limit));
    };
    const onDisconnect = () => poll.terminate();
    const timer = setTimeout(onTimeout, timeout * 1000);
    function settle() {
      clearTimeout(timer);
      bot.events.off("update", onUpdate);
      disconnected.removeEventListener("abort", onDisconnect);
      if (bot.poll === poll) bot.poll = undefined;
    }
    bot.poll = poll;
    bot.events.on("update", onUpdate);
    disconnected.addEventListener("abort", onDisconnect);
    bot.events.emit("poll");
  });
};

const setWebhook: Method = ({ bot, params, webhookChanged }) => {
  const url = optionalString(params, "url") ?? "";
  if (url === "") return deleteWebhook({ bot, params, webhookChanged } as MethodCall);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest("bad webhook: Failed to resolve host: Name or service not known");
  }
  // Telegram insists on HTTPS on ports 443, 80, 88 or 8443; tests listen on plain HTTP
  // on a free port, so the emulator accepts any http(s) URL.
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw badRequest("bad webhook: An HTTPS URL must be provided for webhook");
  const secretToken = optionalString(params, "secret_token");
  if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
    throw badRequest("secret token contains unallowed characters");
  }
  const maxConnections = optionalInteger(params, "max_connections") ?? 40;
  if (maxConnections < 1 || maxConnections > 100) throw badRequest("bad webhook: max_connections must be between 1 and 100");
  const allowed = optionalJson<string[]>(params, "allowed_updates");
  if (allowed !== undefined) bot.allowedUpdates = allowed;
  if (optionalBoolean(params, "drop_pending_updates")) bot.updates = [];
  bot.poll?.terminate(conflict("terminated by setWebhook request"));
  bot.webhook = { url, secretToken, maxConnections, failures: 0 };
  webhookChanged();
  return true;
};

const deleteWebhook: Method = ({ bot, params, webhookChanged }) => {
  if (optionalBoolean(params, "drop_pending_updates")) bot.updates = [];
  bot.webhook = undefined;
  webhookChanged();
  return true;
};

const getWebhookInfo: Method = ({ bot }): WebhookInfo => {
  const hook = bot.webhook;
  return {
    url: hook?.url ?? "",
    has_custom_certificate: false,
    pending_update_count: bot.updates.length,
    ...(hook ? { max_connections: hook.maxConnections, ip_address: "127.0.0.1" } : {}),
    ...(hook?.lastErrorDate ? { last_error_date: hook.lastErrorDate, last_error_message: hook.lastErrorMessage } : {}),
    ...(bot.allowedUpdates?.length ? { allowed_updates: bot.allowedUpdates as WebhookInfo["allowed_updates"] } : {}),
  };
};

// ---------------------------------------------------------------- sending

function inlineKeyboardOf(params: Params): InlineKeyboardMarkup | undefined {
  const markup = optionalJson<Record<string, unknown>>(params, "reply_markup");
  if (markup === undefined) return undefined;
  if (typeof markup !== "object" || markup === null) throw badRequest("can't parse reply keyboard markup JSON object");
  if (!("inline_keyboard" in markup)) return undefined; // reply keyboards are not part of the Message
  const rows = markup.inline_keyboard;
  if (!Array.isArray(rows) || rows.some((row) => !Array.isArray(row))) {
    throw badRequest("can't parse inline keyboard button: InlineKeyboardMarkup must be an Array of Arrays");
  }
  for (const button of rows.flat() as Array<Record<string, unknown>>) {
    if (typeof button !== "object" || button === null || typeof button.text !== "string") {
      throw badRequest("can't parse inline keyboard button: Field \"text\" must be of type String");
    }
    if (button.text === "") throw badRequest("text must be non-empty");
    const actions = Object.keys(button).filter((k) => k !== "text" && k !== "style" && k !== "icon_custom_emoji_id");
    if (actions.length === 0) throw badRequest("text buttons are unallowed in the inline keyboard");
    if ("callback_data" in button) {
      const bytes = typeof button.callback_data === "string" ? Buffer.byteLength(button.callback_data, "utf8") : 0;
      if (bytes < 1 || bytes > MAX_CALLBACK_DATA_BYTES) throw badRequest("BUTTON_DATA_INVALID");
    }
    if ("url" in button && (typeof button.url !== "string" || !/^(https?|tg):\/\/\S+$/i.test(button.url))) {
      throw badRequest(`inline keyboard button URL '${String(button.url)}' is invalid: Wrong HTTP URL`);
    }
  }
  return { inline_keyboard: rows as InlineKeyboardButton[][] };
}

function replyTarget(bot: EmulatedBot, chat: ChatState, params: Params): Pick<Message, "reply_to_message"> {
  const reply = optionalJson<ReplyParameters>(params, "reply_parameters");
  const messageId = reply?.message_id ?? optionalInteger(params, "reply_to_message_id");
  if (messageId === undefined) return {};
  const target = bot.findMessage(chat, messageId);
  if (!target) {
    const tolerant = reply?.allow_sending_without_reply ?? optionalBoolean(params, "allow_sending_without_reply");
    if (tolerant) return {};
    throw badRequest("message to be replied not found");
  }
  const { reply_to_message: _nested, ...original } = structuredClone(target.message) as Message;
  return { reply_to_message: original as Message & { reply_to_message: undefined } };
}

function formatted(params: Params, field: "text" | "caption", limit: number): { text: string; entities: MessageEntity[] } | undefined {
  const source = optionalString(params, field);
  if (source === undefined || source === "") {
    if (field === "text") throw badRequest("message text is empty");
    return undefined;
  }
  const entityField = field === "text" ? "entities" : "caption_entities";
  const result = formatText(source, optionalString(params, "parse_mode"), optionalJson<MessageEntity[]>(params, entityField));
  if (field === "text" && result.text.trim() === "") throw badRequest("message text is empty");
  if (result.text.length > limit) throw badRequest(field === "text" ? "message is too long" : "message caption is too long");
  return result;
}

function withEntities(field: "text" | "caption", value: { text: string; entities: MessageEntity[] } | undefined): Partial<Message> {
  if (!value) return {};
  const entityField = field === "text" ? "entities" : "caption_entities";
  return { [field]: value.text, ...(value.entities.length > 0 ? { [entityField]: value.entities } : {}) };
}

function chatOf(call: MethodCall): ChatState {
  const raw = call.params.chat_id;
  // "@username" addresses public groups and channels only; for a private chat it names nothing.
  if (typeof raw === "string" && raw.startsWith("@")) throw badRequest("chat not found");
  return call.bot.targetChat(optionalInteger(call.params, "chat_id"), call.directory);
}

const sendMessage: Method = (call) => {
  const chat = chatOf(call);
  const text = formatted(call.params, "text", MAX_TEXT);
  const keyboard = inlineKeyboardOf(call.params);
  return call.bot.addMessage(chat, true, {
    ...withEntities("text", text),
    ...replyTarget(call.bot, chat, call.params),
    ...(keyboard ? { reply_markup: keyboard } : {}),
  });
};

async function fileParam(call: MethodCall, field: "photo" | "document"): Promise<StoredFile> {
  const { bot, params } = call;
  const value = params[field];
  let upload: Upload;
  if (isUpload(value)) {
    upload = value;
  } else if (typeof value === "string" && /^https?:\/\//i.test(value)) {
    // Telegram fetches the URL itself.
    const response = await fetch(value).catch(() => undefined);
    if (!response?.ok) throw badRequest("wrong file identifier/HTTP URL specified");
    upload = new Upload(new URL(value).pathname.split("/").pop() || field, Buffer.from(await response.arrayBuffer()));
  } else if (typeof value === "string" && value !== "") {
    const known = bot.files.get(value);
    if (!known) throw badRequest("wrong file identifier/HTTP URL specified");
    if (known.kind !== field) throw badRequest(`type of file mismatch`);
    return known;
  } else {
    throw badRequest(`there is no ${field} in the request`);
  }
  if (upload.bytes.length === 0) throw badRequest("file must be non-empty");
  if (field === "photo") {
    const size = imageSize(upload.bytes);
    if (!size) throw badRequest("IMAGE_PROCESS_FAILED");
    return bot.storeFile("photo", upload.bytes, upload.fileName, mimeTypeOf(`x.${imageType(upload.bytes)}`), size);
  }
  return bot.storeFile("document", upload.bytes, upload.fileName, mimeTypeOf(upload.fileName));
}

function imageType(bytes: Buffer): string {
  if (bytes[0] === 0x89) return "png";
  if (bytes[0] === 0xff) return "jpg";
  return bytes.toString("ascii", 0, 3) === "GIF" ? "gif" : "webp";
}

export function photoSizes(file: StoredFile): PhotoSize[] {
  // Telegram adds scaled-down copies of larger photos; the emulator has no scaler and
  // reports the original size only.
  return [{
    file_id: file.fileId, file_unique_id: file.fileUniqueId,
    width: file.width ?? 0, height: file.height ?? 0, file_size: file.bytes.length,
  }];
}

export function documentOf(file: StoredFile): Document {
  return {
    file_id: file.fileId, file_unique_id: file.fileUniqueId,
    ...(file.fileName ? { file_name: file.fileName } : {}),
    mime_type: file.mimeType, file_size: file.bytes.length,
  };
}

const sendPhoto: Method = async (call) => {
  const chat = chatOf(call);
  const caption = formatted(call.params, "caption", MAX_CAPTION);
  const keyboard = inlineKeyboardOf(call.params);
  const reply = replyTarget(call.bot, chat, call.params);
  const file = await fileParam(call, "photo");
  return call.bot.addMessage(chat, true, {
    photo: photoSizes(file), ...withEntities("caption", caption), ...reply, ...(keyboard ? { reply_markup: keyboard } : {}),
  });
};

const sendDocument: Method = async (call) => {
  const chat = chatOf(call);
  const caption = formatted(call.params, "caption", MAX_CAPTION);
  const keyboard = inlineKeyboardOf(call.params);
  const reply = replyTarget(call.bot, chat, call.params);
  const file = await fileParam(call, "document");
  return call.bot.addMessage(chat, true, {
    document: documentOf(file), ...withEntities("caption", caption), ...reply, ...(keyboard ? { reply_markup: keyboard } : {}),
  });
};

const sendChatAction: Method = (call) => {
  chatOf(call);
  if (!CHAT_ACTIONS.has(optionalString(call.params, "action") ?? "")) throw badRequest("wrong parameter action in request");
  return true;
};

// ---------------------------------------------------------------- editing and deleting

function messageToEdit(call: MethodCall) {
  if (optionalString(call.params, "inline_message_id")) {
    throw badRequest("inline messages are not emulated (use chat_id and message_id)");
  }
  const chat = chatOf(call);
  const stored = call.bot.findMessage(chat, optionalInteger(call.params, "message_id"));
  if (!stored) throw badRequest("message to edit not found");
  if (!stored.fromBot) throw badRequest("message can't be edited");
  return stored;
}

const NOT_MODIFIED = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";

function applyEdit(call: MethodCall, stored: ReturnType<typeof messageToEdit>, change: Partial<Message>, remove: Array<keyof Message>): Message {
  const current = stored.message as unknown as Record<string, unknown>;
  const next: Record<string, unknown> = { ...current, ...change };
  for (const key of remove) delete next[key];
  const { edit_date: _a, ...before } = current;
  const { edit_date: _b, ...after } = next;
  if (isDeepStrictEqual(before, after)) throw badRequest(NOT_MODIFIED);
  next.edit_date = unixTime();
  call.bot.replaceMessage(stored, next as unknown as Message);
  return structuredClone(next) as unknown as Message;
}

// Without reply_markup an edit removes the inline keyboard: Telegram treats the edit as
// the message's whole new state.
const editMessageText: Method = (call) => {
  const stored = messageToEdit(call);
  if (stored.message.text === undefined) throw badRequest("there is no text in the message to edit");
  const text = formatted(call.params, "text", MAX_TEXT);
  const keyboard = inlineKeyboardOf(call.params);
  const change = { ...withEntities("text", text), ...(keyboard ? { reply_markup: keyboard } : {}) };
  const remove: Array<keyof Message> = ["reply_markup", "entities"].filter((k) => !(k in change)) as Array<keyof Message>;
  return applyEdit(call, stored, change, remove);
};

const editMessageCaption: Method = (call) => {
  const stored = messageToEdit(call);
  if (stored.message.text !== undefined) throw badRequest("there is no caption in the message to edit");
  const caption = formatted(call.params, "caption", MAX_CAPTION);
  const keyboard = inlineKeyboardOf(call.params);
  const change = { ...withEntities("caption", caption), ...(keyboard ? { reply_markup: keyboard } : {}) };
  const remove = (["caption", "caption_entities", "reply_markup"] as Array<keyof Message>).filter((k) => !(k in change));
  return applyEdit(call, stored, change, remove);
};

const editMessageReplyMarkup: Method = (call) => {
  const stored = messageToEdit(call);
  const keyboard = inlineKeyboardOf(call.params);
  return applyEdit(call, stored, keyboard ? { reply_markup: keyboard } : {}, keyboard ? [] : ["reply_markup"]);
};

const deleteMessage: Method = (call) => {
  const chat = chatOf(call);
  const stored = call.bot.findMessage(chat, optionalInteger(call.params, "message_id"));
  if (!stored) throw badRequest("message to delete not found");
  stored.deleted = true;
  return true;
};

// ---------------------------------------------------------------- buttons and commands

const answerCallbackQuery: Method = ({ bot, params }) => {
  const id = optionalString(params, "callback_query_id") ?? "";
  const query = bot.callbackQueries.get(id);
  if (!query || query.answered) throw badRequest("query is too old and response timeout expired or query ID is invalid");
  query.answered = true;
  const text = optionalString(params, "text");
  const showAlert = optionalBoolean(params, "show_alert");
  const url = optionalString(params, "url");
  const cacheTime = optionalInteger(params, "cache_time");
  bot.callbackAnswers.push({
    callback_query_id: id, data: query.data, user_id: query.userId,
    ...(text !== undefined ? { text } : {}),
    ...(showAlert !== undefined ? { show_alert: showAlert } : {}),
    ...(url !== undefined ? { url } : {}),
    ...(cacheTime !== undefined ? { cache_time: cacheTime } : {}),
  });
  return true;
};

/**
 * The scope and language of a set/get/deleteMyCommands call. A scope that names a chat
 * (`chat`, `chat_administrators`, `chat_member`) must name one the bot knows, as Telegram
 * requires: a person who never wrote to the bot has no chat with it ("chat not found").
 */
function commandScope({ bot, params }: MethodCall): { scope: BotCommandScope; languageCode: string | undefined } {
  let scope = optionalJson<BotCommandScope>(params, "scope") ?? { type: "default" };
  const known = ["default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat", "chat_administrators", "chat_member"];
  if (!known.includes(scope.type)) throw badRequest("unsupported bot command scope type");
  if ("chat_id" in scope) {
    const raw: unknown = scope.chat_id;
    const chatId = typeof raw === "number" ? raw : typeof raw === "string" && /^-?\d{1,20}$/.test(raw) ? Number(raw) : undefined;
    if (chatId === undefined || !bot.chats.has(chatId)) throw badRequest("chat not found");
    scope = { ...scope, chat_id: chatId };
  }
  const languageCode = optionalString(params, "language_code") || undefined;
  if (languageCode !== undefined && !/^[a-z]{2}$/.test(languageCode)) throw badRequest("invalid language code specified");
  return { scope, languageCode };
}

const setMyCommands: Method = (call) => {
  const { bot, params } = call;
  const commands = optionalJson<BotCommand[]>(params, "commands");
  if (!Array.isArray(commands)) throw badRequest("can't parse commands JSON object");
  if (commands.length > 100) throw badRequest("too many commands specified");
  for (const { command, description } of commands) {
    if (typeof command !== "string" || !/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest("BOT_COMMAND_INVALID");
    if (typeof description !== "string" || description.length < 1 || description.length > 256) throw badRequest("BOT_COMMAND_DESCRIPTION_INVALID");
  }
  const { scope, languageCode } = commandScope(call);
  const key = scopeKey(scope, languageCode);
  // Setting an empty list is how Telegram's clients see a deletion.
  if (commands.length === 0) bot.commandSets.delete(key);
  else bot.commandSets.set(key, { scope, language_code: languageCode, commands: commands.map(({ command, description }) => ({ command, description })) });
  return true;
};

const getMyCommands: Method = (call) => {
  const { bot } = call;
  const { scope, languageCode } = commandScope(call);
  return bot.commandSets.get(scopeKey(scope, languageCode))?.commands ?? [];
};

const deleteMyCommands: Method = (call) => {
  const { bot } = call;
  const { scope, languageCode } = commandScope(call);
  bot.commandSets.delete(scopeKey(scope, languageCode));
  return true;
};

// ---------------------------------------------------------------- files

const getFile: Method = ({ bot, params }): File => {
  const file = bot.files.get(optionalString(params, "file_id") ?? "");
  if (!file) throw badRequest("invalid file_id");
  if (file.bytes.length > MAX_DOWNLOAD_BYTES) throw badRequest("file is too big");
  return { file_id: file.fileId, file_unique_id: file.fileUniqueId, file_size: file.bytes.length, file_path: file.filePath };
};

/** Methods by lower-case name: Telegram's method names are case-insensitive. */
export const BOT_API_METHODS: ReadonlyMap<string, Method> = new Map(Object.entries({
  getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo,
  sendMessage, sendPhoto, sendDocument, sendChatAction,
  editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage,
  answerCallbackQuery, setMyCommands, getMyCommands, deleteMyCommands, getFile,
}).map(([name, method]) => [name.toLowerCase(), method]));
