import type { CommandHandler } from "../command.ts";
import { refuseCollation } from "../collation.ts";
import { CommandError } from "../errors.ts";
import { compileFilter } from "../filter.ts";
import { isPlainObject } from "../bson-values.ts";
import { collectionArg, docArray } from "./arguments.ts";
import { WriteBatch } from "./write-errors.ts";

const remove: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "delete");
  const statements = docArray(command, "deletes");
  const coll = server.store.collection(db, name);
  const batch = new WriteBatch(command);
  let n = 0;
  for (let i = 0; i < statements.length; i++) {
    const ok = batch.run(i, () => {
      const { q, limit, collation } = statements[i];
      refuseCollation(collation);
      if (!isPlainObject(q)) throw new CommandError("TypeMismatch", "q must be an object");
      if (limit !== 0 && limit !== 1) throw new CommandError("FailedToParse", "The limit field in delete objects must be 0 or 1");
      if (!coll) return;
      const matcher = compileFilter(q);
      const victims = limit === 1 ? [coll.findOne(q, matcher)].filter((d) => d !== undefined) : coll.find(q, matcher);
      for (const doc of victims) coll.remove(doc);
      n += victims.length;
    });
    if (!ok) break;
  }
  return batch.reply({ n });
};

export const deleteCommands: Record<string, CommandHandler> = { delete: remove };
