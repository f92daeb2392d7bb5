// Applying an update (operator document, replacement document or pipeline) to one stored
// document, and building the document an upsert inserts. The stored document is never
// touched: the result is a new object the collection swaps in after its index checks.
//
// mingo's updater does the path work (positional $, $[], $[id] with arrayFilters); the
// checks mingo skips silently (type errors, conflicting paths, immutable _id) are done here
// first so the command fails like mongod instead of reporting a no-op.
import { ObjectId } from "bson";
import type { Document } from "bson";
import { Aggregator } from "mingo/aggregator";
import { updateMany as mingoUpdateMany } from "mingo/updater";
import { deepCopy } from "./clone.ts";
import { exactArithmetic, needsExactArithmetic } from "./decimal.ts";
import { CommandError, asCommandError } from "./errors.ts";
import { formatValue } from "./format.ts";
import { mingoOptions, updaterOptions } from "./mingo.ts";
import { isNumeric, isPlainObject } from "./bson-values.ts";
import { compareValues } from "./order.ts";

const OPERATORS = new Set([
  "$set", "$unset", "$inc", "$mul", "$min", "$max", "$rename", "$push", "$addToSet", "$pull", "$pullAll",
  "$pop", "$bit", "$currentDate", "$setOnInsert",
]);
const ARRAY_OPERATORS = new Set(["$push", "$addToSet", "$pull", "$pullAll", "$pop"]);
const PIPELINE_STAGES = new Set(["$addFields", "$set", "$project", "$unset", "$replaceRoot", "$replaceWith"]);

export type ParsedUpdate =
  | { kind: "replacement"; doc: Document }
  | { kind: "operators"; ops: Record<string, Document> }
  | { kind: "pipeline"; stages: Document[] };

export interface UpdateContext {
  /** The command's filter; positional `$` paths are resolved against it. */
  query: Document;
  arrayFilters?: Document[];
}

export function parseUpdate(u: unknown): ParsedUpdate {
  if (Array.isArray(u)) {
    for (const stage of u) {
      const name = isPlainObject(stage) ? Object.keys(stage)[0] : undefined;
      if (!name || !PIPELINE_STAGES.has(name)) {
        throw new CommandError("BadValue", `${name ?? "stage"} is not allowed to be used within an update`);
      }
    }
    return { kind: "pipeline", stages: u as Document[] };
  }
  if (!isPlainObject(u)) throw new CommandError("FailedToParse", "Update argument must be either an object or an array");
  const keys = Object.keys(u);
  const operators = keys.filter((k) => k.startsWith("$"));
  if (operators.length === 0) return { kind: "replacement", doc: u };
  if (operators.length !== keys.length) {
    throw new CommandError("FailedToParse", `Unknown modifier: ${keys.find((k) => !k.startsWith("$"))}. Expected a valid update modifier or pipeline-style update specified as an array`);
  }
  for (const op of operators) {
    if (!OPERATORS.has(op)) {
      throw new CommandError("FailedToParse", `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (!isPlainObject(u[op])) throw new CommandError("FailedToParse", `Modifiers operate on fields but we found type ${typeof u[op]} instead.`);
  }
  checkConflicts(u as Record<string, Document>);
  return { kind: "operators", ops: u as Record<string, Document> };
}

/** mongod refuses two operators (or one $rename) touching the same path or a prefix of it. */
function checkConflicts(ops: Record<string, Document>): void {
  const seen: string[] = [];
  const touch = (path: string) => {
    for (const other of seen) {
      if (other === path || other.startsWith(`${path}.`) || path.startsWith(`${other}.`)) {
        throw new CommandError("ConflictingUpdateOperators", `Updating the path '${path}' would create a conflict at '${other}'`);
      }
    }
    seen.push(path);
  };
  for (const [op, fields] of Object.entries(ops)) {
    for (const [path, value] of Object.entries(fields)) {
      if (path === "") throw new CommandError("BadValue", "An empty update path is not valid.");
      touch(path);
      if (op === "$rename") {
        if (typeof value !== "string") throw new CommandError("BadValue", `The 'to' field for $rename must be a string: ${path}: ${formatValue(value)}`);
        touch(value);
      }
    }
  }
}

function pathParts(path: string): string[] {
  return path.split(".");
}

/** Value at an exact path (numeric parts index arrays); undefined when missing. */
function valueAt(doc: unknown, parts: string[]): unknown {
  let node = doc;
  for (const part of parts) {
    if (Array.isArray(node) && /^\d+$/.test(part)) node = node[Number(part)];
    else if (isPlainObject(node)) node = node[part];
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/** Fails like mongod when a path would have to pass through a scalar. */
function checkViable(doc: Document, path: string): void {
  const parts = pathParts(path);
  let node: unknown = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i];
    const next = Array.isArray(node) && /^\d+$/.test(part) ? node[Number(part)] : isPlainObject(node) ? node[part] : undefined;
    if (next === undefined) return; // created by the update
    if (next === null || (!isPlainObject(next) && !Array.isArray(next))) {
      throw new CommandError("PathNotViable", `Cannot create field '${parts[i + 1]}' in element {${part}: ${formatValue(next)}}`);
    }
    if (Array.isArray(next) && !/^\d+$/.test(parts[i + 1])) {
      throw new CommandError("PathNotViable", `Cannot create field '${parts[i + 1]}' in element {${part}: ${formatValue(next)}}`);
    }
    node = next;
  }
}

function describeId(doc: Document): string {
  return `{_id: ${formatValue(doc._id)}}`;
}

/**
 * Validates operator arguments against the current document and rewrites $inc/$mul on
 * Decimal128/Long values into exact $set values. Returns the operators to hand to mingo and
 * whether they differ from the statement's (documents with rewrites are updated one by one).
 */
function prepareOperators(doc: Document, ops: Record<string, Document>, inserting: boolean): { ops: Record<string, Document>; rewritten: boolean } {
  const out: Record<string, Document> = {};
  let rewritten = false;
  for (const [op, fields] of Object.entries(ops)) {
    for (const [path, arg] of Object.entries(fields)) {
      if (!inserting && (path === "_id" || path.startsWith("_id."))) {
        // Setting _id to the value it already has is allowed (mongoose's save does it).
        if (op === "$set" && compareValues(valueAt(doc, pathParts(path)), arg) === 0) continue;
        throw new CommandError("ImmutableField", `Performing an update on the path '${path}' would modify the immutable field '_id'`);
      }
      const positional = path.includes("$");
      if (!positional && op !== "$unset" && op !== "$pull" && op !== "$pullAll" && op !== "$pop") checkViable(doc, path);
      if (op === "$rename" && !positional) checkViable(doc, arg as string);
      const current = positional ? undefined : valueAt(doc, pathParts(path));
      if (op === "$inc" || op === "$mul") {
        if (!isNumeric(arg)) {
          throw new CommandError("TypeMismatch", `Cannot ${op === "$inc" ? "increment" : "multiply"} with non-numeric argument: {${path}: ${formatValue(arg)}}`);
        }
        if (current !== undefined && !isNumeric(current)) {
          throw new CommandError("TypeMismatch", `Cannot apply ${op} to a value of non-numeric type. ${describeId(doc)} has the field '${path}' of non-numeric type ${typeof current}`);
        }
        if (!positional && needsExactArithmetic(current, arg)) {
          (out.$set ??= {})[path] = exactArithmetic(op, current, arg);
          rewritten = true;
          continue;
        }
      }
      if (ARRAY_OPERATORS.has(op) && current !== undefined && !Array.isArray(current)) {
        const verb = op === "$push" || op === "$addToSet" ? `The field '${path}' must be an array but is of type ${typeof current} in document ${describeId(doc)}` : `Cannot apply ${op} to a non-array value`;
        throw new CommandError("BadValue", verb);
      }
      (out[op] ??= {})[path] = arg;
    }
  }
  return { ops: out, rewritten };
}

/** Whether a path uses the positional `$`, which mingo resolves against the query. */
function usesPositional(ops: Record<string, Document>): boolean {
  return Object.values(ops).some((fields) => Object.keys(fields).some((p) => /(^|\.)\$(\.|$)/.test(p)));
}

function runMingo(copies: Document[], ops: Record<string, Document>, ctx: UpdateContext, inserting: boolean): void {
  if (copies.length === 0 || Object.keys(ops).length === 0) return;
  // The documents already matched the query; mingo only needs it to resolve `$`.
  const condition = !inserting && usesPositional(ops) ? ctx.query : {};
  try {
    mingoUpdateMany(copies, condition, ops, { arrayFilters: ctx.arrayFilters, cloneMode: "deep" }, updaterOptions());
  } catch (err) {
    throw asCommandError(err);
  }
}

/** Applies operators to copies of `docs`; one mingo pass serves every document it can. */
function applyOperators(docs: Document[], ops: Record<string, Document>, ctx: UpdateContext, inserting: boolean): Document[] {
  const effective: Record<string, Document> = { ...ops };
  if (effective.$setOnInsert) {
    if (inserting) effective.$set = { ...effective.$set, ...effective.$setOnInsert };
    delete effective.$setOnInsert;
  }
  const copies = docs.map(deepCopy);
  const shared: Document[] = [];
  let sharedOps: Record<string, Document> | undefined;
  for (const copy of copies) {
    const prepared = prepareOperators(copy, effective, inserting);
    if (prepared.rewritten) runMingo([copy], prepared.ops, ctx, inserting);
    else {
      shared.push(copy);
      sharedOps ??= prepared.ops;
    }
  }
  if (sharedOps) runMingo(shared, sharedOps, ctx, inserting);
  return copies;
}

function applyPipeline(doc: Document, stages: Document[]): Document {
  try {
    const [out] = new Aggregator(stages, mingoOptions()).run([deepCopy(doc)]);
    return out as Document;
  } catch (err) {
    throw asCommandError(err);
  }
}

function withIdFirst(doc: Document, id: unknown): Document {
  const { _id: _ignored, ...rest } = doc;
  return { _id: id, ...rest };
}

function checkFieldNames(doc: Document): void {
  for (const key of Object.keys(doc)) {
    if (key.startsWith("$")) throw new CommandError("DollarPrefixedFieldName", `The dollar ($) prefixed field '${key}' in '${key}' is not allowed in the context of an update's replacement document.`);
  }
}

/**
 * The documents an update turns `docs` into (new objects, in the same order; `docs` are
 * left as they were). Fails without partial results if any document cannot be updated.
 */
export function applyUpdates(docs: Document[], parsed: ParsedUpdate, ctx: UpdateContext): Document[] {
  let next: Document[];
  switch (parsed.kind) {
    case "replacement": {
      checkFieldNames(parsed.doc);
      const replacement = parsed.doc;
      return docs.map((doc) => {
        if ("_id" in replacement && compareValues(replacement._id, doc._id) !== 0) {
          throw new CommandError("ImmutableField", `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${formatValue(replacement._id)}`);
        }
        return withIdFirst(deepCopy(replacement), doc._id);
      });
    }
    case "operators":
      next = applyOperators(docs, parsed.ops, ctx, false);
      break;
    case "pipeline":
      next = docs.map((doc) => applyPipeline(doc, parsed.stages));
      break;
  }
  next.forEach((after, i) => {
    if (compareValues(after._id, docs[i]._id) !== 0) {
      throw new CommandError("ImmutableField", "Performing an update on the path '_id' would modify the immutable field '_id'");
    }
  });
  return next;
}

export function applyUpdate(doc: Document, parsed: ParsedUpdate, ctx: UpdateContext): Document {
  return applyUpdates([doc], parsed, ctx)[0];
}

/** Equality conditions of a filter, which an upsert copies into the new document. */
function seedFromQuery(query: Document): Document {
  const seed: Document = {};
  const visit = (filter: Document) => {
    for (const [field, cond] of Object.entries(filter)) {
      if (field === "$and" && Array.isArray(cond)) {
        for (const sub of cond) if (isPlainObject(sub)) visit(sub);
        continue;
      }
      if (field.startsWith("$")) continue;
      let value: unknown = cond;
      if (isPlainObject(cond) && Object.keys(cond).some((k) => k.startsWith("$"))) {
        const keys = Object.keys(cond);
        if (keys.length === 1 && keys[0] === "$eq") value = cond.$eq;
        else if (keys.length === 1 && keys[0] === "$in" && Array.isArray(cond.$in) && cond.$in.length === 1) value = cond.$in[0];
        else continue;
      }
      if (value instanceof RegExp) continue;
      setPath(seed, field, deepCopy(value));
    }
  };
  visit(query);
  return seed;
}

function setPath(doc: Document, path: string, value: unknown): void {
  const parts = pathParts(path);
  let node: Document = doc;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Document;
  }
  node[parts[parts.length - 1]] = value;
}

/** The document an upsert inserts when nothing matched. */
export function buildUpsert(parsed: ParsedUpdate, ctx: UpdateContext): Document {
  const seed = seedFromQuery(ctx.query);
  let doc: Document;
  switch (parsed.kind) {
    case "replacement":
      checkFieldNames(parsed.doc);
      doc = deepCopy(parsed.doc);
      if (!("_id" in doc) && "_id" in seed) doc._id = seed._id;
      break;
    case "operators":
      [doc] = applyOperators([seed], parsed.ops, ctx, true);
      break;
    case "pipeline":
      doc = applyPipeline(seed, parsed.stages);
      break;
  }
  return withIdFirst(doc, doc._id === undefined ? new ObjectId() : doc._id);
}

/** Whether applying an update changed anything (mongod reports nModified from this). */
export function changed(before: Document, after: Document): boolean {
  return compareValues(before, after) !== 0;
}
