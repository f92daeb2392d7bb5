/**
 * A real Baileys socket pointed at the local WhatsApp Web, with creds and keys in memory
 * and its events recorded — for tests of the emulator itself and of code that only needs a
 * connected socket. Product code keeps its auth state in MongoDB instead.
 */
import { makeWASocket } from "baileys";
import type { AuthenticationCreds, BaileysEventMap, SignalDataTypeMap, SignalKeyStore, UserFacingSocketConfig, WASocket } from "baileys";

/** Baileys' logger interface, saying nothing (set WA_EMULATOR_LOG=1 to see Baileys' warnings). */
export const quietLogger: any = {
  level: process.env.WA_EMULATOR_LOG ? "warn" : "silent",
  child() { return quietLogger; },
  trace() {}, debug() {}, info() {},
  warn: (...args: unknown[]) => process.env.WA_EMULATOR_LOG && console.warn(...args),
  error: (...args: unknown[]) => process.env.WA_EMULATOR_LOG && console.error(...args),
};

/** Signal keys in a Map; `null` deletes, as Baileys expects. */
export function memoryKeys(): SignalKeyStore {
  const data = new Map<string, unknown>();
  return {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const found: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const id of ids) {
        const value = data.get(`${type}/${id}`);
        if (value !== undefined) found[id] = value as SignalDataTypeMap[T];
      }
      return found;
    },
    async set(values) {
      for (const [type, entries] of Object.entries(values)) {
        for (const [id, value] of Object.entries(entries ?? {})) {
          if (value === null || value === undefined) data.delete(`${type}/${id}`);
          else data.set(`${type}/${id}`, value);
        }
      }
    },
  };
}

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
