// What a command handler receives and returns. Handlers are synchronous on purpose: the
// server runs one command to completion before reading the next, which is what makes
// every single-document read-modify-write atomic without locks. The one exception is a
// change stream's getMore, which may wait for events; it reads them synchronously once
// woken.
import type { Document } from "bson";
import type { ChangeLog } from "./change-log.ts";
import type { ChangeStreamCursors } from "./change-streams.ts";
import type { CursorRegistry } from "./cursors.ts";
import type { FailPoints } from "./fail-points.ts";
import type { ReplicaSetState } from "./replica-set.ts";
import type { Store } from "./store.ts";

/** What only a server started as a one-member replica set has. */
export interface ReplicaSetMode {
  set: ReplicaSetState;
  changes: ChangeLog;
  streams: ChangeStreamCursors;
}

export interface ServerState {
  store: Store;
  cursors: CursorRegistry;
  startedAt: Date;
  host: string;
  port: number;
  connections: { current: number; totalCreated: number };
  /** Set when started with `replicaSet`. */
  replication?: ReplicaSetMode;
  /** Set when started with `enableTestCommands`. */
  failPoints?: FailPoints;
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
/** A handler that may have to wait (a change stream's getMore). */
export type AwaitingCommandHandler = (ctx: CommandContext) => Document | Promise<Document>;
