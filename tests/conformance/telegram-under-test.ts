// Telegram as the conformance suite drives it: `TelegramChannel` running real grammY against the
// Bot API emulator; customers are emulated Telegram users.
import type { Message, User } from "grammy/types";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import type { EngineLog } from "../../flows/engine/actions.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { seedStore, type SeededStore } from "../support/stores.ts";
import type { ChannelEnv, ChannelFactory, ChannelUnderTest, CustomerUnderTest, ReceivedMessage } from "./channel-suite.ts";

const quiet: EngineLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

function telegramCustomer(tg: TelegramEmulator, token: string, store: SeededStore, user: User, env: ChannelEnv): CustomerUnderTest {
  const chatId = String(user.id);
  // Button data as first seen: the bot takes a keyboard away once it is used, a cached client keeps it.
  const buttons = new Map<number, Map<string, string>>();
  const seen = (): Message[] => {
    const messages = tg.sent(token, user);
    for (const message of messages) {
      if (buttons.has(message.message_id)) continue;
      const row = (message.reply_markup?.inline_keyboard ?? []).flat();
      if (row.length > 0) buttons.set(message.message_id, new Map(row.flatMap((b) => ("callback_data" in b && b.callback_data ? [[b.text, b.callback_data] as const] : []))));
    }
    return messages;
  };
  return {
    address: { tenantId: store.tenantId, channel: "telegram", chatId },
    write: (text) => env.turns.handled(chatId, () => (text.startsWith("/") ? tg.sendCommand(token, user, text) : tg.sendText(token, user, text))),
    press: async (index, label) => {
      const message = seen()[index];
      const data = message && buttons.get(message.message_id)?.get(label);
      if (!data) throw new Error(`no button "${label}" on message ${index}`);
      await env.turns.handled(chatId, () => tg.pressButton(token, user, message.message_id, data, { forged: true }));
    },
    received: () => Promise.resolve(seen().map((m): ReceivedMessage => ({ text: m.text ?? m.caption ?? "", buttons: (m.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.text) }))),
    blockBot: () => Promise.resolve(tg.blockBy(token, user)),
    sendFile: async (bytes) => {
      const sent = await tg.sendDocument(token, user, bytes, "bukti.pdf", "application/pdf");
      return sent.document.file_id;
    },
  };
}

/** One emulator for the file; each `open` makes its own `TelegramChannel`. */
export function telegramFactory(): ChannelFactory & { stop(): Promise<void> } {
  let emulator: Promise<TelegramEmulator> | undefined;
  const tokens = new Map<string, string>();
  return {
    name: "telegram",
    async open(env): Promise<ChannelUnderTest> {
      const tg = await (emulator ??= startTelegramEmulator());
      const channel = new TelegramChannel({
        engine: env.engine,
        encryptionKey: env.db.encryptionKey,
        apiRoot: tg.apiRoot,
        logFor: () => quiet,
        resilience: { baseDelayMs: 20, maxDelayMs: 100 },
        pollingTimeoutSec: 10,
      });
      return {
        channel,
        async seedStore(options = {}) {
          const { token } = tg.bot();
          const store = await seedStore({ ...options, telegram: { token, mode: "polling" } });
          tokens.set(store.id, token);
          return store;
        },
        async customer(store) {
          const token = tokens.get(store.id);
          if (!token) throw new Error(`store ${store.slug} was not seeded for Telegram`);
          const user = tg.user({ first_name: "Sari", language_code: "id" });
          tg.openChat(token, user);
          return telegramCustomer(tg, token, store, user, env);
        },
        close: async () => void (await channel.stop(1000)),
      };
    },
    async stop() {
      await (await emulator)?.stop();
    },
  };
}
