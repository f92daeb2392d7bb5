// Secondary indexes: their persisted specification (what listIndexes shows), the key
// entries used to enforce uniqueness and to answer equality lookups, and mongod's
// DuplicateKey error shape.
import type { Document } from "bson";
import { refuseCollation } from "./collation.ts";
import { CommandError } from "./errors.ts";
import { compileFilter } from "./filter.ts";
import type { Matcher } from "./filter.ts";
import { isPlainObject } from "./bson-values.ts";
import { compareValues, keyString } from "./order.ts";
import { formatValue } from "./format.ts";

export interface IndexSpec extends Document {
  v: number;
  key: Record<string, unknown>;
  name: string;
}

/** A missing field is indexed like null, but sparse indexes must tell the two apart. */
const MISSING = Symbol("missing");
/** An empty array is indexed as `undefined`, distinct from null. */
const EMPTY_ARRAY_KEY = "u";

const PERSISTED_OPTIONS = new Set([
  "unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "background", "hidden", "collation",
  "weights", "default_language", "language_override", "textIndexVersion", "2dsphereIndexVersion", "bits", "min",
  "max", "storageEngine", "wildcardProjection", "bucketSize",
]);

/** Options that make two indexes on the same key pattern different indexes. */
const COMPARED_OPTIONS = ["unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "collation", "hidden"];

export const ID_INDEX_SPEC: IndexSpec = { v: 2, key: { _id: 1 }, name: "_id_" };

interface FieldValue {
  key: string;
  value: unknown;
}

export interface DuplicateKey {
  index: Index;
  keyValue: Document;
}

export class Index {
  readonly spec: IndexSpec;
  readonly fields: string[];
  readonly unique: boolean;
  readonly sparse: boolean;
  /** Only plain ascending/descending/hashed indexes keep entries; text and geo are metadata. */
  readonly keeps: boolean;
  private readonly partial: Matcher | undefined;
  /** key tuple -> ids (as keyString) of the documents holding it */
  private readonly entries = new Map<string, Set<string>>();
  /** Stored documents never change (copy-on-write), so their keys can be remembered. */
  private readonly keyCache = new WeakMap<Document, string[]>();

  constructor(spec: IndexSpec) {
    this.spec = spec;
    this.fields = Object.keys(spec.key);
    this.unique = spec.unique === true || spec.name === "_id_";
    this.sparse = spec.sparse === true;
    this.keeps = Object.values(spec.key).every((v) => typeof v === "number" || v === "hashed");
    this.partial = spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : undefined;
  }

  get name(): string {
    return this.spec.name;
  }

  get ttlSeconds(): number | undefined {
    const ttl = this.spec.expireAfterSeconds;
    return typeof ttl === "number" && this.fields.length === 1 ? ttl : undefined;
  }

  /** Whether an equality on `field` can be answered from this index's entries. */
  servesEquality(field: string): boolean {
    return this.keeps && this.fields.length === 1 && this.fields[0] === field && !this.sparse && !this.partial;
  }

  /** The key tuples a document contributes, or none when sparse/partial exclude it. */
  keysOf(doc: Document): Map<string, unknown[]> {
    const out = new Map<string, unknown[]>();
    if (!this.keeps) return out;
    if (this.partial && !this.partial(doc)) return out;
    const perField = this.fields.map((f) => fieldValues(doc, f));
    if (this.sparse && perField.every((vals) => vals.every((v) => v.value === MISSING))) return out;
    const expanded = perField.filter((vals) => vals.length > 1);
    if (expanded.length > 1) {
      const names = this.fields.filter((_, i) => perField[i].length > 1).map((f) => `[${f}]`);
      throw new CommandError("CannotIndexParallelArrays", `cannot index parallel arrays ${names.join(" ")}`);
    }
    let tuples: FieldValue[][] = [[]];
    for (const vals of perField) tuples = tuples.flatMap((t) => vals.map((v) => [...t, v]));
    for (const t of tuples) {
      out.set(JSON.stringify(t.map((v) => v.key)), t.map((v) => (v.value === MISSING ? null : v.value)));
    }
    return out;
  }

  /** The first unique-key collision `doc` would cause with a document other than itself. */
  findConflict(doc: Document, id: string): DuplicateKey | undefined {
    if (!this.unique) return undefined;
    for (const key of this.keyStrings(doc)) {
      const holders = this.entries.get(key);
      if (!holders) continue;
      for (const holder of holders) {
        if (holder !== id) return { index: this, keyValue: this.keyValue(this.keysOf(doc).get(key) ?? []) };
      }
    }
    return undefined;
  }

  /** The document's index keys; throws if it cannot be indexed (parallel arrays). */
  keyStrings(doc: Document): string[] {
    let keys = this.keyCache.get(doc);
    if (!keys) this.keyCache.set(doc, (keys = [...this.keysOf(doc).keys()]));
    return keys;
  }

  add(doc: Document, id: string): void {
    for (const key of this.keyStrings(doc)) {
      let holders = this.entries.get(key);
      if (!holders) this.entries.set(key, (holders = new Set()));
      holders.add(id);
    }
  }

  remove(doc: Document, id: string): void {
    for (const key of this.keyStrings(doc)) {
      const holders = this.entries.get(key);
      if (!holders) continue;
      holders.delete(id);
      if (holders.size === 0) this.entries.delete(key);
    }
  }

  /** Ids of documents whose single indexed field equals `value` (see servesEquality). */
  lookup(value: unknown): Set<string> | undefined {
    return this.entries.get(JSON.stringify([keyString(value)]));
  }

  private keyValue(values: unknown[]): Document {
    const out: Document = {};
    this.fields.forEach((f, i) => {
      out[f] = values[i];
    });
    return out;
  }
}

/** Values a dotted path reaches, expanding arrays along the way like a multikey index. */
function fieldValues(doc: unknown, path: string): FieldValue[] {
  const leaves = walk(doc, path.split("."), 0);
  const out = new Map<string, FieldValue>();
  for (const leaf of leaves) {
    if (Array.isArray(leaf)) {
      if (leaf.length === 0) out.set(EMPTY_ARRAY_KEY, { key: EMPTY_ARRAY_KEY, value: undefined });
      for (const el of leaf) {
        const key = keyString(el);
        out.set(key, { key, value: el });
      }
    } else {
      const key = keyString(leaf === MISSING ? null : leaf);
      if (!out.has(key) || leaf !== MISSING) out.set(key, { key, value: leaf });
    }
  }
  return [...out.values()];
}

function walk(node: unknown, parts: string[], i: number): unknown[] {
  if (i === parts.length) return [node === undefined ? MISSING : node];
  const part = parts[i];
  if (Array.isArray(node)) {
    if (/^\d+$/.test(part)) return walk(node[Number(part)], parts, i + 1);
    const found = node.flatMap((el) => (isPlainObject(el) ? walk(el, parts, i) : []));
    return found.length ? found : [MISSING];
  }
  if (isPlainObject(node) && part in node) return walk(node[part], parts, i + 1);
  return [MISSING];
}

export function duplicateKeyError(ns: string, dup: DuplicateKey): CommandError {
  const shown = Object.entries(dup.keyValue).map(([k, v]) => `${k}: ${formatValue(v)}`).join(", ");
  return new CommandError(
    "DuplicateKey",
    `E11000 duplicate key error collection: ${ns} index: ${dup.index.name} dup key: { ${shown} }`,
    { keyPattern: dup.index.spec.key, keyValue: dup.keyValue },
  );
}

/** Validates a createIndexes entry and returns the specification listIndexes will show. */
export function normalizeIndexSpec(raw: unknown): IndexSpec {
  if (!isPlainObject(raw)) throw new CommandError("TypeMismatch", "index specification must be an object");
  const key = raw.key;
  if (!isPlainObject(key) || Object.keys(key).length === 0) {
    throw new CommandError("CannotCreateIndex", "Index keys cannot be empty.");
  }
  for (const [field, dir] of Object.entries(key)) {
    const ok = (typeof dir === "number" && dir !== 0) || ["text", "2dsphere", "2d", "hashed"].includes(dir as string);
    if (!ok) throw new CommandError("CannotCreateIndex", `Values in the index key pattern can only be numbers or strings (field ${field})`);
  }
  if (typeof raw.name !== "string" || raw.name === "") {
    throw new CommandError("FailedToParse", "The 'name' field is a required property of an index specification");
  }
  const spec: IndexSpec = { v: 2, key, name: raw.name };
  for (const [option, value] of Object.entries(raw)) {
    if (option === "key" || option === "name" || option === "v" || option === "ns") continue;
    if (!PERSISTED_OPTIONS.has(option)) {
      throw new CommandError("InvalidIndexSpecificationOption", `The field '${option}' is not valid for an index specification.`);
    }
    // mongoose compares listIndexes with the schema and treats a stored `unique: false` as a difference.
    if ((option === "unique" || option === "sparse") && !value) continue;
    spec[option] = value;
  }
  if (spec.expireAfterSeconds !== undefined) {
    const ttl = spec.expireAfterSeconds;
    if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
      throw new CommandError("CannotCreateIndex", "TTL index 'expireAfterSeconds' option must be a non-negative number");
    }
  }
  if (spec.partialFilterExpression !== undefined) compileFilter(spec.partialFilterExpression);
  refuseCollation(spec.collation);
  return spec;
}

export function sameKeyPattern(a: IndexSpec, b: IndexSpec): boolean {
  const ka = Object.keys(a.key);
  const kb = Object.keys(b.key);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && compareValues(a.key[k], b.key[k]) === 0);
}

export function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  return COMPARED_OPTIONS.every((o) => compareValues(a[o] ?? null, b[o] ?? null) === 0);
}
