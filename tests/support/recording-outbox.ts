// A real `Outbox` over a channel that records instead of sending: what ordering, the
// sellers' alerts and the jobs told whom, for tests to read. It answers for every channel
// name, so a test's customers may be on "console", "telegram" or anything else.
//
// ```ts
// const outbox = new RecordingOutbox();
// const ordering = createOrdering({ outbox, gateways });
// …
// assert.equal(outbox.deliveries(order.code).length, 1);
// outbox.failNext = 1;                              // the next send bounces ("blocked")
// const patient = new RecordingOutbox().use(withTimeout(30));
// ```
import { notSent, Outbox } from "../../flows/engine/index.ts";
import type { Channel, ChannelAddress, Locale, Outbound, SendOptions, SendReport } from "../../flows/engine/index.ts";

export interface RecordedSend {
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
  readonly sent: RecordedSend[] = [];
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
  deliveries(code?: string): RecordedSend[] {
    return this.withKey("ordering.delivery", code);
  }

  /** The messages of one text key, for an order code when given. */
  withKey(key: string, code?: string): RecordedSend[] {
    return this.sent.filter((m) => "key" in m.message.text && m.message.text.key === key && (code === undefined || m.message.text.params?.code === code));
  }

  /** Every stock payload delivered, in order, across all delivery messages. */
  deliveredPayloads(): string[] {
    return this.deliveries().flatMap((m) => String(m.message.text.params?.items ?? "").match(/SECRET-[\w-]+/g) ?? []);
  }
}
