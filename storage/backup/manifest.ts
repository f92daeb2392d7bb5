/**
 * A backup's `manifest.json`: what it holds (per-collection document counts, per-file size and
 * SHA-256 of the encrypted bytes), who made it (app and schema version, key id) and when,
 * authenticated with an HMAC-SHA256 under a key derived from BACKUP_KEY.
 *
 * ```ts
 * const text = signManifest(manifest, key);       // what is written
 * const manifest = openManifest(text, key, id);   // throws BackupError unless it is intact and ours
 * ```
 */
import { readFileSync } from "node:fs";
import { backupKeyId, hmacHex } from "./crypto-stream.ts";
import { BackupError } from "./errors.ts";

/**
 * The shape of the stored data this app writes and reads. The project had no schema version
 * before backups; this is the one place it lives. Raise it with a migration for older backups.
 */
export const BACKUP_SCHEMA_VERSION = 1;

export const MANIFEST_FILE = "manifest.json";
export const DATABASE_FILE = "db.ndjson.gz.enc";
export const ENV_FILE = "config.env.enc";
export const LOGS_FILE = "logs.enc";

export interface ManifestFile {
  name: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: 1;
  id: string;
  createdAt: string;
  appVersion: string;
  schemaVersion: number;
  keyId: string;
  collections: Record<string, number>;
  files: ManifestFile[];
}

let appVersionCache: string | undefined;
/** `version` from package.json. */
export function appVersion(): string {
  appVersionCache ??= (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return appVersionCache;
}

export function signManifest(manifest: Manifest, key: Buffer): string {
  const body = JSON.stringify(manifest);
  return JSON.stringify({ manifest, hmac: hmacHex(key, body) }, null, 2) + "\n";
}

/** Parses and authenticates a manifest; a wrong key and a changed manifest fail differently. */
export function openManifest(text: string, key: Buffer, id: string): Manifest {
  let parsed: { manifest?: Manifest; hmac?: string };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new BackupError("manifest_tampered", `the manifest of ${id} is not readable`, { id, file: MANIFEST_FILE });
  }
  const manifest = parsed.manifest;
  if (!manifest || typeof parsed.hmac !== "string") {
    throw new BackupError("manifest_tampered", `the manifest of ${id} is not readable`, { id, file: MANIFEST_FILE });
  }
  if (manifest.keyId !== backupKeyId(key)) {
    throw new BackupError("wrong_key", `${id} was made with another backup key (${String(manifest.keyId)})`, { id });
  }
  if (hmacHex(key, JSON.stringify(manifest)) !== parsed.hmac || manifest.id !== id) {
    throw new BackupError("manifest_tampered", `the manifest of ${id} has been changed (its HMAC does not match)`, { id, file: MANIFEST_FILE });
  }
  return manifest;
}

export function newBackupId(now: Date, suffix: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `niaga-${stamp}-${suffix}`;
}
