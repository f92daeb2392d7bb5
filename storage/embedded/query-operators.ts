// Query operators whose mingo versions compare BSON values by their JavaScript shape
// (Decimal128 as a string, ObjectId as "objectid" type, no $type for BSON classes). These
// replacements go through order.ts so a filter means what it means in mongod.
import { flatten, resolve } from "mingo/util";
import { CommandError } from "./errors.ts";
import { isNumeric } from "./bson-values.ts";
import { compareValues, keyString, typeRank, valuesEqual } from "./order.ts";

type Predicate = (lhs: unknown, rhs: unknown, depth: number) => boolean;
type Operator = (selector: string, value: unknown, options: unknown) => (doc: unknown) => boolean;

function operator(predicate: Predicate, prepare?: (value: unknown) => unknown): Operator {
  return (selector, value) => {
    const depth = selector.split(".").length - 1;
    const rhs = prepare ? prepare(value) : value;
    return (doc) => predicate(resolve(doc as Record<string, unknown>, selector, { unwrapArray: true }), rhs, depth);
  };
}

/** The values a field offers to a comparison: the field itself and, for arrays, its elements. */
function candidates(lhs: unknown, depth: number): unknown[] {
  if (!Array.isArray(lhs)) return [lhs];
  return [lhs, ...lhs, ...(depth > 0 ? flatten(lhs, depth) : [])];
}

const eq: Predicate = (lhs, rhs, depth) => candidates(lhs, depth).some((c) => valuesEqual(c, rhs));

function range(test: (c: number) => boolean): Predicate {
  return (lhs, rhs, depth) =>
    candidates(lhs, depth).some((c) => typeRank(c) === typeRank(rhs) && test(compareValues(c, rhs)));
}

function isRegex(v: unknown): v is RegExp {
  return v instanceof RegExp;
}

interface InList {
  keys: Set<string>;
  patterns: RegExp[];
}

function prepareIn(value: unknown): InList {
  if (!Array.isArray(value)) throw new CommandError("BadValue", "$in needs an array");
  const keys = new Set<string>();
  const patterns: RegExp[] = [];
  for (const v of value) {
    if (isRegex(v)) patterns.push(v);
    else if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).some((k) => k.startsWith("$")))
      throw new CommandError("BadValue", "cannot nest $ under $in");
    else keys.add(keyString(v));
  }
  return { keys, patterns };
}

const inList: Predicate = (lhs, rhs, depth) => {
  const { keys, patterns } = rhs as InList;
  return candidates(lhs, depth).some(
    (c) => keys.has(keyString(c)) || (typeof c === "string" && patterns.some((p) => {
      p.lastIndex = 0;
      return p.test(c);
    })),
  );
};

const TYPE_ALIASES: Record<string, string> = {
  "1": "double", "2": "string", "3": "object", "4": "array", "5": "binData", "6": "undefined",
  "7": "objectId", "8": "bool", "9": "date", "10": "null", "11": "regex", "13": "javascript",
  "16": "int", "17": "timestamp", "18": "long", "19": "decimal", "-1": "minKey", "127": "maxKey",
};

const KNOWN_TYPES = new Set([...Object.values(TYPE_ALIASES), "number"]);

/** The BSON type a value is stored as (a JS number is serialized as int32 when it fits). */
export function bsonTypeName(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 ? "int" : "double";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "bigint") return "long";
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "date";
  if (v instanceof RegExp) return "regex";
  switch ((v as { _bsontype?: string })._bsontype) {
    case "ObjectId": return "objectId";
    case "Binary": return "binData";
    case "Decimal128": return "decimal";
    case "Long": return "long";
    case "Int32": return "int";
    case "Double": return "double";
    case "Timestamp": return "timestamp";
    case "MinKey": return "minKey";
    case "MaxKey": return "maxKey";
    case "BSONRegExp": return "regex";
    case "Code": return "javascript";
    case "BSONSymbol": return "symbol";
    default: return "object";
  }
}

function prepareType(value: unknown): string[] {
  const wanted = (Array.isArray(value) ? value : [value]).map((t) => TYPE_ALIASES[String(t)] ?? String(t));
  for (const t of wanted) if (!KNOWN_TYPES.has(t)) throw new CommandError("BadValue", `Unknown type name alias: ${t}`);
  return wanted;
}

const typeIs: Predicate = (lhs, rhs) => {
  if (lhs === undefined) return false;
  const wanted = rhs as string[];
  const values = Array.isArray(lhs) ? [lhs, ...lhs] : [lhs];
  return values.some((v) => {
    const name = bsonTypeName(v);
    return wanted.includes(name) || (wanted.includes("number") && isNumeric(v));
  });
};

export const bsonQueryOperators: Record<string, Operator> = {
  $eq: operator(eq),
  $ne: operator((l, r, d) => !eq(l, r, d)),
  $gt: operator(range((c) => c > 0)),
  $gte: operator(range((c) => c >= 0)),
  $lt: operator(range((c) => c < 0)),
  $lte: operator(range((c) => c <= 0)),
  $in: operator(inList, prepareIn),
  $nin: operator((l, r, d) => !inList(l, r, d), prepareIn),
  $type: operator(typeIs, prepareType),
};
