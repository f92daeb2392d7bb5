// Collection and database management: create, drop, list, rename.
import type { Document } from "bson";
import { assertSameOptions, createOptions } from "../collection-options.ts";
import type { CommandHandler } from "../command.ts";
import { CommandError } from "../errors.ts";
import { compileFilter } from "../filter.ts";
import { ID_INDEX_SPEC } from "../indexes.ts";
import { validateCollectionName } from "../store.ts";
import { collectionArg, cursorBatchSize, optionalDoc } from "./arguments.ts";

const UNSUPPORTED_CREATE_OPTIONS = ["viewOn", "pipeline", "timeseries", "encryptedFields"];

const create: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "create");
  const options = createOptions(command);
  const existing = server.store.collection(db, name);
  // mongod 7.0: the same options again change nothing; different ones are refused.
  if (existing) {
    assertSameOptions(existing, options);
    return {};
  }
  const unsupported = UNSUPPORTED_CREATE_OPTIONS.find((o) => options[o] !== undefined);
  if (unsupported) throw new CommandError("InvalidOptions", `'${unsupported}' collections are not supported by the embedded MongoDB server`);
  server.store.createCollection(db, name, options);
  return {};
};

const drop: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "drop");
  const dropped = server.store.dropCollection(db, name);
  // mongod 7 answers ok for a collection that does not exist.
  return dropped ? { nIndexesWas: dropped.indexes.size, ns: dropped.ns } : {};
};

const dropDatabase: CommandHandler = ({ server, db }) => {
  server.store.dropDatabase(db);
  return {};
};

const listCollections: CommandHandler = ({ server, db, command }) => {
  const nameOnly = command.nameOnly === true;
  const filter = optionalDoc(command, "filter");
  const database = server.store.database(db);
  const all = database ? [...database.collections.values()] : [];
  const entries: Document[] = all.map((coll) =>
    nameOnly
      ? { name: coll.name, type: "collection" }
      : {
          name: coll.name,
          type: "collection",
          options: coll.options,
          info: { readOnly: false, uuid: coll.uuid },
          idIndex: ID_INDEX_SPEC,
        },
  );
  const matcher = compileFilter(filter);
  const docs = entries.filter((e) => matcher(e));
  const ns = `${db}.$cmd.listCollections`;
  const batch = server.cursors.open(ns, docs, (d) => d, cursorBatchSize(command));
  return { cursor: { id: batch.id, ns, firstBatch: batch.docs } };
};

const listDatabases: CommandHandler = ({ server, command }) => {
  const nameOnly = command.nameOnly === true;
  const filter = compileFilter(optionalDoc(command, "filter"));
  const databases: Document[] = [];
  for (const database of server.store.databases.values()) {
    const entry = nameOnly ? { name: database.name } : { name: database.name, sizeOnDisk: 0, empty: database.collections.size === 0 };
    if (filter(entry)) databases.push(entry);
  }
  return nameOnly ? { databases } : { databases, totalSize: 0, totalSizeMb: 0 };
};

/** `renameCollection` is an admin command taking full namespaces ("db.coll"). */
const renameCollection: CommandHandler = ({ server, command }) => {
  const split = (ns: unknown): [string, string] => {
    if (typeof ns !== "string" || !ns.includes(".")) throw new CommandError("InvalidNamespace", `Invalid namespace specified '${String(ns)}'`);
    const dot = ns.indexOf(".");
    return [ns.slice(0, dot), ns.slice(dot + 1)];
  };
  const [fromDb, fromName] = split(command.renameCollection);
  const [toDb, toName] = split(command.to);
  validateCollectionName(toName);
  if (fromDb === toDb && fromName === toName) throw new CommandError("IllegalOperation", "Can't rename a collection to itself");
  const source = server.store.collection(fromDb, fromName);
  if (!source) throw new CommandError("NamespaceNotFound", "Source collection does not exist");
  if (server.store.collection(toDb, toName)) {
    if (command.dropTarget !== true) throw new CommandError("NamespaceExists", "target namespace exists");
    server.store.dropCollection(toDb, toName);
  }
  server.store.renameCollection(fromDb, fromName, toDb, toName);
  return {};
};

const collMod: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "collMod");
  if (!server.store.collection(db, name)) throw new CommandError("NamespaceNotFound", `ns does not exist: ${db}.${name}`);
  throw new CommandError("InvalidOptions", "collMod is not supported by the embedded MongoDB server");
};

export const collectionCommands: Record<string, CommandHandler> = {
  create,
  drop,
  dropDatabase,
  listCollections,
  listDatabases,
  renameCollection,
  collMod,
};
