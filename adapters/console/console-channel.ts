// The console as a channel: one person at one terminal (`niaga chat`). What the store says
// to that chat outside its turns (the goods after a payment, "your order expired", a
// seller's answer to a claim) prints there; any other console chat is unreachable from
// this process (the sender retries later, as for a phone that is off). Files the person
// attaches (`!document ./stok.txt`) are read from this machine: the person at the
// terminal is the operator, so their paths are theirs to read.
import { open } from "node:fs/promises";
import { FileFetchError, notSent } from "../../flows/engine/index.ts";
import type { Channel, ChannelAddress, ChannelCapabilities, ChannelStoresReport, Locale, Outbound, SendOptions, SendReport } from "../../flows/engine/index.ts";
import { CONSOLE_CHANNEL, renderForConsole } from "./console-chat.ts";

interface OpenChat {
  tenantId: string;
  chatId: string;
  locale: Locale;
  output: NodeJS.WritableStream;
}

/** Choices are typed (by number or label), nothing is edited, files are paths, and a message is as long as it is. */
export const CONSOLE_CAPABILITIES: ChannelCapabilities = { buttons: false, messageEdits: false, media: true, maxTextLength: Number.POSITIVE_INFINITY };

const NOTHING: ChannelStoresReport = { started: [], stopped: [], failed: [] };

/**
 * The console channel. The chat attaches to it once it knows the store and the user:
 *
 * ```ts
 * const console = new ConsoleChannel();
 * channels.add(console);
 * const detach = console.attach({ tenantId, chatId: userId, locale, output: process.stdout });
 * ```
 */
export class ConsoleChannel implements Channel {
  readonly name = CONSOLE_CHANNEL;
  readonly capabilities = CONSOLE_CAPABILITIES;
  readonly #open = new Map<string, OpenChat>();
  #stopped = false;
  #sent = 0;

  /** Routes this chat's messages to `output` until the returned function is called. */
  attach(chat: OpenChat): () => void {
    const key = `${chat.tenantId}/${chat.chatId}`;
    this.#open.set(key, chat);
    return () => {
      if (this.#open.get(key) === chat) this.#open.delete(key);
    };
  }

  /** Nothing to start: the chat opens when `niaga chat` attaches it. */
  start(): Promise<ChannelStoresReport> {
    return Promise.resolve(NOTHING);
  }

  stop(): Promise<boolean> {
    this.#stopped = true;
    this.#open.clear();
    return Promise.resolve(true);
  }

  followStoreChanges(): Promise<ChannelStoresReport> {
    return Promise.resolve(NOTHING);
  }

  send(to: ChannelAddress, replies: readonly Outbound[], opts: SendOptions = {}): Promise<SendReport> {
    if (this.#stopped) return Promise.resolve(notSent(replies.length, "shutting-down", "the console chat ended"));
    const open = this.#open.get(`${to.tenantId}/${to.chatId}`);
    if (!open) return Promise.resolve(notSent(replies.length, "unreachable", "that console chat is not open in this process"));
    const locale = opts.locale ?? open.locale;
    for (const reply of replies) open.output.write(`${renderForConsole(reply, locale)}\n\n`);
    const messages = replies.map(() => ({ status: "sent" as const, messageIds: [`console-${++this.#sent}`] }));
    return Promise.resolve({ ok: true, sent: replies.length, messages });
  }

  fetchFile(_tenantId: string, path: string, options: { maxBytes: number }): Promise<Buffer> {
    return readLocalFile(path, options.maxBytes);
  }
}

/** A file on this machine, refused past `maxBytes` before it is read. */
export async function readLocalFile(path: string, maxBytes: number): Promise<Buffer> {
  let file;
  try {
    file = await open(path, "r");
  } catch (error) {
    throw new FileFetchError(`the file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? "error"}`, "not-found");
  }
  try {
    const { size } = await file.stat();
    if (size > maxBytes) throw new FileFetchError(`the file is ${size} bytes; at most ${maxBytes} are accepted`, "too-large");
    return await file.readFile();
  } finally {
    await file.close();
  }
}
