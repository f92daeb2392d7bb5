// A real `Outbox` over a channel that only records: for tests of whatever sends outside a
// turn (deliveries, seller alerts, reminders) without a Telegram or a terminal behind it.
// And a recorder that any outbox can wear, to see what went through it.
import { FileFetchError, notSent, Channels } from "../../flows/engine/channel.ts";
import type { Channel, ChannelAddress, ChannelCapabilities, ChannelStoresReport, SendFailureReason, SendOptions, SendReport } from "../../flows/engine/channel.ts";
import type { Outbound } from "../../flows/engine/message.ts";
import { Outbox, type OutboxMiddleware } from "../../flows/engine/outbox.ts";

export interface RecordedSend {
  to: ChannelAddress;
  outbounds: readonly Outbound[];
  options: SendOptions;
  report: SendReport;
}

type Chat = Pick<ChannelAddress, "tenantId" | "chatId">;
const chatKey = (chat: Chat) => `${chat.tenantId}/${chat.chatId}`;

/** The i18n key of an outbound's text, or `undefined` for inline text. */
export function textKey(outbound: Outbound): string | undefined {
  return "key" in outbound.text ? outbound.text.key : undefined;
}

/** What a list of sends carried, with ways to pick the messages out. */
class SendLog {
  readonly sends: RecordedSend[] = [];

  /** Every message that went out, in order, with its address. */
  delivered(to?: Chat): { to: ChannelAddress; outbound: Outbound }[] {
    return this.sends
      .filter((s) => !to || chatKey(s.to) === chatKey(to))
      .flatMap((s) => s.outbounds.slice(0, s.report.sent).map((outbound) => ({ to: s.to, outbound })));
  }

  /** The messages that went out with the text `key`, and the order `code` when given. */
  withKey(key: string, code?: string): { to: ChannelAddress; outbound: Outbound }[] {
    return this.delivered().filter(({ outbound }) => textKey(outbound) === key && (code === undefined || ("key" in outbound.text && outbound.text.params?.code === code)));
  }
}

/**
 * A channel that sends nothing anywhere: it records each send, answers for the addresses it
 * was told to fail (`failFor(chat, "blocked")`), and serves the files it was handed.
 */
export class RecordingChannel extends SendLog implements Channel {
  readonly name: string;
  readonly capabilities: ChannelCapabilities;
  readonly #failures = new Map<string, SendFailureReason>();
  readonly #files = new Map<string, Buffer>();
  #stopped = false;

  constructor(name = "recording", capabilities: Partial<ChannelCapabilities> = {}) {
    super();
    this.name = name;
    this.capabilities = { buttons: true, messageEdits: true, media: true, maxTextLength: 4096, ...capabilities };
  }

  /** Every later send to `chat` fails with `reason`, until `recoverFor(chat)`. */
  failFor(chat: Chat, reason: SendFailureReason): this {
    this.#failures.set(chatKey(chat), reason);
    return this;
  }

  recoverFor(chat: Chat): this {
    this.#failures.delete(chatKey(chat));
    return this;
  }

  /** Makes `fetchFile(tenantId, fileRef)` answer with `bytes`. */
  holdFile(tenantId: string, fileRef: string, bytes: Buffer): this {
    this.#files.set(`${tenantId}/${fileRef}`, bytes);
    return this;
  }

  start(): Promise<ChannelStoresReport> {
    this.#stopped = false;
    return Promise.resolve({ started: [], stopped: [], failed: [] });
  }

  stop(): Promise<boolean> {
    this.#stopped = true;
    return Promise.resolve(true);
  }

  followStoreChanges(): Promise<ChannelStoresReport> {
    return Promise.resolve({ started: [], stopped: [], failed: [] });
  }

  send(to: ChannelAddress, outbounds: readonly Outbound[], options: SendOptions = {}): Promise<SendReport> {
    const reason = this.#stopped ? "shutting-down" : this.#failures.get(chatKey(to));
    const report: SendReport = reason
      ? notSent(outbounds.length, reason, `told to fail with ${reason}`)
      : { ok: true, sent: outbounds.length, messages: outbounds.map((_, i) => ({ status: "sent", messageIds: [`${this.sends.length + 1}.${i + 1}`] })) };
    this.sends.push({ to, outbounds, options, report });
    return Promise.resolve(report);
  }

  fetchFile(tenantId: string, fileRef: string, { maxBytes }: { maxBytes: number }): Promise<Buffer> {
    const bytes = this.#files.get(`${tenantId}/${fileRef}`);
    if (!bytes) return Promise.reject(new FileFetchError(`no file ${fileRef} was handed to the recording channel`, "not-found"));
    if (bytes.length > maxBytes) return Promise.reject(new FileFetchError(`the file is ${bytes.length} bytes; at most ${maxBytes} are accepted`, "too-large"));
    return Promise.resolve(bytes);
  }
}

/**
 * Records every send that passes through an outbox, with the report it got:
 *
 * ```ts
 * const recorder = new OutboxRecorder();
 * outbox.use(recorder.middleware);
 * await ordering.approvePayment(tenantId, code, seller);
 * assert.equal(recorder.withKey("ordering.delivery", code).length, 1);
 * ```
 */
export class OutboxRecorder extends SendLog {
  readonly middleware: OutboxMiddleware = async (next, to, outbounds, options) => {
    const report = await next(to, outbounds, options);
    this.sends.push({ to, outbounds, options, report });
    return report;
  };
}

export interface RecordingOutbox {
  outbox: Outbox;
  channels: Channels;
  channel: RecordingChannel;
  recorder: OutboxRecorder;
}

/** A real outbox whose one channel (named `channel`, "telegram" unless given) records, with a recorder on. */
export function recordingOutbox({ channel = "telegram", capabilities = {} }: { channel?: string; capabilities?: Partial<ChannelCapabilities> } = {}): RecordingOutbox {
  const recording = new RecordingChannel(channel, capabilities);
  const channels = new Channels([recording]);
  const recorder = new OutboxRecorder();
  const outbox = new Outbox(channels).use(recorder.middleware);
  return { outbox, channels, channel: recording, recorder };
}
