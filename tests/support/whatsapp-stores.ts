// Stores with a linked WhatsApp number for end-to-end tests against `niaga start`: the
// number's device linked at the local WhatsApp Web, its creds saved in the store's session
// storage (sealed as the platform seals them), and customers' chats read as a phone shows them.
import assert from "node:assert/strict";
import type { Types } from "mongoose";
import { Tenant } from "../../storage/models/index.ts";
import { createMongoWhatsAppSessionStore } from "../../storage/whatsapp/auth-state.ts";
import type { LocalWhatsAppWeb, ReceivedMessage, WhatsAppCustomer } from "./whatsapp-web/index.ts";
import { eventually } from "./eventually.ts";

/** Replies through a paced child process on a busy machine: generous, never a sleep. */
export const WHATSAPP_REPLY_MS = 30_000;

/**
 * Links `phone` to the store as `niaga whatsapp link` would leave it: a device linked at the
 * local WhatsApp Web, its creds in the session storage, the tenant marked `linked`. The
 * number counts as linked a month ago, so it sends at the normal pace rather than the slower
 * one of new numbers.
 */
export async function linkStoreNumber(wa: LocalWhatsAppWeb, tenantId: Types.ObjectId | string, phone: string): Promise<void> {
  // Epoch 0 is below any lease's: the first instance that owns the session takes these records over.
  const { state, saveCreds, settled } = await createMongoWhatsAppSessionStore().open({ tenantId: String(tenantId), epoch: 0 });
  Object.assign(state.creds, wa.linkedCreds(phone));
  // The channel marks a linked device registered once its socket opens (rc14 itself sets it only for pairing codes).
  state.creds.registered = true;
  await saveCreds();
  await settled();
  const linkedAt = new Date(Date.now() - 30 * 24 * 60 * 60_000);
  await Tenant.updateOne(
    { _id: tenantId },
    { $set: { "channels.whatsapp.status": "linked", "channels.whatsapp.phone": phone, "channels.whatsapp.linkedAt": linkedAt, "channels.whatsapp.statusAt": linkedAt } },
  ).exec();
}

/**
 * The settings every `niaga start` of these tests gets: the local WhatsApp Web, its media
 * server's certificate trusted, and a quick pace (the pace itself is tested elsewhere).
 */
export function whatsappEnv(wa: LocalWhatsAppWeb): Record<string, string> {
  return {
    WHATSAPP_WEB_URL: wa.url,
    NODE_EXTRA_CA_CERTS: wa.caCertPath,
    WHATSAPP_GAP_MS: "50-150",
    WHATSAPP_TYPING_MS: "0-50",
    WHATSAPP_TYPING_MS_PER_CHAR: "0",
  };
}

/** What a message shows on the customer's phone: its text or caption. */
export function shown(message: ReceivedMessage): string {
  return message.text ?? message.caption ?? "";
}

/** The number to type for `label` in a numbered list (`2. Katalog`). */
export function numberOf(message: ReceivedMessage, label: string): string {
  const line = shown(message).split("\n").find((l) => l.replace(/^\d+\.\s/, "") === label && /^\d+\.\s/.test(l));
  if (!line) throw new Error(`no choice "${label}" in:\n${shown(message)}`);
  return line.slice(0, line.indexOf("."));
}

/**
 * A customer's chat with one store number, read in order: each `expect` takes the next
 * message (after the ones already taken) that matches, waiting for it.
 */
export class WhatsAppChat {
  /** Where the next `expect` starts looking. */
  #taken = 0;
  /** The message the last `expect` returned, while nothing was sent since: a list in it can still be answered. */
  #last = -1;

  constructor(
    readonly customer: WhatsAppCustomer,
    readonly storePhone: string,
  ) {}

  get received(): ReceivedMessage[] {
    return this.customer.received();
  }

  /** Sends a text; later `expect`s look only at what arrives from here on. */
  async say(text: string): Promise<void> {
    this.#taken = this.received.length;
    this.#last = -1;
    await this.customer.sendText(this.storePhone, text);
  }

  async sendImage(bytes: Buffer, caption?: string): Promise<void> {
    this.#taken = this.received.length;
    this.#last = -1;
    await this.customer.sendImage(this.storePhone, bytes, caption);
  }

  async sendDocument(bytes: Buffer, fileName: string, mimetype: string): Promise<void> {
    this.#taken = this.received.length;
    this.#last = -1;
    await this.customer.sendDocument(this.storePhone, bytes, fileName, mimetype);
  }

  /** The next message whose text or caption starts with `start` (or matches the predicate). */
  async expect(start: string | ((m: ReceivedMessage) => boolean), timeoutMs = WHATSAPP_REPLY_MS): Promise<ReceivedMessage> {
    const matches = typeof start === "string" ? (m: ReceivedMessage) => shown(m).startsWith(start) : start;
    const what = typeof start === "string" ? `a message starting "${start.slice(0, 80)}"` : "a matching message";
    const from = this.#taken;
    const index = await eventually(() => {
      const at = this.received.findIndex((m, i) => i >= from && matches(m));
      return at >= 0 ? at + 1 : undefined;
    }, `${what} to ${this.customer.phone}`, { timeoutMs }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; after message ${from} it got:\n${this.received.slice(from).map(shown).join("\n---\n")}`);
    });
    this.#taken = index;
    this.#last = index - 1;
    return this.received[index - 1];
  }

  /** Waits for a list offering `label` (the message just expected counts) and answers it by number. */
  async choose(label: string, timeoutMs = WHATSAPP_REPLY_MS): Promise<void> {
    const offers = (m: ReceivedMessage) => shown(m).split("\n").some((l) => /^\d+\.\s/.test(l) && l.replace(/^\d+\.\s/, "") === label);
    const last = this.#last >= 0 ? this.received[this.#last] : undefined;
    const list = last && offers(last) ? last : await this.expect(offers, timeoutMs);
    await this.say(numberOf(list, label));
  }

  /** How many messages the customer got whose text or caption contains `fragment`. */
  count(fragment: string): number {
    return this.received.filter((m) => shown(m).includes(fragment)).length;
  }

  /** Lets whatever is still on its way arrive, then proves a round trip: `/start` answered with `welcome`. */
  async settle(welcome: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await this.say("/start");
    await this.expect(welcome);
    assert.ok(this.received.length > 0);
  }
}
