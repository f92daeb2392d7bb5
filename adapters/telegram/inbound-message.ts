/**
 * A Telegram message as the engine's `InboundMessage`: a command (`/start payload`
 * included), text, the largest size of a photo, a document, or a shared contact.
 * Anything else (stickers, voice, locations…) maps to `undefined`; the caller answers it.
 */
import type { Message, PhotoSize, User } from "grammy/types";
import type { InboundMessage } from "../../flows/engine/index.ts";

export function inboundMessageOf(message: Message): InboundMessage | undefined {
  if (message.text !== undefined) return commandOf(message) ?? { kind: "text", text: message.text };
  const caption = message.caption !== undefined && message.caption !== "" ? { caption: message.caption } : {};
  if (message.photo && message.photo.length > 0) {
    const { file_id, file_size } = largest(message.photo);
    return { kind: "media", media: { type: "photo", fileRef: file_id, ...(file_size !== undefined && { sizeBytes: file_size }), ...caption } };
  }
  if (message.document) {
    const { file_id, file_name, mime_type, file_size } = message.document;
    return {
      kind: "media",
      media: {
        type: "document", fileRef: file_id,
        ...(file_name !== undefined && { fileName: file_name }),
        ...(mime_type !== undefined && { mimeType: mime_type }),
        ...(file_size !== undefined && { sizeBytes: file_size }),
        ...caption,
      },
    };
  }
  if (message.contact) {
    const { phone_number, first_name, last_name, user_id } = message.contact;
    const name = [first_name, last_name].filter(Boolean).join(" ");
    return {
      kind: "contact",
      contact: { phone: phone_number, ...(name !== "" && { name }), ...(user_id !== undefined && { userId: String(user_id) }) },
    };
  }
  return undefined;
}

/** `/Start@store_bot  promo-7` → `{ command: "start", args: "promo-7" }`; only a command entity at the very start counts. */
function commandOf(message: Message): InboundMessage | undefined {
  const entity = message.entities?.find((e) => e.type === "bot_command" && e.offset === 0);
  if (!entity || message.text === undefined) return undefined;
  const word = message.text.slice(1, entity.length);
  const command = word.split("@")[0].toLowerCase();
  if (command === "") return undefined;
  return { kind: "command", command, args: message.text.slice(entity.length).trim() };
}

function largest(sizes: PhotoSize[]): PhotoSize {
  return sizes.reduce((best, size) => (area(size) > area(best) || (area(size) === area(best) && (size.file_size ?? 0) > (best.file_size ?? 0)) ? size : best));
}

function area(size: PhotoSize): number {
  return size.width * size.height;
}

/** How the store sees the customer: "Sari Dewi", else the username, else the id. */
export function displayNameOf(user: User): string {
  const name = [user.first_name, user.last_name].filter(Boolean).join(" ").trim();
  return (name || user.username || String(user.id)).slice(0, 128);
}
