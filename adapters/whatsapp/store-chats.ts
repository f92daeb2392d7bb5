/**
 * One store's WhatsApp chats: customers' messages into engine turns, and the store's
 * messages (turn replies and outbox sends alike) out through one paced send path.
 *
 * Inbound: `messages.upsert` of type `notify` (live) and `append` (queued while the
 * socket was offline), never our own echoes (`fromMe`) nor `append`s older than
 * `maxAppendAgeMs`. Each message is claimed once in the message log before its turn (also
 * across restarts and instances), so a redelivered message is dropped; the price is that a
 * crash in the middle of a turn leaves that one message unanswered rather than answered
 * twice. Messages of one customer are handled strictly in order; the customer's stable id
 * (`WhatsAppIdentities`, covering LID and phone-number addressing) is the engine's `chatId`
 * and `user.id`, so a member's `Member.userId` on WhatsApp is that id.
 *
 * Outbound: see `send`.
 */
import { generateMessageIDV2, isLidUser, isPnUser } from "baileys";
import type { AnyMessageContent, BaileysEventMap, WAMessage, WASocket } from "baileys";
import { createHash } from "node:crypto";
import { ChatQueue, newErrorId, NOT_COMMITTED, notSent } from "../../flows/engine/index.ts";
import type { Engine, EngineLog, InboundMessage, Locale, Outbound, SendFailureReason, SendOptions, SendReport, SentOutbound } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";
import { Customer } from "../../storage/models/index.ts";
import type { WhatsAppIdentities, WhatsAppMessageLog } from "../../storage/whatsapp/types.ts";
import { WHATSAPP_CHANNEL } from "./contract.ts";
import { SendHeld } from "./pacing.ts";
import type { NumberPacer } from "./pacing.ts";
import { restrictionSignOf } from "./restriction.ts";
import type { SessionTenant } from "./store-sessions.ts";
import { describe, statusCodeOf } from "./store-session.ts";

/** What the chats need from the message conversions (`messages.ts`). */
export interface ChatMessageParts {
  /** A received message as the engine's input (`lastPrompt`: the last choices shown in the chat); undefined when the platform does not read that kind. */
  inboundOf(message: WAMessage, lastPrompt: Outbound | undefined, locale: Locale, tenantId: string): InboundMessage | undefined;
  /** The WhatsApp messages one `Outbound` becomes, in order (long texts split, choices numbered). */
  contentsOf(outbound: Outbound, locale: Locale, tenantId: string): Promise<AnyMessageContent[]>;
  /** A batch went out to a chat: its last message with choices is the chat's prompt now (none: no prompt). */
  sent(tenantId: string, chatId: string, outbounds: readonly Outbound[]): void;
  lastPrompt(tenantId: string, chatId: string): Outbound | undefined;
}

export interface StoreChatsOptions {
  tenant: SessionTenant;
  engine: Engine;
  identities: WhatsAppIdentities;
  messages: WhatsAppMessageLog;
  parts: ChatMessageParts;
  /** The process's pacer: one send at a time per number, restriction signs watched. */
  pacer: NumberPacer;
  /** The open socket, or why there is none (`store-unavailable` detail). */
  socket(): WASocket | string;
  log: EngineLog;
  /** `append` messages older than this are not answered. Default 24 h. */
  maxAppendAgeMs?: number;
  /** How long a retried batch keeps the message ids of its first try. Default 30 min. */
  retryIdsForMs?: number;
}

const DAY_MS = 24 * 60 * 60_000;

/** A batch that did not fully go out, by (chat, contents): its ids, for a retry of the same batch. */
interface UnfinishedBatch {
  ids: string[][];
  at: number;
}

export class StoreChats {
  readonly tenant: SessionTenant;
  readonly #options: StoreChatsOptions;
  readonly #log: EngineLog;
  readonly #chats = new ChatQueue();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #unfinished = new Map<string, UnfinishedBatch>();
  #closing = false;

  constructor(options: StoreChatsOptions) {
    this.tenant = options.tenant;
    this.#options = options;
    this.#log = options.log;
  }

  /** Installs the listeners on a new socket. */
  attach(socket: WASocket): void {
    socket.ev.on("messages.upsert", (upsert) => this.#received(socket, upsert));
    socket.ev.on("messages.update", (updates) => void this.#receipts(updates));
    socket.ev.on("lid-mapping.update", ({ lid, pn }) => {
      this.#options.identities.link(this.tenant.id, lid, pn).catch((error: unknown) => {
        this.#log.warn("whatsapp LID mapping not saved", { tenant: this.tenant.slug, error: describe(error) });
      });
    });
  }

  /** Stops taking messages and waits for the turns under way. */
  async close(): Promise<void> {
    this.#closing = true;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  // ---------------------------------------------------------------- inbound

  #received(socket: WASocket, { messages, type }: BaileysEventMap["messages.upsert"]): void {
    if (type !== "notify" && type !== "append") return;
    const oldest = Date.now() - (this.#options.maxAppendAgeMs ?? DAY_MS);
    // A receipt that arrives while Baileys still handles the echo of our own send is folded
    // into that echo (its `status`) instead of coming as `messages.update`: read it there too.
    const echoed = messages.filter((m) => m.key.fromMe && typeof m.status === "number" && m.status !== 1 && m.status !== 2);
    if (echoed.length > 0) void this.#receipts(echoed.map((m) => ({ key: m.key, update: { status: m.status, messageStubParameters: m.messageStubParameters } })));
    for (const message of messages) {
      const { key } = message;
      if (key.fromMe || !key.id || !key.remoteJid) continue;
      if (!isPnUser(key.remoteJid) && !isLidUser(key.remoteJid)) continue;
      if (type === "append" && sentAt(message) < oldest) continue;
      if (this.#closing) return;
      const work = this.#chats.run(key.remoteJid, () => this.#handleOnce(socket, message));
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    }
  }

  async #handleOnce(socket: WASocket, message: WAMessage): Promise<void> {
    const { key } = message;
    const replyTo = key.remoteJid!;
    try {
      if (!(await this.#options.messages.claimInbound(this.tenant.id, key.id!))) return;
    } catch (error) {
      // Unclaimed, so a redelivery (or the next start's offline batch) can still answer it.
      this.#log.error("whatsapp message not claimed; left for a redelivery", { tenant: this.tenant.slug, error: describe(error) });
      return;
    }
    let locale = this.tenant.locale;
    try {
      const customerId = await this.#options.identities.resolve(this.tenant.id, addressesOf(message), replyTo);
      const name = (message.pushName ?? "").trim().slice(0, 128);
      locale = (await this.#seen(customerId, name)) ?? this.tenant.locale;
      const inbound = this.#options.parts.inboundOf(message, this.#options.parts.lastPrompt(this.tenant.id, customerId), locale, this.tenant.id);
      if (!inbound) {
        await this.#sendTexts(socket, replyTo, [t(locale, "whatsapp.unsupported_message")]);
        return;
      }
      await this.#options.engine.handle(
        {
          tenant: { id: this.tenant.id, slug: this.tenant.slug, name: this.tenant.name },
          channel: WHATSAPP_CHANNEL,
          chatId: customerId,
          user: { id: customerId, ...(name !== "" && { name }) },
          locale,
          message: inbound,
        },
        async (replies) => {
          const report = await this.send(customerId, replies, locale);
          if (!report.ok) this.#log.warn("whatsapp reply not sent", { tenant: this.tenant.slug, reason: report.reason, detail: report.detail });
        },
      );
    } catch (error) {
      const errorId = newErrorId();
      this.#log.error("whatsapp message could not be answered", { tenant: this.tenant.slug, errorId, error: describe(error) });
      await this.#sendTexts(socket, replyTo, [t(locale, "common.error_apology", { errorId })]).catch(() => undefined);
    }
  }

  /** Records that the customer wrote; their chosen language, if any. */
  async #seen(customerId: string, name: string): Promise<Locale | undefined> {
    const view = await Customer.findOneAndUpdate(
      { tenantId: this.tenant.id, channel: WHATSAPP_CHANNEL, channelUserId: customerId },
      { $set: { lastSeenAt: new Date(), ...(name !== "" && { displayName: name }) } },
      { upsert: true, returnDocument: "after", projection: { _id: 0, locale: 1 } },
    ).lean<{ locale?: string | null }>().exec();
    return view?.locale === "id" || view?.locale === "en" ? view.locale : undefined;
  }

  /** The language the customer chose in this store, if they did. */
  async chosenLocale(customerId: string): Promise<Locale | undefined> {
    const view = await Customer.findOne({ tenantId: this.tenant.id, channel: WHATSAPP_CHANNEL, channelUserId: customerId }, { _id: 0, locale: 1 })
      .lean<{ locale?: string | null }>().exec();
    return view?.locale === "id" || view?.locale === "en" ? view.locale : undefined;
  }

  async #receipts(updates: BaileysEventMap["messages.update"]): Promise<void> {
    for (const { key, update } of updates) {
      if (!key.fromMe || !key.id || typeof update.status !== "number") continue;
      if (update.status === 0) {
        const sign = restrictionSignOf(String(update.messageStubParameters?.[0] ?? ""));
        if (sign) this.#options.pacer.watch.sign(this.tenant.id, sign);
        continue;
      }
      const status = update.status >= 4 ? "read" : update.status === 3 ? "delivered" : undefined;
      if (!status) continue;
      await this.#options.messages.recordReceipt(this.tenant.id, key.id, status, new Date()).catch((error: unknown) => {
        this.#log.warn("whatsapp receipt not recorded", { tenant: this.tenant.slug, error: describe(error) });
      });
    }
  }

  // ---------------------------------------------------------------- outbound

  /**
   * Sends `outbounds` to a customer by their stable id, in order, each WhatsApp message
   * paced (`ChatPace`) with its id fixed before it goes. A batch that stops part-way keeps
   * its ids for `retryIdsForMs`: the same batch to the same chat again (the outbox's retry,
   * the delivery job) reuses them and skips the messages already sent, so a retry cannot
   * duplicate what went out; a batch that fully went out is forgotten, so the same text
   * sent later on purpose is a new message. `committing` is asked once, when the number's
   * pacer lets the batch's first message go (after its pause and typing); a no sends
   * nothing. Never rejects.
   */
  send(customerId: string, outbounds: readonly Outbound[], locale: Locale, options: Pick<SendOptions, "bulk" | "committing"> = {}): Promise<SendReport> {
    if (this.#closing) return Promise.resolve(notSent(outbounds.length, "shutting-down"));
    return this.#chats.run(`out:${customerId}`, () => this.#sendBatch(customerId, outbounds, locale, options)).catch((error: unknown) => {
      this.#log.error("whatsapp send failed", { tenant: this.tenant.slug, error: describe(error) });
      return notSent(outbounds.length, "failed", describe(error));
    });
  }

  async #sendBatch(customerId: string, outbounds: readonly Outbound[], locale: Locale, { bulk = false, committing }: Pick<SendOptions, "bulk" | "committing">): Promise<SendReport> {
    const socket = this.#options.socket();
    if (typeof socket === "string") return notSent(outbounds.length, "store-unavailable", socket);
    const jid = await this.#options.identities.replyJid(this.tenant.id, customerId);
    if (!jid) return notSent(outbounds.length, "unreachable", "this customer never wrote to the store's number");
    const contents = await Promise.all(outbounds.map((outbound) => this.#options.parts.contentsOf(outbound, locale, this.tenant.id)));
    const batchKey = batchKeyOf(customerId, contents);
    const now = Date.now();
    this.#forgetOld(now);
    const ids = this.#unfinished.get(batchKey)?.ids ?? contents.map((parts) => parts.map(() => generateMessageIDV2(socket.user?.id)));
    this.#unfinished.set(batchKey, { ids, at: now });
    const messages: SentOutbound[] = [];
    let committed: Promise<boolean> | undefined;
    const commit = committing && (() => (committed ??= committing()));
    let stop: { reason: SendFailureReason; detail: string; retryAfterSec?: number } | undefined;
    for (const [i, parts] of contents.entries()) {
      if (stop) {
        messages.push({ status: "skipped", messageIds: [] });
        continue;
      }
      const sentIds: string[] = [];
      for (const [j, content] of parts.entries()) {
        const messageId = ids[i][j];
        if (await this.#alreadySent(messageId)) {
          sentIds.push(messageId);
          continue;
        }
        const failure = await this.#sendOne(socket, jid, content, messageId, { bulk, ...(commit && { commit }) });
        if (failure) {
          stop = failure;
          break;
        }
        sentIds.push(messageId);
      }
      messages.push(stop ? { status: "failed", messageIds: sentIds, reason: stop.reason, detail: stop.detail } : { status: "sent", messageIds: sentIds });
    }
    this.#options.parts.sent(this.tenant.id, customerId, outbounds.slice(0, messages.filter((m) => m.status === "sent").length));
    if (!stop) this.#unfinished.delete(batchKey);
    const sent = messages.filter((m) => m.status === "sent").length;
    return {
      ok: !stop,
      sent,
      ...(stop && { reason: stop.reason, detail: stop.detail }),
      ...(stop?.retryAfterSec !== undefined && { retryAfterSec: stop.retryAfterSec }),
      messages,
    };
  }

  async #alreadySent(messageId: string): Promise<boolean> {
    return (await this.#options.messages.sentMessage(this.tenant.id, messageId).catch(() => undefined)) !== undefined;
  }

  async #sendOne(
    socket: WASocket, jid: string, content: AnyMessageContent, messageId: string, { bulk = false, commit }: { bulk?: boolean; commit?: () => Promise<boolean> } = {},
  ): Promise<{ reason: SendFailureReason; detail: string; retryAfterSec?: number } | undefined> {
    const text = "text" in content ? content.text : "caption" in content ? content.caption : undefined;
    try {
      const sent = await this.#options.pacer.schedule(this.tenant.id, {
        jid, textLength: typeof text === "string" ? text.length : 0, bulk,
        send: async () => {
          if (commit && !(await commit())) throw new NotCommittedError();
          return socket.sendMessage(jid, content, { messageId });
        },
      });
      if (sent?.message) await this.#options.messages.rememberSent(this.tenant.id, messageId, jid, sent.message);
      return undefined;
    } catch (error) {
      const failure = failureOf(error);
      this.#log.warn("whatsapp message not sent", { tenant: this.tenant.slug, reason: failure.reason, detail: failure.detail });
      return failure;
    }
  }

  /** Plain texts straight to a JID (an apology, "not understood"), paced like the rest. */
  async #sendTexts(socket: WASocket, jid: string, texts: string[]): Promise<void> {
    for (const text of texts) {
      const messageId = generateMessageIDV2(socket.user?.id);
      const failure = await this.#sendOne(socket, jid, { text }, messageId);
      if (failure) throw new Error(failure.detail);
    }
  }

  #forgetOld(now: number): void {
    const keepMs = this.#options.retryIdsForMs ?? 30 * 60_000;
    for (const [key, batch] of this.#unfinished) if (now - batch.at > keepMs) this.#unfinished.delete(key);
  }
}

/** The message's time in ms (Baileys gives seconds, as a number or a Long). */
function sentAt(message: WAMessage): number {
  const ts = message.messageTimestamp;
  const seconds = typeof ts === "number" ? ts : ts ? Number(ts.toString()) : 0;
  return seconds * 1000;
}

/** The sender's addresses: the LID and the phone-number form, whichever came as which. */
function addressesOf(message: WAMessage): { lid?: string; pn?: string } {
  const { remoteJid, remoteJidAlt } = message.key;
  const out: { lid?: string; pn?: string } = {};
  for (const jid of [remoteJid, remoteJidAlt]) {
    if (!jid) continue;
    if (isLidUser(jid)) out.lid ??= jid;
    else if (isPnUser(jid)) out.pn ??= jid;
  }
  return out;
}

function batchKeyOf(customerId: string, contents: AnyMessageContent[][]): string {
  const hash = createHash("sha256").update(customerId);
  for (const parts of contents) for (const content of parts) hash.update(JSON.stringify(content, (_, value: unknown) => (Buffer.isBuffer(value) ? createHash("sha256").update(value).digest("hex") : value)));
  return hash.digest("hex");
}

/** The batch's sender said not to send it (it lost its claim): nothing went out. */
class NotCommittedError extends Error {
  override name = "NotCommittedError";
}

/** A failed `sendMessage` as the channel contract's reason. */
export function failureOf(error: unknown): { reason: SendFailureReason; detail: string; retryAfterSec?: number } {
  if (error instanceof NotCommittedError) return { reason: "failed", detail: NOT_COMMITTED };
  if (error instanceof SendHeld) return { reason: error.reason, detail: error.message, ...(error.retryAfterSec !== undefined && { retryAfterSec: error.retryAfterSec }) };
  const code = statusCodeOf(error);
  const detail = describe(error);
  if (code === 429) return { reason: "rate-limited", detail, retryAfterSec: 60 };
  if (code === 401 || code === 440 || /connection closed|not open/i.test(detail)) return { reason: "store-unavailable", detail };
  if (code === 400 || code === 406 || code === 404) return { reason: "rejected", detail };
  if (code === 403 || code === 463) return { reason: "blocked", detail };
  return { reason: "failed", detail };
}
