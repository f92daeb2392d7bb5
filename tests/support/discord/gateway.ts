// The gateway: a WebSocket speaking Discord's v10 JSON protocol (no compression — discord.js
// asks for zlib-stream only when the optional zlib-sync package is installed, and it is not).
// HELLO (op 10) on connect, IDENTIFY (op 2) → READY and a GUILD_CREATE per guild of the shard,
// heartbeats (op 1) answered with op 11, RESUME (op 6) replays what the session missed and
// ends with RESUMED. Events are filtered by the session's intents and shard as Discord does.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { WebSocket } from "ws";
import { randomBytes } from "node:crypto";

/** Gateway intents this emulator looks at. */
export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildMessages: 1 << 9,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15,
} as const;

/** Who an event is for: a guild's events go to the shard that guild lives on, others to shard 0. */
export interface Audience {
  readonly guildId?: string;
  /** The intent a session needs to receive it (none: everyone, e.g. INTERACTION_CREATE). */
  readonly intent?: number;
  /** Adjusts the payload for a session (e.g. blanks message content without the MessageContent intent). */
  readonly shape?: (data: Record<string, unknown>, intents: number) => Record<string, unknown>;
}

interface Dispatch {
  readonly s: number;
  readonly t: string;
  readonly d: Record<string, unknown>;
}

/** A session as Discord keeps it: it outlives its connection, so a RESUME can replay what was missed. */
export interface GatewaySession {
  readonly id: string;
  readonly intents: number;
  readonly shard: readonly [number, number];
  socket?: WebSocket;
  seq: number;
  /** Highest sequence written to a socket; the rest waits for a resume (or the end of a pause). */
  sentSeq: number;
  readonly log: Dispatch[];
}

export interface GatewayOptions {
  readonly token: () => string;
  readonly heartbeatIntervalMs: number;
  /** The URL clients connect (and resume) to. */
  readonly url: () => string;
  /** READY's payload and the guilds (as GUILD_CREATE payloads) to send after it, for this session. */
  readonly identify: (session: GatewaySession) => { ready: Record<string, unknown>; guilds: Array<Record<string, unknown>> };
}

const LOG_LIMIT = 20_000;

export class Gateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sessions = new Map<string, GatewaySession>();
  private paused = false;
  /** Every IDENTIFY and RESUME seen, in order: for tests about reconnecting. */
  readonly logins: Array<{ op: "identify" | "resume"; sessionId: string; at: Date }> = [];

  constructor(private readonly options: GatewayOptions) {
    this.wss.on("connection", (socket) => this.accept(socket));
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit("connection", ws, req));
  }

  /** Sessions with an open connection. */
  connected(): GatewaySession[] {
    return [...this.sessions.values()].filter((s) => s.socket && s.socket.readyState === s.socket.OPEN);
  }

  dispatch(t: string, d: Record<string, unknown>, audience: Audience = {}): void {
    for (const session of this.sessions.values()) {
      if (audience.intent !== undefined && (session.intents & audience.intent) === 0) continue;
      const [shardId, shardCount] = session.shard;
      const onShard = audience.guildId ? Number((BigInt(audience.guildId) >> 22n) % BigInt(shardCount)) : 0;
      if (onShard !== shardId) continue;
      this.append(session, t, audience.shape ? audience.shape(d, session.intents) : d);
    }
  }

  /** Stops delivering events and answering heartbeats (a stalled connection); `resume()` flushes. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const session of this.sessions.values()) this.flush(session);
  }

  /** Cuts every connection without a close frame, as a network failure does; sessions stay resumable. */
  drop(): void {
    for (const session of this.sessions.values()) {
      session.socket?.terminate();
      session.socket = undefined;
    }
  }

  /** Ends every session: the next connection must IDENTIFY again. */
  invalidateSessions(): void {
    this.drop();
    this.sessions.clear();
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    let session: GatewaySession | undefined;
    send(socket, { op: 10, d: { heartbeat_interval: this.options.heartbeatIntervalMs, _trace: ["[\"niaga-local-gateway\"]"] }, s: null, t: null });
    socket.on("message", (raw) => {
      let payload: { op: number; d: any };
      try {
        payload = JSON.parse(raw.toString());
      } catch {
        socket.close(4002, "Error while decoding payload.");
        return;
      }
      switch (payload.op) {
        case 1:
          if (!this.paused) send(socket, { op: 11, d: null, s: null, t: null });
          break;
        case 2:
          if (session) {
            socket.close(4005, "Already authenticated.");
            return;
          }
          session = this.identify(socket, payload.d);
          break;
        case 6:
          if (session) {
            socket.close(4005, "Already authenticated.");
            return;
          }
          session = this.resumeSession(socket, payload.d);
          break;
        case 3: // presence update
        case 4: // voice state
        case 8: // request guild members: no chunks are sent
          if (!session) socket.close(4003, "Not authenticated.");
          break;
        default:
          socket.close(4001, "Unknown opcode.");
      }
    });
    socket.on("close", () => {
      if (session && session.socket === socket) session.socket = undefined;
    });
    socket.on("error", () => undefined);
  }

  private identify(socket: WebSocket, d: any): GatewaySession | undefined {
    if (typeof d?.token !== "string" || d.token.replace(/^Bot\s+/i, "") !== this.options.token()) {
      socket.close(4004, "Authentication failed.");
      return undefined;
    }
    if (typeof d.intents !== "number") {
      socket.close(4013, "Invalid intent(s).");
      return undefined;
    }
    const shard: [number, number] = Array.isArray(d.shard) ? [d.shard[0], d.shard[1]] : [0, 1];
    if (shard[1] < 1 || shard[0] >= shard[1]) {
      socket.close(4010, "Invalid shard.");
      return undefined;
    }
    const session: GatewaySession = { id: randomBytes(16).toString("hex"), intents: d.intents, shard, socket, seq: 0, sentSeq: 0, log: [] };
    this.sessions.set(session.id, session);
    this.logins.push({ op: "identify", sessionId: session.id, at: new Date() });
    const { ready, guilds } = this.options.identify(session);
    this.append(session, "READY", { ...ready, session_id: session.id, resume_gateway_url: this.options.url(), shard });
    for (const guild of guilds) this.append(session, "GUILD_CREATE", guild);
    return session;
  }

  private resumeSession(socket: WebSocket, d: any): GatewaySession | undefined {
    const session = this.sessions.get(d?.session_id);
    if (!session || d.token?.replace(/^Bot\s+/i, "") !== this.options.token() || typeof d.seq !== "number") {
      send(socket, { op: 9, d: false, s: null, t: null });
      return undefined;
    }
    session.socket?.terminate();
    session.socket = socket;
    session.sentSeq = Math.min(session.sentSeq, d.seq);
    this.logins.push({ op: "resume", sessionId: session.id, at: new Date() });
    this.append(session, "RESUMED", { _trace: ["[\"niaga-local-gateway\"]"] });
    return session;
  }

  private append(session: GatewaySession, t: string, d: Record<string, unknown>): void {
    session.seq += 1;
    if (t === "RESUMED") {
      // Replayed events come first, then RESUMED, in sequence order; an earlier RESUMED is not replayed.
      const earlier = session.log.findIndex((e) => e.t === "RESUMED");
      if (earlier >= 0) session.log.splice(earlier, 1);
    }
    session.log.push({ s: session.seq, t, d });
    if (session.log.length > LOG_LIMIT) session.log.splice(0, session.log.length - LOG_LIMIT);
    this.flush(session);
  }

  private flush(session: GatewaySession): void {
    const socket = session.socket;
    if (this.paused || !socket || socket.readyState !== socket.OPEN) return;
    let start = session.log.length;
    while (start > 0 && session.log[start - 1]!.s > session.sentSeq) start--;
    if (start === session.log.length) return;
    for (const entry of session.log.slice(start)) send(socket, { op: 0, ...entry });
    session.sentSeq = session.log[session.log.length - 1]!.s;
  }
}

function send(socket: WebSocket, payload: Record<string, unknown>): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(payload));
}
