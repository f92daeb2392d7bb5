// aggregate: leading $match stages run against the collection (through its indexes) and
// the rest of the pipeline runs in mingo on copies of the matched documents.
import type { Document } from "bson";
import { Aggregator } from "mingo/aggregator";
import { OpType } from "mingo/core";
import { MingoError } from "mingo/util";
import type { CommandHandler } from "../command.ts";
import { deepCopy } from "../clone.ts";
import { CommandError, asCommandError } from "../errors.ts";
import { compileFilter } from "../filter.ts";
import { context, mingoOptions } from "../mingo.ts";
import { isPlainObject } from "../bson-values.ts";
import type { Store } from "../store.ts";
import { collectionArg, cursorBatchSize, docArray, optionalDoc } from "./arguments.ts";

const NOT_SUPPORTED = new Set(["$out", "$merge", "$geoNear", "$search", "$searchMeta", "$vectorSearch", "$collStats", "$indexStats", "$currentOp", "$listSessions", "$planCacheStats"]);

function stageName(stage: unknown): string {
  if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
    throw new CommandError("Location40324", "A pipeline stage specification object must contain exactly one field.");
  }
  return Object.keys(stage)[0];
}

/** Stops an unknown or server-only stage before anything runs, with mongod's code for it. */
export function checkPipeline(pipeline: unknown[]): void {
  for (const stage of pipeline) {
    const name = stageName(stage);
    // What a standalone mongod answers, since change streams need a replica set's oplog.
    if (name === "$changeStream") throw new CommandError("Location40573", "The $changeStream stage is only supported on replica sets");
    if (NOT_SUPPORTED.has(name)) throw new CommandError("Location40324", `${name} is not supported by the embedded MongoDB server`);
    if (!context.getOperator(OpType.PIPELINE, name)) throw new CommandError("Location40324", `Unrecognized pipeline stage name: '${name}'`);
  }
}

function resolverFor(store: Store, db: string): (name: string) => Document[] {
  return (name) => {
    const coll = store.collection(db, name);
    return coll ? [...coll.docs.values()].map(deepCopy) : [];
  };
}

/** Runs a pipeline over a collection (or over nothing, for `aggregate: 1`). */
export function runPipeline(store: Store, db: string, collection: string | undefined, pipeline: Document[], variables?: Document): Document[] {
  checkPipeline(pipeline);
  let rest = pipeline;
  const coll = collection === undefined ? undefined : store.collection(db, collection);
  let docs: Document[] | undefined;
  while (rest.length && "$match" in rest[0]) {
    const filter = rest[0].$match;
    const matcher = compileFilter(filter);
    docs = docs ? docs.filter(matcher) : coll ? coll.find(filter, matcher) : [];
    rest = rest.slice(1);
  }
  docs ??= coll ? [...coll.docs.values()] : [];
  if (rest.length === 0) return docs;
  try {
    // mingo stages may modify their input in place; stored documents must not change.
    const agg = new Aggregator(rest, mingoOptions({ collectionResolver: resolverFor(store, db), variables }));
    return agg.run(docs.map(deepCopy)) as Document[];
  } catch (err) {
    const unknown = err instanceof MingoError && /unregistered pipeline operator (\$\w+)/.exec(err.message);
    if (unknown) throw new CommandError("Location40324", `Unrecognized pipeline stage name: '${unknown[1]}'`);
    throw asCommandError(err);
  }
}

const aggregate: CommandHandler = ({ server, db, command }) => {
  const target = command.aggregate;
  const collection = target === 1 ? undefined : collectionArg(command, "aggregate");
  const pipeline = docArray(command, "pipeline");
  if (command.explain === true) throw new CommandError("IllegalOperation", "explain is not supported by the embedded MongoDB server");
  if (optionalDoc(command, "cursor") === undefined) {
    throw new CommandError("FailedToParse", "The 'cursor' option is required, except for aggregate with the explain argument");
  }
  if (server.replication && pipeline.length && isPlainObject(pipeline[0]) && "$changeStream" in pipeline[0]) {
    return server.replication.streams.open({ db, collection, pipeline, batchSize: cursorBatchSize(command) });
  }
  if (server.replication && pipeline.some((stage) => isPlainObject(stage) && "$changeStream" in stage)) {
    throw new CommandError("Location40602", "$changeStream is only valid as the first stage in a pipeline.");
  }
  const variables = optionalDoc(command, "let");
  const docs = runPipeline(server.store, db, collection, pipeline, variables);
  const ns = collection === undefined ? `${db}.$cmd.aggregate` : `${db}.${collection}`;
  const batch = server.cursors.open(ns, docs, (d) => d, cursorBatchSize(command));
  return { cursor: { firstBatch: batch.docs, id: batch.id, ns } };
};

export const aggregateCommands: Record<string, CommandHandler> = { aggregate };
