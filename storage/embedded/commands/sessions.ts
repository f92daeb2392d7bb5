// Sessions are accepted and forgotten (there is nothing per session to keep), and
// transactions are refused the way a standalone mongod refuses them.
import { UUID } from "bson";
import type { CommandHandler } from "../command.ts";
import { CommandError } from "../errors.ts";

export const TRANSACTIONS_UNSUPPORTED = "Transaction numbers are only allowed on a replica set member or mongos";

const refuseTransaction: CommandHandler = () => {
  throw new CommandError("IllegalOperation", TRANSACTIONS_UNSUPPORTED);
};

export const sessionCommands: Record<string, CommandHandler> = {
  endSessions: () => ({}),
  killSessions: () => ({}),
  killAllSessions: () => ({}),
  killAllSessionsByPattern: () => ({}),
  refreshSessions: () => ({}),
  startSession: () => ({ id: { id: new UUID() }, timeoutMinutes: 30 }),
  commitTransaction: refuseTransaction,
  abortTransaction: refuseTransaction,
};
