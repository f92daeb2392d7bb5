// Document ordering for find, findAndModify and the $sort stage, in MongoDB's BSON order
// (mingo's own comparator orders mixed BSON types differently).
import { resolve } from "mingo/util";
import { CommandError } from "./errors.ts";
import { isPlainObject } from "./bson-values.ts";
import { compareValues, sortKey } from "./order.ts";

type Doc = Record<string, unknown>;
interface SortField {
  path: string;
  dir: 1 | -1;
}

function flattenAll(value: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const v of value) {
    if (Array.isArray(v)) out.push(...flattenAll(v));
    else out.push(v);
  }
  return out;
}

function parseSpec(spec: unknown): SortField[] {
  if (!isPlainObject(spec) || Object.keys(spec).length === 0) throw new CommandError("BadValue", "$sort specification must be a non-empty object");
  return Object.keys(spec).map((path) => {
    const raw = spec[path];
    const dir = typeof raw === "number" ? raw : Number.NaN;
    if (dir !== 1 && dir !== -1) {
      throw new CommandError("BadValue", `$sort key ordering must be 1 (for ascending) or -1 (for descending) at ${path}`);
    }
    return { path, dir: dir as 1 | -1 };
  });
}

function keyOf(doc: Doc, { path, dir }: SortField): unknown {
  const v = resolve(doc, path);
  return sortKey(Array.isArray(v) ? flattenAll(v) : v, dir);
}

/**
 * Sorts in place (stable), computing each document's sort keys once. `$natural` is the order
 * the documents arrive in, which callers pass in natural (insertion) order.
 */
export function sortDocuments<T extends Doc>(docs: T[], spec: unknown): T[] {
  const fields = parseSpec(spec);
  const keyed = docs.map((doc, position) => ({ doc, keys: fields.map((f) => (f.path === "$natural" ? position : keyOf(doc, f))) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < fields.length; i++) {
      const c = compareValues(a.keys[i], b.keys[i]);
      if (c) return c * fields[i].dir;
    }
    return 0;
  });
  for (let i = 0; i < keyed.length; i++) docs[i] = keyed[i].doc;
  return docs;
}
