// The command table: every command the server answers, by the exact name mongod uses.
import type { AwaitingCommandHandler } from "../command.ts";
import { aggregateCommands } from "./aggregate.ts";
import { collectionCommands } from "./collections.ts";
import { countCommands } from "./count.ts";
import { deleteCommands } from "./delete.ts";
import { findAndModifyCommands } from "./find-and-modify.ts";
import { findCommands } from "./find.ts";
import { handshakeCommands } from "./handshake.ts";
import { indexCommands } from "./indexes.ts";
import { insertCommands } from "./insert.ts";
import { sessionCommands } from "./sessions.ts";
import { statsCommands } from "./stats.ts";
import { updateCommands } from "./update.ts";

export const commands = new Map<string, AwaitingCommandHandler>(
  Object.entries({
    ...handshakeCommands,
    ...sessionCommands,
    ...insertCommands,
    ...updateCommands,
    ...deleteCommands,
    ...findCommands,
    ...findAndModifyCommands,
    ...aggregateCommands,
    ...countCommands,
    ...collectionCommands,
    ...indexCommands,
    ...statsCommands,
  }),
);
