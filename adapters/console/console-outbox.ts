// Messages to a console chat outside its turns: the goods after a payment, "your order
// expired", a seller's answer to a claim. The console is one person at one terminal, so
// the outbox reaches exactly the chat that is open in this process; any other console
// chat is unreachable from here (the sender retries later, as for a phone that is off).
import { notSent } from "../../bots/customer-messages.ts";
import type { ChannelSender, SendOptions, SendReport } from "../../bots/customer-messages.ts";
import type { Locale, Outbound } from "../../flows/engine/message.ts";
import { renderForConsole } from "./console-chat.ts";

interface OpenChat {
  tenantId: string;
  chatId: string;
  locale: Locale;
  output: NodeJS.WritableStream;
}

/**
 * The console channel's `ChannelSender`. `niaga chat` and the demo register it with
 * `CustomerMessages` before building the ordering domain, and the chat attaches to it
 * once it knows the store and the user:
 *
 * ```ts
 * const outbox = new ConsoleOutbox();
 * messages.register("console", outbox);
 * const detach = outbox.attach({ tenantId, chatId: userId, locale, output: process.stdout });
 * ```
 */
export class ConsoleOutbox implements ChannelSender {
  #open: OpenChat | undefined;
  #sent = 0;

  /** Routes this chat's messages to `output` until the returned function is called. */
  attach(chat: OpenChat): () => void {
    this.#open = chat;
    return () => {
      if (this.#open === chat) this.#open = undefined;
    };
  }

  sendTo(tenantId: string, chatId: string, replies: readonly Outbound[], opts: SendOptions = {}): Promise<SendReport> {
    const open = this.#open;
    if (!open || open.tenantId !== tenantId || open.chatId !== chatId) {
      return Promise.resolve(notSent(replies.length, "unreachable", "that console chat is not open in this process"));
    }
    const locale = opts.locale ?? open.locale;
    for (const reply of replies) open.output.write(`${renderForConsole(reply, locale)}\n\n`);
    const messages = replies.map(() => ({ status: "sent" as const, messageIds: [`console-${++this.#sent}`] }));
    return Promise.resolve({ ok: true, sent: replies.length, messages });
  }
}
