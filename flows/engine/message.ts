// The engine's message model: what an adapter hands in (`Inbound`) and what it gets
// back to render (`Outbound`). Nothing here names a channel: an adapter tells the
// engine its channel name, and the engine treats it as an opaque part of the chat key.

/** The languages Niaga speaks. Indonesian is the default. */
export type Locale = "id" | "en";

/** Who is writing: a store's customer, or one of its members (owner, admin, staff). */
export type Audience = "customer" | "seller";

/** The store a message belongs to, as the adapter resolved it. */
export interface InboundTenant {
  /** MongoDB ObjectId of the tenant, as a hex string. */
  id: string;
  slug: string;
  /** The store's name (`bot_store_name`); texts can use it as `{{store}}`. */
  name: string;
}

export interface InboundUser {
  /** The user's id on the channel (a Telegram user id, a WhatsApp JID, …). */
  id: string;
  name?: string;
}

/** A file the user sent, referenced by the channel's own id for it. */
export interface InboundMedia {
  type: "photo" | "document";
  /** The channel's reference to the file (e.g. a Telegram `file_id`). */
  fileRef: string;
  fileName?: string;
  mimeType?: string;
  /** The file's size in bytes, when the channel tells it before the file is fetched (Telegram does). */
  sizeBytes?: number;
  caption?: string;
}

export interface InboundContact {
  phone: string;
  name?: string;
  /** The contact's own user id on the channel, when the channel knows it. */
  userId?: string;
}

/** Where a prompt was shown; lets a button pressed on an old message be recognised as stale. */
export interface PromptRef {
  flow: string;
  step: string;
}

export type InboundMessage =
  | { kind: "text"; text: string }
  | { kind: "command"; command: string; args: string }
  | { kind: "choice"; choiceId: string; prompt?: PromptRef }
  | { kind: "media"; media: InboundMedia }
  | { kind: "contact"; contact: InboundContact };

/**
 * One message from a user, as an adapter hands it to the engine.
 *
 * ```ts
 * await engine.handle({
 *   tenant: { id: tenant._id.toString(), slug: tenant.slug, name: tenant.name },
 *   channel: "console", chatId: "42", user: { id: "42", name: "Sari" }, locale: "id",
 *   message: { kind: "command", command: "start", args: "" },
 * });
 * ```
 *
 * `chatId` and `user.id` differ in group chats; the session belongs to the chat.
 */
export interface Inbound {
  tenant: InboundTenant;
  /** The adapter's channel name; the engine never interprets it. */
  channel: string;
  chatId: string;
  user: InboundUser;
  locale: Locale;
  message: InboundMessage;
}

export type TextParams = Record<string, unknown>;

/** A text written inline (a store's own FAQ), one version per language. */
export type InlineText = Partial<Record<Locale, string>>;

/**
 * A text to show. Either an i18n key from `locales/` with its params, or a store's
 * own inline text. Adapters turn it into a string with `renderText`.
 */
export type Text = { key: string; params?: TextParams } | { inline: InlineText; params?: TextParams };

export interface ChoiceView {
  /** Stable id: what the adapter sends back as `{ kind: "choice", choiceId }`. */
  id: string;
  label: Text;
}

export interface OutboundMedia {
  type: "photo" | "document";
  /** A URL, or a channel file reference the flow stored earlier; with `data`, a name for logs and placeholders. */
  ref: string;
  fileName?: string;
  /** The file's bytes, made in memory (a QR code to scan): sent as an upload instead of `ref`. */
  data?: Uint8Array;
}

/**
 * One message for the user. Adapters render `choices` their own way (inline keyboard,
 * buttons, numbered list) and, when `prompt` is set, may bind the buttons to it so a
 * press on an old message can be told apart from a current one.
 */
export interface Outbound {
  text: Text;
  choices?: ChoiceView[];
  media?: OutboundMedia;
  prompt?: PromptRef;
}

/** The session key: one conversation per (tenant, channel, chat). */
export interface ChatKey {
  tenantId: string;
  channel: string;
  chatId: string;
}

export function chatKeyOf(inbound: Inbound): ChatKey {
  return { tenantId: inbound.tenant.id, channel: inbound.channel, chatId: inbound.chatId };
}

export function chatKeyString(key: ChatKey): string {
  return `chat:${key.tenantId}:${key.channel}:${key.chatId}`;
}
