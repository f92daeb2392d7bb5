/**
 * Where backups are kept: a local directory (`BACKUP_DIR`) and offsite storage over the S3 API.
 * A backup is a folder of files named by the backup's id (`niaga-20261202T190000Z-3fa9`):
 * `manifest.json` and the encrypted parts it lists. Every destination stores and returns
 * them as streams, so memory stays flat whatever their size.
 *
 * ```ts
 * await destination.put(id, "db.ndjson.gz.enc", stream);
 * for (const backup of await destination.list()) …;           // newest first
 * const body = await destination.get(id, "manifest.json");
 * await destination.remove(id);
 * ```
 */
import type { Readable } from "node:stream";

export type DestinationName = "local" | "offsite";

export interface StoredFile {
  name: string;
  size: number;
}

export interface StoredBackup {
  id: string;
  files: StoredFile[];
}

export interface BackupDestination {
  readonly name: DestinationName;
  /** Where, for people: a path, or `s3://bucket/prefix` at an endpoint. Never a key. */
  readonly describe: string;
  /** Stores one file of a backup from `body`; resolves once it is stored whole (rejects otherwise, leaving no partial file visible). */
  put(backupId: string, file: string, body: Readable): Promise<void>;
  /** The backups kept here, newest first (ids sort by time). */
  list(): Promise<StoredBackup[]>;
  /** One file of a backup, as a stream; rejects with `BackupNotFound` when it is not there. */
  get(backupId: string, file: string): Promise<Readable>;
  /** Removes a backup and all its files; nothing happens when it is not there. */
  remove(backupId: string): Promise<void>;
}

/** A backup or one of its files is not at the destination. */
export class BackupNotFound extends Error {
  override name = "BackupNotFound";
}
