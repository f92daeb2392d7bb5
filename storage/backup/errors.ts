/**
 * Why a backup cannot be used, as a value the CLI and the owner bot turn into one clear line
 * (`reason` picks the text; `file` / `collection` name what failed). Never carries key material.
 *
 * ```ts
 * try { await restoreBackup(dest, id, opts); }
 * catch (err) { if (err instanceof BackupError) say(t(`cli.backup_error_${err.reason}`, err.params)); }
 * ```
 */
export type BackupErrorReason =
  /** The backup key given is not the one the backup was made with. */
  | "wrong_key"
  /** A file is shorter than the manifest says (an interrupted copy or upload). */
  | "truncated"
  /** A file's bytes differ from the manifest's SHA-256, or its encryption tag does not match. */
  | "tampered"
  /** The manifest is not the one written with this backup key (its HMAC does not match), or is unreadable. */
  | "manifest_tampered"
  /** The backup has no manifest, or a file it lists is missing. */
  | "missing"
  /** The backup was made by a newer schema than this app knows. */
  | "newer_schema"
  /** The backup was made by an older schema and no chain of migrations leads from it to this app's. */
  | "no_migration"
  /** The documents read back do not match the manifest's counts. */
  | "count_mismatch";

export class BackupError extends Error {
  override name = "BackupError";
  constructor(
    readonly reason: BackupErrorReason,
    message: string,
    readonly params: { id?: string; file?: string; collection?: string; expected?: number; actual?: number; version?: number } = {},
  ) {
    super(message);
  }
}
