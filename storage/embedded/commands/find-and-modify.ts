// findAndModify: pick one document (by sort), then update or remove it, all inside one
// synchronous handler so concurrent callers can never interleave between read and write.
import type { Document } from "bson";
import type { CommandHandler } from "../command.ts";
import { CommandError } from "../errors.ts";
import { compileFilter } from "../filter.ts";
import { compileProjection } from "../projection.ts";
import { sortDocuments } from "../sort.ts";
import { applyUpdate, buildUpsert, changed, parseUpdate } from "../update.ts";
import { collectionArg, optionalDoc } from "./arguments.ts";

const findAndModify: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, Object.keys(command)[0]);
  const query = optionalDoc(command, "query") ?? {};
  const sort = optionalDoc(command, "sort");
  const remove = command.remove === true;
  const upsert = command.upsert === true;
  const returnNew = command.new === true;
  if (remove && command.update !== undefined) throw new CommandError("FailedToParse", "Cannot specify both an update and remove=true");
  if (!remove && command.update === undefined) throw new CommandError("FailedToParse", "Either an update or remove=true must be specified");
  if (remove && (upsert || returnNew)) throw new CommandError("FailedToParse", "Cannot specify both upsert=true and remove=true");
  const project = compileProjection(command.fields, query);
  const shown = (doc: Document | undefined) => (doc ? project([doc])[0] : null);
  const matcher = compileFilter(query);
  const parsed = remove ? undefined : parseUpdate(command.update);
  const coll = upsert ? server.store.ensureCollection(db, name) : server.store.collection(db, name);

  let target: Document | undefined;
  if (coll) {
    if (sort && Object.keys(sort).length) target = sortDocuments(coll.find(query, matcher), sort)[0];
    else target = coll.findOne(query, matcher);
  }

  if (!parsed) {
    if (target) coll!.remove(target);
    return { lastErrorObject: { n: target ? 1 : 0 }, value: shown(target) };
  }
  const ctx = {
    query,
    arrayFilters: Array.isArray(command.arrayFilters) ? (command.arrayFilters as Document[]) : undefined,
  };
  if (target) {
    const next = applyUpdate(target, parsed, ctx);
    if (changed(target, next)) coll!.replace(target, next, parsed.kind === "replacement" ? "replace" : "update");
    return { lastErrorObject: { n: 1, updatedExisting: true }, value: shown(returnNew ? next : target) };
  }
  if (upsert) {
    const doc = buildUpsert(parsed, ctx);
    coll!.insert(doc);
    return { lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id }, value: returnNew ? shown(doc) : null };
  }
  return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
};

export const findAndModifyCommands: Record<string, CommandHandler> = { findAndModify, findandmodify: findAndModify };
