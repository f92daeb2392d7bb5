// Collection options as `create` takes them: checked and normalised the way mongod stores
// them (what listCollections shows), and compared the way mongod 7.0 compares them when
// `create` names a collection that already exists (CollectionOptions::matchesStorageOptions):
// identical options succeed and change nothing, anything else is refused with
// NamespaceExists quoting the existing options. Before 7.0 mongod refused every second
// `create`; this server reports 7.0, so it follows 7.0.
import type { Document } from "bson";
import { isNumeric, isPlainObject, toNumber } from "./bson-values.ts";
import { CommandError } from "./errors.ts";
import { formatValue } from "./format.ts";
import { compareValues } from "./order.ts";
import { collectionExists } from "./store.ts";
import type { Collection } from "./store.ts";

/** Fields of a `create` command that belong to the call, not to the collection. */
const GENERIC_ARGUMENTS = new Set([
  "create", "lsid", "txnNumber", "autocommit", "startTransaction", "writeConcern", "readConcern", "comment", "maxTimeMS",
  "apiVersion", "apiStrict", "apiDeprecationErrors",
]);

/** Requested, but not a stored option that mongod compares. */
const NOT_COMPARED = new Set(["idIndex"]);

/** Document-valued options mongod does not store when empty. */
const DROPPED_WHEN_EMPTY = ["validator", "storageEngine", "indexOptionDefaults"];

const MAX_CAPPED_DOCS = 0x7fffffff;

function truthy(v: unknown): boolean {
  return isNumeric(v) ? toNumber(v) !== 0 : Boolean(v);
}

/** The collection options a `create` command asks for, as mongod would store them. */
export function createOptions(command: Document): Document {
  const options: Document = {};
  for (const [k, v] of Object.entries(command)) {
    if (!k.startsWith("$") && !GENERIC_ARGUMENTS.has(k) && v !== undefined) options[k] = v;
  }
  checkCombination(options);
  if (truthy(options.capped)) {
    options.capped = true;
    // mongod rounds a capped size up to a multiple of 256 bytes and reads max <= 0 as "no limit".
    options.size = Math.ceil(Math.trunc(toNumber(options.size)) / 256) * 256;
    if (options.max !== undefined) {
      const max = Math.trunc(toNumber(options.max));
      options.max = max > 0 ? max : MAX_CAPPED_DOCS;
    }
  } else {
    delete options.capped;
  }
  if (options.autoIndexId !== undefined) options.autoIndexId = truthy(options.autoIndexId);
  // The simple collation is stored as no collation (others are refused before this runs).
  if (isPlainObject(options.collation) && options.collation.locale === "simple") delete options.collation;
  if (options.clusteredIndex !== undefined) {
    const clustered = canonicalClusteredIndex(options.clusteredIndex);
    if (clustered === undefined) delete options.clusteredIndex;
    else options.clusteredIndex = clustered;
  }
  // Pre- and post-images that are not enabled are the default, which mongod does not store.
  if (isPlainObject(options.changeStreamPreAndPostImages) && !truthy(options.changeStreamPreAndPostImages.enabled)) {
    delete options.changeStreamPreAndPostImages;
  }
  for (const field of DROPPED_WHEN_EMPTY) {
    if (isPlainObject(options[field]) && Object.keys(options[field]).length === 0) delete options[field];
  }
  return options;
}

/** The argument checks mongod's `create` makes before it looks at the catalog. */
function checkCombination(options: Document): void {
  const clustered = options.clusteredIndex !== undefined && options.clusteredIndex !== false;
  if (!clustered && truthy(options.capped) && options.size === undefined) {
    throw new CommandError("InvalidOptions", "the 'size' field is required when 'capped' is true");
  }
  if (!clustered && !truthy(options.capped) && (options.size !== undefined || options.max !== undefined)) {
    throw new CommandError("InvalidOptions", "the 'capped' field needs to be true when either the 'size' or 'max' fields are present");
  }
  if (options.pipeline !== undefined && options.viewOn === undefined) {
    throw new CommandError("InvalidOptions", "'pipeline' requires 'viewOn' to also be specified");
  }
  if (options.expireAfterSeconds !== undefined && !clustered && options.timeseries === undefined) {
    throw new CommandError(
      "InvalidOptions",
      "'expireAfterSeconds' is only supported on time-series collections or when the 'clusteredIndex' option is specified",
    );
  }
}

/** `true` (the legacy form) or the index spec with its defaults filled in; false means none. */
function canonicalClusteredIndex(raw: unknown): unknown {
  if (raw === false) return undefined;
  if (!isPlainObject(raw) || !isPlainObject(raw.key)) return raw;
  const field = Object.keys(raw.key)[0];
  const spec: Document = { v: raw.v ?? 2, key: raw.key, name: raw.name ?? (field === "_id" ? "_id_" : `${field}_1`) };
  if (raw.unique !== undefined) spec.unique = raw.unique;
  return spec;
}

function sameStorageOptions(a: Document, b: Document): boolean {
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const field of fields) {
    if (NOT_COMPARED.has(field)) continue;
    const x: unknown = a[field];
    const y: unknown = b[field];
    // Absent and present differ even where the value is a default ({ validationLevel: "strict" }).
    if ((x === undefined) !== (y === undefined) || compareValues(x, y) !== 0) return false;
  }
  return true;
}

/**
 * `create` for a collection that exists: nothing to do when the options are the same,
 * NamespaceExists otherwise (with the message mongod 7.0 gives).
 */
export function assertSameOptions(existing: Collection, requested: Document): void {
  // A time-series request never matches a plain collection; mongod then repeats the first refusal.
  if (requested.timeseries !== undefined) throw collectionExists(existing.ns);
  if (sameStorageOptions(existing.options, requested)) return;
  throw new CommandError(
    "NamespaceExists",
    `namespace ${existing.ns} already exists, but with different options: ${formatValue({ uuid: existing.uuid, ...existing.options })}`,
  );
}
