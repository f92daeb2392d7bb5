/**
 * The channel contract: what Telegram, the console, and later WhatsApp and Discord each
 * provide so that the engine, the flows and the platform never name one of them.
 *
 * A channel delivers a store's customers' and members' messages to the engine as
 * `Inbound`s (its own business), and offers the rest of the platform the members below:
 * start and stop, follow store changes, send outside a turn, fetch a user's file, hear
 * membership changes, serve HTTP routes, and declare what it can show.
 *
 * ```ts
 * const channels = new Channels([telegram, consoleChannel]);
 * const outbox = new Outbox(channels).use(withTimeout(60_000));
 * const report = await outbox.send({ tenantId, channel: "telegram", chatId: "1234567" }, [
 *   { text: { key: "ordering.delivered", params: { code } } },
 * ]);
 * const proof = await channels.fetchFile({ tenantId, channel: "telegram" }, fileRef, { maxBytes: 10 << 20 });
 * ```
 *
 * A flow that needs something a channel cannot do (an edited message, a file) asks
 * `requireCapability`, which throws `NotSupportedOnChannel`: one typed error instead of
 * `if (channel === "…")` anywhere.
 */
import type { FastifyPluginAsync } from "fastify";
import type { StoreChangeSet } from "../../storage/store-changes.ts";
import type { Locale, Outbound } from "./message.ts";

export type { StoreChangeSet };

/** One chat of one store on one channel. `chatId` is the channel's own id for the chat. */
export interface ChannelAddress {
  tenantId: string;
  /** The channel's name, as in `Inbound.channel` (`"telegram"`). */
  channel: string;
  chatId: string;
}

/**
 * Why a message did not go out, and what to do about it:
 *
 * | reason | meaning | retry? |
 * |---|---|---|
 * | `blocked` | the user blocked the bot or deleted their account (recorded on the customer) | not until they write again |
 * | `unreachable` | no such chat, or the user never opened one with the bot | no |
 * | `rate-limited` | the channel asked to wait longer than a send is held (`retryAfterSec`) | after `retryAfterSec` |
 * | `store-unavailable` | the store is suspended, unknown, or its channel has no working credentials | when the store is back |
 * | `rejected` | the channel refused this message (a bad file reference, say) | not as it is |
 * | `not-supported` | the channel cannot show this message at all (media on a text-only channel) | not on this channel |
 * | `failed` | the channel or the network failed after the channel's retries, or did not answer in time | later |
 * | `shutting-down` | the process is stopping | after the restart |
 * | `no-channel` | no channel of that name runs in this process | no |
 */
export type SendFailureReason =
  | "blocked"
  | "unreachable"
  | "rate-limited"
  | "store-unavailable"
  | "rejected"
  | "not-supported"
  | "failed"
  | "shutting-down"
  | "no-channel";

export interface SentOutbound {
  /** `skipped`: not tried, because an earlier message of the batch failed. */
  status: "sent" | "failed" | "skipped";
  /** The channel's ids of the messages this `Outbound` became (a long text can be several). */
  messageIds: string[];
  reason?: SendFailureReason;
  /** What the channel said, for the log; never shown to the user. */
  detail?: string;
}

/**
 * What became of a batch of messages. Messages go out in order and stop at the first that
 * fails, so a user never gets the third message of three without the second.
 */
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
  /**
   * Set by `withTimeout` when the channel had not answered in time: the send may still go
   * out, and this settles with the channel's own report when it does. A sender whose
   * message must not go twice (the goods) waits for it instead of sending again.
   */
  late?: Promise<SendReport>;
}

export interface SendOptions {
  /** The language to render in; by default the user's chosen one, else the store's. */
  locale?: Locale;
  /** A broadcast: waits for every other message of the store (replies, deliveries, reminders) first. */
  bulk?: boolean;
  /**
   * The sender's last word, asked once right before the first message of the batch goes on
   * the wire (after the channel's pacing): the broadcast ledger writes "sending" there, so
   * a crash leaves only the messages truly in flight in doubt. `false` (the sender lost its
   * claim) means do not send: the report says `failed` with detail `not-committed`. A
   * channel that paces nothing may call it at once; the outbox calls it for a channel
   * without `capabilities.commitsSends`.
   */
  committing?: () => Promise<boolean>;
}

/** What a channel can show. Flows check with `requireCapability`; the outbox refuses what cannot be shown. */
export interface ChannelCapabilities {
  /** Choices as buttons the user presses (else the user types the choice). */
  buttons: boolean;
  /** A sent message can be edited in place (paging a list). */
  messageEdits: boolean;
  /** Photos and documents, sent and received. */
  media: boolean;
  /** The longest text one message may carry; longer replies are split in order. */
  maxTextLength: number;
  /** The channel calls `SendOptions.committing` itself, after its pacing; else the outbox calls it before the send. */
  commitsSends?: boolean;
}

export type Capability = Exclude<keyof ChannelCapabilities, "maxTextLength" | "commitsSends">;

/** A flow asked a channel for something it cannot do. The user is told so politely; nothing is lost. */
export class NotSupportedOnChannel extends Error {
  override name = "NotSupportedOnChannel";
  constructor(
    readonly channel: string,
    readonly capability: Capability,
  ) {
    super(`the ${channel} channel has no ${capability}`);
  }
}

/** Throws `NotSupportedOnChannel` unless `channel` has `capability`. */
export function requireCapability(channel: Pick<Channel, "name" | "capabilities">, capability: Capability): void {
  if (!channel.capabilities[capability]) throw new NotSupportedOnChannel(channel.name, capability);
}

/** A store member added, re-roled, removed or joined: channels with per-member menus update them. */
export interface MembershipChange {
  tenantId: string;
  channel: string;
  userId: string;
}

/** What a channel's start or a sweep over the saved stores did, by store slug. */
export interface ChannelStoresReport {
  started: string[];
  stopped: string[];
  failed: { slug: string; reason: string }[];
  /** A sweep: how many saved stores it read (every store, or only those that changed). */
  checked?: number;
}

/** Fetching a file a user sent failed; `reason` says whether trying again can help. */
export class FileFetchError extends Error {
  override name = "FileFetchError";
  constructor(
    message: string,
    readonly reason: "too-large" | "not-found" | "store-unavailable" | "not-supported" | "failed",
  ) {
    super(message);
  }
}

/**
 * A channel: one per kind (Telegram, console, WhatsApp, Discord), serving every store that
 * uses it in this process.
 */
export interface Channel {
  /** As in `Inbound.channel` and `ChannelAddress.channel`. */
  readonly name: string;
  readonly capabilities: ChannelCapabilities;
  /** Starts serving every active store; a store that fails is reported, not thrown. */
  start(): Promise<ChannelStoresReport>;
  /**
   * Stops taking messages, lets turns and sends under way finish within `graceMs`, then
   * stops. Resolves `false` when the grace period ended first. Safe to call twice.
   */
  stop(graceMs: number): Promise<boolean>;
  /**
   * Makes the running stores follow what was saved (a new store, a suspension, new
   * credentials). `changes` says which stores changed since the last sweep (the platform's
   * store change feed, one answer for every channel): only those are read, plus what the
   * channel itself still has to retry. Without it, or with `{ all: true }`, every store is
   * read.
   */
  followStoreChanges(changes?: StoreChangeSet): Promise<ChannelStoresReport>;
  /**
   * Sends `outbounds` to one chat outside a turn, in order, within the channel's limits.
   * Never throws for what the user or the channel did: the report says what went out.
   */
  send(to: ChannelAddress, outbounds: readonly Outbound[], options?: SendOptions): Promise<SendReport>;
  /** The bytes of a file a user sent, by the channel's reference; `FileFetchError` when it cannot. */
  fetchFile(tenantId: string, fileRef: string, options: { maxBytes: number }): Promise<Buffer>;
  /**
   * Replaces a message this channel sent outside a turn (`messageId` from a `SendReport`)
   * with `outbound` (text and choices; no media): a progress message kept current.
   * Optional; channels without `capabilities.messageEdits` leave it out, and the outbox
   * then sends `outbound` as a new message. Never throws; paced like a proactive send.
   */
  edit?(to: ChannelAddress, messageId: string, outbound: Outbound, options?: Pick<SendOptions, "locale">): Promise<SendReport>;
  /** Hears that a member changed (their menu may change); optional. */
  membershipChanged?(change: MembershipChange): Promise<void>;
  /** HTTP routes the channel serves (webhooks), registered on the platform's server. */
  readonly routes?: FastifyPluginAsync;
}

/** Fetches a file a user sent, on whichever channel they sent it. */
export interface UserFiles {
  fetchFile(from: { tenantId: string; channel: string }, fileRef: string, options: { maxBytes: number }): Promise<Buffer>;
}

/** The channels running in this process, by name. */
export class Channels implements UserFiles, Iterable<Channel> {
  readonly #byName = new Map<string, Channel>();

  constructor(channels: Iterable<Channel> = []) {
    for (const channel of channels) this.add(channel);
  }

  add(channel: Channel): this {
    if (this.#byName.has(channel.name)) throw new Error(`a channel named "${channel.name}" is already registered`);
    this.#byName.set(channel.name, channel);
    return this;
  }

  get(name: string): Channel | undefined {
    return this.#byName.get(name);
  }

  [Symbol.iterator](): Iterator<Channel> {
    return this.#byName.values();
  }

  fetchFile(from: { tenantId: string; channel: string }, fileRef: string, options: { maxBytes: number }): Promise<Buffer> {
    const channel = this.#byName.get(from.channel);
    if (!channel) return Promise.reject(new FileFetchError(`no ${from.channel} channel runs in this process`, "not-supported"));
    if (!channel.capabilities.media) return Promise.reject(new FileFetchError(`the ${from.channel} channel carries no files`, "not-supported"));
    return channel.fetchFile(from.tenantId, fileRef, options);
  }

  async membershipChanged(change: MembershipChange): Promise<void> {
    await this.#byName.get(change.channel)?.membershipChanged?.(change);
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
