// What kind of value a deserialized BSON value is: plain embedded document, one of the
// numeric types, or another BSON class (recognised by `_bsontype`, which survives the
// ESM/CommonJS split of the bson package where `instanceof` would not).

type BsonTagged = { _bsontype?: string };

export function bsonType(v: unknown): string | undefined {
  return typeof v === "object" && v !== null ? (v as BsonTagged)._bsontype : undefined;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function isNumeric(v: unknown): boolean {
  if (typeof v === "number" || typeof v === "bigint") return true;
  const t = bsonType(v);
  return t === "Long" || t === "Decimal128" || t === "Int32" || t === "Double";
}

/** Numeric value of any BSON number (Decimal128 and 64-bit Longs approximated as doubles). */
export function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  const t = bsonType(v);
  if (t === "Long") return (v as { toNumber(): number }).toNumber();
  if (t === "Int32" || t === "Double") return (v as { valueOf(): number }).valueOf();
  if (t === "Decimal128") return Number.parseFloat(String(v));
  return Number.NaN;
}
