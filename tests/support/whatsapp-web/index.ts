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
 */
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { initAuthCreds } from "baileys";
import type { AuthenticationCreds, BinaryNode } from "baileys";
import { WebSocketServer } from "ws";
import { Directory, completePairing, jidOf, lidOf, registrationOfCreds } from "./accounts.ts";
import type { LinkedDevice } from "./accounts.ts";
import { Connection } from "./connection.ts";
import { answerIq } from "./iq.ts";
import type { IqRoute } from "./iq.ts";
import { answerHandshake, failureNode, scanQr, streamError } from "./login.ts";

export interface LocalWhatsAppWebOptions {
  /** QR refs handed to an unlinked socket; when Baileys has shown them all it closes with 408. Default 6, as WhatsApp. */
  qrRefs?: number;
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
}

export class LocalWhatsAppWeb {
  /** `ws://127.0.0.1:<port>/ws/chat`: pass as `waWebSocketUrl`. */
  readonly url: string;
  private readonly directory = new Directory();
  private readonly connections = new Set<Connection>();
  private readonly iqRoutes: IqRoute[] = [];
  private readonly counts: WhatsAppWebStats = { connections: 0, logins: 0, refusedLogins: 0, qrRefs: 0, refusedUpgrades: 0 };
  private isSilent = false;
  private refusingUpgrades = false;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly options: Required<LocalWhatsAppWebOptions>,
  ) {
    this.url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws/chat`;
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
    const http = createServer((_request, response) => response.writeHead(426).end());
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(0, "127.0.0.1", () => resolve());
    });
    const wss = new WebSocketServer({ noServer: true });
    return new LocalWhatsAppWeb(http, wss, { qrRefs: options.qrRefs ?? 6 });
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

  // ---------------------------------------------------------------- looking

  /** Sockets logged in right now. */
  sessions(): WhatsAppWebSession[] {
    return [...this.connections]
      .filter((c) => c.device && !c.closed)
      .map((c) => ({ phone: c.device!.account.phone, jid: jidOf(c.device!), lid: lidOf(c.device!), connectedSince: c.connectedSince! }));
  }

  stats(): WhatsAppWebStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.drop();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---------------------------------------------------------------- inside

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
    if (!connection.device) return;
    if (node.tag === "iq") {
      await answerIq(connection, node, this.iqRoutes, (c) => void c.end(streamError(401, { tag: "conflict", attrs: { type: "device_removed" } })));
    }
  }
}

const conflict = (): BinaryNode => ({ tag: "stream:error", attrs: {}, content: [{ tag: "conflict", attrs: { type: "replaced" } }] });

export { failureNode };
