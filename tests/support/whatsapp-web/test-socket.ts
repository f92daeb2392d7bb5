/**
 * A real Baileys socket pointed at the local WhatsApp Web, with creds and keys in memory
 * and its events recorded — for tests of the emulator itself and of code that only needs a
 * connected socket. Product code keeps its auth state in MongoDB instead.
 */
import { makeWASocket } from "baileys";
import type { AuthenticationCreds, BaileysEventMap, SignalKeyStore, UserFacingSocketConfig, WASocket } from "baileys";
import { memoryKeys, quietLogger } from "./memory-auth.ts";

export { memoryKeys, quietLogger };

export interface TestSocket {
  sock: WASocket;
  creds: AuthenticationCreds;
  /** Every event of the kinds recorded, in order. */
  events: { [K in keyof BaileysEventMap]?: BaileysEventMap[K][] };
  /** Resolves with the status code of the close (undefined when the error had none). */
  closed: Promise<number | undefined>;
}

const RECORDED: (keyof BaileysEventMap)[] = ["connection.update", "messages.upsert", "messages.update", "creds.update"];

/** Opens a socket with `creds` (kept up to date from `creds.update`) and `keys`. */
export function openTestSocket(url: string, creds: AuthenticationCreds, keys: SignalKeyStore = memoryKeys(), config: Partial<UserFacingSocketConfig> = {}): TestSocket {
  const sock = makeWASocket({
    waWebSocketUrl: url,
    auth: { creds, keys },
    logger: quietLogger,
    markOnlineOnConnect: false,
    syncFullHistory: false,
    fireInitQueries: false,
    connectTimeoutMs: 20_000,
    ...config,
  });
  const events: TestSocket["events"] = {};
  for (const name of RECORDED) {
    sock.ev.on(name, (event: any) => ((events[name] ??= [] as any[]) as any[]).push(event));
  }
  sock.ev.on("creds.update", (update) => Object.assign(creds, update));
  const closed = new Promise<number | undefined>((resolve) => {
    sock.ev.on("connection.update", ({ connection, lastDisconnect }) => {
      if (connection === "close") resolve((lastDisconnect?.error as any)?.output?.statusCode);
    });
  });
  return { sock, creds, events, closed };
}

export const isOpen = (socket: TestSocket): boolean =>
  !!socket.events["connection.update"]?.some((u) => u.connection === "open");
