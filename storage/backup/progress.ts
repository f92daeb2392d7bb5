/**
 * Progress of long backup work (making, verifying, restoring), reported as it goes to a
 * progress bar in the CLI or a message the owner bot edits. The same shape as
 * `BackupProgress` in service.ts, kept here so the modules that do the work (which service.ts
 * itself imports) can name it without an import cycle.
 *
 * `done` / `total` count the documents of `collection` when it is set, and bytes otherwise.
 *
 * ```ts
 * await restoreBackup(dest, id, { …, onProgress: (p) => bar.update(p) });
 * // { phase: "restore", collection: "orders", done: 1500, total: 100000 }
 * ```
 */
import type { DestinationName } from "./destination.ts";

export interface BackupProgress {
  phase: "database" | "env" | "logs" | "manifest" | "upload" | "verify" | "restore" | "prune";
  destination?: DestinationName;
  /** The collection being read or written, when there is one. */
  collection?: string;
  /** Work done and total: documents of `collection` when it is set, bytes otherwise. */
  done?: number;
  total?: number;
}

export type OnBackupProgress = (progress: BackupProgress) => void;

/** Documents between two progress reports of one collection (besides its first and last). */
export const PROGRESS_EVERY = 500;
