/**
 * Messages to a customer outside a conversation turn — the goods after a payment, an order
 * that expired, an SNK reminder, a broadcast — whichever channel the customer uses. The
 * domain names the customer by store, channel and chat; the channel's adapter renders the
 * `Outbound`s as it renders a turn's replies and keeps within the channel's limits.
 *
 * ```ts
 * const messages = new CustomerMessages({ telegram: storeBots });
 * const report = await messages.send({ tenantId, channel: "telegram", chatId: "1234567" }, [
 *   { text: { key: "ordering.delivered", params: { code: order.code } } },
 * ]);
 * if (!report.ok) log.warn("delivery not sent", { reason: report.reason });
 * ```
 *
 * A send never throws for what the customer or the channel did (blocked the bot, a flood
 * limit, a suspended store): the report says which messages went out and why the rest did
 * not. Messages go out in order and stop at the first that fails, so a customer never
 * gets the third message of three without the second.
 */
import type { Locale, Outbound } from "../flows/engine/message.ts";

/** One customer of one store on one channel. `chatId` is the channel's own id for the chat. */
export interface CustomerAddress {
  tenantId: string;
  /** The adapter's channel name, as in `Inbound.channel` (`"telegram"`). */
  channel: string;
  chatId: string;
}

/**
 * Why a message did not go out, and what to do about it:
 *
 * | reason | meaning | retry? |
 * |---|---|---|
 * | `blocked` | the customer blocked the bot or deleted their account (recorded on the customer) | not until they write again |
 * | `unreachable` | no such chat, or the customer never opened one with the bot | no |
 * | `rate-limited` | the channel asked to wait longer than a send is held (`retryAfterSec`) | after `retryAfterSec` |
 * | `store-unavailable` | the store is suspended, unknown, or its channel has no working token | when the store is back |
 * | `rejected` | the channel refused this message (a bad file reference, say) | not as it is |
 * | `failed` | the channel or the network failed after the adapter's retries | later |
 * | `shutting-down` | the process is stopping | after the restart |
 * | `no-channel` | no adapter for the address's channel runs in this process | no |
 */
export type SendFailureReason =
  | "blocked"
  | "unreachable"
  | "rate-limited"
  | "store-unavailable"
  | "rejected"
  | "failed"
  | "shutting-down"
  | "no-channel";

export interface SentOutbound {
  /** `skipped`: not tried, because an earlier message of the batch failed. */
  status: "sent" | "failed" | "skipped";
  /** The channel's ids of the messages this `Outbound` became (a long text can be several). */
  messageIds: string[];
  reason?: SendFailureReason;
  /** What the channel said, for the log; never shown to the customer. */
  detail?: string;
}

export interface SendReport {
  /** Every message went out. */
  ok: boolean;
  /** How many of the batch went out, from the first. */
  sent: number;
  /** Why the batch stopped; unset when `ok`. */
  reason?: SendFailureReason;
  detail?: string;
  /** With `rate-limited`: seconds until the channel accepts messages again. */
  retryAfterSec?: number;
  /** One entry per `Outbound`, in order. */
  messages: SentOutbound[];
}

export interface SendOptions {
  /** The language to render in; by default the customer's chosen one, else the store's. */
  locale?: Locale;
  /** A broadcast: waits for every other message of the store (replies, deliveries, reminders) first. */
  bulk?: boolean;
}

/** What a channel adapter offers for sends outside a turn (Telegram: `StoreBots`). */
export interface ChannelSender {
  sendTo(tenantId: string, chatId: string, replies: readonly Outbound[], opts?: SendOptions): Promise<SendReport>;
}

/** Routes each send to the adapter of the customer's channel. */
export class CustomerMessages {
  readonly #senders = new Map<string, ChannelSender>();

  constructor(senders: Readonly<Record<string, ChannelSender | undefined>> = {}) {
    for (const [channel, sender] of Object.entries(senders)) if (sender) this.register(channel, sender);
  }

  /** Adds a channel's adapter (one started after the domain that sends through it was built). */
  register(channel: string, sender: ChannelSender): void {
    this.#senders.set(channel, sender);
  }

  send(to: CustomerAddress, replies: readonly Outbound[], opts?: SendOptions): Promise<SendReport> {
    const sender = this.#senders.get(to.channel);
    if (!sender) return Promise.resolve(notSent(replies.length, "no-channel", `no ${to.channel} adapter runs in this process`));
    return sender.sendTo(to.tenantId, to.chatId, replies, opts);
  }
}

/** A report for a batch of which nothing went out. */
export function notSent(count: number, reason: SendFailureReason, detail?: string, retryAfterSec?: number): SendReport {
  return {
    ok: count === 0,
    sent: 0,
    ...(count > 0 && { reason }),
    ...(count > 0 && detail !== undefined && { detail }),
    ...(count > 0 && retryAfterSec !== undefined && { retryAfterSec }),
    messages: Array.from({ length: count }, (_, i) => ({
      status: i === 0 ? "failed" : "skipped",
      messageIds: [],
      reason,
      ...(i === 0 && detail !== undefined && { detail }),
    })),
  };
}
