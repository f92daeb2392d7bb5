/**
 * Bringing a backup made by an older schema up to this app's ({@link BACKUP_SCHEMA_VERSION}):
 * a registry of steps, each from one schema version to the next, rewriting documents of named
 * collections as they stream into the database during a restore. Steps run in order
 * (0→1, then 1→2, …); a gap in the chain refuses the restore (`no_migration`) before anything
 * is touched.
 *
 * ```ts
 * // When the stored data changes shape: raise BACKUP_SCHEMA_VERSION to 2 and add
 * { from: 1, to: 2, describe: "orders: total as Decimal128", collections: { orders: (doc) => ({ ...doc, total: toDecimal(doc.total) }) } }
 * ```
 *
 * A step returns the document rewritten, or `null` to leave it out. It sees canonical BSON
 * values (numbers keep their BSON types) and must not depend on other documents.
 */
import type { Document } from "mongodb";
import { BackupError } from "./errors.ts";
import { BACKUP_SCHEMA_VERSION } from "./manifest.ts";

export type DocumentMigration = (doc: Document) => Document | null;

export interface MigrationStep {
  from: number;
  to: number;
  /** What it changes, for people: shown by the restore plan. */
  describe: string;
  /** Per collection, how one of its documents changes; collections not named are kept as they are. */
  collections: Record<string, DocumentMigration>;
}

/**
 * Every step this app knows. Schema 1 is the first (the project had no schema version before
 * backups), so there is none yet.
 */
export const MIGRATIONS: readonly MigrationStep[] = [];

/**
 * The steps that bring schema `from` to `to`, in order. Throws `no_migration` naming the first
 * version no step starts from.
 */
export function migrationPath(id: string, from: number, to = BACKUP_SCHEMA_VERSION, steps: readonly MigrationStep[] = MIGRATIONS): MigrationStep[] {
  const path: MigrationStep[] = [];
  for (let version = from; version < to; version++) {
    const step = steps.find((s) => s.from === version && s.to === version + 1);
    if (!step) {
      throw new BackupError(
        "no_migration",
        `${id} has schema ${from}, and this version of Niaga (schema ${to}) has no migration from schema ${version} to ${version + 1}`,
        { id, version },
      );
    }
    path.push(step);
  }
  return path;
}

/** One rewrite per collection, running the steps of `path` in order; `undefined` for a collection no step touches. */
export function collectionMigrations(path: readonly MigrationStep[]): (collection: string) => DocumentMigration | undefined {
  return (collection) => {
    const fns = path.map((step) => step.collections[collection]).filter((fn): fn is DocumentMigration => fn !== undefined);
    if (fns.length === 0) return undefined;
    return (doc) => fns.reduce<Document | null>((d, fn) => (d === null ? null : fn(d)), doc);
  };
}
