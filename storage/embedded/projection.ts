// find/findAndModify projections through mingo, with fields put back in stored order
// (mingo appends _id last; mongod keeps the document's own order).
import type { Document } from "bson";
import { Query } from "mingo/query";
import { deepCopy } from "./clone.ts";
import { CommandError, asCommandError } from "./errors.ts";
import { mingoOptions } from "./mingo.ts";
import { isPlainObject } from "./bson-values.ts";

export type Projector = (docs: Document[]) => Document[];

const identity: Projector = (docs) => docs;

function inStoredOrder(source: Document, projected: Document): Document {
  const out: Document = {};
  for (const key of Object.keys(source)) if (key in projected) out[key] = projected[key];
  for (const key of Object.keys(projected)) if (!(key in out)) out[key] = projected[key];
  return out;
}

function isSlice(v: unknown): v is { $slice: number | [number, number] } {
  return isPlainObject(v) && Object.keys(v).length === 1 && "$slice" in v;
}

function sliced(arr: unknown[], spec: number | [number, number]): unknown[] {
  if (typeof spec === "number") return spec >= 0 ? arr.slice(0, spec) : arr.slice(spec);
  const [skip, limit] = spec;
  const start = skip >= 0 ? skip : Math.max(0, arr.length + skip);
  return arr.slice(start, start + limit);
}

/**
 * mongod treats `$slice` as an exclusion-style projection: with nothing else but exclusions
 * it returns every other field. mingo would return only the sliced field, so that shape
 * is handled here.
 */
function sliceOnlyProjector(projection: Record<string, unknown>): Projector | undefined {
  const entries = Object.entries(projection);
  const slices = entries.filter(([, v]) => isSlice(v));
  if (slices.length === 0) return undefined;
  const rest = entries.filter(([, v]) => !isSlice(v));
  if (!rest.every(([, v]) => v === 0 || v === false)) return undefined;
  return (docs) =>
    docs.map((doc) => {
      const out = deepCopy(doc);
      for (const [path] of rest) removePath(out, path.split("."));
      for (const [path, spec] of slices) {
        const { $slice } = spec as { $slice: number | [number, number] };
        if (typeof $slice !== "number" && !(Array.isArray($slice) && $slice.length === 2)) {
          throw new CommandError("BadValue", "$slice only supports numbers and [skip, limit] arrays");
        }
        const parts = path.split(".");
        const parent = parentOf(out, parts);
        const leaf = parts[parts.length - 1];
        if (parent && Array.isArray(parent[leaf])) parent[leaf] = sliced(parent[leaf] as unknown[], $slice);
      }
      return out;
    });
}

function parentOf(doc: Document, parts: string[]): Document | undefined {
  let node: unknown = doc;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node)) return undefined;
    node = node[part];
  }
  return isPlainObject(node) ? node : undefined;
}

function removePath(doc: Document, parts: string[]): void {
  const parent = parentOf(doc, parts);
  if (parent) delete parent[parts[parts.length - 1]];
}

export function compileProjection(projection: unknown, filter: Document | undefined): Projector {
  if (!isPlainObject(projection) || Object.keys(projection).length === 0) return identity;
  const sliceOnly = sliceOnlyProjector(projection);
  if (sliceOnly) return sliceOnly;
  // The positional projection (`"arr.$": 1`) needs the filter to know which element matched.
  const positional = Object.keys(projection).some((k) => k.endsWith(".$"));
  let query: Query;
  try {
    query = new Query(positional && filter ? filter : {}, mingoOptions());
  } catch (err) {
    throw asCommandError(err);
  }
  // mingo removes an excluded nested field (`"content.image": 0`) from the sub-document it
  // was handed, which is the stored one: such projections work on copies.
  const excludesNested = Object.entries(projection).some(([key, value]) => key.includes(".") && (value === 0 || value === false));
  return (docs) => {
    try {
      const projected = query.find(excludesNested ? docs.map(deepCopy) : docs, projection).all() as Document[];
      return projected.map((p, i) => inStoredOrder(docs[i], p));
    } catch (err) {
      throw asCommandError(err);
    }
  };
}
