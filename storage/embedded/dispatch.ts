// Runs one command and always produces a reply document: handler result plus `ok: 1`, or
// mongod's error shape `{ ok: 0, errmsg, code, codeName }`. A change stream's getMore may
// answer later (a promise); a `failCommand` fail point may ask for the connection to close.
import type { Document } from "bson";
import type { AwaitingCommandHandler, ServerState } from "./command.ts";
import { refuseCollation } from "./collation.ts";
import { commands } from "./commands/index.ts";
import { TRANSACTIONS_UNSUPPORTED } from "./commands/sessions.ts";
import { CommandError, asCommandError } from "./errors.ts";

/** runCommand's answer when the connection is to be closed without a reply. */
export const CLOSE_CONNECTION = Symbol("close connection");
export type CommandReply = Document | Promise<Document> | typeof CLOSE_CONNECTION;

function errorReply(err: unknown): Document {
  return { ok: 0, ...asCommandError(err).toDocument() };
}

/** The handler for a command name; some exist only in replica-set mode or with test commands on. */
function handlerFor(server: ServerState, name: string): AwaitingCommandHandler | undefined {
  if (name === "replSetGetStatus" && server.replication) {
    const { set } = server.replication;
    return () => set.status(set.member, server.startedAt);
  }
  const failPoints = server.failPoints;
  if (name === "configureFailPoint" && failPoints) return ({ command }) => failPoints.configure(command);
  return commands.get(name);
}

export function runCommand(server: ServerState, db: string, command: Document, connectionId: number): CommandReply {
  try {
    const name = Object.keys(command)[0];
    if (!name) throw new CommandError("FailedToParse", "empty command object");
    const handler = handlerFor(server, name);
    if (!handler) throw new CommandError("CommandNotFound", `no such command: '${name}'`);
    let retryKey: string | undefined;
    if (server.replication) {
      retryKey = server.replication.set.checkTransactionFields(name, command);
    } else if (command.txnNumber !== undefined || command.autocommit !== undefined || command.startTransaction !== undefined) {
      // A standalone mongod refuses transaction numbers (transactions and retryable writes)
      // before looking at the command itself.
      throw new CommandError("IllegalOperation", TRANSACTIONS_UNSUPPORTED);
    }
    const fault = server.failPoints?.check(name);
    if (fault) return fault.closeConnection ? CLOSE_CONNECTION : fault.reply;
    const earlier = retryKey === undefined ? undefined : server.replication?.set.retried(retryKey);
    if (earlier) return earlier;
    refuseCollation(command.collation);
    const result = handler({ server, db, command, connectionId });
    if (result instanceof Promise) return result.then((doc) => ({ ...doc, ok: 1 }), errorReply);
    const reply = { ...result, ok: 1 };
    if (retryKey !== undefined) server.replication?.set.remember(retryKey, reply);
    return reply;
  } catch (err) {
    return errorReply(err);
  }
}
