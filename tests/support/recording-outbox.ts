// A real `Outbox` over a channel that only records: for tests of whatever sends outside a
// turn (deliveries, seller alerts, reminders) without a Telegram or a terminal behind it.
// And a recorder that any outbox can wear, to see what went through it.
import { FileFetchError, notSent, Channels, Outbox } from "../../flows/engine/index.ts";
import type { Channel, ChannelAddress, ChannelCapabilities, ChannelStoresReport, Locale, Outbound, OutboxMiddleware, SendFailureReason, SendOptions, SendReport } from "../../flows/engine/index.ts";

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

export interface RecordingSetup {
  outbox: Outbox;
  channels: Channels;
  channel: RecordingChannel;
  recorder: OutboxRecorder;
}

/** A real outbox whose one channel (named `channel`, "telegram" unless given) records, with a recorder on. */
export function recordingOutbox({ channel = "telegram", capabilities = {} }: { channel?: string; capabilities?: Partial<ChannelCapabilities> } = {}): RecordingSetup {
  const recording = new RecordingChannel(channel, capabilities);
  const channels = new Channels([recording]);
  const recorder = new OutboxRecorder();
  const outbox = new Outbox(channels).use(recorder.middleware);
  return { outbox, channels, channel: recording, recorder };
}

// An outbox that is itself the recording channel, for domain tests (ordering, sellers'
// alerts, jobs) that read what was told to whom by text key and order code:
//
// ```ts
// const outbox = new RecordingOutbox();
// const ordering = createOrdering({ outbox, gateways });
// assert.equal(outbox.deliveries(order.code).length, 1);
// outbox.failNext = 1;                              // the next send bounces ("blocked")
// ```

export interface RecordedMessage {
  to: ChannelAddress;
  message: Outbound;
  locale?: Locale;
}

/** Why a send the test made fail did not go out, as a channel would report it. */
export interface RecordedRefusal {
  reason: NonNullable<SendReport["reason"]>;
  detail?: string;
}

export class RecordingOutbox extends Outbox {
  readonly sent: RecordedMessage[] = [];
  /** Makes the next sends fail with `failWith` instead of recording. */
  failNext = 0;
  failWith: (message: Outbound) => RecordedRefusal = () => ({ reason: "blocked", detail: "403: Forbidden: bot was blocked by the user" });

  constructor() {
    // The channel calls back into this outbox, which exists only once `super` returned.
    const recorder: { outbox?: RecordingOutbox } = {};
    const channel = (name: string): Channel => ({
      name,
      capabilities: { buttons: true, messageEdits: true, media: true, maxTextLength: 4096 },
      start: () => Promise.resolve({ started: [], stopped: [], failed: [] }),
      stop: () => Promise.resolve(true),
      followStoreChanges: () => Promise.resolve({ started: [], stopped: [], failed: [] }),
      send: (to, outbounds, options = {}) => recorder.outbox!.deliver(to, outbounds, options),
      fetchFile: () => Promise.reject(new Error("the recording channel holds no files")),
    });
    super({ get: channel });
    recorder.outbox = this;
  }

  /** What the recording channel does with a batch; override to hold or script sends. */
  protected async deliver(to: ChannelAddress, outbounds: readonly Outbound[], options: SendOptions): Promise<SendReport> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failNext > 0) {
      this.failNext--;
      const refusal = this.failWith(outbounds[0]);
      return notSent(outbounds.length, refusal.reason, refusal.detail);
    }
    return this.record(to, outbounds, options);
  }

  /** Records a batch as sent and reports it so. */
  protected record(to: ChannelAddress, outbounds: readonly Outbound[], options: SendOptions): SendReport {
    for (const message of outbounds) this.sent.push({ to, message, ...(options.locale && { locale: options.locale }) });
    return { ok: true, sent: outbounds.length, messages: outbounds.map(() => ({ status: "sent", messageIds: [`recorded-${this.sent.length}`] })) };
  }

  /** The delivery messages (the goods) for an order code. */
  deliveries(code?: string): RecordedMessage[] {
    return this.withKey("ordering.delivery", code);
  }

  /** The messages of one text key, for an order code when given. */
  withKey(key: string, code?: string): RecordedMessage[] {
    return this.sent.filter((m) => "key" in m.message.text && m.message.text.key === key && (code === undefined || m.message.text.params?.code === code));
  }

  /** Every stock payload delivered, in order, across all delivery messages. */
  deliveredPayloads(): string[] {
    return this.deliveries().flatMap((m) => String(m.message.text.params?.items ?? "").match(/SECRET-[\w-]+/g) ?? []);
  }
}
