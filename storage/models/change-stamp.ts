/**
 * `changedAt` on every write to a store, so that a process can ask "which stores changed
 * since I last looked?" (`storage/store-changes.ts`) instead of re-reading them all.
 *
 * Stamped by `save()` (a new or modified document), `insertMany`, `updateOne`,
 * `updateMany`, `findOneAndUpdate` (and `findByIdAndUpdate`), `replaceOne`,
 * `findOneAndReplace` and the update/insert/replace operations of `bulkWrite`, with the
 * writer's clock. A write that is only the channels' own bookkeeping (a cached bot identity,
 * the bot's username, a webhook secret) passes `QUIET` among its options and is not stamped:
 *
 * ```ts
 * await Tenant.updateOne({ _id }, { $set: { "channels.telegram.botUsername": me.username } }, QUIET);
 * await Tenant.updateOne({ _id }, { $set: { … } }, { ...QUIET, runValidators: true });
 * await doc.save(QUIET);
 * ```
 *
 * The catch: a write that bypasses mongoose (`Tenant.collection.updateOne`, the shell, a
 * restore) is not stamped. The sweeps' rare full pass picks it up (`STORE_FULL_SWEEP_MS`).
 * A stamp too many costs one read of that store at the next sweep; a stamp missing leaves
 * a running bot on old settings until that full pass.
 */
import type { Schema } from "mongoose";

/**
 * The option that keeps a write out of `changedAt`: pass it, or spread it into the write's
 * options. (`timestamps` is declared only so that mongoose's option types, which know no
 * `quiet`, accept it; `updatedAt` still moves.)
 */
export const QUIET: { readonly quiet: true; readonly timestamps?: boolean } = { quiet: true };

const UPDATES = ["updateOne", "updateMany", "findOneAndUpdate"] as const;
const REPLACEMENTS = ["replaceOne", "findOneAndReplace"] as const;

interface QueryLike {
  getOptions(): Record<string, unknown>;
  getUpdate(): unknown;
  set(path: string, value: unknown): unknown;
  setUpdate(update: unknown): void;
}

function isQuiet(options: unknown): boolean {
  return (options as { quiet?: unknown } | null | undefined)?.quiet === true;
}

/** Adds `$set: { changedAt }` to an update (a document or a pipeline). */
function stampedUpdate(update: unknown, at: Date): unknown {
  if (Array.isArray(update)) return [...update, { $set: { changedAt: at } }];
  const doc = { ...(update as Record<string, unknown> | null) };
  return { ...doc, $set: { ...(doc.$set as Record<string, unknown> | undefined), changedAt: at } };
}

/** The schema plugin: a `changedAt` date, indexed, set on every write not marked `QUIET`. */
export function stampChanges(schema: Schema): void {
  schema.add({ changedAt: { type: Date } });
  schema.index({ changedAt: 1 });

  schema.pre("save", function (this: { isNew: boolean; isModified(): boolean; set(path: string, value: unknown): void }, options?: unknown) {
    if (isQuiet(options)) return;
    if (this.isNew || this.isModified()) this.set("changedAt", new Date());
  });
  schema.pre("insertMany", function (this: unknown, docs: unknown) {
    const at = new Date();
    for (const doc of Array.isArray(docs) ? docs : [docs]) if (doc && typeof doc === "object") (doc as Record<string, unknown>).changedAt = at;
  });
  for (const op of UPDATES) {
    schema.pre(op, function (this: QueryLike) {
      if (isQuiet(this.getOptions())) return;
      this.setUpdate(stampedUpdate(this.getUpdate(), new Date()));
    });
  }
  for (const op of REPLACEMENTS) {
    schema.pre(op, function (this: QueryLike) {
      if (isQuiet(this.getOptions())) return;
      this.setUpdate({ ...(this.getUpdate() as Record<string, unknown>), changedAt: new Date() });
    });
  }
  schema.pre("bulkWrite", function (this: unknown, ops: unknown[]) {
    const at = new Date();
    for (const op of ops as Array<Record<string, Record<string, unknown> | undefined>>) {
      const [kind, body] = Object.entries(op)[0] ?? [];
      if (!body || isQuiet(body)) continue;
      if (kind === "insertOne" && body.document) body.document = { ...(body.document as object), changedAt: at };
      else if (kind === "replaceOne" && body.replacement) body.replacement = { ...(body.replacement as object), changedAt: at };
      else if ((kind === "updateOne" || kind === "updateMany") && body.update) body.update = stampedUpdate(body.update, at);
    }
  });
}
