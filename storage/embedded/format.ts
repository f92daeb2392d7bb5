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
      if ((v as { sub_type: number }).sub_type === 4) return `UUID("${uuidText(v as { toString(e: string): string })}")`;
      return `BinData(${(v as { sub_type: number }).sub_type}, ${(v as { toString(e: string): string }).toString("hex").toUpperCase()})`;
    default:
      return String(v);
  }
}

function uuidText(v: { toString(e: string): string }): string {
  const hex = v.toString("hex");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}
