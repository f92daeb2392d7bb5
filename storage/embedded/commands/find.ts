import { Long } from "bson";
import type { AwaitingCommandHandler, CommandHandler } from "../command.ts";
import { awaitTime } from "../change-streams.ts";
import { CommandError } from "../errors.ts";
import { compileFilter } from "../filter.ts";
import { toNumber } from "../bson-values.ts";
import { compileProjection } from "../projection.ts";
import { sortDocuments } from "../sort.ts";
import { collectionArg, nonNegativeInt, optionalDoc, optionalInt } from "./arguments.ts";

const find: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "find");
  const ns = `${db}.${name}`;
  const filter = optionalDoc(command, "filter");
  const sort = optionalDoc(command, "sort");
  const skip = nonNegativeInt(command, "skip") ?? 0;
  const rawLimit = optionalInt(command, "limit") ?? 0;
  const batchSize = nonNegativeInt(command, "batchSize");
  // A negative limit is the legacy spelling of "limit, in a single batch".
  const singleBatch = command.singleBatch === true || rawLimit < 0;
  const limit = Math.abs(rawLimit);
  if (command.tailable === true) throw new CommandError("BadValue", "tailable cursor requested on non capped collection");
  const matcher = compileFilter(filter, optionalDoc(command, "let"));
  const project = compileProjection(command.projection, filter);
  const coll = server.store.collection(db, name);
  let docs = coll ? coll.find(filter, matcher) : [];
  if (sort && Object.keys(sort).length) sortDocuments(docs, sort);
  if (skip || limit) docs = docs.slice(skip, limit ? skip + limit : undefined);
  const batch = server.cursors.open(ns, docs, project, batchSize, singleBatch);
  return { cursor: { firstBatch: batch.docs, id: batch.id, ns } };
};

const getMore: AwaitingCommandHandler = ({ server, db, command }) => {
  const id = toNumber(command.getMore);
  if (!Number.isFinite(id)) throw new CommandError("TypeMismatch", "getMore requires a cursor id");
  const collection = command.collection;
  if (typeof collection !== "string") throw new CommandError("TypeMismatch", "getMore requires the collection name");
  const ns = `${db}.${collection}`;
  const streams = server.replication?.streams;
  if (streams?.has(id)) return streams.getMore(id, ns, nonNegativeInt(command, "batchSize"), awaitTime(command));
  const batch = server.cursors.getMore(id, ns, nonNegativeInt(command, "batchSize"));
  return { cursor: { nextBatch: batch.docs, id: batch.id, ns } };
};

const killCursors: CommandHandler = ({ server, command }) => {
  const ids = Array.isArray(command.cursors) ? command.cursors.map((c: unknown) => toNumber(c)) : [];
  const { killed, notFound: others } = server.cursors.kill(ids);
  const streams = server.replication?.streams.kill(others);
  if (streams) killed.push(...streams.killed);
  const notFound = streams ? streams.notFound : others;
  const asLongs = (xs: number[]) => xs.map((x) => Long.fromNumber(x));
  return { cursorsKilled: asLongs(killed), cursorsNotFound: asLongs(notFound), cursorsAlive: [], cursorsUnknown: [] };
};

export const findCommands: Record<string, AwaitingCommandHandler> = { find, getMore, killCursors };
