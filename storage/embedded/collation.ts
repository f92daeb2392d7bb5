// Collations change how strings compare (case-insensitive matching, locale ordering, and
// what a unique index considers equal). Nothing here implements them, so any collation
// other than "simple" is refused instead of silently comparing binary strings.
import { CommandError } from "./errors.ts";
import { isPlainObject } from "./bson-values.ts";

export function refuseCollation(collation: unknown): void {
  if (collation === undefined || collation === null) return;
  if (isPlainObject(collation) && collation.locale === "simple") return;
  throw new CommandError("BadValue", "collation other than { locale: 'simple' } is not supported by the embedded MongoDB server");
}
