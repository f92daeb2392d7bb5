// Linking a store's WhatsApp number from the store's own bot: the owner asks in a chat, the
// link runs in this process (minutes: until the phone scans or the codes run out), and each
// QR code reaches the owner's chat as a new image through the outbox, then how it ended.
//
// The WhatsApp channel does the linking (`WhatsAppLinking` in adapters/whatsapp/contract.ts);
// flows may not import adapters, so this file names the part of it the store bot uses.
import QRCode from "qrcode";
import type { ChannelAddress } from "../engine/channel.ts";
import type { Outbound } from "../engine/message.ts";
import type { Outbox } from "../engine/outbox.ts";
import { displayPhone } from "./phone-numbers.ts";

/** What a link attempt shows and how it ends (the channel's `LinkEvent`). */
export type NumberLinkEvent =
  | { type: "qr"; qr: string; n: number }
  | { type: "pairing-code"; code: string }
  | { type: "linked"; phone: string; jid: string }
  | { type: "ended"; reason: "expired" | "cancelled" | "refused" | "busy" | "failed"; detail?: string };

/** A store's WhatsApp number as the store bot shows it (the channel's `WhatsAppStoreView`). */
export interface NumberView {
  status: "unlinked" | "linked" | "logged-out" | "restricted";
  phone?: string;
  connection: "open" | "connecting" | "closed" | "elsewhere" | "stopped";
  pace: "normal" | "warming-up" | "slowed" | "stopped";
}

/** The WhatsApp channel's linking, as the store bot uses it (`WhatsAppLinking`). */
export interface StoreNumberLinking {
  link(
    tenantId: string,
    options: { phone?: string; onEvent(event: NumberLinkEvent): void; signal?: AbortSignal },
  ): Promise<Extract<NumberLinkEvent, { type: "linked" | "ended" }>>;
  unlink(tenantId: string, by: string): Promise<void>;
  view(tenantId: string): Promise<NumberView>;
}

/** A QR code as a PNG a phone's camera reads from a chat photo. */
export function qrPng(qr: string): Promise<Buffer> {
  return QRCode.toBuffer(qr, { type: "png", errorCorrectionLevel: "M", margin: 4, width: 480 });
}

/** What the chat hears of one link event; the QR comes as an image. */
export async function linkEventMessage(event: NumberLinkEvent): Promise<Outbound> {
  switch (event.type) {
    case "qr":
      return {
        text: { key: "admin.whatsapp.link.qr", params: { n: event.n } },
        media: { type: "photo", ref: `whatsapp-qr-${event.n}.png`, fileName: `whatsapp-qr-${event.n}.png`, data: await qrPng(event.qr) },
      };
    case "pairing-code":
      return { text: { key: "admin.whatsapp.link.pairing_code", params: { code: event.code } } };
    case "linked":
      return { text: { key: "admin.whatsapp.link.linked", params: { phone: displayPhone(event.phone) } } };
    case "ended":
      return { text: { key: `admin.whatsapp.link.ended.${event.reason}` } };
  }
}

export interface LinkLog {
  warn(message: string, meta?: object): unknown;
}

/**
 * Links in the background and tells `chat` each code and the end. At most one link per store
 * runs in this process; `cancel` stops it. A message that cannot be sent is logged: the link
 * goes on (the next code may get through).
 */
export class ChatLinks {
  readonly #running = new Map<string, AbortController>();

  constructor(
    private readonly linking: () => StoreNumberLinking | undefined,
    private readonly outbox: Pick<Outbox, "send"> | undefined,
  ) {}

  /** The channel's linking, when this process runs WhatsApp and can send to chats. */
  service(): StoreNumberLinking | undefined {
    return this.outbox ? this.linking() : undefined;
  }

  isRunning(tenantId: string): boolean {
    return this.#running.has(tenantId);
  }

  cancel(tenantId: string): boolean {
    const running = this.#running.get(tenantId);
    running?.abort();
    return running !== undefined;
  }

  /** Starts a link whose codes go to `chat`; false when one already runs here, or linking is not wired. */
  start(chat: ChannelAddress, locale: "id" | "en", log: LinkLog, phone?: string): boolean {
    const linking = this.linking();
    const outbox = this.outbox;
    if (!linking || !outbox || this.#running.has(chat.tenantId)) return false;
    const abort = new AbortController();
    this.#running.set(chat.tenantId, abort);
    // Sends in order: a later code never overtakes an earlier one, nor the end its last code.
    let queue = Promise.resolve();
    const tell = (event: NumberLinkEvent) => {
      queue = queue.then(async () => {
        const report = await outbox.send(chat, [await linkEventMessage(event)], { locale });
        if (!report.ok) log.warn("a WhatsApp link message did not reach the chat", { event: event.type, reason: report.reason });
      }).catch((error: unknown) => void log.warn("a WhatsApp link message could not be made", { event: event.type, error: (error as Error).message }));
    };
    void linking
      .link(chat.tenantId, { ...(phone !== undefined && { phone }), signal: abort.signal, onEvent: (event) => event.type === "qr" || event.type === "pairing-code" ? tell(event) : undefined })
      .catch((error: unknown): NumberLinkEvent => ({ type: "ended", reason: "failed", detail: (error as Error).message }))
      .then((end) => {
        if (end.type === "ended" && end.detail) log.warn("WhatsApp link ended", { reason: end.reason, detail: end.detail });
        tell(end);
        return queue;
      })
      .finally(() => this.#running.delete(chat.tenantId));
    return true;
  }
}
