// Compiles a query filter once per command. Anything mingo cannot evaluate (unknown
// operators, $text, geo queries, string $where) fails the command with BadValue instead of
// matching nothing.
import type { Document } from "bson";
import { Query } from "mingo/query";
import { CommandError, asCommandError } from "./errors.ts";
import { mingoOptions } from "./mingo.ts";
import { isPlainObject } from "./bson-values.ts";

export type Matcher = (doc: Document) => boolean;

const matchAll: Matcher = () => true;

/** `variables` are the command's `let` values, visible to `$expr` as `$$name`. */
export function compileFilter(filter: unknown, variables?: Document): Matcher {
  if (filter === undefined || filter === null) return matchAll;
  if (!isPlainObject(filter)) throw new CommandError("TypeMismatch", "filter must be an object");
  if (Object.keys(filter).length === 0) return matchAll;
  let query: Query;
  try {
    query = new Query(filter, mingoOptions(variables ? { variables } : {}));
  } catch (err) {
    throw asCommandError(err);
  }
  return (doc) => {
    try {
      return query.test(doc);
    } catch (err) {
      throw asCommandError(err);
    }
  };
}
