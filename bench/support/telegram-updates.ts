// Telegram updates as the Bot API delivers them, for injecting with `bot.handleUpdate`.
import type { Update } from "grammy/types";

let nextUpdateId = 1;

/** A private-chat text message; "/command" texts carry the bot_command entity Telegram adds. */
export function textUpdate(chatId: number, text: string): Update {
  const command = /^\/\w+/.exec(text);
  return {
    update_id: nextUpdateId++,
    message: {
      message_id: nextUpdateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: "Pembeli" },
      from: { id: chatId, is_bot: false, first_name: "Pembeli", language_code: "id" },
      text,
      ...(command && { entities: [{ type: "bot_command" as const, offset: 0, length: command[0].length }] }),
    },
  };
}
