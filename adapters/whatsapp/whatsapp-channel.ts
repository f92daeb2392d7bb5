/**
 * WhatsApp as a channel of the platform: every linked store's session (`StoreSessions`),
 * its chats (`StoreChats`) and linking, behind the engine's `Channel` contract and
 * `WhatsAppLinking`.
 *
 * ```ts
 * const whatsapp = new WhatsAppChannel({ engine, leases, store, messages, identities, paceFor, socket: { webSocketUrl }, events, log });
 * await whatsapp.start();                                   // every linked store this instance can own
 * await whatsapp.link(tenantId, { onEvent: showQr });       // QR codes, then linked
 * await outbox.send({ tenantId, channel: "whatsapp", chatId: customerId }, [notice]);
 * await whatsapp.stop(10_000);
 * ```
 *
 * A send for a store whose session another instance owns cannot be forwarded (instances
 * share no bus): it is reported `store-unavailable` with the detail "owned by <holder>", and
 * the outbox's caller retries later as for any unavailable store.
 *
 * Capabilities: no buttons or edits (rc14 cannot show buttons to ordinary accounts; choices
 * are numbered lists), media both ways, and 4000 characters a message — WhatsApp accepts
 * longer texts (about 65 000), but a phone shows a "read more" fold after a few hundred
 * and long messages are a spam signal; 4000 keeps the platform's texts (terms, a list of
 * goods) whole in most cases while splitting what would be a wall.
 */
import { quietLibsignal } from "./libsignal-console.ts";
import { downloadMediaMessage } from "baileys";
import type { WASocket } from "baileys";
import { Types } from "mongoose";
import { FileFetchError, notSent } from "../../flows/engine/index.ts";
import type {
  Channel, ChannelAddress, ChannelCapabilities, ChannelStoresReport, Engine, EngineLog, Locale, Outbound, OutboundMedia, SendOptions, SendReport, StoreChangeSet,
} from "../../flows/engine/index.ts";
import type { Leases } from "../../storage/leases.ts";
import { recordAudit, Tenant } from "../../storage/models/index.ts";
import type { WhatsAppIdentities, WhatsAppMessageLog, WhatsAppSessionStore } from "../../storage/whatsapp/types.ts";
import { WHATSAPP_CHANNEL } from "./contract.ts";
import type { LinkEvent, LinkOptions, PacingOptions, WhatsAppLinking, WhatsAppSessionEvents, WhatsAppStoreView } from "./contract.ts";
import { mediaMessageFromRef, PromptMemory, toContents, toInboundMessage } from "./messages.ts";
import type { ResolvedMedia } from "./messages.ts";
import { StoreChats } from "./store-chats.ts";
import type { ChatMessageParts } from "./store-chats.ts";
import { NumberPacer } from "./pacing.ts";
import { describe } from "./store-session.ts";
import type { SessionEnd, SocketSettings } from "./store-session.ts";
import { setLinkStatus, StoreSessions } from "./store-sessions.ts";
import type { SessionTenant } from "./store-sessions.ts";

/** The channel asks a sender's `committing` itself, when the number's pacer lets the message go. */
export const WHATSAPP_CAPABILITIES: ChannelCapabilities = { buttons: false, messageEdits: false, media: true, maxTextLength: 4000, commitsSends: true };

export interface WhatsAppChannelOptions {
  /**
   * The engine customers' messages go to. Without one the channel only links numbers
   * (`niaga whatsapp link` in a process that serves nobody): its sockets read no messages.
   */
  engine?: Engine;
  leases: Leases;
  /** `WHATSAPP_SESSION_LEASE_MS`. Default 30 000 ms. */
  leaseMs?: number;
  store: WhatsAppSessionStore;
  messages: WhatsAppMessageLog;
  identities: WhatsAppIdentities;
  /** How fast each number sends (`WHATSAPP_*` pacing settings); defaults otherwise. */
  pacing?: Partial<PacingOptions>;
  socket?: SocketSettings;
  events?: WhatsAppSessionEvents;
  log: EngineLog;
  logFor?(slug: string): EngineLog;
  /** The largest file an outbound message carries, fetched by URL. Default 20 MiB. */
  maxOutboundMediaBytes?: number;
}

export class WhatsAppChannel implements Channel, WhatsAppLinking {
  readonly name = WHATSAPP_CHANNEL;
  readonly capabilities = WHATSAPP_CAPABILITIES;
  readonly sessions: StoreSessions;
  readonly #chats = new Map<string, StoreChats>();
  /** One send at a time per number, for every store of the process. */
  readonly pacer: NumberPacer;
  readonly #prompts = new PromptMemory();
  readonly #options: WhatsAppChannelOptions;
  #stopped = false;
  #stopping: Promise<boolean> | undefined;

  constructor(options: WhatsAppChannelOptions) {
    this.#options = options;
    // libsignal prints session objects (their private keys) to the console.
    quietLibsignal(options.log);
    this.pacer = new NumberPacer({
      ...(options.pacing && { pacing: options.pacing }),
      presence: async (tenantId, jid, state) => {
        await this.sessions.running(tenantId)?.socket?.sendPresenceUpdate(state, jid);
      },
      linkedAt: (tenantId) => this.sessions.tenant(tenantId)?.linkedAt,
      restrictionEvents: {
        slowed: (tenantId, reason) => this.#storeEvent(tenantId, (store) => options.events?.onSlowed?.(store, { reason })),
        stopped: (tenantId, reason) => this.#storeEvent(tenantId, (store) => options.events?.onRestricted?.(store, { reason })),
      },
    });
    this.sessions = new StoreSessions({
      leases: options.leases,
      ...(options.leaseMs !== undefined && { leaseMs: options.leaseMs }),
      store: options.store,
      messages: options.messages,
      ...(options.socket && { socket: options.socket }),
      attachFor: (tenant) => {
        if (!options.engine) return () => undefined;
        const chats = this.#chatsOf(tenant);
        return (socket: WASocket) => chats.attach(socket);
      },
      ...(options.events && { events: options.events }),
      log: options.log,
      ...(options.logFor && { logFor: options.logFor }),
    });
  }

  async start(): Promise<ChannelStoresReport> {
    if (this.#stopped) return { started: [], stopped: [], failed: [] };
    return this.sessions.startAll();
  }

  followStoreChanges(changes?: StoreChangeSet): Promise<ChannelStoresReport> {
    return this.sessions.reconcile(changes);
  }

  /** Stops taking messages; turns and paced sends under way get `graceMs` to finish, then every socket closes. */
  stop(graceMs: number): Promise<boolean> {
    this.#stopped = true;
    this.#stopping ??= (async () => {
      const drained = Promise.all([...this.#chats.values()].map((chats) => chats.close())).then(() => this.pacer.stop());
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([drained.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)))]);
      clearTimeout(timer);
      await this.sessions.close();
      return inTime;
    })();
    return this.#stopping;
  }

  async send(to: ChannelAddress, outbounds: readonly Outbound[], options: SendOptions = {}): Promise<SendReport> {
    if (this.#stopped) return notSent(outbounds.length, "shutting-down");
    const chats = this.sessions.running(to.tenantId) ? this.#chats.get(to.tenantId) : undefined;
    if (!chats) return notSent(outbounds.length, "store-unavailable", await this.#whyNotHere(to.tenantId));
    const locale = options.locale ?? (await chats.chosenLocale(to.chatId).catch(() => undefined)) ?? chats.tenant.locale;
    return chats.send(to.chatId, outbounds, locale, { bulk: options.bulk === true, ...(options.committing && { committing: options.committing }) });
  }

  /** A customer's photo or document, by the reference its inbound message carried. */
  async fetchFile(tenantId: string, fileRef: string, options: { maxBytes: number }): Promise<Buffer> {
    const message = mediaMessageFromRef(fileRef, tenantId);
    const declared = Number(message.message?.imageMessage?.fileLength ?? message.message?.documentMessage?.fileLength ?? 0);
    if (declared > options.maxBytes) throw new FileFetchError(`the file has ${declared} bytes, over ${options.maxBytes}`, "too-large");
    const socket = this.sessions.running(tenantId)?.socket;
    let stream: AsyncIterable<Buffer>;
    try {
      stream = await downloadMediaMessage(message, "stream", { options: { signal: AbortSignal.timeout(60_000) } }, {
        logger: silentLogger,
        reuploadRequest: socket ? socket.updateMediaMessage : (m) => Promise.resolve(m),
      });
    } catch (error) {
      const status = (error as { output?: { statusCode?: number } }).output?.statusCode;
      throw new FileFetchError(`the file could not be downloaded: ${describe(error)}`, status === 404 || status === 410 ? "not-found" : "failed");
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      size += chunk.length;
      if (size > options.maxBytes) throw new FileFetchError(`the file is over ${options.maxBytes} bytes`, "too-large");
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  // ---------------------------------------------------------------- linking

  /**
   * One link attempt: takes the session lease (`busy` when another instance holds it), opens
   * fresh creds, shows QR codes (or asks for a pairing code for `phone`) and ends when the
   * phone links (`linked`), the codes run out (`expired`), `signal` aborts (`cancelled`),
   * or WhatsApp refuses. A linked session goes on running here.
   */
  async link(tenantId: string, options: LinkOptions): Promise<Extract<LinkEvent, { type: "linked" | "ended" }>> {
    const ended = (reason: Extract<LinkEvent, { type: "ended" }>["reason"], detail?: string) => {
      const event: Extract<LinkEvent, { type: "ended" }> = { type: "ended", reason, ...(detail !== undefined && { detail }) };
      options.onEvent(event);
      return event;
    };
    if (this.#stopped) return ended("failed", "the platform is stopping");
    const tenant = await loadTenant(tenantId);
    if (!tenant) return ended("failed", "no such store");
    if (tenant.status === "linked" && (await this.#options.store.isRegistered(tenantId))) return ended("refused", "the store's number is already linked; unlink it first");
    if (this.sessions.wants(tenantId)) return ended("busy", "the store's session runs here");
    return new Promise((resolve) => {
      let n = 0;
      let asked = false;
      let done = false;
      const finish = (event: Extract<LinkEvent, { type: "linked" | "ended" }>) => {
        if (done) return;
        done = true;
        options.signal?.removeEventListener("abort", abort);
        resolve(event);
      };
      const abort = () => {
        if (done) return;
        void this.sessions.stopStore(tenantId).then(() => finish(ended("cancelled")));
      };
      void this.sessions.startLinking(tenant.ref, {
        qr: (qr) => {
          if (options.phone) {
            if (asked) return;
            asked = true;
            const socket = session?.currentSocket;
            socket?.requestPairingCode(options.phone).then((code) => options.onEvent({ type: "pairing-code", code }), (error: unknown) => {
              void this.sessions.stopStore(tenantId).then(() => finish(ended("failed", `no pairing code: ${describe(error)}`)));
            });
            return;
          }
          n += 1;
          options.onEvent({ type: "qr", qr, n });
        },
        open: (socket) => {
          if (done) return;
          void this.#linked(tenant.ref, socket).then((event) => {
            options.onEvent(event);
            finish(event);
          }, (error: unknown) => {
            void this.sessions.stopStore(tenantId).then(() => finish(ended("failed", describe(error))));
          });
        },
        ended: (end: SessionEnd, code) => finish(ended(linkEndReason(end), code !== undefined ? `closed with ${code}` : end.kind === "failed" ? end.detail : undefined)),
      }).then(async (started) => {
        if (!started) {
          finish(ended("busy", `the session is owned by ${(await this.sessions.holderOf(tenantId).catch(() => undefined)) ?? "another instance"}`));
          return;
        }
        session = started;
        if (options.signal?.aborted) return abort();
        options.signal?.addEventListener("abort", abort, { once: true });
        if (!(await this.#options.store.isRegistered(tenantId))) await this.#options.store.wipe(started.fence);
        started.start();
      }, (error: unknown) => finish(ended("failed", describe(error))));
      let session: Awaited<ReturnType<StoreSessions["startLinking"]>>;
    });
  }

  async #linked(tenant: SessionTenant, socket: WASocket): Promise<Extract<LinkEvent, { type: "linked" }>> {
    const session = this.sessions.running(tenant.id);
    const auth = session?.auth;
    if (auth && !auth.state.creds.registered) {
      auth.state.creds.registered = true;
      await auth.saveCreds();
    }
    const jid = socket.user?.id ?? "";
    const phone = jid.split(/[:@]/)[0];
    const linkedAt = new Date();
    await setLinkStatus(tenant.id, "linked", "linked", { phone, jid, ...(socket.user?.lid && { lid: socket.user.lid }), linkedAt });
    this.sessions.linked(tenant.id, linkedAt);
    this.#options.events?.onLinked?.(tenant, phone);
    return { type: "linked", phone, jid };
  }

  /** Logs the device out (when its session is open here), wipes the session, marks the store `unlinked`. */
  async unlink(tenantId: string, by: string): Promise<void> {
    const running = this.sessions.running(tenantId);
    if (running) {
      await running.logout();
      await this.sessions.stopStore(tenantId);
    }
    const taken = await this.sessions.startLinking((await loadTenant(tenantId))?.ref ?? { id: tenantId, slug: tenantId, name: tenantId, locale: "id" }, {});
    if (!taken) throw new Error(`the WhatsApp session of this store is owned by ${(await this.sessions.holderOf(tenantId)) ?? "another instance"}; unlink it there or wait for its lease to lapse`);
    try {
      await this.#options.store.wipe(taken.fence);
    } finally {
      await this.sessions.stopStore(tenantId);
    }
    await setLinkStatus(tenantId, "unlinked", `unlinked by ${by}`);
    await recordAudit({
      tenantId: new Types.ObjectId(tenantId),
      actor: { channel: "platform", userId: by },
      // Built from parts: the locale check reads "area.key"-shaped literals as texts, and whatsapp is a text area.
      action: `whatsapp${"."}unlink`,
      target: { type: "tenant", id: tenantId },
      where: "whatsapp",
    });
  }

  async view(tenantId: string): Promise<WhatsAppStoreView> {
    const row = await Tenant.findById(tenantId, { channels: 1 }).lean<{ channels?: { whatsapp?: { status?: string; phone?: string; statusReason?: string; statusAt?: Date; linkedAt?: Date } } }>().exec();
    const wa = row?.channels?.whatsapp ?? {};
    const running = this.sessions.running(tenantId);
    const connection: WhatsAppStoreView["connection"] = running
      ? running.connection
      : (await this.sessions.holderOf(tenantId).catch(() => undefined)) ? "elsewhere" : "stopped";
    return {
      status: (wa.status as WhatsAppStoreView["status"] | undefined) ?? "unlinked",
      ...(wa.phone && { phone: wa.phone }),
      connection,
      ...(wa.statusReason && { statusReason: wa.statusReason }),
      ...(wa.statusAt && { statusAt: wa.statusAt }),
      ...(wa.linkedAt && { linkedAt: wa.linkedAt }),
      pace: this.pacer.pace(tenantId),
    };
  }

  // ---------------------------------------------------------------- inside

  #chatsOf(tenant: SessionTenant): StoreChats {
    const existing = this.#chats.get(tenant.id);
    if (existing) return existing;
    const engine = this.#options.engine;
    if (!engine) throw new Error("this WhatsApp channel only links numbers: it has no engine to serve chats");
    const chats = new StoreChats({
      tenant,
      engine,
      identities: this.#options.identities,
      messages: this.#options.messages,
      parts: this.#parts(),
      pacer: this.pacer,
      socket: () => this.sessions.running(tenant.id)?.socket ?? "the store's WhatsApp is reconnecting",
      log: this.#options.logFor?.(tenant.slug) ?? this.#options.log,
    });
    this.#chats.set(tenant.id, chats);
    return chats;
  }

  #parts(): ChatMessageParts {
    const prompts = this.#prompts;
    return {
      inboundOf: (message, lastPrompt, locale, tenantId) => toInboundMessage(message, lastPrompt, locale, tenantId),
      contentsOf: (outbound, locale, tenantId) => toContents(outbound, locale, { maxTextLength: this.capabilities.maxTextLength, media: (media) => this.#mediaOf(tenantId, media) }),
      sent: (tenantId, chatId, outbounds) => prompts.record(tenantId, chatId, outbounds),
      lastPrompt: (tenantId, chatId) => prompts.lastPrompt(tenantId, chatId),
    };
  }

  /** An outbound file: a customer's file by its reference, or a URL. */
  async #mediaOf(tenantId: string, media: OutboundMedia): Promise<ResolvedMedia> {
    const maxBytes = this.#options.maxOutboundMediaBytes ?? 20 << 20;
    if (!/^https?:\/\//.test(media.ref)) return { upload: await this.fetchFile(tenantId, media.ref, { maxBytes }), ...(media.fileName && { fileName: media.fileName }) };
    const response = await fetch(media.ref, { signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`the file at its URL answered ${response.status}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (bytes.length > maxBytes) throw new Error(`the file is over ${maxBytes} bytes`);
    const mimetype = response.headers.get("content-type") ?? undefined;
    return { upload: bytes, ...(mimetype && { mimetype }), ...(media.fileName && { fileName: media.fileName }) };
  }

  #storeEvent(tenantId: string, tell: (store: SessionTenant) => void): void {
    const store = this.sessions.tenant(tenantId);
    if (store) tell(store);
  }

  async #whyNotHere(tenantId: string): Promise<string> {
    const holder = await this.sessions.holderOf(tenantId).catch(() => undefined);
    if (holder && holder !== this.sessions.holder) return `owned by ${holder}`;
    if (this.sessions.wants(tenantId)) return "the store's WhatsApp is not connected here yet";
    return "the store has no linked WhatsApp number running";
  }
}

function linkEndReason(end: SessionEnd): Extract<LinkEvent, { type: "ended" }>["reason"] {
  if (end.kind === "link-expired") return "expired";
  if (end.kind === "restricted" || end.kind === "logged-out") return "refused";
  return "failed";
}

async function loadTenant(tenantId: string): Promise<{ ref: SessionTenant; status: string | undefined } | undefined> {
  if (!Types.ObjectId.isValid(tenantId)) return undefined;
  const row = await Tenant.findById(tenantId, { slug: 1, name: 1, locale: 1, "channels.whatsapp.status": 1 })
    .lean<{ _id: unknown; slug: string; name: string; locale?: string; channels?: { whatsapp?: { status?: string } } }>().exec();
  if (!row) return undefined;
  const locale: Locale = row.locale === "en" ? "en" : "id";
  return { ref: { id: String(row._id), slug: row.slug, name: row.name, locale }, status: row.channels?.whatsapp?.status };
}

const silentLogger = { level: "silent", child: () => silentLogger, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
