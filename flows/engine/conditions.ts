// A branch step's condition against the conversation's data.
import type { Condition } from "./flow-schema.ts";

export function holds(condition: Condition, data: Record<string, unknown>): boolean {
  const value = condition.field.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], data);
  if (condition.exists !== undefined) return (value !== undefined && value !== null) === condition.exists;
  if (condition.equals !== undefined) return value === condition.equals;
  if (condition.in !== undefined) return condition.in.includes(value as never);
  if (typeof value !== "number") return false;
  if (condition.gt !== undefined) return value > condition.gt;
  if (condition.gte !== undefined) return value >= condition.gte;
  if (condition.lt !== undefined) return value < condition.lt;
  return condition.lte !== undefined && value <= condition.lte;
}
