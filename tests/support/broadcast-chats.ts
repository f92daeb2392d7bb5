// A broadcast's audience at the local Telegram, for the tests and the benchmark that prove
// "exactly once": many customers of one store's bot, each with a private chat the emulator
// knows (as if they had pressed Start once) and a Customer record, and what each chat
// received, counted at the emulator — the only count a crash cannot make up.
//
// ```ts
// const users = openChats(tg, token, 2000);
// await seedTelegramCustomers(store.tenant, users);
// … the broadcast runs …
// const tally = tallyDeliveries(tg.sent(token), users, (m) => (m.text ?? "").includes(MARKER));
// assert.deepEqual([tally.missing, tally.duplicated], [[], []]);
// ```
import type { Message, User } from "grammy/types";
import type { Types } from "mongoose";
import { Customer } from "../../storage/models/customer.ts";
import type { TelegramEmulator } from "./telegram-emulator.ts";

/** `count` users of the emulator, each with an open chat with the bot `token`. */
export function openChats(tg: TelegramEmulator, token: string, count: number, firstName = "Pelanggan"): User[] {
  return Array.from({ length: count }, (_, i) => {
    const user = tg.user({ first_name: `${firstName} ${i + 1}`, language_code: "id" });
    tg.openChat(token, user);
    return user;
  });
}

/** Their Customer records in the store, reachable and subscribed, inserted a thousand at a time. */
export async function seedTelegramCustomers(tenantId: Types.ObjectId | string, users: ReadonlyArray<Pick<User, "id" | "first_name">>): Promise<void> {
  for (let start = 0; start < users.length; start += 1000) {
    await Customer.insertMany(users.slice(start, start + 1000).map((user) => ({
      tenantId, channel: "telegram", channelUserId: String(user.id), displayName: user.first_name, locale: "id",
    })), { ordered: false });
  }
}

export interface DeliveryTally {
  /** Chats that received at least one matching message. */
  reached: number;
  /** Matching messages in all. */
  messages: number;
  /** Audience chats with none. */
  missing: number[];
  /** Chats with more than one, and how many. */
  duplicated: Array<[chat: number, messages: number]>;
  /** Chats outside the audience that received one. */
  strangers: number[];
}

/** What the audience's chats received of the messages that `matches`, from the bot's sent messages. */
export function tallyDeliveries(sent: readonly Message[], audience: ReadonlyArray<Pick<User, "id">>, matches: (m: Message) => boolean): DeliveryTally {
  const perChat = new Map<number, number>();
  let messages = 0;
  for (const message of sent) {
    if (!matches(message)) continue;
    messages += 1;
    perChat.set(message.chat.id, (perChat.get(message.chat.id) ?? 0) + 1);
  }
  const members = new Set(audience.map((u) => u.id));
  return {
    reached: perChat.size,
    messages,
    missing: audience.filter((u) => !perChat.has(u.id)).map((u) => u.id),
    duplicated: [...perChat].filter(([, n]) => n > 1),
    strangers: [...perChat.keys()].filter((chat) => !members.has(chat)),
  };
}
