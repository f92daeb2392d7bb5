// Stored documents must never share mutable objects with callers, cursors or other
// documents. structuredClone would strip the BSON classes (ObjectId, Decimal128, ...),
// so copy the mutable containers and keep the immutable BSON values as they are.
import { Binary } from "bson";
import { bsonType, isPlainObject } from "./bson-values.ts";

export function deepCopy<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (bsonType(value) === "Binary") {
    const binary = value as unknown as Binary;
    return new Binary(Buffer.from(binary.buffer), binary.sub_type) as T;
  }
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = deepCopy(value[key]);
    return out as T;
  }
  return value;
}
