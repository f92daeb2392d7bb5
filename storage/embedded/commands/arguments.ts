// Reading and checking command arguments the way mongod reports bad ones.
import type { Document } from "bson";
import { CommandError } from "../errors.ts";
import { isPlainObject, toNumber } from "../bson-values.ts";
import { validateCollectionName } from "../store.ts";

/** The collection a command addresses, which is the value of its first field. */
export function collectionArg(command: Document, name: string): string {
  const value = command[name];
  if (typeof value !== "string") {
    throw new CommandError("InvalidNamespace", `collection name has invalid type ${value === null ? "null" : typeof value}`);
  }
  validateCollectionName(value);
  return value;
}

export function optionalInt(command: Document, field: string): number | undefined {
  const value = command[field];
  if (value === undefined || value === null) return undefined;
  const n = toNumber(value);
  if (!Number.isFinite(n)) throw new CommandError("TypeMismatch", `Field '${field}' must be numeric.`);
  return Math.trunc(n);
}

export function nonNegativeInt(command: Document, field: string): number | undefined {
  const n = optionalInt(command, field);
  if (n !== undefined && n < 0) throw new CommandError("BadValue", `${field} value must be non-negative, but received: ${n}`);
  return n;
}

export function optionalDoc(command: Document, field: string): Document | undefined {
  const value = command[field];
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw new CommandError("TypeMismatch", `BSON field '${field}' is the wrong type '${typeof value}', expected type 'object'`);
  return value;
}

export function docArray(command: Document, field: string): Document[] {
  const value = command[field];
  if (!Array.isArray(value)) throw new CommandError("TypeMismatch", `BSON field '${field}' is missing or is not an array`);
  return value as Document[];
}

/** batchSize from `cursor: { batchSize }` (aggregate, listCollections, listIndexes). */
export function cursorBatchSize(command: Document): number | undefined {
  const cursor = optionalDoc(command, "cursor");
  return cursor ? nonNegativeInt(cursor, "batchSize") : undefined;
}
