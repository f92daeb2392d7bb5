// Runs one command and always produces a reply document: handler result plus `ok: 1`, or
// mongod's error shape `{ ok: 0, errmsg, code, codeName }`.
import type { Document } from "bson";
import type { ServerState } from "./command.ts";
import { refuseCollation } from "./collation.ts";
import { commands } from "./commands/index.ts";
import { TRANSACTIONS_UNSUPPORTED } from "./commands/sessions.ts";
import { CommandError, asCommandError } from "./errors.ts";

export function runCommand(server: ServerState, db: string, command: Document, connectionId: number): Document {
  try {
    const name = Object.keys(command)[0];
    if (!name) throw new CommandError("FailedToParse", "empty command object");
    const handler = commands.get(name);
    if (!handler) throw new CommandError("CommandNotFound", `no such command: '${name}'`);
    // A standalone mongod refuses transaction numbers (transactions and retryable writes)
    // before looking at the command itself.
    if (command.txnNumber !== undefined || command.autocommit !== undefined || command.startTransaction !== undefined) {
      throw new CommandError("IllegalOperation", TRANSACTIONS_UNSUPPORTED);
    }
    refuseCollation(command.collation);
    return { ...handler({ server, db, command, connectionId }), ok: 1 };
  } catch (err) {
    return { ok: 0, ...asCommandError(err).toDocument() };
  }
}
