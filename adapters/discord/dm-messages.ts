/**
 * A message written to the bot in a DM, as the engine's input: `/command args` as a command,
 * an attachment as a photo or document (its URL the file reference `fetchFile` reads, the
 * text its caption), any other text as text.
 */
import type { Message } from "discord.js";
import type { InboundMessage } from "../../flows/engine/index.ts";

const COMMAND = /^\/([A-Za-z0-9_]{1,32})(?:[ \t]+([\s\S]*))?$/;

export function inboundOfDm(message: Pick<Message, "content" | "attachments">): InboundMessage | undefined {
  const attachment = message.attachments.first();
  const text = message.content.trim();
  if (attachment) {
    const mimeType = attachment.contentType ?? undefined;
    return {
      kind: "media",
      media: {
        type: mimeType?.startsWith("image/") ? "photo" : "document",
        fileRef: attachment.url,
        ...(attachment.name && { fileName: attachment.name }),
        ...(mimeType && { mimeType }),
        sizeBytes: attachment.size,
        ...(text !== "" && { caption: text }),
      },
    };
  }
  if (text === "") return undefined;
  const command = COMMAND.exec(text);
  if (command) return { kind: "command", command: command[1]!.toLowerCase(), args: (command[2] ?? "").trim() };
  return { kind: "text", text };
}
