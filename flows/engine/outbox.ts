/**
 * The one way to message someone outside a conversation turn: goods after a payment, an
 * order that expired, a seller's alert, a reminder — and later owner alerts, ticket replies
 * and broadcasts. It routes each send to the address's channel through a chain of
 * middleware, in the manner of grammY's `api.config.use`: the timeout, a recorder in tests,
 * and later retries or pacing plug in without touching a call site.
 *
 * ```ts
 * const outbox = new Outbox(channels).use(withTimeout(60_000));
 * const report = await outbox.send({ tenantId, channel: "telegram", chatId }, [notice], { locale: "id" });
 * if (!report.ok) log.warn("notice not sent", { reason: report.reason });
 * ```
 *
 * A send never throws: what the user, the channel or the clock did is in the report.
 * Middleware added later runs first (it wraps the chain so far).
 */
import { notSent } from "./channel.ts";
import type { ChannelAddress, Channels, SendOptions, SendReport } from "./channel.ts";
import type { Outbound } from "./message.ts";
import { settledWithin } from "../../storage/settled-within.ts";

/** One step of a send: to the channel at the end of the chain, or to the next middleware. */
export type OutboxSend = (to: ChannelAddress, outbounds: readonly Outbound[], options: SendOptions) => Promise<SendReport>;

/** Wraps the chain so far (`next`) with something done before, after or instead of it. */
export type OutboxMiddleware = (next: OutboxSend, to: ChannelAddress, outbounds: readonly Outbound[], options: SendOptions) => Promise<SendReport>;

export class Outbox {
  #send: OutboxSend;

  constructor(channels: Pick<Channels, "get">) {
    this.#send = async (to, outbounds, options) => {
      const channel = channels.get(to.channel);
      if (!channel) return notSent(outbounds.length, "no-channel", `no ${to.channel} channel runs in this process`);
      if (!channel.capabilities.media && outbounds.some((o) => o.media)) {
        return notSent(outbounds.length, "not-supported", `the ${to.channel} channel carries no media`);
      }
      try {
        if (options.committing && !channel.capabilities.commitsSends) {
          if (!(await options.committing())) return notSent(outbounds.length, "failed", NOT_COMMITTED);
          const { committing: _asked, ...rest } = options;
          return await channel.send(to, outbounds, rest);
        }
        return await channel.send(to, outbounds, options);
      } catch (error) {
        return failedBy(error, outbounds.length);
      }
    };
    this.#edit = async (to, messageId, outbound, options) => {
      const channel = channels.get(to.channel);
      if (!channel) return notSent(1, "no-channel", `no ${to.channel} channel runs in this process`);
      try {
        if (channel.edit && channel.capabilities.messageEdits) return await channel.edit(to, messageId, outbound, options);
        return await this.#send(to, [outbound], options);
      } catch (error) {
        return failedBy(error, 1);
      }
    };
  }

  readonly #edit: (to: ChannelAddress, messageId: string, outbound: Outbound, options: Pick<SendOptions, "locale">) => Promise<SendReport>;

  /**
   * Replaces a message sent earlier outside a turn (a progress message), or sends
   * `outbound` as a new message where the channel cannot edit: the report's `messageIds`
   * then name the new one. Bypasses the middleware (nothing to time out twice: the channel's own calls have deadlines).
   */
  edit(to: ChannelAddress, messageId: string, outbound: Outbound, options: Pick<SendOptions, "locale"> = {}): Promise<SendReport> {
    return this.#edit(to, messageId, outbound, options);
  }

  /** Adds middleware around every send. */
  use(...middleware: OutboxMiddleware[]): this {
    for (const m of middleware) {
      const next = this.#send;
      this.#send = (to, outbounds, options) => m(next, to, outbounds, options);
    }
    return this;
  }

  send(to: ChannelAddress, outbounds: readonly Outbound[], options: SendOptions = {}): Promise<SendReport> {
    if (outbounds.length === 0) return Promise.resolve({ ok: true, sent: 0, messages: [] });
    return this.#send(to, outbounds, options);
  }
}

/**
 * A send the channel has not answered within `ms` is reported `failed`, with `late`: the
 * channel's own report, for a sender that must know whether it went out after all.
 */
export function withTimeout(ms: number): OutboxMiddleware {
  return async (next, to, outbounds, options) => {
    const sending = next(to, outbounds, options);
    const sent = await settledWithin(sending, ms);
    if (sent.state === "fulfilled") return sent.value;
    if (sent.state === "rejected") return failedBy(sent.error, outbounds.length);
    const late = sending.catch((error: unknown) => failedBy(error, outbounds.length));
    return { ...notSent(outbounds.length, "failed", `the channel did not answer within ${ms} ms`), late };
  };
}

/** The report's detail when `SendOptions.committing` said no: the sender lost its claim, nothing went out. */
export const NOT_COMMITTED = "not-committed";

/** A batch the channel threw on: reported by the error's name only, since its message may quote the goods. */
function failedBy(error: unknown, count: number): SendReport {
  return notSent(count, "failed", error instanceof Error ? error.name : "error");
}
