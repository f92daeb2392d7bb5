/**
 * WhatsApp messages in the engine's words, and back. No socket here: the channel hands in
 * what Baileys received and sends what this returns.
 *
 * In: `toInboundMessage` unwraps disappearing, view-once and edited wrappers, and reads
 * text (a `/command`, a typed choice, or text), a photo or a document (with its caption),
 * or a shared contact. Anything else — stickers, reactions, polls, locations, voice,
 * protocol messages — is `undefined`, and `ignoredKind` names it for the log.
 *
 * Out: `toContents` renders an `Outbound` as Baileys contents. WhatsApp shows no buttons
 * to ordinary accounts from this library, so choices become a numbered list with a hint,
 * answered by number or label (`PromptMemory` remembers the list per chat; without it the
 * engine matches the typed number or label against the step it is at, as on the console).
 * Texts go out as written: the platform's texts are plain (Telegram sends them without a
 * parse mode too), so there is no HTML or Markdown to convert; `*`, `_` or `~` a text
 * happens to hold may show as WhatsApp formatting, but a copied message keeps them, so
 * goods delivered as text reach the customer character for character.
 *
 * Media a customer sent is referenced by a sealed, self-contained `fileRef` (see
 * `fileRefOf`): the channel can fetch the file with it long after, on any instance.
 */
import { BufferJSON, normalizeMessageContent, proto } from "baileys";
import type { AnyMessageContent, WAMediaUpload, WAMessage } from "baileys";
import type { InboundContact, InboundMedia, InboundMessage, Locale, Outbound, OutboundMedia } from "../../flows/engine/index.ts";
import { FileFetchError, i18nTexts, renderText, splitMessage, typedReply } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";
import { decryptSecret, DecryptionError, encryptSecret } from "../../storage/crypto.ts";

/** WhatsApp cuts captions longer than this; a longer text follows the media as a message. */
export const MAX_CAPTION_LENGTH = 1024;

/**
 * A WhatsApp message as the engine's input, or `undefined` for what the engine does not
 * take (`ignoredKind` says what it was). `lastPrompt` is the chat's last message with
 * choices (`PromptMemory`), so a typed "2" or label answers it as a choice.
 */
export function toInboundMessage(msg: WAMessage, lastPrompt: Outbound | undefined, locale: Locale, tenantId: string): InboundMessage | undefined {
  const content = normalizeMessageContent(msg.message);
  if (!content) return undefined;
  const text = content.conversation ?? content.extendedTextMessage?.text;
  if (typeof text === "string") return typedReply(text, lastPrompt, locale);
  if (content.imageMessage || content.documentMessage) {
    const fileRef = fileRefOf(msg, tenantId);
    return fileRef === undefined ? undefined : { kind: "media", media: mediaOf(content, fileRef) };
  }
  const contact = contactOf(content);
  return contact ? { kind: "contact", contact } : undefined;
}

/** What an ignored message was, for a debug line: its content type (`stickerMessage`), or why there is none. */
export function ignoredKind(msg: WAMessage): string {
  const content = normalizeMessageContent(msg.message);
  if (!content) return "no content";
  const kinds = Object.keys(content).filter((key) => key !== "messageContextInfo" && content[key as keyof proto.IMessage] != null);
  return kinds.join("+") || "empty message";
}

function mediaOf(content: proto.IMessage, fileRef: string): InboundMedia {
  const image = content.imageMessage;
  const caption = image ? image.caption : content.documentMessage?.caption;
  const captioned = caption ? { caption } : {};
  if (image) {
    const sizeBytes = byteCount(image.fileLength);
    return { type: "photo", fileRef, ...(image.mimetype && { mimeType: image.mimetype }), ...(sizeBytes !== undefined && { sizeBytes }), ...captioned };
  }
  const document = content.documentMessage!;
  const sizeBytes = byteCount(document.fileLength);
  return {
    type: "document",
    fileRef,
    ...(document.fileName && { fileName: document.fileName }),
    ...(document.mimetype && { mimeType: document.mimetype }),
    ...(sizeBytes !== undefined && { sizeBytes }),
    ...captioned,
  };
}

/** A protobuf `uint64` (a number or a `Long`) as a number of bytes, when it is a safe one. */
function byteCount(value: number | { toString(): string } | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const n = typeof value === "number" ? value : Number(value.toString());
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function contactOf(content: proto.IMessage): InboundContact | undefined {
  const cards = content.contactMessage ? [content.contactMessage] : (content.contactsArrayMessage?.contacts ?? []);
  for (const card of cards) {
    const tel = telOf(card.vcard ?? "");
    if (!tel) continue;
    const name = card.displayName?.trim() || nameOf(card.vcard ?? "");
    return { phone: tel.phone, ...(name && { name }), ...(tel.waid && { userId: `${tel.waid}@s.whatsapp.net` }) };
  }
  return undefined;
}

/** The first `TEL` of a vCard: `waid=` (the number's WhatsApp id, digits) wins over the written number. */
function telOf(vcard: string): { phone: string; waid?: string } | undefined {
  for (const line of unfold(vcard)) {
    const match = /^(?:[\w-]+\.)?TEL([^:]*):(.*)$/i.exec(line);
    if (!match) continue;
    const waid = /(?:^|;)waid=(\d+)/i.exec(match[1])?.[1];
    const written = match[2].replace(/[^\d+]/g, "");
    if (waid) return { phone: `+${waid}`, waid };
    if (/\d{5,}/.test(written)) return { phone: written };
  }
  return undefined;
}

function nameOf(vcard: string): string | undefined {
  const line = unfold(vcard).find((l) => /^FN[;:]/i.test(l));
  return line?.slice(line.indexOf(":") + 1).trim() || undefined;
}

/** vCard lines, with folded continuation lines (starting with a space or a tab) joined back. */
function unfold(vcard: string): string[] {
  return vcard.replace(/\r?\n[ \t]/g, "").split(/\r?\n/);
}

// ------------------------------------------------------------------ media references

const REF_CONTEXT = "whatsapp-media:";

/** What a media reference holds: enough of the message to download it, and to ask for a re-upload by its key. */
interface MediaRefPayload {
  key: { remoteJid?: string | null; id?: string | null; fromMe?: boolean | null; participant?: string | null };
  type: "imageMessage" | "documentMessage";
  media: Record<string, unknown>;
}

const MEDIA_FIELDS = ["url", "directPath", "mediaKey", "mediaKeyTimestamp", "fileEncSha256", "fileSha256", "fileLength", "mimetype", "fileName"] as const;

/**
 * A reference to the photo or document of `msg` from which the file can be fetched later,
 * on any instance and after a restart: the message's key and the media's CDN path and key,
 * sealed with the data key and bound to the store (a reference copied to another store
 * does not open there). It is a secret — whoever holds it opened can download the file,
 * the customer's payment proof included — so it is sealed, and never logged opened.
 * WhatsApp keeps media on its CDN for a limited time; past that the channel asks the
 * sender's phone to upload it again (Baileys' re-upload request), which needs the key.
 * Undefined when `msg` carries no photo or document.
 */
export function fileRefOf(msg: WAMessage, tenantId: string): string | undefined {
  const content = normalizeMessageContent(msg.message);
  const type = content?.imageMessage ? "imageMessage" : content?.documentMessage ? "documentMessage" : undefined;
  if (!type) return undefined;
  const source = content![type]! as Record<string, unknown>;
  const media: Record<string, unknown> = {};
  for (const field of MEDIA_FIELDS) {
    const value = source[field];
    if (value !== null && value !== undefined) media[field] = typeof value === "object" && !(value instanceof Uint8Array) ? String(value) : value;
  }
  const { remoteJid, id, fromMe, participant } = msg.key;
  const payload: MediaRefPayload = { key: { remoteJid, id, fromMe, ...(participant && { participant }) }, type, media };
  return encryptSecret(JSON.stringify(payload, BufferJSON.replacer), REF_CONTEXT + tenantId);
}

/**
 * The message a `fileRefOf` reference stands for, as Baileys' `downloadMediaMessage` takes
 * it (with `reuploadRequest` for media gone from the CDN). `FileFetchError` (`not-found`)
 * when the reference is not one of this store's.
 */
export function mediaMessageFromRef(ref: string, tenantId: string): WAMessage {
  let payload: MediaRefPayload;
  try {
    payload = JSON.parse(decryptSecret(ref, REF_CONTEXT + tenantId), BufferJSON.reviver) as MediaRefPayload;
  } catch (error) {
    if (error instanceof DecryptionError || error instanceof SyntaxError) {
      throw new FileFetchError("not a WhatsApp media reference of this store", "not-found");
    }
    throw error;
  }
  return proto.WebMessageInfo.fromObject({ key: payload.key, message: { [payload.type]: payload.media } }) as WAMessage;
}

// ------------------------------------------------------------------ outbound

/** The file of an `OutboundMedia`, as the channel resolved it: bytes (or a stream) and what it knows of them. */
export interface ResolvedMedia {
  upload: WAMediaUpload;
  mimetype?: string;
  fileName?: string;
}

export interface ContentOptions {
  /** The longest text one message carries; longer texts are split in order. */
  maxTextLength: number;
  /**
   * Fetches an `OutboundMedia`'s file (a URL, or a reference of this channel): needed when
   * an `Outbound` has media. Bounded in time and size by the channel.
   */
  media?: (media: OutboundMedia) => Promise<ResolvedMedia>;
}

/**
 * An `Outbound` as the Baileys contents to send, in order: the text (choices numbered
 * under it, with a hint), split under `maxTextLength` at paragraph, line or word
 * boundaries; media carry the text as their caption when it fits in 1024 characters,
 * else the text follows in its own messages.
 *
 * ```ts
 * await toContents({ text: { key: "ordering.menu" }, choices }, "id", { maxTextLength: 4096 });
 * // → [{ text: "Mau apa?\n\n1. Katalog\n2. Bantuan\n\nBalas dengan angka pilihan (misalnya 1)." }]
 * ```
 */
export async function toContents(outbound: Outbound, locale: Locale, options: ContentOptions): Promise<AnyMessageContent[]> {
  const body = renderBody(outbound, locale);
  const texts = (parts: string[]) => parts.map((text): AnyMessageContent => ({ text }));
  if (!outbound.media) return texts(splitMessage(body, options.maxTextLength));
  if (!options.media) throw new TypeError("toContents: an Outbound with media needs the channel's media resolver");
  const resolved = await options.media(outbound.media);
  const captioned = body.trim() !== "" && body.length <= MAX_CAPTION_LENGTH;
  const caption = captioned ? { caption: body } : {};
  const media: AnyMessageContent =
    outbound.media.type === "photo"
      ? { image: resolved.upload, ...caption }
      : { document: resolved.upload, mimetype: resolved.mimetype ?? mimeTypeOf(outbound.media.fileName ?? resolved.fileName), ...fileNameOf(outbound.media, resolved), ...caption };
  return [media, ...(captioned ? [] : texts(splitMessage(body, options.maxTextLength)))];
}

/** The characters a content shows as text (a text, or a caption), for the pacer's typing time. */
export function typedLength(content: AnyMessageContent): number {
  if ("text" in content && typeof content.text === "string") return content.text.length;
  if ("caption" in content && typeof content.caption === "string") return content.caption.length;
  return 0;
}

/** The text a customer reads: the message, then its choices numbered from 1 and how to answer. */
export function renderBody(outbound: Outbound, locale: Locale): string {
  const text = renderText(outbound.text, locale, i18nTexts);
  const choices = outbound.choices ?? [];
  if (choices.length === 0) return text;
  const list = choices.map((choice, i) => `${i + 1}. ${renderText(choice.label, locale, i18nTexts)}`).join("\n");
  return [text, list, t(locale, "whatsapp.reply_with_number")].filter((part) => part.trim() !== "").join("\n\n");
}

function fileNameOf(media: OutboundMedia, resolved: ResolvedMedia): { fileName?: string } {
  const fileName = media.fileName ?? resolved.fileName;
  return fileName ? { fileName } : {};
}

const MIME_BY_EXTENSION: Record<string, string> = {
  pdf: "application/pdf",
  txt: "text/plain",
  csv: "text/csv",
  json: "application/json",
  zip: "application/zip",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
};

/** WhatsApp wants a document's type; by its name's extension, else plain bytes. */
function mimeTypeOf(fileName: string | undefined): string {
  const extension = fileName?.split(".").at(-1)?.toLowerCase() ?? "";
  return MIME_BY_EXTENSION[extension] ?? "application/octet-stream";
}

// ------------------------------------------------------------------ prompt memory

/**
 * The last message with choices each chat was sent, so a typed "2" answers that list as
 * a choice bound to its prompt (`toInboundMessage`'s `lastPrompt`). In memory and bounded
 * (least recently used chats are forgotten first): after a restart, or for a forgotten
 * chat, the number goes to the engine as text, and the engine matches typed numbers and
 * labels against the choices of the step the conversation is at — the same list, so the
 * customer sees no difference; only an answer to an older list is then taken for the
 * current one instead of being recognised as stale.
 */
export class PromptMemory {
  readonly #byChat = new Map<string, Outbound>();
  constructor(private readonly limit = 10_000) {}

  /** After a batch was sent to a chat: its last message with choices is the prompt now; a batch without any ends it. */
  record(tenantId: string, chatId: string, sent: readonly Outbound[]): void {
    const key = keyOf(tenantId, chatId);
    const prompt = sent.findLast((outbound) => (outbound.choices?.length ?? 0) > 0);
    this.#byChat.delete(key);
    if (!prompt) return;
    if (this.#byChat.size >= this.limit) this.#byChat.delete(this.#byChat.keys().next().value!);
    this.#byChat.set(key, prompt);
  }

  lastPrompt(tenantId: string, chatId: string): Outbound | undefined {
    const key = keyOf(tenantId, chatId);
    const prompt = this.#byChat.get(key);
    if (prompt) {
      this.#byChat.delete(key);
      this.#byChat.set(key, prompt);
    }
    return prompt;
  }

  get size(): number {
    return this.#byChat.size;
  }
}

function keyOf(tenantId: string, chatId: string): string {
  return `${tenantId}\u0000${chatId}`;
}
