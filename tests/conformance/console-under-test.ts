// The console as the conformance suite drives it: `niaga chat`'s loop (`runConsoleChat`)
// over a pipe per customer, with what it prints recorded message by message.
import { randomBytes } from "node:crypto";
import { writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { ConsoleOutbox } from "../../adapters/console/console-outbox.ts";
import { runConsoleChat } from "../../adapters/console/console-chat.ts";
import { readLocalFile } from "../../bots/commerce.ts";
import { FileFetchError, notSent, type Channel, type ChannelAddress, type ChannelStoresReport } from "../../flows/engine/channel.ts";
import { seedStore } from "../support/stores.ts";
import type { ChannelFactory, ChannelUnderTest, ReceivedMessage } from "./channel-suite.ts";

const nothing = (): ChannelStoresReport => ({ started: [], stopped: [], failed: [] });

// adapts the current class to Channel
class ConsoleAsChannel implements Channel {
  readonly name = "console";
  readonly capabilities = { buttons: false, messageEdits: false, media: true, maxTextLength: Number.POSITIVE_INFINITY };
  readonly #chats = new Map<string, ConsoleOutbox>();
  #stopped = false;

  /** The outbox of one open chat (one terminal). */
  chat(tenantId: string, chatId: string): ConsoleOutbox {
    const outbox = new ConsoleOutbox();
    this.#chats.set(`${tenantId}/${chatId}`, outbox);
    return outbox;
  }

  start = () => Promise.resolve(nothing());
  followStoreChanges = () => Promise.resolve(nothing());

  stop(): Promise<boolean> {
    this.#stopped = true;
    return Promise.resolve(true);
  }

  send(to: ChannelAddress, outbounds: Parameters<Channel["send"]>[1], options: Parameters<Channel["send"]>[2]) {
    if (this.#stopped) return Promise.resolve(notSent(outbounds.length, "shutting-down", "the console chat ended"));
    const outbox = this.#chats.get(`${to.tenantId}/${to.chatId}`);
    if (!outbox) return Promise.resolve(notSent(outbounds.length, "unreachable", "that console chat is not open in this process"));
    return outbox.sendTo(to.tenantId, to.chatId, outbounds, options);
  }

  async fetchFile(tenantId: string, fileRef: string, options: { maxBytes: number }): Promise<Buffer> {
    try {
      return await readLocalFile(tenantId, fileRef, options);
    } catch (error) {
      const reason = (error as { reason?: string; code?: string }).reason === "too-large" ? "too-large" : (error as { code?: string }).code === "ENOENT" ? "not-found" : "failed";
      throw new FileFetchError((error as Error).message, reason);
    }
  }
}

export function consoleFactory(): ChannelFactory {
  return {
    name: "console",
    servesNoStores: "the console serves the one store named on its command line; it starts and follows no stores",
    open(env): Promise<ChannelUnderTest> {
      const channel = new ConsoleAsChannel();
      const chats: { input: PassThrough; done: Promise<void> }[] = [];
      return Promise.resolve({
        channel,
        seedStore: (options = {}) => seedStore(options),
        async customer(store) {
          const userId = `konsol-${randomBytes(3).toString("hex")}`;
          const printed: ReceivedMessage[] = [];
          // Each reply is one write; a line echoed from the pipe starts with "> ".
          const output = new Writable({
            write(chunk: Buffer, _encoding, done) {
              const text = String(chunk);
              if (!text.startsWith("> ")) printed.push({ text: text.replace(/\n+$/, ""), buttons: [] });
              done();
            },
          });
          const input = new PassThrough();
          channel.chat(store.tenantId, userId).attach({ tenantId: store.tenantId, chatId: userId, locale: "id", output });
          const done = runConsoleChat({ engine: env.engine, tenant: { id: store.id, slug: store.slug, name: store.name }, user: { id: userId, name: "Sari" }, locale: "id", input, output, interactive: false });
          chats.push({ input, done });
          const folder = await mkdtemp(join(tmpdir(), "niaga-console-"));
          let files = 0;
          return {
            address: { tenantId: store.tenantId, channel: "console", chatId: userId },
            write: (text) => env.turns.handled(userId, () => Promise.resolve(input.write(`${text}\n`))),
            press: () => Promise.reject(new Error("the console has no buttons")),
            received: () => Promise.resolve([...printed]),
            async sendFile(bytes) {
              const path = join(folder, `bukti-${++files}.pdf`);
              await writeFile(path, bytes);
              await env.turns.handled(userId, () => Promise.resolve(input.write(`!document ${path}\n`)));
              return path;
            },
          };
        },
        async close() {
          await channel.stop();
          for (const chat of chats) chat.input.end();
          await Promise.all(chats.map((chat) => chat.done));
        },
      });
    },
  };
}
