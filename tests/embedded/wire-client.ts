// A bare wire-protocol client for tests that need to see exactly what goes over the socket
// (OP_QUERY handshake, OP_MSG flags, document sequences), which a driver hides.
import { connect } from "node:net";
import type { Socket } from "node:net";
import { deserialize, serialize } from "bson";
import type { Document } from "bson";

export interface Reply {
  opCode: number;
  responseTo: number;
  flags: number;
  doc: Document;
}

let requestId = 100;

export class WireClient {
  private buffered = Buffer.alloc(0);
  private waiters: Array<(reply: Reply) => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= this.buffered.readInt32LE(0)) {
        const length = this.buffered.readInt32LE(0);
        const message = this.buffered.subarray(0, length);
        this.buffered = this.buffered.subarray(length);
        this.waiters.shift()?.(parseReply(message));
      }
    });
  }

  static open(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(new WireClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Sends raw bytes and waits for the next reply. */
  request(bytes: Buffer): Promise<Reply> {
    const reply = this.nextReply();
    this.socket.write(bytes);
    return reply;
  }

  /** The reply after those already awaited (for several requests sent in one write). */
  nextReply(): Promise<Reply> {
    return new Promise<Reply>((resolve) => this.waiters.push(resolve));
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  close(): void {
    this.socket.destroy();
  }
}

function parseReply(message: Buffer): Reply {
  const opCode = message.readInt32LE(12);
  const responseTo = message.readInt32LE(8);
  if (opCode === 1) {
    // OP_REPLY: flags, cursorId (8), startingFrom, numberReturned, documents
    const flags = message.readInt32LE(16);
    return { opCode, responseTo, flags, doc: deserialize(message.subarray(36)) };
  }
  const flags = message.readUInt32LE(16);
  return { opCode, responseTo, flags, doc: deserialize(message.subarray(21)) };
}

function header(length: number, opCode: number): [Buffer, number] {
  const id = requestId++;
  const head = Buffer.alloc(16);
  head.writeInt32LE(length, 0);
  head.writeInt32LE(id, 4);
  head.writeInt32LE(0, 8);
  head.writeInt32LE(opCode, 12);
  return [head, id];
}

export function opQuery(namespace: string, query: Document): Buffer {
  const body = Buffer.concat([
    Buffer.alloc(4), // flags
    Buffer.from(`${namespace}\0`, "utf8"),
    Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), // numberToSkip 0, numberToReturn -1
    Buffer.from(serialize(query)),
  ]);
  const [head] = header(16 + body.length, 2004);
  return Buffer.concat([head, body]);
}

export function opMsg(command: Document, options: { flags?: number; sequences?: Record<string, Document[]> } = {}): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4), Buffer.from([0]), Buffer.from(serialize(command))];
  parts[0].writeUInt32LE(options.flags ?? 0, 0);
  for (const [identifier, docs] of Object.entries(options.sequences ?? {})) {
    const payload = Buffer.concat([Buffer.from(`${identifier}\0`, "utf8"), ...docs.map((d) => Buffer.from(serialize(d)))]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + payload.length, 0);
    parts.push(Buffer.from([1]), size, payload);
  }
  const body = Buffer.concat(parts);
  const [head] = header(16 + body.length, 2013);
  return Buffer.concat([head, body]);
}

export const MORE_TO_COME = 1 << 1;
