// The TCP side: accepts connections, cuts the byte stream into wire messages, runs each
// command synchronously and writes the reply. Nothing is logged; a malformed message
// closes that connection only.
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import type { Document } from "bson";
import type { ServerState } from "./command.ts";
import { CursorRegistry } from "./cursors.ts";
import { runCommand } from "./dispatch.ts";
import { Store } from "./store.ts";
import { sweepExpired } from "./ttl.ts";
import { CommandError } from "./errors.ts";
import { HEADER_SIZE, MAX_MESSAGE_SIZE, encodeReply, parseMessage } from "./wire.ts";
import type { CommandRequest } from "./wire.ts";

export interface EmbeddedServer {
  uri: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

export interface EmbeddedServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** How often the TTL monitor runs; mongod's is 60 000 ms. */
  ttlSweepMs?: number;
}

/** Buffers one connection's incoming bytes and yields complete messages. */
class MessageFramer {
  private chunks: Buffer[] = [];
  private bytes = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** The next complete message, undefined if more bytes are needed; throws on a bad length. */
  next(): Buffer | undefined {
    if (this.bytes < 4) return undefined;
    if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks)];
    const length = this.chunks[0].readInt32LE(0);
    if (length < HEADER_SIZE || length > MAX_MESSAGE_SIZE) throw new Error(`invalid message length ${length}`);
    if (this.bytes < length) return undefined;
    // Concatenate only once the whole message is here, so a large message arriving in
    // many chunks is copied once rather than once per chunk.
    if (this.chunks[0].length < length) this.chunks = [Buffer.concat(this.chunks)];
    const head = this.chunks[0];
    const message = head.subarray(0, length);
    if (head.length === length) this.chunks.shift();
    else this.chunks[0] = head.subarray(length);
    this.bytes -= length;
    return message;
  }
}

let nextConnectionId = 1;

function serve(state: ServerState, socket: Socket): void {
  const connectionId = nextConnectionId++;
  const framer = new MessageFramer();
  state.connections.current += 1;
  state.connections.totalCreated += 1;
  socket.setNoDelay(true);
  socket.on("close", () => {
    state.connections.current -= 1;
  });
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk: Buffer) => {
    framer.push(chunk);
    try {
      for (let message = framer.next(); message; message = framer.next()) {
        const request = parseMessage(message);
        const reply = runCommand(state, request.db, request.command, connectionId);
        if (!request.moreToCome) socket.write(encodeSafely(request, reply));
      }
    } catch {
      // The stream cannot be resynchronised after a framing or parsing error.
      socket.destroy();
    }
  });
}

/** A reply that cannot be serialized (too large, unencodable value) becomes an error reply. */
function encodeSafely(request: CommandRequest, reply: Document): Buffer {
  try {
    return encodeReply(request, reply);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return encodeReply(request, { ok: 0, ...new CommandError("InternalError", `cannot encode reply: ${message}`).toDocument() });
  }
}

export function startEmbeddedServer(opts: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const host = opts.host ?? "127.0.0.1";
  const state: ServerState = {
    store: new Store(),
    cursors: new CursorRegistry(),
    startedAt: new Date(),
    host,
    port: 0,
    connections: { current: 0, totalCreated: 0 },
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serve(state, socket);
  });
  const sweeper = setInterval(() => {
    const now = Date.now();
    sweepExpired(state.store, now);
    state.cursors.reapIdle(now);
  }, opts.ttlSweepMs ?? 60_000);
  sweeper.unref();

  return new Promise((resolve, reject) => {
    server.once("error", (err) => {
      clearInterval(sweeper);
      reject(err);
    });
    server.listen(opts.port ?? 0, host, () => {
      const { port } = server.address() as AddressInfo;
      state.port = port;
      let closing: Promise<void> | undefined;
      resolve({
        uri: `mongodb://${host.includes(":") ? `[${host}]` : host}:${port}`,
        port,
        host,
        close() {
          closing ??= new Promise<void>((done) => {
            clearInterval(sweeper);
            state.cursors.clear();
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          });
          return closing;
        },
      });
    });
  });
}
