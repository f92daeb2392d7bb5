// Renders values the way mongod prints them inside error messages, e.g. the
// `dup key: { slug: "x" }` part of E11000 errors.
import { isPlainObject } from "./bson-values.ts";

export function formatValue(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return `[ ${v.map(formatValue).join(", ")} ]`;
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (v instanceof RegExp) return String(v);
  if (isPlainObject(v)) {
    const entries = Object.entries(v).map(([k, x]) => `${k}: ${formatValue(x)}`);
    return entries.length ? `{ ${entries.join(", ")} }` : "{}";
  }
  switch ((v as { _bsontype?: string })._bsontype) {
    case "ObjectId":
      return `ObjectId('${(v as { toHexString(): string }).toHexString()}')`;
    case "Decimal128":
      return `NumberDecimal("${String(v)}")`;
    case "Long":
      return `${String(v)}`;
    case "Binary":
      return `BinData(${(v as { sub_type: number }).sub_type}, ${(v as { toString(e: string): string }).toString("hex").toUpperCase()})`;
    default:
      return String(v);
  }
}
