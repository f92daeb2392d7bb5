import { Schema, Types, type Query, type Aggregate } from "mongoose";

/**
 * The tenant wall. Every tenant-scoped model carries this plugin; any find, update,
 * delete, count, distinct, findOneAnd*, aggregate or bulk write that does not pin one
 * `tenantId` throws before it reaches the database. Failing closed means a forgotten
 * condition is a crash in a test, never another store's data on a customer's screen.
 *
 * Platform-level jobs that really must span tenants (backup, key rotation, migrations)
 * say so out loud with the query option `{ crossTenant: true }`
 * (`Model.find({}).setOptions({ crossTenant: true })`, or as the options argument of
 * `bulkWrite`/`aggregate`), which is easy to grep for in review.
 */
export class TenantScopeError extends Error {
  override name = "TenantScopeError";
}

const QUERY_OPS = [
  "countDocuments",
  "distinct",
  "estimatedDocumentCount",
  "find",
  "findOne",
  "findOneAndReplace",
  "findOneAndUpdate",
  "replaceOne",
  "updateMany",
  "updateOne",
  "deleteMany",
  "deleteOne",
  "findOneAndDelete",
] as const;

// Stages that read another collection and would otherwise step around the wall.
const JOIN_STAGES = ["$lookup", "$unionWith", "$graphLookup"] as const;

export function tenantScoped(schema: Schema): void {
  schema.add({
    tenantId: { type: Schema.Types.ObjectId, ref: "Tenant", required: true, immutable: true, index: true },
  });
  // mongoose adds shard-key fields to the filter of document save()/deleteOne(), so a
  // loaded document writes back only within its own tenant.
  schema.set("shardKey", { tenantId: 1 });

  // mongoose's overloads do not cover one hook over mixed query and model operations.
  const pre = schema.pre.bind(schema) as unknown as (ops: readonly string[] | string, opts: object, fn: (...args: any[]) => void) => void;

  pre(QUERY_OPS, { document: false, query: true }, function (this: Query<unknown, unknown>) {
    if (this.getOptions().crossTenant === true) return;
    const op = (this as unknown as { op: string }).op;
    if (op === "estimatedDocumentCount") {
      throw new TenantScopeError(
        `${modelName(this)}.estimatedDocumentCount() counts every tenant; use countDocuments({ tenantId })`,
      );
    }
    assertScopedFilter(this.getFilter(), `${modelName(this)}.${op}()`);
    assertTenantUnchanged(this.getUpdate(), `${modelName(this)}.${op}()`);
    if (op === "replaceOne" || op === "findOneAndReplace") assertReplacementKeepsTenant(this.getFilter(), this.getUpdate(), `${modelName(this)}.${op}()`);
  });

  pre("aggregate", {}, function (this: Aggregate<unknown>) {
    if (this.options?.crossTenant === true) return;
    assertScopedPipeline(this.pipeline(), `${this.model()?.modelName ?? "?"}.aggregate()`);
  });

  pre("bulkWrite", {}, function (this: { modelName: string }, ops: unknown[], options?: { crossTenant?: boolean }) {
    if (options?.crossTenant === true) return;
    ops.forEach((op, i) => assertScopedBulkOp(op, `${this.modelName}.bulkWrite() operation ${i}`));
  });
}

function modelName(query: Query<unknown, unknown>): string {
  return (query as unknown as { model?: { modelName?: string } }).model?.modelName ?? "?";
}

/** True when the filter pins exactly one tenant (top level, or inside a top-level `$and`). */
export function pinsOneTenant(filter: unknown): boolean {
  if (!filter || typeof filter !== "object") return false;
  const f = filter as Record<string, unknown>;
  if ("tenantId" in f && isConcreteTenant(f.tenantId)) return true;
  return Array.isArray(f.$and) && f.$and.some((part) => pinsOneTenant(part));
}

function isConcreteTenant(value: unknown): boolean {
  if (value instanceof Types.ObjectId) return true;
  if (typeof value === "string") return Types.ObjectId.isValid(value);
  if (value && typeof value === "object") {
    const v = value as Record<string, unknown>;
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$eq") return isConcreteTenant(v.$eq);
    // A hydrated ObjectId from another bson copy.
    if ((v as { _bsontype?: string })._bsontype === "ObjectId") return true;
  }
  return false;
}

function assertScopedFilter(filter: unknown, where: string): void {
  if (!pinsOneTenant(filter)) {
    throw new TenantScopeError(`${where} has no tenantId condition; every query on tenant data must name its tenant`);
  }
}

function assertTenantUnchanged(update: unknown, where: string): void {
  if (!update || typeof update !== "object") return;
  const u = update as Record<string, unknown>;
  const touches = (doc: unknown) => !!doc && typeof doc === "object" && "tenantId" in (doc as object);
  const operators = ["$set", "$unset", "$rename", "$setOnInsert", "$inc", "$min", "$max", "$mul", "$currentDate"];
  // $setOnInsert with the same tenant is how upserts stamp their tenant; mongoose also
  // copies the filter's equality into the inserted document, so no tenant can differ.
  if (operators.filter((op) => op !== "$setOnInsert").some((op) => touches(u[op]))) {
    throw new TenantScopeError(`${where} tries to change tenantId; a document never moves between tenants`);
  }
}

function assertReplacementKeepsTenant(filter: unknown, replacement: unknown, where: string): void {
  const repl = replacement as Record<string, unknown> | null;
  const tenant = (filter as Record<string, unknown>).tenantId;
  if (!repl || String(repl.tenantId) !== String(tenant)) {
    throw new TenantScopeError(`${where}: replacement must keep the filter's tenantId`);
  }
}

function assertScopedPipeline(pipeline: unknown[], where: string): void {
  const first = pipeline[0] as Record<string, unknown> | undefined;
  if (!first || !("$match" in first) || !pinsOneTenant(first.$match)) {
    throw new TenantScopeError(`${where} must start with { $match: { tenantId } }`);
  }
  for (const stage of pipeline) assertScopedJoins(stage, where);
}

function assertScopedJoins(stage: unknown, where: string): void {
  if (!stage || typeof stage !== "object") return;
  const s = stage as Record<string, unknown>;
  for (const name of JOIN_STAGES) {
    if (!(name in s)) continue;
    const spec = s[name] as Record<string, unknown>;
    const inner = Array.isArray(spec?.pipeline) ? (spec.pipeline as unknown[]) : undefined;
    const restrict = spec?.restrictSearchWithMatch;
    const scoped =
      (inner && inner.some((st) => st && typeof st === "object" && "$match" in st && pinsOneTenant((st as Record<string, unknown>).$match))) ||
      pinsOneTenant(restrict);
    if (!scoped) {
      throw new TenantScopeError(`${where}: ${name} must restrict the joined collection to the same tenantId`);
    }
    if (inner) for (const st of inner) assertScopedJoins(st, where);
  }
  if ("$facet" in s && s.$facet && typeof s.$facet === "object") {
    for (const sub of Object.values(s.$facet as Record<string, unknown[]>)) {
      for (const st of sub ?? []) assertScopedJoins(st, where);
    }
  }
}

function assertScopedBulkOp(op: unknown, where: string): void {
  if (!op || typeof op !== "object") throw new TenantScopeError(`${where} is not an operation`);
  const [kind, body] = Object.entries(op as Record<string, Record<string, unknown>>)[0] ?? [];
  switch (kind) {
    case "insertOne": {
      const doc = body?.document as Record<string, unknown> | undefined;
      if (!doc || !isConcreteTenant(doc.tenantId)) throw new TenantScopeError(`${where}: insertOne document has no tenantId`);
      return;
    }
    case "updateOne":
    case "updateMany":
    case "replaceOne":
    case "deleteOne":
    case "deleteMany":
      assertScopedFilter(body?.filter, `${where} (${kind})`);
      if (kind === "replaceOne") {
        const repl = body?.replacement as Record<string, unknown> | undefined;
        const filterTenant = String((body?.filter as Record<string, unknown>)?.tenantId ?? "");
        if (!repl || String(repl.tenantId ?? "") !== filterTenant) {
          throw new TenantScopeError(`${where}: replacement must keep the filter's tenantId`);
        }
      } else if (kind.startsWith("update")) {
        assertTenantUnchanged(body?.update, `${where} (${kind})`);
      }
      return;
    default:
      throw new TenantScopeError(`${where}: unknown bulk operation ${String(kind)}`);
  }
}
