// createIndexes, listIndexes, dropIndexes.
import type { CommandHandler } from "../command.ts";
import { CommandError } from "../errors.ts";
import { ID_INDEX_SPEC, sameKeyPattern } from "../indexes.ts";
import type { IndexSpec } from "../indexes.ts";
import { formatValue } from "../format.ts";
import { isPlainObject } from "../bson-values.ts";
import { collectionArg, cursorBatchSize, docArray } from "./arguments.ts";

const createIndexes: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "createIndexes");
  const specs = docArray(command, "indexes");
  if (specs.length === 0) throw new CommandError("BadValue", "Must specify at least one index to create");
  const existed = server.store.collection(db, name) !== undefined;
  const coll = server.store.ensureCollection(db, name);
  const before = coll.indexes.size;
  const created: string[] = [];
  try {
    for (const spec of specs) if (coll.createIndex(spec) === "created") created.push(spec.name as string);
  } catch (err) {
    // One failing specification fails the whole command, as in mongod.
    for (const done of created) coll.dropIndex(done);
    if (!existed && coll.docs.size === 0) server.store.dropCollection(db, name, false);
    throw err;
  }
  const reply = { numIndexesBefore: before, numIndexesAfter: coll.indexes.size, createdCollectionAutomatically: !existed };
  return created.length ? reply : { ...reply, note: "all indexes already exist" };
};

const listIndexes: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "listIndexes");
  const coll = server.store.collection(db, name);
  if (!coll) throw new CommandError("NamespaceNotFound", `ns does not exist: ${db}.${name}`);
  const ns = `${db}.$cmd.listIndexes.${name}`;
  const batch = server.cursors.open(ns, coll.indexSpecs(), (d) => d, cursorBatchSize(command));
  return { cursor: { id: batch.id, ns, firstBatch: batch.docs } };
};

const dropIndexes: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, Object.keys(command)[0]);
  const coll = server.store.collection(db, name);
  if (!coll) throw new CommandError("NamespaceNotFound", `ns not found ${db}.${name}`);
  const nIndexesWas = coll.indexes.size;
  const which = command.index;
  if (which === "*") {
    for (const indexName of [...coll.indexes.keys()]) if (indexName !== ID_INDEX_SPEC.name) coll.dropIndex(indexName);
  } else if (typeof which === "string") {
    coll.dropIndex(which);
  } else if (Array.isArray(which)) {
    for (const indexName of which) if (typeof indexName !== "string" || !coll.indexes.has(indexName)) {
      throw new CommandError("IndexNotFound", `index not found with name [${String(indexName)}]`);
    }
    for (const indexName of which) coll.dropIndex(indexName);
  } else if (isPlainObject(which)) {
    const probe = { v: 2, key: which, name: "" } as IndexSpec;
    const found = [...coll.indexes.values()].find((ix) => sameKeyPattern(ix.spec, probe));
    if (!found) throw new CommandError("IndexNotFound", `can't find index with key: ${formatValue(which)}`);
    coll.dropIndex(found.name);
  } else {
    throw new CommandError("TypeMismatch", "dropIndexes requires an index name, key pattern, list of names or '*'");
  }
  return { nIndexesWas };
};

export const indexCommands: Record<string, CommandHandler> = {
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
};
