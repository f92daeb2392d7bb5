/**
 * One WebSocket connection from a Baileys socket: the noise layer, sending nodes, waiting for
 * the socket's answer to a query, and ending the stream the way WhatsApp does (a final node,
 * then closing once the socket had the time to read it).
 */
import type { WebSocket } from "ws";
import type { BinaryNode, proto } from "baileys";
import { NoiseServer } from "./noise.ts";
import type { LinkedDevice } from "./accounts.ts";

export interface ConnectionHandlers {
  onHandshake(connection: Connection, clientStatic: Buffer, payload: proto.ClientPayload): void;
  onNode(connection: Connection, node: BinaryNode): Promise<void> | void;
  onClose(connection: Connection): void;
}

let nextTag = 1;
/** A stanza id in the server's style. */
export const serverId = (): string => `${Date.now().toString(16).toUpperCase()}.${(nextTag++).toString(16).toUpperCase()}`;

export class Connection {
  /** Set once the socket logged in as a linked device. */
  device?: LinkedDevice;
  /** Set while the socket is an unlinked one showing QR codes. */
  pairing?: { noiseKey: Buffer; refs: string[]; payload: proto.ClientPayload };
  connectedSince?: Date;
  closed = false;
  private readonly noise: NoiseServer;
  /** Waiters for answers to our queries; called with undefined when the socket closed. */
  private readonly waiting = new Map<string, (node: BinaryNode | undefined) => void>();

  constructor(
    private readonly ws: WebSocket,
    handlers: ConnectionHandlers,
    /** Silent mode: read nothing, answer nothing. */
    silent: boolean,
  ) {
    this.noise = new NoiseServer({
      sendRaw: (bytes) => this.sendRaw(bytes),
      onHandshake: (clientStatic, payload) => handlers.onHandshake(this, clientStatic, payload),
      onNode: (node) => {
        const waiter = node.tag === "iq" && (node.attrs.type === "result" || node.attrs.type === "error") ? this.waiting.get(node.attrs.id!) : undefined;
        if (waiter) {
          this.waiting.delete(node.attrs.id!);
          waiter(node);
          return;
        }
        return handlers.onNode(this, node);
      },
      onError: () => this.drop(),
    });
    ws.on("message", (data: Buffer) => {
      if (!silent) this.noise.receive(Buffer.from(data));
    });
    ws.on("close", () => {
      this.closed = true;
      for (const waiter of this.waiting.values()) waiter(undefined);
      this.waiting.clear();
      handlers.onClose(this);
    });
    ws.on("error", () => this.drop());
  }

  async send(node: BinaryNode): Promise<void> {
    if (this.closed) return;
    this.sendRaw(await this.noise.encodeNode(node));
  }

  /** Sends an iq and resolves with the socket's `result`/`error` answer. */
  query(node: BinaryNode, timeoutMs = 10_000): Promise<BinaryNode> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(node.attrs.id!);
        reject(new Error(`no answer to ${node.tag} ${node.attrs.id}`));
      }, timeoutMs);
      this.waiting.set(node.attrs.id!, (answer) => {
        clearTimeout(timer);
        if (answer) resolve(answer);
        else reject(new Error("the socket closed before answering"));
      });
      this.send(node).catch(reject);
    });
  }

  /**
   * Sends `node` and ends the stream: the socket closes itself once it read it (Baileys does);
   * a socket that does not is cut off after a grace period.
   */
  async end(node: BinaryNode, graceMs = 2_000): Promise<void> {
    await this.send(node);
    const cutOff = setTimeout(() => this.drop(), graceMs);
    this.ws.once("close", () => clearTimeout(cutOff));
  }

  /** Cuts the TCP connection without a word, as a network failure would. */
  drop(): void {
    this.ws.terminate();
  }

  private sendRaw(bytes: Buffer): void {
    if (!this.closed && this.ws.readyState === this.ws.OPEN) this.ws.send(bytes);
  }
}
