// MongoDB's total order over BSON values ("comparison/sort order"): values of different
// types compare by a fixed type rank, numbers compare numerically whatever their BSON type,
// and embedded documents compare field by field in stored order. Sorting, range operators
// and index keys all derive from this one definition so they can never disagree.

import { bsonType, isNumeric, toNumber } from "./bson-values.ts";

/** Rank of a value's type in MongoDB's cross-type order; missing sorts with null. */
export function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 2;
  if (isNumeric(v)) return 3;
  switch (typeof v) {
    case "string":
      return 4;
    case "boolean":
      return 9;
    case "object":
      break;
    default:
      return 13;
  }
  if (Array.isArray(v)) return 6;
  if (v instanceof Date) return 10;
  if (v instanceof RegExp) return 12;
  switch (bsonType(v)) {
    case "MinKey":
      return 1;
    case "BSONSymbol":
      return 4;
    case "Binary":
      return 7;
    case "ObjectId":
      return 8;
    case "Timestamp":
      return 11;
    case "BSONRegExp":
      return 12;
    case "Code":
      return 13;
    case "MaxKey":
      return 14;
    default:
      return 5; // embedded document (DBRef included)
  }
}

function cmpPrimitive<T extends string | number | boolean>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNumbers(a: unknown, b: unknown): number {
  const x = toNumber(a);
  const y = toNumber(b);
  // mongod orders NaN below every other number and treats it as equal to itself.
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
  if (Number.isNaN(y)) return 1;
  return cmpPrimitive(x, y);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return cmpPrimitive(a.length, b.length);
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const byType = cmpPrimitive(typeRank(a[ka[i]]), typeRank(b[kb[i]]));
    if (byType) return byType;
    const byName = cmpPrimitive(ka[i], kb[i]);
    if (byName) return byName;
    const byValue = compareValues(a[ka[i]], b[kb[i]]);
    if (byValue) return byValue;
  }
  return cmpPrimitive(ka.length, kb.length);
}

export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 1:
    case 2:
    case 14:
      return 0;
    case 3:
      return compareNumbers(a, b);
    case 4:
      return cmpPrimitive(String(a), String(b));
    case 5:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
    case 6: {
      const xs = a as unknown[];
      const ys = b as unknown[];
      const n = Math.min(xs.length, ys.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(xs[i], ys[i]);
        if (c) return c;
      }
      return cmpPrimitive(xs.length, ys.length);
    }
    case 7: {
      const x = a as { buffer: Uint8Array; sub_type: number };
      const y = b as { buffer: Uint8Array; sub_type: number };
      return cmpPrimitive(x.buffer.length, y.buffer.length) || cmpPrimitive(x.sub_type, y.sub_type) || compareBytes(x.buffer, y.buffer);
    }
    case 8:
      return cmpPrimitive((a as { toHexString(): string }).toHexString(), (b as { toHexString(): string }).toHexString());
    case 9:
      return cmpPrimitive(a as boolean, b as boolean);
    case 10:
      return compareNumbers((a as Date).getTime(), (b as Date).getTime());
    case 11: {
      const x = a as { t: number; i: number };
      const y = b as { t: number; i: number };
      return cmpPrimitive(x.t, y.t) || cmpPrimitive(x.i, y.i);
    }
    case 12: {
      const x = regexParts(a);
      const y = regexParts(b);
      return cmpPrimitive(x[0], y[0]) || cmpPrimitive(x[1], y[1]);
    }
    default:
      return cmpPrimitive(String(a), String(b));
  }
}

function regexParts(v: unknown): [string, string] {
  if (v instanceof RegExp) return [v.source, v.flags];
  const r = v as { pattern: string; options: string };
  return [r.pattern, r.options];
}

export function valuesEqual(a: unknown, b: unknown): boolean {
  return compareValues(a, b) === 0;
}

/**
 * The value an array contributes to a sort: its smallest element ascending, its largest
 * descending; an empty array sorts together with null and missing values.
 */
export function sortKey(value: unknown, direction: 1 | -1): unknown {
  if (!Array.isArray(value)) return value;
  if (value.length === 0) return undefined;
  let best = value[0];
  for (let i = 1; i < value.length; i++) {
    const c = compareValues(value[i], best);
    if (direction === 1 ? c < 0 : c > 0) best = value[i];
  }
  return best;
}

/**
 * A string that is identical for two values exactly when compareValues says they are
 * equal; index entries are keyed by it.
 */
export function keyString(v: unknown): string {
  const rank = typeRank(v);
  switch (rank) {
    case 2:
      return "z";
    case 3: {
      const n = toNumber(v);
      return `n${Number.isNaN(n) ? "NaN" : String(n)}`;
    }
    case 4:
      return `s${JSON.stringify(String(v))}`;
    case 5: {
      const o = v as Record<string, unknown>;
      return `o{${Object.keys(o).map((k) => `${JSON.stringify(k)}:${keyString(o[k])}`).join(",")}}`;
    }
    case 6:
      return `a[${(v as unknown[]).map(keyString).join(",")}]`;
    case 7: {
      const b = v as { buffer: Uint8Array; sub_type: number };
      return `b${b.sub_type}:${Buffer.from(b.buffer).toString("base64")}`;
    }
    case 8:
      return `i${(v as { toHexString(): string }).toHexString()}`;
    case 9:
      return v ? "t" : "f";
    case 10:
      return `d${(v as Date).getTime()}`;
    case 11: {
      const t = v as { t: number; i: number };
      return `T${t.t}:${t.i}`;
    }
    case 12: {
      const [source, flags] = regexParts(v);
      return `r${JSON.stringify(source)}/${flags}`;
    }
    default:
      return `${rank}:${String(v)}`;
  }
}
