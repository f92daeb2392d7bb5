// In-memory data: databases -> collections -> documents plus their indexes.
//
// Documents are copy-on-write: a stored document object is never mutated after it is
// stored; an update builds a new object and swaps it in only once every unique index
// accepted it. Cursors can therefore keep references to stored documents without copying,
// and a rejected write leaves nothing half-applied.
import { UUID, calculateObjectSize } from "bson";
import type { Document } from "bson";
import { CommandError } from "./errors.ts";
import type { Matcher } from "./filter.ts";
import { ID_INDEX_SPEC, Index, duplicateKeyError, normalizeIndexSpec, sameKeyPattern, sameOptions } from "./indexes.ts";
import type { IndexSpec } from "./indexes.ts";
import { isPlainObject } from "./bson-values.ts";
import { compileValidator } from "./validator.ts";
import type { DocumentCheck } from "./validator.ts";
import { keyString } from "./order.ts";
import type { ChangeRecorder } from "./change-log.ts";

export function idOf(doc: Document): string {
  return keyString(doc._id);
}

export type IndexCreation = "created" | "exists";

export class Collection {
  /** Changed only by `Store.renameCollection`, which moves the collection whole. */
  dbName: string;
  name: string;
  readonly options: Document;
  readonly uuid = new UUID();
  /** _id keyString -> document, in insertion (natural) order */
  readonly docs = new Map<string, Document>();
  readonly indexes = new Map<string, Index>();
  /** Insertion sequence per _id, so index lookups can return documents in natural order. */
  private readonly sequence = new Map<string, number>();
  private nextSequence = 0;
  /** BSON bytes held, kept only for capped collections (their `size` limit). */
  private cappedBytes = 0;
  private readonly validate: DocumentCheck | undefined;
  /** Where writes are recorded for change streams (replica-set mode only). */
  changes: ChangeRecorder | undefined;

  constructor(dbName: string, name: string, options: Document = {}) {
    this.dbName = dbName;
    this.name = name;
    this.options = options;
    this.validate = compileValidator(options);
    this.indexes.set(ID_INDEX_SPEC.name, new Index(ID_INDEX_SPEC));
  }

  get ns(): string {
    return `${this.dbName}.${this.name}`;
  }

  insert(doc: Document): void {
    checkId(doc._id);
    const id = idOf(doc);
    // The _id index's conflict check skips the document's own id (right for a replace), so a
    // second document with an existing _id is refused here, as mongod refuses it.
    if (this.docs.has(id)) throw duplicateKeyError(this.ns, { index: this.indexes.get(ID_INDEX_SPEC.name)!, keyValue: { _id: doc._id } });
    this.assertAcceptable(doc, id);
    for (const index of this.indexes.values()) index.add(doc, id);
    this.docs.set(id, doc);
    this.sequence.set(id, this.nextSequence++);
    this.changes?.insert(this.dbName, this.name, doc);
    if (this.capped) {
      this.cappedBytes += calculateObjectSize(doc);
      this.trimCapped();
    }
  }

  private get capped(): boolean {
    return this.options.capped === true;
  }

  /** A capped collection drops its oldest documents once over `max` documents or `size` bytes. */
  private trimCapped(): void {
    const maxDocs = typeof this.options.max === "number" && this.options.max > 0 ? this.options.max : Infinity;
    const maxBytes = typeof this.options.size === "number" && this.options.size > 0 ? this.options.size : Infinity;
    while (this.docs.size > 1 && (this.docs.size > maxDocs || this.cappedBytes > maxBytes)) {
      // Not a recorded delete: a capped collection's trimming is not a client's write.
      this.unlink(this.docs.values().next().value as Document);
    }
  }

  /** Swaps `next` in for the stored document with the same _id: by an update (operators) or a replacement. */
  replace(previous: Document, next: Document, how: "update" | "replace" = "update"): void {
    const id = idOf(previous);
    if (idOf(next) !== id) throw new CommandError("ImmutableField", "Performing an update on the path '_id' would modify the immutable field '_id'");
    this.assertAcceptable(next, id);
    for (const index of this.indexes.values()) {
      index.remove(previous, id);
      index.add(next, id);
    }
    this.docs.set(id, next);
    if (this.capped) this.cappedBytes += calculateObjectSize(next) - calculateObjectSize(previous);
    if (how === "replace") this.changes?.replace(this.dbName, this.name, next);
    else this.changes?.update(this.dbName, this.name, previous, next);
  }

  remove(doc: Document): void {
    this.unlink(doc);
    this.changes?.delete(this.dbName, this.name, doc);
  }

  private unlink(doc: Document): void {
    const id = idOf(doc);
    for (const index of this.indexes.values()) index.remove(doc, id);
    this.docs.delete(id);
    this.sequence.delete(id);
    if (this.capped) this.cappedBytes -= calculateObjectSize(doc);
  }

  /** Everything that can reject a document, checked before any index is touched. */
  private assertAcceptable(doc: Document, id: string): void {
    this.validate?.(doc);
    for (const index of this.indexes.values()) index.keyStrings(doc);
    for (const index of this.indexes.values()) {
      const dup = index.findConflict(doc, id);
      if (dup) throw duplicateKeyError(this.ns, dup);
    }
  }

  /**
   * Documents that may match `filter`, narrowed through an index when the filter pins an
   * indexed field to plain values; the caller still applies the full matcher.
   */
  candidates(filter: Document | undefined): Iterable<Document> {
    if (!filter) return this.docs.values();
    let best: Set<string> | undefined;
    for (const [field, condition] of Object.entries(filter)) {
      if (field.startsWith("$")) continue;
      const values = pinnedValues(condition);
      if (!values) continue;
      const index = [...this.indexes.values()].find((ix) => ix.servesEquality(field));
      if (!index) continue;
      const ids = new Set<string>();
      for (const v of values) for (const id of index.lookup(v) ?? []) ids.add(id);
      // Several pinned fields: the index that narrows most wins.
      if (!best || ids.size < best.size) best = ids;
      if (best.size <= 1) break;
    }
    if (!best) return this.docs.values();
    // Same order as a full scan would give (mongod returns equal index keys in record order).
    const ids = [...best].sort((a, b) => (this.sequence.get(a) ?? 0) - (this.sequence.get(b) ?? 0));
    const out: Document[] = [];
    for (const id of ids) {
      const doc = this.docs.get(id);
      if (doc) out.push(doc);
    }
    return out;
  }

  find(filter: Document | undefined, matcher: Matcher): Document[] {
    const out: Document[] = [];
    for (const doc of this.candidates(filter)) if (matcher(doc)) out.push(doc);
    return out;
  }

  findOne(filter: Document | undefined, matcher: Matcher): Document | undefined {
    for (const doc of this.candidates(filter)) if (matcher(doc)) return doc;
    return undefined;
  }

  createIndex(raw: unknown): IndexCreation {
    const spec = normalizeIndexSpec(raw);
    // Asking for { _id: 1 } under any name means the _id index, which always exists.
    if (sameKeyPattern(spec, ID_INDEX_SPEC) && sameOptions(spec, ID_INDEX_SPEC)) return "exists";
    const byName = this.indexes.get(spec.name);
    if (byName) {
      if (!sameKeyPattern(byName.spec, spec)) {
        throw new CommandError(
          "IndexKeySpecsConflict",
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(byName.spec)}`,
        );
      }
      if (!sameOptions(byName.spec, spec)) {
        throw new CommandError(
          "IndexOptionsConflict",
          `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(byName.spec)}`,
        );
      }
      return "exists";
    }
    for (const existing of this.indexes.values()) {
      if (!sameKeyPattern(existing.spec, spec)) continue;
      const samePartial = sameOptions({ ...existing.spec, unique: undefined, sparse: undefined, expireAfterSeconds: undefined, hidden: undefined }, { ...spec, unique: undefined, sparse: undefined, expireAfterSeconds: undefined, hidden: undefined });
      if (!samePartial) continue; // a different partial filter or collation is a different index
      throw new CommandError(
        "IndexOptionsConflict",
        sameOptions(existing.spec, spec)
          ? `Index already exists with a different name: ${existing.name}`
          : `An existing index has the same key pattern but different options: ${existing.name}`,
      );
    }
    const index = new Index(spec);
    for (const [id, doc] of this.docs) {
      const dup = index.findConflict(doc, id);
      if (dup) throw duplicateKeyError(this.ns, dup);
      index.add(doc, id);
    }
    this.indexes.set(spec.name, index);
    return "created";
  }

  dropIndex(name: string): void {
    if (name === ID_INDEX_SPEC.name) throw new CommandError("InvalidOptions", "cannot drop _id index");
    if (!this.indexes.delete(name)) throw new CommandError("IndexNotFound", `index not found with name [${name}]`);
  }

  indexSpecs(): IndexSpec[] {
    return [...this.indexes.values()].map((ix) => ix.spec);
  }
}

function checkId(id: unknown): void {
  if (Array.isArray(id)) throw new CommandError("InvalidIdField", "The '_id' value cannot be of type array");
  if (id instanceof RegExp) throw new CommandError("InvalidIdField", "can't use a regex for _id");
}

/** The plain values a filter condition pins a field to, if it does (`x`, `{$eq:x}`, `{$in:[...]}`). */
function pinnedValues(condition: unknown): unknown[] | undefined {
  const plain = (v: unknown) =>
    typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v instanceof Date ||
    (typeof v === "object" && v !== null && (v as { _bsontype?: string })._bsontype === "ObjectId");
  if (plain(condition)) return [condition];
  if (!isPlainObject(condition)) return undefined;
  const keys = Object.keys(condition);
  if (keys.length !== 1) return undefined;
  if (keys[0] === "$eq" && plain(condition.$eq)) return [condition.$eq];
  if (keys[0] === "$in" && Array.isArray(condition.$in) && condition.$in.every(plain)) return condition.$in;
  return undefined;
}

export class Database {
  readonly name: string;
  readonly collections = new Map<string, Collection>();

  constructor(name: string) {
    this.name = name;
  }
}

export class Store {
  readonly databases = new Map<string, Database>();
  /** Set in replica-set mode: every write is recorded there for change streams. */
  readonly changes: ChangeRecorder | undefined;

  constructor(changes?: ChangeRecorder) {
    this.changes = changes;
  }

  database(name: string): Database | undefined {
    return this.databases.get(name);
  }

  collection(db: string, name: string): Collection | undefined {
    return this.databases.get(db)?.collections.get(name);
  }

  /** Writes create their collection implicitly, as in mongod. */
  ensureCollection(db: string, name: string): Collection {
    validateCollectionName(name);
    let database = this.databases.get(db);
    if (!database) this.databases.set(db, (database = new Database(db)));
    let coll = database.collections.get(name);
    if (!coll) {
      database.collections.set(name, (coll = new Collection(db, name)));
      coll.changes = this.changes;
    }
    return coll;
  }

  createCollection(db: string, name: string, options: Document): Collection {
    validateCollectionName(name);
    if (this.collection(db, name)) throw collectionExists(`${db}.${name}`);
    const coll = new Collection(db, name, options);
    coll.changes = this.changes;
    let database = this.databases.get(db);
    if (!database) this.databases.set(db, (database = new Database(db)));
    database.collections.set(name, coll);
    return coll;
  }

  /** Drops a collection; `record` false for undoing one this server created implicitly a moment ago. */
  dropCollection(db: string, name: string, record = true): Collection | undefined {
    const coll = this.detach(db, name);
    if (coll && record) this.changes?.drop(db, name);
    return coll;
  }

  private detach(db: string, name: string): Collection | undefined {
    const database = this.databases.get(db);
    const coll = database?.collections.get(name);
    if (!database || !coll) return undefined;
    database.collections.delete(name);
    if (database.collections.size === 0) this.databases.delete(db);
    return coll;
  }

  /**
   * Moves a collection to a new name (the target must not exist): its documents, indexes and
   * UUID go with it, as mongod renames within a database, without copying a document.
   */
  renameCollection(fromDb: string, fromName: string, toDb: string, toName: string): Collection | undefined {
    validateCollectionName(toName);
    if (this.collection(toDb, toName)) throw collectionExists(`${toDb}.${toName}`);
    const coll = this.detach(fromDb, fromName);
    if (!coll) return undefined;
    this.changes?.rename(fromDb, fromName, toDb, toName);
    coll.dbName = toDb;
    coll.name = toName;
    let database = this.databases.get(toDb);
    if (!database) this.databases.set(toDb, (database = new Database(toDb)));
    database.collections.set(toName, coll);
    return coll;
  }

  dropDatabase(db: string): void {
    // mongod drops each collection (a drop event each), then the database.
    const database = this.databases.get(db);
    if (database && this.changes) {
      for (const name of [...database.collections.keys()]) this.changes.drop(db, name);
      this.changes.dropDatabase(db);
    }
    this.databases.delete(db);
  }
}

/** mongod's refusal to create a namespace that is taken. */
export function collectionExists(ns: string): CommandError {
  return new CommandError("NamespaceExists", `Collection ${ns} already exists.`);
}

export function validateCollectionName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name === "" || name.includes("\0") || name.startsWith(".") || name.includes("$")) {
    throw new CommandError("InvalidNamespace", `Invalid collection name: ${String(name)}`);
  }
}
