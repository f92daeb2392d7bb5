// collStats/dbStats with real counts and BSON sizes; storage figures equal data sizes
// because everything lives in memory.
import { calculateObjectSize } from "bson";
import type { CommandHandler } from "../command.ts";
import type { Collection } from "../store.ts";
import { collectionArg } from "./arguments.ts";

function dataSize(coll: Collection): number {
  let size = 0;
  for (const doc of coll.docs.values()) size += calculateObjectSize(doc);
  return size;
}

const collStats: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "collStats");
  const coll = server.store.collection(db, name);
  const count = coll?.docs.size ?? 0;
  const size = coll ? dataSize(coll) : 0;
  const indexSizes: Record<string, number> = {};
  for (const index of coll?.indexes.keys() ?? []) indexSizes[index] = 0;
  return {
    ns: `${db}.${name}`,
    size,
    count,
    ...(count ? { avgObjSize: Math.round(size / count) } : {}),
    storageSize: size,
    capped: false,
    nindexes: coll?.indexes.size ?? 0,
    totalIndexSize: 0,
    indexSizes,
    totalSize: size,
  };
};

const dbStats: CommandHandler = ({ server, db }) => {
  const database = server.store.database(db);
  let objects = 0;
  let size = 0;
  let indexes = 0;
  for (const coll of database?.collections.values() ?? []) {
    objects += coll.docs.size;
    size += dataSize(coll);
    indexes += coll.indexes.size;
  }
  return {
    db,
    collections: database?.collections.size ?? 0,
    views: 0,
    objects,
    avgObjSize: objects ? size / objects : 0,
    dataSize: size,
    storageSize: size,
    indexes,
    indexSize: 0,
    totalSize: size,
    scaleFactor: 1,
  };
};

export const statsCommands: Record<string, CommandHandler> = { collStats, dbStats };
