// The console as the conformance suite drives it: `niaga chat`'s loop (`runConsoleChat`)
// over a pipe per customer, with what it prints recorded message by message.
import { randomBytes } from "node:crypto";
import { writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { ConsoleChannel } from "../../adapters/console/console-channel.ts";
import { runConsoleChat } from "../../adapters/console/console-chat.ts";
import { seedStore } from "../support/stores.ts";
import type { ChannelFactory, ChannelUnderTest, ReceivedMessage } from "./channel-suite.ts";

export function consoleFactory(): ChannelFactory {
  return {
    name: "console",
    servesNoStores: "the console serves the one store named on its command line; it starts and follows no stores",
    open(env): Promise<ChannelUnderTest> {
      const channel = new ConsoleChannel();
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
          channel.attach({ tenantId: store.tenantId, chatId: userId, locale: "id", output });
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
