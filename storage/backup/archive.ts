/**
 * Making a backup: every collection of a live database as EJSON lines, gzipped and encrypted
 * (AES-256-GCM under BACKUP_KEY) while streaming into a destination, plus the environment file
 * and recent logs when given, then a signed manifest written last (a backup without one is
 * unfinished). Reads only, with cursors: the live platform keeps running.
 *
 * ```ts
 * const manifest = await createBackup(mongoose.connection.db!, new LocalDestination(dir), {
 *   backupKey, envFile: ".env", logDir: config.logDir,
 * });
 * ```
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream";
import { createGzip } from "node:zlib";
import type { Db } from "mongodb";
import { backupKeyId, encryptStream } from "./crypto-stream.ts";
import type { BackupDestination } from "./destination.ts";
import { dumpLines } from "./dump.ts";
import { logChunks, recentLogFiles } from "./extras.ts";
import {
  appVersion, BACKUP_SCHEMA_VERSION, DATABASE_FILE, ENV_FILE, LOGS_FILE, MANIFEST_FILE, newBackupId, signManifest,
  type Manifest, type ManifestFile,
} from "./manifest.ts";
import type { OnBackupProgress } from "./progress.ts";

export interface CreateBackupOptions {
  /** BACKUP_KEY: 32 bytes. */
  backupKey: Buffer;
  /** The environment file to keep (its content is encrypted like the rest). */
  envFile?: string;
  /** LOG_DIR: files changed in the last 7 days are kept; skipped when absent. */
  logDir?: string;
  /** Progress, for people: as each part starts, and documents per collection (of its estimated count) while the database is read. */
  onProgress?: OnBackupProgress;
  now?: Date;
  /** The schema version written into the manifest; default {@link BACKUP_SCHEMA_VERSION} (another only to test migrations). */
  schemaVersion?: number;
}

/** Counts and hashes the bytes flowing through it. */
function meter(): Transform & { size: number; sha256: () => string } {
  const hash = createHash("sha256");
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      (t as unknown as { size: number }).size += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { size: number; sha256: () => string };
  t.size = 0;
  t.sha256 = () => hash.digest("hex");
  return t;
}

async function storeEncrypted(destination: BackupDestination, id: string, name: string, source: Readable, key: Buffer): Promise<ManifestFile> {
  const m = meter();
  let failure: Error | undefined;
  const body = pipeline(source, createGzip(), encryptStream(key), m, (err) => {
    if (err) failure = err;
  });
  await destination.put(id, name, body);
  if (failure) throw failure;
  return { name, size: m.size, sha256: m.sha256() };
}

/** Makes one backup in `destination` and returns its manifest. */
export async function createBackup(db: Db, destination: BackupDestination, opts: CreateBackupOptions): Promise<Manifest> {
  const now = opts.now ?? new Date();
  const id = newBackupId(now, randomBytes(2).toString("hex"));
  const key = opts.backupKey;
  const collections: Record<string, number> = {};
  const files: ManifestFile[] = [];
  try {
    const progress = opts.onProgress;
    const where = destination.name;
    progress?.({ phase: "database", destination: where });
    const onDocuments = progress && ((collection: string, done: number, total: number) => progress({ phase: "database", destination: where, collection, done, total }));
    files.push(await storeEncrypted(destination, id, DATABASE_FILE, Readable.from(dumpLines(db, collections, onDocuments)), key));
    if (opts.envFile) {
      progress?.({ phase: "env", destination: where });
      files.push(await storeEncrypted(destination, id, ENV_FILE, createReadStream(opts.envFile), key));
    }
    if (opts.logDir) {
      const logs = await recentLogFiles(opts.logDir, now.getTime());
      if (logs.length > 0) {
        progress?.({ phase: "logs", destination: where });
        files.push(await storeEncrypted(destination, id, LOGS_FILE, Readable.from(logChunks(logs)), key));
      }
    }
    progress?.({ phase: "manifest", destination: where });
    const manifest: Manifest = {
      format: 1,
      id,
      createdAt: now.toISOString(),
      appVersion: appVersion(),
      schemaVersion: opts.schemaVersion ?? BACKUP_SCHEMA_VERSION,
      keyId: backupKeyId(key),
      collections,
      files,
    };
    await destination.put(id, MANIFEST_FILE, Readable.from([signManifest(manifest, key)]));
    return manifest;
  } catch (err) {
    await destination.remove(id).catch(() => undefined);
    throw err;
  }
}
