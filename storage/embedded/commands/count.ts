// count and distinct.
import type { Document } from "bson";
import { resolve } from "mingo/util";
import type { CommandHandler } from "../command.ts";
import { CommandError } from "../errors.ts";
import { compileFilter } from "../filter.ts";
import { compareValues, keyString } from "../order.ts";
import { collectionArg, nonNegativeInt, optionalDoc, optionalInt } from "./arguments.ts";

const count: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "count");
  const query = optionalDoc(command, "query");
  const skip = nonNegativeInt(command, "skip") ?? 0;
  const limit = Math.abs(optionalInt(command, "limit") ?? 0);
  const coll = server.store.collection(db, name);
  if (!coll) return { n: 0 };
  const total = query && Object.keys(query).length ? coll.find(query, compileFilter(query)).length : coll.docs.size;
  const n = Math.max(0, total - skip);
  return { n: limit ? Math.min(n, limit) : n };
};

const distinct: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "distinct");
  const key = command.key;
  if (typeof key !== "string" || key === "") throw new CommandError("TypeMismatch", "distinct key must be a non-empty string");
  const query = optionalDoc(command, "query");
  const coll = server.store.collection(db, name);
  const seen = new Map<string, unknown>();
  for (const doc of coll ? coll.find(query, compileFilter(query)) : []) {
    const value = resolve(doc as Document, key);
    // Arrays contribute their elements, as with a multikey index.
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === undefined) continue;
      const k = keyString(v);
      if (!seen.has(k)) seen.set(k, v);
    }
  }
  return { values: [...seen.values()].sort(compareValues) };
};

export const countCommands: Record<string, CommandHandler> = { count, distinct };
