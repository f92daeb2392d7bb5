/**
 * A local WhatsApp Web for tests: a WebSocket server on 127.0.0.1 that speaks the protocol
 * the real Baileys 7 socket speaks, so `makeWASocket({ waWebSocketUrl: wa.url, auth })`
 * connects to it as it would to WhatsApp — Noise handshake, login, linking by QR code,
 * stream errors, Signal-encrypted messages both ways, receipts, media over HTTPS.
 *
 * ```ts
 * const wa = await LocalWhatsAppWeb.start();
 * const creds = wa.linkedCreds("6281200000001");          // a linked store number
 * const sock = makeWASocket({ waWebSocketUrl: wa.url, auth: { creds, keys }, ... });
 * // → connection.update { connection: "open" }
 * const sari = wa.customer({ phone: "6281311112222", pushName: "Sari" });
 * await sari.sendText("6281200000001", "halo");            // → messages.upsert notify
 * await wa.restartRequired("6281200000001");               // → close 515
 * await wa.close();
 * ```
 *
 * What it simplifies compared to WhatsApp (see also each file's header):
 * - The noise certificate is self-made; rc14 accepts it (see `noise.ts`).
 * - Each store number has only its linked companion devices: there is no primary phone
 *   that receives copies, and customers have one device (device 0).
 * - No app-state sync, history sync, groups, status, calls, privacy tokens or profile data:
 *   such queries get an empty result.
 * - The number of QR refs is an option (`qrRefs`); how long each QR lives is the socket's
 *   own `qrTimeout` (WhatsApp gives 6 refs: 60 s for the first, 20 s for each next one).
 * - `usync` gives LIDs for customers only (see `messaging.ts`); customers' media is served over
 *   plain HTTP with a `url` and no `directPath` (see `media.ts`).
 * - `linkedCreds` are those of a device that has synced once before (`accountSyncCounter: 1`).
 *   After a fresh QR or code link rc14 holds events for up to 20 s at its first login, waiting
 *   for a history sync this server never sends.
 *
 * For a store's media uploads (HTTPS, self-signed): in-process sockets pass
 * `fetchAgent: wa.httpsAgent`; a child process (`niaga start` with `WHATSAPP_WEB_URL=wa.url`)
 * gets `NODE_EXTRA_CA_CERTS=wa.caCertPath` in its environment. The WebSocket server is the
 * `ws` package Baileys itself depends on.
 */
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { initAuthCreds } from "baileys";
import type { AuthenticationCreds, BinaryNode, proto } from "baileys";
import type { Agent } from "node:https";
import { WebSocketServer } from "ws";
import { Directory, completePairing, jidOf, lidOf, registrationOfCreds } from "./accounts.ts";
import type { LinkedDevice } from "./accounts.ts";
import { Connection } from "./connection.ts";
import { answerIq, result } from "./iq.ts";
import type { IqRoute } from "./iq.ts";
import { answerHandshake, failureNode, scanQr, streamError } from "./login.ts";
import { MediaStore } from "./media.ts";
import { enterPairingCode, onCodeIq } from "./pairing-code.ts";
import { Messaging } from "./messaging.ts";
import type { ReceiptMode } from "./messaging.ts";
import type { ReceivedMessage } from "./customers.ts";

export type { ReceivedMessage } from "./customers.ts";
export type { ReceiptMode } from "./messaging.ts";
export { memoryKeys, quietLogger } from "./memory-auth.ts";

export interface LocalWhatsAppWebOptions {
  /** QR refs handed to an unlinked socket; when Baileys has shown them all it closes with 408. Default 6, as WhatsApp. */
  qrRefs?: number;
  /** Receipts for what a store sends: `delivered` (default), `read` (delivered then read), or `none`. */
  receipts?: ReceiptMode;
  /**
   * Delay before the delivery receipt, as a customer's phone takes a moment. Default 100 ms.
   * rc14 folds a status that arrives while its own echo of the sent message is still being
   * processed into that `messages.upsert` (`append`, `fromMe`, with `status`) instead of
   * emitting `messages.update`: code that records receipts must read both.
   */
  receiptDelayMs?: number;
}

/** A customer on WhatsApp: sends real encrypted messages to a store's number. */
export interface WhatsAppCustomer {
  readonly phone: string;
  /** `phone@s.whatsapp.net`. */
  readonly jid: string;
  /** `lid@lid`. */
  readonly lid: string;
  /**
   * Each returns the message id. Delivered at once to the store's connected devices, queued
   * for the others; throws when the number has no linked device.
   */
  sendText(storePhone: string, text: string): Promise<string>;
  sendImage(storePhone: string, bytes: Buffer, caption?: string): Promise<string>;
  sendDocument(storePhone: string, bytes: Buffer, fileName: string, mimetype: string): Promise<string>;
  sendContact(storePhone: string, contact: { name: string; phone: string }): Promise<string>;
  /** What stores sent this customer, decrypted, oldest first. */
  received(): ReceivedMessage[];
  /** Typing states stores showed this customer (`composing`, `paused`). */
  presences(): { state: string; at: Date }[];
}

/** A socket logged in as a linked device. */
export interface WhatsAppWebSession {
  phone: string;
  /** The device's jid, `phone:device@s.whatsapp.net`. */
  jid: string;
  lid: string;
  connectedSince: Date;
}

export interface WhatsAppWebStats {
  /** WebSocket connections accepted (refused upgrades not counted). */
  connections: number;
  /** Logins answered with `<success/>`. */
  logins: number;
  /** Logins refused with a `<failure/>`. */
  refusedLogins: number;
  /** QR refs handed out. */
  qrRefs: number;
  /** Upgrades refused with HTTP 403 while `refuseUpgrade(true)`. */
  refusedUpgrades: number;
  /** Customers' messages encrypted to store devices, by Signal type (`pkmsg` starts a session). */
  encrypted: { pkmsg: number; msg: number };
}

export class LocalWhatsAppWeb {
  /** `ws://127.0.0.1:<port>/ws/chat`: pass as `waWebSocketUrl`. */
  readonly url: string;
  private readonly directory = new Directory();
  private readonly connections = new Set<Connection>();
  private readonly iqRoutes: IqRoute[] = [];
  private readonly counts: Omit<WhatsAppWebStats, "encrypted"> = { connections: 0, logins: 0, refusedLogins: 0, qrRefs: 0, refusedUpgrades: 0 };
  private readonly messaging: Messaging;
  private isSilent = false;
  private refusingUpgrades = false;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly media: MediaStore,
    private readonly options: Required<LocalWhatsAppWebOptions>,
  ) {
    this.url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws/chat`;
    this.messaging = new Messaging(this.directory, media, (device) => this.connectionOf(device), options.receipts, options.receiptDelayMs);
    this.iqRoutes.push(...this.messaging.iqRoutes, (_c, iq) => (iq.attrs.xmlns === "w:m" ? mediaConn(iq, media.uploadHost) : undefined));
    http.on("request", (request, response) => {
      if (!media.serve(request, response)) response.writeHead(426).end();
    });
    http.on("upgrade", (request, socket, head) => {
      if (this.refusingUpgrades) {
        this.counts.refusedUpgrades++;
        socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        this.counts.connections++;
        const connection = new Connection(ws, {
          onHandshake: (c, clientStatic, payload) => {
            answerHandshake(c, clientStatic, payload, this.directory, this.options.qrRefs, {
              loggedIn: (c) => this.loggedIn(c),
              countQrRefs: (n) => (this.counts.qrRefs += n),
              countRefusal: () => this.counts.refusedLogins++,
            }).catch(() => c.drop());
          },
          onNode: (c, node) => this.onNode(c, node),
          onClose: (c) => this.connections.delete(c),
        }, this.isSilent);
        this.connections.add(connection);
      });
    });
  }

  static async start(options: LocalWhatsAppWebOptions = {}): Promise<LocalWhatsAppWeb> {
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(0, "127.0.0.1", () => resolve());
    });
    const media = await MediaStore.start(`http://127.0.0.1:${(http.address() as AddressInfo).port}`);
    const wss = new WebSocketServer({ noServer: true });
    return new LocalWhatsAppWeb(http, wss, media, { qrRefs: options.qrRefs ?? 6, receipts: options.receipts ?? "delivered", receiptDelayMs: options.receiptDelayMs ?? 100 });
  }

  // ---------------------------------------------------------------- linking

  /**
   * Fresh creds for a device already linked to `phone`, as a socket has them after a QR scan
   * and the restart that follows: `makeWASocket` with them logs straight in (`open`).
   */
  linkedCreds(phone: string): AuthenticationCreds {
    const creds = initAuthCreds();
    const device = this.directory.link(phone, registrationOfCreds(creds));
    return completePairing(creds, device);
  }

  /** The phone `phone` scans `qr` (a `connection.update` qr string): → pair-success, then 515. */
  async scanQr(qr: string, phone: string): Promise<{ jid: string; lid: string }> {
    const device = await scanQr(qr, phone, this.connections, this.directory);
    return { jid: jidOf(device), lid: lidOf(device) };
  }

  /**
   * The user types `code` (from the socket's `requestPairingCode(phone)`) on that number's
   * phone: → pair-success, then 515, as after a QR scan. Rejects on a wrong code.
   */
  async enterPairingCode(code: string): Promise<{ jid: string; lid: string }> {
    const device = await enterPairingCode(code, this.connections, this.directory);
    return { jid: jidOf(device), lid: lidOf(device) };
  }

  // ---------------------------------------------------------------- disconnects

  /** `<stream:error code="515"/>` to the number's sockets (→ 515 restartRequired). */
  restartRequired(phone: string): Promise<void> {
    return this.endSessions(phone, streamError(515));
  }

  /** `<stream:error><conflict type="replaced"/>` (→ 440), as when another socket logs in with the same creds. */
  replace(phone: string): Promise<void> {
    return this.endSessions(phone, conflict());
  }

  /**
   * The phone removes its linked devices: connected sockets get
   * `<stream:error code="401"><conflict type="device_removed"/>`, and every later login
   * `<failure reason="401"/>` (→ 401 loggedOut).
   */
  async logOut(phone: string): Promise<void> {
    const devices = this.directory.devicesOf(phone);
    for (const device of devices) device.removed = true;
    await Promise.all(this.sessionsOf(phone).map((c) => c.end(streamError(401, { tag: "conflict", attrs: { type: "device_removed" } }))));
  }

  /** The number is blocked (403) or restricted (419): `<failure reason=…/>` now and at every login until `restore`. */
  async fail(phone: string, code: 403 | 419): Promise<void> {
    this.directory.account(phone).refusal = code;
    await Promise.all(this.sessionsOf(phone).map((c) => c.end(failureNode(code))));
  }

  /** Lifts `fail`. */
  restore(phone: string): void {
    this.directory.account(phone).refusal = undefined;
  }

  /** Cuts the number's connections without a word (→ 428 connectionClosed). */
  drop(phone: string): void {
    const sessions = this.sessionsOf(phone);
    if (sessions.length === 0) throw new Error(`no socket of ${phone} is connected`);
    for (const connection of sessions) connection.drop();
  }

  /** While on, new connections are accepted and never answered (→ 408 at the socket's `connectTimeoutMs`). */
  silent(on: boolean): void {
    this.isSilent = on;
  }

  /** While on, WebSocket upgrades are refused with HTTP 403. */
  refuseUpgrade(on: boolean): void {
    this.refusingUpgrades = on;
  }

  // ---------------------------------------------------------------- customers and messages

  /**
   * A customer (made on first use; the same object for the same phone). With `lid` their
   * messages are LID-addressed (`…@lid`, phone in `key.remoteJidAlt`); without, by phone.
   */
  customer(options: { phone: string; lid?: string; pushName?: string }): WhatsAppCustomer {
    const identity = this.messaging.customer(options.phone, options);
    const send = (storePhone: string, message: proto.IMessage) => this.messaging.send(identity, storePhone, message);
    return {
      phone: identity.phone,
      jid: identity.pnJid,
      lid: identity.lidJid,
      sendText: (storePhone, text) => send(storePhone, { conversation: text }),
      sendImage: async (storePhone, bytes, caption) => send(storePhone, {
        imageMessage: { ...(await this.media.put(bytes, "image")), mimetype: "image/jpeg", ...(caption && { caption }), mediaKeyTimestamp: Math.floor(Date.now() / 1000) },
      }),
      sendDocument: async (storePhone, bytes, fileName, mimetype) => send(storePhone, {
        documentMessage: { ...(await this.media.put(bytes, "document")), mimetype, fileName, mediaKeyTimestamp: Math.floor(Date.now() / 1000) },
      }),
      sendContact: (storePhone, contact) => send(storePhone, {
        contactMessage: { displayName: contact.name, vcard: vcard(contact) },
      }),
      received: () => [...identity.received],
      presences: () => [...identity.presences],
    };
  }

  /** What stores sent the customer with this phone, decrypted, oldest first. */
  received(customerPhone: string): ReceivedMessage[] {
    return [...(this.messaging.customerByPhone(customerPhone)?.received ?? [])];
  }

  /** Answers every message the number sends with an error ack carrying `code` (463 by default: a restricted account); `undefined` lifts it. */
  refuseSendsFrom(storePhone: string, code: number | undefined = 463): void {
    this.messaging.refuseSendsFrom(storePhone, code);
  }

  /** Changes which receipts answer a store's messages from now on. */
  setReceipts(mode: ReceiptMode): void {
    this.messaging.receipts = mode;
  }

  // ---------------------------------------------------------------- media TLS

  /** An `https.Agent` trusting the upload server's self-signed certificate: `makeWASocket({ fetchAgent })`. */
  get httpsAgent(): Agent {
    return this.media.httpsAgent;
  }

  /** The certificate's PEM file, for `NODE_EXTRA_CA_CERTS` of a child process. */
  get caCertPath(): string {
    return this.media.caCertPath;
  }

  // ---------------------------------------------------------------- looking

  /** Sockets logged in right now. */
  sessions(): WhatsAppWebSession[] {
    return [...this.connections]
      .filter((c) => c.device && !c.closed)
      .map((c) => ({ phone: c.device!.account.phone, jid: jidOf(c.device!), lid: lidOf(c.device!), connectedSince: c.connectedSince! }));
  }

  stats(): WhatsAppWebStats {
    return { ...this.counts, encrypted: { ...this.messaging.encrypted } };
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.drop();
    this.wss.close();
    await this.media.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---------------------------------------------------------------- inside

  private connectionOf(device: LinkedDevice): Connection | undefined {
    return [...this.connections].find((c) => c.device === device && !c.closed);
  }

  private sessionsOf(phone: string): Connection[] {
    return [...this.connections].filter((c) => c.device?.account.phone === phone && !c.closed);
  }

  private async endSessions(phone: string, node: BinaryNode): Promise<void> {
    const sessions = this.sessionsOf(phone);
    if (sessions.length === 0) throw new Error(`no socket of ${phone} is connected`);
    await Promise.all(sessions.map((c) => c.end(node)));
  }

  private async loggedIn(connection: Connection): Promise<void> {
    const device = connection.device!;
    // One socket per device: the one that logged in earlier is replaced, as on WhatsApp.
    for (const other of this.connections) {
      if (other !== connection && other.device === device && !other.closed) await other.end(conflict());
    }
    this.counts.logins++;
    await connection.send({
      tag: "success",
      attrs: { t: String(Math.floor(Date.now() / 1000)), lid: lidOf(device), props: "1", abprops: "1", location: "local", creation: "0" },
    });
    await this.deliverOffline(connection, device);
  }

  private async deliverOffline(connection: Connection, device: LinkedDevice): Promise<void> {
    const queued = device.offline.splice(0);
    for (const node of queued) await connection.send({ ...node, attrs: { ...node.attrs, offline: "1" } });
    await connection.send({ tag: "ib", attrs: { from: "s.whatsapp.net" }, content: [{ tag: "offline", attrs: { count: String(queued.length) } }] });
  }

  private async onNode(connection: Connection, node: BinaryNode): Promise<void> {
    if (!connection.device) {
      if (connection.pairing && !(await onCodeIq(connection, node)) && node.tag === "iq") await connection.send(result(node));
      return;
    }
    if (node.tag === "iq") {
      await answerIq(connection, node, this.iqRoutes, (c) => void c.end(streamError(401, { tag: "conflict", attrs: { type: "device_removed" } })));
    } else {
      await this.messaging.fromStore(connection, node);
    }
  }
}

const mediaConn = (iq: BinaryNode, host: string): BinaryNode => result(iq, [{
  tag: "media_conn",
  attrs: { auth: "local-media-auth", ttl: "3600", auth_ttl: "3600", max_buckets: "1" },
  content: [{ tag: "host", attrs: { hostname: host, maxContentLengthBytes: String(100 * 1024 * 1024) } }],
}]);

const vcard = ({ name, phone }: { name: string; phone: string }): string =>
  `BEGIN:VCARD\nVERSION:3.0\nFN:${name}\nTEL;type=CELL;type=VOICE;waid=${phone}:+${phone}\nEND:VCARD`;

const conflict = (): BinaryNode => ({ tag: "stream:error", attrs: {}, content: [{ tag: "conflict", attrs: { type: "replaced" } }] });

export { failureNode };
