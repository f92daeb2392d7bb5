// Telegram as the conformance suite drives it: `StoreBots` running real grammY against the
// Bot API emulator; customers are emulated Telegram users.
import type { Message, User } from "grammy/types";
import { StoreBots } from "../../adapters/telegram/store-bots.ts";
import { TelegramFileError } from "../../adapters/telegram/file-download.ts";
import { FileFetchError, type Channel } from "../../flows/engine/channel.ts";
import type { EngineLog } from "../../flows/engine/actions.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { seedStore, type SeededStore } from "../support/stores.ts";
import type { ChannelEnv, ChannelFactory, ChannelUnderTest, CustomerUnderTest, ReceivedMessage } from "./channel-suite.ts";

const quiet: EngineLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

// adapts the current class to Channel
function storeBotsAsChannel(bots: StoreBots): Channel {
  return {
    name: "telegram",
    capabilities: { buttons: true, messageEdits: true, media: true, maxTextLength: 4096 },
    start: async () => ({ ...(await bots.startAll()), stopped: [] }),
    stop: (graceMs) => bots.close(graceMs),
    followStoreChanges: async () => {
      const { started, stopped, failed } = await bots.reconcileChanged();
      return { started, stopped, failed };
    },
    send: (to, outbounds, options) => bots.sendTo(to.tenantId, to.chatId, outbounds, options),
    fetchFile: async (tenantId, fileRef, { maxBytes }) => {
      try {
        return await bots.downloadFile(tenantId, fileRef, { maxBytes });
      } catch (error) {
        if (error instanceof TelegramFileError) throw new FileFetchError(error.message, error.reason === "too-large" ? "too-large" : "failed");
        throw error;
      }
    },
    membershipChanged: (change) => bots.memberChanged(change),
  };
}

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

/** One emulator for the file; each `open` makes its own `StoreBots`. */
export function telegramFactory(): ChannelFactory & { stop(): Promise<void> } {
  let emulator: Promise<TelegramEmulator> | undefined;
  const tokens = new Map<string, string>();
  return {
    name: "telegram",
    async open(env): Promise<ChannelUnderTest> {
      const tg = await (emulator ??= startTelegramEmulator());
      const bots = new StoreBots({
        engine: env.engine,
        encryptionKey: env.db.encryptionKey,
        apiRoot: tg.apiRoot,
        logFor: () => quiet,
        resilience: { baseDelayMs: 20, maxDelayMs: 100 },
        pollingTimeoutSec: 10,
      });
      const channel = storeBotsAsChannel(bots);
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
        close: async () => void (await bots.close(1000)),
      };
    },
    async stop() {
      await (await emulator)?.stop();
    },
  };
}
