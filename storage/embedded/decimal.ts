// Exact $inc/$mul for Decimal128 and 64-bit Long fields, which mingo's updater (working on
// JS numbers) leaves untouched. Decimals are added and multiplied as scaled BigInts.
import { Decimal128, Long } from "bson";
import { bsonType, toNumber } from "./bson-values.ts";

interface Scaled {
  digits: bigint;
  scale: number;
}

function parseDecimal(text: string): Scaled | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return undefined;
  const fraction = m[3] ?? "";
  let digits = BigInt(`${m[2] || "0"}${fraction}`);
  let scale = fraction.length - Number(m[4] ?? 0);
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { digits: m[1] === "-" ? -digits : digits, scale };
}

function formatDecimal({ digits, scale }: Scaled): string {
  const negative = digits < 0n;
  let text = (negative ? -digits : digits).toString().padStart(scale + 1, "0");
  if (scale > 0) text = `${text.slice(0, -scale)}.${text.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Rounds to Decimal128's 34 significant digits instead of failing on longer results. */
function toDecimal128(text: string): Decimal128 {
  return Decimal128.fromStringWithRounding(text);
}

const isDecimal = (v: unknown) => bsonType(v) === "Decimal128";
const isLong = (v: unknown): v is Long => bsonType(v) === "Long";

function asScaled(v: unknown): Scaled | undefined {
  if (isDecimal(v)) return parseDecimal(String(v));
  if (isLong(v)) return { digits: v.toBigInt(), scale: 0 };
  if (typeof v === "number" && Number.isFinite(v)) return parseDecimal(String(v));
  return undefined;
}

function align(a: Scaled, b: Scaled): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.digits * 10n ** BigInt(scale - a.scale), b.digits * 10n ** BigInt(scale - b.scale), scale];
}

/** Whether $inc/$mul between these operands needs this module rather than plain JS numbers. */
export function needsExactArithmetic(current: unknown, operand: unknown): boolean {
  return isDecimal(current) || isDecimal(operand) || isLong(current) || isLong(operand);
}

export function exactArithmetic(op: "$inc" | "$mul", current: unknown, operand: unknown): unknown {
  // A missing field counts as 0 for both operators, as in mongod.
  const base = current === undefined ? 0 : current;
  if (isDecimal(base) || isDecimal(operand)) {
    const a = asScaled(base);
    const b = asScaled(operand);
    if (!a || !b) return toDecimal128(String(op === "$inc" ? toNumber(base) + toNumber(operand) : toNumber(base) * toNumber(operand)));
    if (op === "$inc") {
      const [x, y, scale] = align(a, b);
      return toDecimal128(formatDecimal({ digits: x + y, scale }));
    }
    return toDecimal128(formatDecimal({ digits: a.digits * b.digits, scale: a.scale + b.scale }));
  }
  const integral = (v: unknown) => isLong(v) || (typeof v === "number" && Number.isInteger(v));
  if (integral(base) && integral(operand)) {
    const a = isLong(base) ? base.toBigInt() : BigInt(base as number);
    const b = isLong(operand) ? operand.toBigInt() : BigInt(operand as number);
    return Long.fromBigInt(op === "$inc" ? a + b : a * b);
  }
  return op === "$inc" ? toNumber(base) + toNumber(operand) : toNumber(base) * toNumber(operand);
}
