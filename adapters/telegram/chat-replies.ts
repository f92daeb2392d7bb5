/**
 * The engine's `Outbound`s as Telegram messages, in one chat.
 *
 * - Text goes out plain (no `parse_mode`), so prices like `Rp25.000`, underscores and a
 *   customer's own name can never break formatting; over 4096 characters it is split on
 *   paragraph, line or word boundaries (`splitMessage`).
 * - Choices become an inline keyboard, one button per row with "‹ previous" and "next ›"
 *   side by side; each button's data is signed (`ButtonSigner`) and names its prompt.
 * - Media (`ref`: a URL or a Telegram file_id) carries the text as its caption when it
 *   fits in 1024 characters, else the text follows as a message.
 * - Buttons do not linger: a turn's replies start by taking the chat's previous keyboard
 *   off; a pressed message loses its keyboard and gains a line saying what was chosen
 *   (not when the engine found the press stale). A page turn, or the same question asked
 *   again after a press, edits the pressed message in place.
 */
import type { Api } from "grammy";
import { GrammyError, InputFile } from "grammy";
import type { InlineKeyboardButton, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message } from "grammy/types";
import type { EngineLog } from "../../flows/engine/index.ts";
import type { Locale, Outbound } from "../../flows/engine/index.ts";
import { i18nTexts, renderText, splitMessage } from "../../flows/engine/index.ts";
import { PAGE_NEXT, PAGE_PREV } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";
import type { ButtonSigner, PromptTags } from "./button-data.ts";

/** Telegram refuses a message over 4096 characters and a caption over 1024 (UTF-16 code units). */
export const MAX_MESSAGE_LENGTH = 4096;
export const MAX_CAPTION_LENGTH = 1024;
/** The engine's answer to a button of an old prompt; its message is not marked as chosen. */
const STALE_CHOICE_TEXT = "engine.stale_choice";
const NOT_MODIFIED = /message is not modified/i;
/** Telegram's answer to a text edit of a photo or a document: its caption is edited instead. */
const NO_TEXT = /there is no text in the message to edit/i;

/**
 * Which message of each chat carries the live keyboard, so it can be taken off when the
 * next one is sent. In memory, bounded: after a restart an old keyboard may linger, and a
 * press on it is still recognised as stale by its prompt.
 */
export class LiveKeyboards {
  readonly #byChat = new Map<number, number>();
  constructor(private readonly limit = 2_000) {}

  get(chatId: number): number | undefined {
    return this.#byChat.get(chatId);
  }

  set(chatId: number, messageId: number): void {
    this.#byChat.delete(chatId);
    if (this.#byChat.size >= this.limit) this.#byChat.delete(this.#byChat.keys().next().value as number);
    this.#byChat.set(chatId, messageId);
  }

  forget(chatId: number, messageId: number): void {
    if (this.#byChat.get(chatId) === messageId) this.#byChat.delete(chatId);
  }
}

export interface ChatReplies {
  api: Api;
  tenantId: string;
  chatId: number;
  locale: Locale;
  buttons: ButtonSigner;
  tags: PromptTags;
  keyboards: LiveKeyboards;
  log: EngineLog;
}

/** The button the user pressed, for replies that answer a press. */
export interface PressedButton {
  message: MaybeInaccessibleMessage;
  data: string;
  /** The tag of the prompt the button belonged to (`""` without one). */
  tag: string;
}

/**
 * Sends the replies of one turn, in order. A keyboard still showing from an earlier turn
 * is taken off first: the customer answered (by typing or pressing), so its buttons are
 * spent; a question that still waits is always asked again with fresh buttons.
 * Sending errors propagate; editing errors are logged and skipped.
 */
export async function deliverReplies(chat: ChatReplies, replies: readonly Outbound[], pressed?: PressedButton): Promise<void> {
  if (replies.length === 0) return;
  const { rest, editedInPlace } = pressed ? await settlePress(chat, replies, pressed) : { rest: replies, editedInPlace: undefined };
  const live = chat.keyboards.get(chat.chatId);
  if (live !== undefined && live !== editedInPlace) await retireLiveKeyboard(chat);
  for (const reply of rest) await sendOutbound(chat, reply);
}

/**
 * Sends one `Outbound`; returns the messages it made, in order (a long text is several).
 * `sent`, when given, receives each message as soon as Telegram confirms it, so a caller
 * knows what went out even when a later part fails.
 */
export async function sendOutbound(chat: ChatReplies, outbound: Outbound, sent: Message[] = []): Promise<Message[]> {
  const { api, chatId } = chat;
  const text = renderText(outbound.text, chat.locale, i18nTexts);
  const keyboard = keyboardOf(chat, outbound);
  const markup = keyboard ? { reply_markup: keyboard } : {};
  if (keyboard) await retireLiveKeyboard(chat);
  if (outbound.media) {
    const { type, ref, data, fileName } = outbound.media;
    const captioned = text.trim() !== "" && text.length <= MAX_CAPTION_LENGTH;
    const options = captioned ? { caption: text, ...markup } : {};
    const file = data ? new InputFile(data, fileName ?? ref) : ref;
    sent.push(type === "photo" ? await api.sendPhoto(chatId, file, options) : await api.sendDocument(chatId, file, options));
    if (!captioned && (text.trim() !== "" || keyboard)) await sendText(chat, text, markup, sent);
  } else if (text.trim() !== "" || keyboard) {
    await sendText(chat, text, markup, sent);
  }
  const last = sent.at(-1);
  if (keyboard && last) chat.keyboards.set(chatId, last.message_id);
  return sent;
}

/**
 * Replaces the text and buttons of a message the bot sent (its caption, for a photo or a
 * document), rendered as `sendOutbound` renders; media stay as they were. A text longer
 * than the message can carry keeps its first part. Unchanged counts as done; other
 * refusals propagate as `GrammyError`s.
 */
export async function editOutbound(chat: ChatReplies, messageId: number, outbound: Outbound): Promise<void> {
  const text = renderText(outbound.text, chat.locale, i18nTexts);
  const keyboard = keyboardOf(chat, outbound);
  const markup = keyboard ? { reply_markup: keyboard } : {};
  const firstPart = (max: number) => splitMessage(text, max)[0] ?? t(chat.locale, "telegram.choose_below");
  try {
    await chat.api.editMessageText(chat.chatId, messageId, firstPart(MAX_MESSAGE_LENGTH), markup).catch((error: unknown) => {
      if (!(error instanceof GrammyError && NO_TEXT.test(error.description))) throw error;
      return chat.api.editMessageCaption(chat.chatId, messageId, { caption: firstPart(MAX_CAPTION_LENGTH), ...markup });
    });
  } catch (error) {
    if (!(error instanceof GrammyError && NOT_MODIFIED.test(error.description))) throw error;
  }
}

async function sendText(chat: ChatReplies, text: string, markup: { reply_markup?: InlineKeyboardMarkup }, sent: Message[]): Promise<void> {
  const parts = splitMessage(text, MAX_MESSAGE_LENGTH);
  if (parts.length === 0) parts.push(t(chat.locale, "telegram.choose_below"));
  for (const [i, part] of parts.entries()) {
    sent.push(await chat.api.sendMessage(chat.chatId, part, i === parts.length - 1 ? markup : {}));
  }
}

function keyboardOf(chat: ChatReplies, outbound: Outbound): InlineKeyboardMarkup | undefined {
  const choices = outbound.choices ?? [];
  if (choices.length === 0) return undefined;
  const tag = outbound.prompt ? chat.tags.tagOf(outbound.prompt) : "";
  const rows: InlineKeyboardButton[][] = [];
  let pager: InlineKeyboardButton[] | undefined;
  for (const choice of choices) {
    const label = renderText(choice.label, chat.locale, i18nTexts).trim() || choice.id;
    const button = { text: label, callback_data: chat.buttons.sign(chat.tenantId, String(chat.chatId), choice.id, tag) };
    if (choice.id === PAGE_PREV || choice.id === PAGE_NEXT) {
      if (!pager) rows.push((pager = []));
      pager.push(button);
    } else {
      rows.push([button]);
    }
  }
  return { inline_keyboard: rows };
}

/** Deals with the pressed message; returns the replies still to send, and the message edited in place, if any. */
async function settlePress(
  chat: ChatReplies,
  replies: readonly Outbound[],
  pressed: PressedButton,
): Promise<{ rest: readonly Outbound[]; editedInPlace: number | undefined }> {
  const message = accessible(pressed.message);
  if (!message) return { rest: replies, editedInPlace: undefined };
  const [first] = replies;
  const samePrompt = first?.prompt !== undefined && pressed.tag !== "" && chat.tags.tagOf(first.prompt) === pressed.tag;
  if (first && samePrompt && first.choices?.length && !first.media && message.text !== undefined) {
    const text = renderText(first.text, chat.locale, i18nTexts);
    if (text.trim() !== "" && text.length <= MAX_MESSAGE_LENGTH) {
      const edited = await edit(chat, () => chat.api.editMessageText(chat.chatId, message.message_id, text, { reply_markup: keyboardOf(chat, first) }));
      if (edited) {
        chat.keyboards.set(chat.chatId, message.message_id);
        return { rest: replies.slice(1), editedInPlace: message.message_id };
      }
    }
  }
  const stale = first !== undefined && "key" in first.text && first.text.key === STALE_CHOICE_TEXT;
  await retireKeyboard(chat, message, stale ? undefined : labelOf(message, pressed.data));
  return { rest: replies, editedInPlace: undefined };
}

/** Takes the keyboard off a message; with `chosen`, notes the choice under its text. */
async function retireKeyboard(chat: ChatReplies, message: Message, chosen: string | undefined): Promise<void> {
  chat.keyboards.forget(chat.chatId, message.message_id);
  if (!message.reply_markup) return;
  const noted = chosen !== undefined && message.text !== undefined ? `${message.text}\n\n${t(chat.locale, "telegram.chosen", { label: chosen })}` : undefined;
  if (noted !== undefined && noted.length <= MAX_MESSAGE_LENGTH) {
    await edit(chat, () => chat.api.editMessageText(chat.chatId, message.message_id, noted));
  } else {
    await edit(chat, () => chat.api.editMessageReplyMarkup(chat.chatId, message.message_id));
  }
}

async function retireLiveKeyboard(chat: ChatReplies): Promise<void> {
  const messageId = chat.keyboards.get(chat.chatId);
  if (messageId === undefined) return;
  chat.keyboards.forget(chat.chatId, messageId);
  await edit(chat, () => chat.api.editMessageReplyMarkup(chat.chatId, messageId));
}

/** Runs an edit; an edit that fails (too old, deleted, unchanged) never stops the replies. */
async function edit(chat: ChatReplies, run: () => Promise<unknown>): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (error) {
    if (error instanceof GrammyError && NOT_MODIFIED.test(error.description)) return true;
    if (error instanceof GrammyError && (error.error_code === 401 || error.error_code === 403)) throw error;
    chat.log.warn("telegram message could not be edited", { chatId: chat.chatId, error: (error as Error).message });
    return false;
  }
}

function accessible(message: MaybeInaccessibleMessage): Message | undefined {
  // Telegram sends date 0 for messages too old for the bot to see or change.
  return message.date === 0 ? undefined : (message as Message);
}

function labelOf(message: Message, data: string): string | undefined {
  for (const row of message.reply_markup?.inline_keyboard ?? []) {
    for (const button of row) if ("callback_data" in button && button.callback_data === data) return button.text;
  }
  return undefined;
}
