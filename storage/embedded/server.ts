// The TCP side: accepts connections, cuts the byte stream into wire messages, runs each
// command and writes the reply, one command at a time per connection (a change stream's
// getMore may wait; the connection's next command waits behind it). Nothing is logged; a
// malformed message closes that connection only.
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import type { Document } from "bson";
import type { ServerState } from "./command.ts";
import { ChangeLog, DEFAULT_CHANGE_HISTORY } from "./change-log.ts";
import { ChangeStreamCursors } from "./change-streams.ts";
import { CursorRegistry } from "./cursors.ts";
import { CLOSE_CONNECTION, runCommand } from "./dispatch.ts";
import { FailPoints } from "./fail-points.ts";
import { ReplicaSetState } from "./replica-set.ts";
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
  /**
   * Present the server as the primary of a one-member replica set of this name: change
   * streams and retryable writes work; multi-document transactions are still refused.
   * Unset (the default): a standalone mongod.
   */
  replicaSet?: string;
  /** Replica-set mode: how many change events are kept for change streams to resume from. Default 10 000. */
  changeStreamHistory?: number;
  /** Accept mongod's test command `configureFailPoint` (the `failCommand` fail point). */
  enableTestCommands?: boolean;
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
  const backlog: CommandRequest[] = [];
  let waiting = false;
  const respond = (request: CommandRequest, reply: Document) => {
    if (!request.moreToCome && !socket.destroyed) socket.write(encodeSafely(request, reply));
  };
  const drain = () => {
    while (!waiting && backlog.length) {
      const request = backlog.shift()!;
      const reply = runCommand(state, request.db, request.command, connectionId);
      if (reply === CLOSE_CONNECTION) {
        socket.destroy();
        return;
      }
      if (reply instanceof Promise) {
        waiting = true;
        void reply.then((doc) => {
          waiting = false;
          respond(request, doc);
          if (!socket.destroyed) drain();
        });
        return;
      }
      respond(request, reply);
    }
  };
  socket.on("data", (chunk: Buffer) => {
    framer.push(chunk);
    try {
      for (let message = framer.next(); message; message = framer.next()) backlog.push(parseMessage(message));
    } catch {
      // The stream cannot be resynchronised after a framing or parsing error.
      socket.destroy();
      return;
    }
    drain();
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
  if (opts.replicaSet !== undefined && !/^[^/\s,]+$/.test(opts.replicaSet)) return Promise.reject(new Error(`invalid replica set name '${opts.replicaSet}'`));
  const history = opts.changeStreamHistory;
  if (history !== undefined && (!Number.isInteger(history) || history < 1)) return Promise.reject(new Error(`changeStreamHistory must be a whole number of events, at least 1; got ${history}`));
  const changes = opts.replicaSet === undefined ? undefined : new ChangeLog(opts.changeStreamHistory ?? DEFAULT_CHANGE_HISTORY);
  const store = new Store(changes);
  const cursors = new CursorRegistry();
  const state: ServerState = {
    store,
    cursors,
    startedAt: new Date(),
    host,
    port: 0,
    connections: { current: 0, totalCreated: 0 },
    ...(opts.enableTestCommands && { failPoints: new FailPoints() }),
  };
  if (opts.replicaSet !== undefined && changes) {
    state.replication = {
      set: new ReplicaSetState(opts.replicaSet, changes),
      changes,
      streams: new ChangeStreamCursors(changes, store, (id) => cursors.has(id)),
    };
  }
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
    state.replication?.streams.reapIdle(now);
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
      if (state.replication) state.replication.set.member = ReplicaSetState.memberName(host, port);
      let closing: Promise<void> | undefined;
      resolve({
        uri: `mongodb://${host.includes(":") ? `[${host}]` : host}:${port}`,
        port,
        host,
        close() {
          closing ??= new Promise<void>((done) => {
            clearInterval(sweeper);
            state.cursors.clear();
            state.replication?.streams.clear();
            state.replication?.changes.close();
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          });
          return closing;
        },
      });
    });
  });
}
