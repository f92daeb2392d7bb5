import type { Document } from "bson";
import type { CommandHandler } from "../command.ts";
import { refuseCollation } from "../collation.ts";
import { CommandError } from "../errors.ts";
import { compileFilter } from "../filter.ts";
import { isPlainObject } from "../bson-values.ts";
import { applyUpdates, buildUpsert, changed, parseUpdate } from "../update.ts";
import { collectionArg, docArray } from "./arguments.ts";
import { WriteBatch } from "./write-errors.ts";

const update: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "update");
  const statements = docArray(command, "updates");
  const batch = new WriteBatch(command);
  const upserted: Document[] = [];
  let n = 0;
  let nModified = 0;
  for (let i = 0; i < statements.length; i++) {
    const ok = batch.run(i, () => {
      const statement = statements[i];
      const query = statement.q ?? {};
      if (!isPlainObject(query)) throw new CommandError("TypeMismatch", "q must be an object");
      refuseCollation(statement.collation);
      const parsed = parseUpdate(statement.u);
      const multi = statement.multi === true;
      if (multi && parsed.kind === "replacement") {
        throw new CommandError("FailedToParse", "multi update is not supported for replacement-style update");
      }
      const arrayFilters = Array.isArray(statement.arrayFilters) ? (statement.arrayFilters as Document[]) : undefined;
      const ctx = { query, arrayFilters };
      const matcher = compileFilter(query);
      const coll = statement.upsert ? server.store.ensureCollection(db, name) : server.store.collection(db, name);
      const matches = !coll ? [] : multi ? coll.find(query, matcher) : [coll.findOne(query, matcher)].filter((d) => d !== undefined);
      const updated = applyUpdates(matches, parsed, ctx);
      matches.forEach((doc, j) => {
        n += 1;
        if (changed(doc, updated[j])) {
          coll!.replace(doc, updated[j], parsed.kind === "replacement" ? "replace" : "update");
          nModified += 1;
        }
      });
      if (matches.length === 0 && statement.upsert === true) {
        const doc = buildUpsert(parsed, ctx);
        coll!.insert(doc);
        n += 1;
        upserted.push({ index: i, _id: doc._id });
      }
    });
    if (!ok) break;
  }
  return batch.reply(upserted.length ? { n, nModified, upserted } : { n, nModified });
};

export const updateCommands: Record<string, CommandHandler> = { update };
