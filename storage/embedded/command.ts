// What a command handler receives and returns. Handlers are synchronous on purpose: the
// server runs one command to completion before reading the next, which is what makes
// every single-document read-modify-write atomic without locks.
import type { Document } from "bson";
import type { CursorRegistry } from "./cursors.ts";
import type { Store } from "./store.ts";

export interface ServerState {
  store: Store;
  cursors: CursorRegistry;
  startedAt: Date;
  host: string;
  port: number;
  connections: { current: number; totalCreated: number };
}

export interface CommandContext {
  server: ServerState;
  /** Database named by `$db` (OP_MSG) or the OP_QUERY namespace. */
  db: string;
  command: Document;
  connectionId: number;
}

/** Returns the reply without `ok`; throwing a CommandError produces an `ok: 0` reply. */
export type CommandHandler = (ctx: CommandContext) => Document;
