// $group accumulators whose mingo versions only see JS numbers: $sum and $avg would skip
// Decimal128 and big Long values (reporting 0 for a column of Decimal128 prices), and
// $min/$max would order BSON types differently from mongod.
import { $push } from "mingo/operators/accumulator";
import { exactArithmetic, needsExactArithmetic } from "./decimal.ts";
import { isNumeric } from "./bson-values.ts";
import { compareValues } from "./order.ts";

type Accumulator = (collection: any[], expr: any, options: any) => unknown;

function sum(values: unknown[]): unknown {
  let total: unknown = 0;
  for (const v of values) {
    if (!isNumeric(v)) continue;
    total = needsExactArithmetic(total, v) ? exactArithmetic("$inc", total, v) : (total as number) + (v as number);
  }
  return total;
}

const $sum: Accumulator = (collection, expr, options) => {
  if (typeof expr === "number") return collection.length * expr;
  return sum($push(collection, expr, options));
};

const $avg: Accumulator = (collection, expr, options) => {
  const values = $push(collection, expr, options).filter(isNumeric);
  if (values.length === 0) return null;
  const total = sum(values);
  return typeof total === "number" ? total / values.length : exactArithmetic("$mul", total, 1 / values.length);
};

function extreme(sign: 1 | -1): Accumulator {
  return (collection, expr, options) => {
    let best: unknown = null;
    for (const v of $push(collection, expr, options)) {
      if (v === null || v === undefined) continue;
      if (best === null || compareValues(v, best) * sign > 0) best = v;
    }
    return best;
  };
}

export const bsonAccumulators: Record<string, Accumulator> = {
  $sum,
  $avg,
  $min: extreme(-1),
  $max: extreme(1),
};
