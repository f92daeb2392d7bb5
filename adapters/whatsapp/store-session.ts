/**
 * One store's WhatsApp session: a Baileys socket over the store's stored auth state, opened
 * again and again as the lifecycle (`lifecycle.ts`) says, until it is stopped, logged out,
 * restricted, replaced for good, or (while linking) its QR codes run out.
 *
 * ```ts
 * const session = new StoreSession({ tenant, fence, store, messages, holdsLease, attach, events, log });
 * session.start();                      // connects; reconnects by itself
 * session.socket?.sendMessage(jid, { text: "Halo" });
 * await session.stop();                 // closes the socket, keeps the session
 * ```
 *
 * Every socket is new (`makeWASocket` with fresh listeners): after a close the old one is
 * dead. A socket that stays in `connecting` longer than `watchdogMs` (a refused WebSocket
 * upgrade hangs rc14 there for ever) is ended and counts as a transient close. Every
 * reconnect, whatever its cause, takes a token from the store's `ReconnectBudget`.
 */
import { Browsers, isJidBroadcast, isJidGroup, isJidNewsletter, isJidStatusBroadcast, makeCacheableSignalKeyStore, makeWASocket } from "baileys";
import type { ConnectionState, proto, WASocket } from "baileys";
import type { Agent } from "node:https";
import type { EngineLog } from "../../flows/engine/index.ts";
import { settledWithin } from "../../storage/settled-within.ts";
import type { StoreRef } from "./contract.ts";
import { afterClose, DEFAULT_LIFECYCLE, DEFAULT_RECONNECT_BUDGET, ReconnectBudget } from "./lifecycle.ts";
import type { CloseAction, LifecycleOptions, ReconnectBudgetOptions } from "./lifecycle.ts";
import type { SessionFence, StoredAuthState, WhatsAppMessageLog, WhatsAppSessionStore } from "../../storage/whatsapp/types.ts";

/** Socket settings shared by every session of the process. */
export interface SocketSettings {
  /** Where the socket connects; WhatsApp's own by default (`WHATSAPP_WEB_URL`). */
  webSocketUrl?: string;
  /** Baileys' own timeout for the handshake and queries. Default 20 000 ms. */
  connectTimeoutMs?: number;
  /** How long the first QR code lives. Default Baileys' (60 s, then 20 s each). */
  qrTimeoutMs?: number;
  /** A socket not logged in (nor showing a QR code) this long after it started is ended and counts as a transient close. Default 45 000 ms. */
  watchdogMs?: number;
  /** Down this long (despite reconnects) before `unreachable` is told. Default 120 000 ms. */
  unreachableAfterMs?: number;
  lifecycle?: Partial<LifecycleOptions>;
  budget?: ReconnectBudgetOptions;
  /** The agent media uploads go through (a proxy, or a test server's certificate). */
  fetchAgent?: Agent;
}

/** Why a session stopped for good (not by `stop()`). */
export type SessionEnd =
  | { kind: "logged-out" }
  | { kind: "restricted"; code: number }
  | { kind: "link-expired" }
  | { kind: "yield" }
  | { kind: "replaced-stop" }
  | { kind: "failed"; detail: string };

export interface StoreSessionEvents {
  /** The socket is open (first time and after every reconnect). */
  open?(socket: WASocket): void;
  qr?(qr: string): void;
  /** The session ended by itself; nothing reconnects. */
  ended?(end: SessionEnd, lastCode?: number): void;
  unreachable?(detail: { since: Date; lastCode?: number }): void;
  reconnected?(): void;
}

export interface StoreSessionOptions extends SocketSettings {
  tenant: StoreRef;
  fence: SessionFence;
  store: WhatsAppSessionStore;
  messages: WhatsAppMessageLog;
  /** Whether this instance still holds the session lease; asked after a 440. */
  holdsLease(): Promise<boolean>;
  /** Installs the caller's listeners (messages, receipts, LID mappings) on each new socket. */
  attach?(socket: WASocket): void;
  events?: StoreSessionEvents;
  log: EngineLog;
}

export type SessionConnection = "connecting" | "open" | "closed" | "stopped";

export class StoreSession {
  readonly tenant: StoreRef;
  readonly fence: SessionFence;
  #socket: WASocket | undefined;
  #connection: SessionConnection = "closed";
  #auth: StoredAuthState | undefined;
  #stopped = false;
  #failures = 0;
  #lastReplacedAt: number | undefined;
  #lastCode: number | undefined;
  #downSince: number | undefined;
  #toldUnreachable = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #unreachableTimer: NodeJS.Timeout | undefined;
  #connecting: Promise<void> | undefined;
  readonly #budget: ReconnectBudget;
  readonly #lifecycle: LifecycleOptions;
  readonly #options: StoreSessionOptions;
  readonly #log: EngineLog;

  constructor(options: StoreSessionOptions) {
    this.tenant = options.tenant;
    this.fence = options.fence;
    this.#options = options;
    this.#log = options.log;
    this.#lifecycle = { ...DEFAULT_LIFECYCLE, ...options.lifecycle };
    this.#budget = new ReconnectBudget(options.budget ?? DEFAULT_RECONNECT_BUDGET);
  }

  /** The open socket, or undefined while not connected. */
  get socket(): WASocket | undefined {
    return this.#connection === "open" ? this.#socket : undefined;
  }

  get connection(): SessionConnection {
    return this.#connection;
  }

  /**
   * Whether the creds belong to a linked device. A QR pairing sets `account` but not
   * `registered` (only a pairing code does); a pairing code sets `me` before the phone
   * confirms, so `me` alone says nothing.
   */
  get paired(): boolean {
    const creds = this.#auth?.state.creds;
    return creds?.registered === true || Boolean(creds?.account);
  }

  /** The socket whatever its state (a link attempt asks it for a pairing code while it shows QR codes). */
  get currentSocket(): WASocket | undefined {
    return this.#socket;
  }

  /** The auth state in use, once started. */
  get auth(): StoredAuthState | undefined {
    return this.#auth;
  }

  /** Connects (after taking a token of the budget), and keeps reconnecting as the lifecycle says. */
  start(): void {
    if (this.#stopped || this.#connecting || this.#socket) return;
    this.#schedule(0);
  }

  /** Closes the socket without logging out; the session stays stored. Safe to call twice. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#connection = "stopped";
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#unreachableTimer);
    await this.#connecting?.catch(() => undefined);
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.end(undefined);
    await this.#auth?.settled().catch((error: unknown) => {
      this.#log.warn("whatsapp session state not saved on stop", { tenant: this.tenant.slug, error: describe(error) });
    });
  }

  /** Logs the device out of WhatsApp (when open), then stops. */
  async logout(): Promise<void> {
    const socket = this.socket;
    this.#stopped = true;
    if (socket) {
      const logout = await settledWithin(socket.logout(), 10_000);
      if (logout.state !== "fulfilled") this.#log.warn("whatsapp logout not confirmed", { tenant: this.tenant.slug, error: logout.state === "rejected" ? describe(logout.error) : "no answer in 10 s" });
    }
    await this.stop();
  }

  #schedule(delayMs: number): void {
    const wait = delayMs + this.#budget.take(Date.now() + delayMs);
    this.#connection = "connecting";
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connecting = this.#connect().finally(() => {
        this.#connecting = undefined;
      });
    }, wait);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    try {
      this.#auth ??= await this.#options.store.open(this.fence);
    } catch (error) {
      this.#end({ kind: "failed", detail: `session state could not be read: ${describe(error)}` });
      return;
    }
    if (this.#stopped) return;
    const auth = this.#auth;
    const logger = bridgeLogger(this.#log, this.tenant.slug);
    const socket = makeWASocket({
      auth: { creds: auth.state.creds, keys: makeCacheableSignalKeyStore(auth.state.keys, logger) },
      ...(this.#options.webSocketUrl !== undefined && { waWebSocketUrl: this.#options.webSocketUrl }),
      ...(this.#options.connectTimeoutMs !== undefined && { connectTimeoutMs: this.#options.connectTimeoutMs }),
      ...(this.#options.qrTimeoutMs !== undefined && { qrTimeout: this.#options.qrTimeoutMs }),
      ...(this.#options.fetchAgent && { fetchAgent: this.#options.fetchAgent }),
      browser: Browsers.ubuntu("Niaga"),
      logger,
      markOnlineOnConnect: false,
      syncFullHistory: false,
      printQRInTerminal: false,
      shouldIgnoreJid: ignoredJid,
      getMessage: async (key) => (key.id ? ((await this.#options.messages.sentMessage(this.tenant.id, key.id)) as proto.IMessage | undefined) : undefined),
    });
    this.#socket = socket;
    let settled = false;
    const watchdog = setTimeout(() => {
      if (settled || this.#socket !== socket) return;
      this.#log.warn("whatsapp socket stuck connecting: ended", { tenant: this.tenant.slug });
      closed(undefined);
      socket.end(new Error("connect watchdog"));
    }, this.#options.watchdogMs ?? 45_000);
    const closed = (code: number | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      if (this.#socket === socket) this.#socket = undefined;
      void this.#closed(code);
    };
    // Logged in: what follows (a first login uploads 812 pre-keys) is slow but not stuck.
    socket.ws.on("CB:success", () => clearTimeout(watchdog));
    socket.ev.on("creds.update", () => {
      auth.saveCreds().catch((error: unknown) => {
        this.#log.error("whatsapp credentials not saved", { tenant: this.tenant.slug, error: describe(error) });
      });
    });
    socket.ev.on("connection.update", (update: Partial<ConnectionState>) => {
      if (this.#socket !== socket) return;
      if (update.qr) {
        clearTimeout(watchdog);
        this.#options.events?.qr?.(update.qr);
      }
      if (update.connection === "open") {
        clearTimeout(watchdog);
        this.#opened(socket);
      } else if (update.connection === "close") {
        closed(statusCodeOf(update.lastDisconnect?.error));
      }
    });
    this.#options.attach?.(socket);
  }

  #opened(socket: WASocket): void {
    this.#connection = "open";
    this.#failures = 0;
    clearTimeout(this.#unreachableTimer);
    const wasDown = this.#toldUnreachable;
    this.#downSince = undefined;
    this.#toldUnreachable = false;
    this.#options.events?.open?.(socket);
    if (wasDown) this.#options.events?.reconnected?.();
  }

  async #closed(code: number | undefined): Promise<void> {
    if (this.#stopped) return;
    this.#connection = "closed";
    this.#lastCode = code;
    this.#markDown();
    const now = Date.now();
    const holdsLease = code === 440 ? await this.#options.holdsLease().catch(() => false) : undefined;
    if (this.#stopped) return;
    const action: CloseAction = afterClose(code, {
      paired: this.paired,
      failures: this.#failures,
      ...(holdsLease !== undefined && { holdsLease }),
      ...(this.#lastReplacedAt !== undefined && { lastReplacedAt: this.#lastReplacedAt }),
    }, now, this.#lifecycle);
    if (code === 440) this.#lastReplacedAt = now;
    if (action.kind === "reconnect") {
      if (action.why === "transient") this.#failures += 1;
      this.#log.info("whatsapp socket closed: reconnecting", { tenant: this.tenant.slug, code: code ?? "none", delayMs: action.delayMs });
      this.#schedule(action.delayMs);
      return;
    }
    this.#end(action, code);
  }

  #end(end: SessionEnd, code?: number): void {
    this.#stopped = true;
    this.#connection = "stopped";
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#unreachableTimer);
    this.#options.events?.ended?.(end, code);
  }

  /** Starts the unreachable clock on the first close after being open (or ever). */
  #markDown(): void {
    if (this.#downSince !== undefined || this.#lastCode === 515) return;
    const since = Date.now();
    this.#downSince = since;
    this.#unreachableTimer = setTimeout(() => {
      if (this.#connection === "open" || this.#stopped) return;
      this.#toldUnreachable = true;
      this.#options.events?.unreachable?.({ since: new Date(since), ...(this.#lastCode !== undefined && { lastCode: this.#lastCode }) });
    }, this.#options.unreachableAfterMs ?? 120_000);
  }
}

/** Chats the platform never answers: groups, broadcasts, newsletters, status updates. */
export function ignoredJid(jid: string): boolean {
  return Boolean(isJidGroup(jid) || isJidBroadcast(jid) || isJidNewsletter(jid) || isJidStatusBroadcast(jid));
}

/** The HTTP-like status code Baileys puts on a close (a Boom's `output.statusCode`), if any. */
export function statusCodeOf(error: unknown): number | undefined {
  const output = (error as { output?: { statusCode?: unknown } } | undefined)?.output;
  return typeof output?.statusCode === "number" ? output.statusCode : undefined;
}

type BaileysLogger = Parameters<typeof makeCacheableSignalKeyStore>[1] & object;

/**
 * Baileys' pino-style logger onto the project's log, at warn and above. Only the message
 * and an error's own message are passed on: Baileys puts whole stanzas, messages and key
 * material in the objects it logs.
 */
export function bridgeLogger(log: EngineLog, tenant: string): BaileysLogger {
  const pass = (write: EngineLog["warn"]) => (obj: unknown, msg?: string) => {
    const text = typeof obj === "string" ? obj : msg ?? "baileys";
    const err = (obj as { err?: unknown } | undefined)?.err ?? (obj instanceof Error ? obj : undefined);
    write(`whatsapp: ${text}`, { tenant, ...(err instanceof Error && { error: err.message }) });
  };
  const logger: BaileysLogger = {
    level: "warn",
    child: () => logger,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: pass((message, fields) => log.warn(message, fields)),
    error: pass((message, fields) => log.error(message, fields)),
  };
  return logger;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
