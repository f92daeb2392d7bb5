/**
 * Reading back a backup's environment file or logs: the manifest and the file's SHA-256 are
 * checked first, then the file is decrypted and decompressed as a stream (its GCM tag checked
 * at the end: the consumer must not trust the output unless the stream ends without error).
 *
 * ```ts
 * await pipeline(await extractFile(local, id, ENV_FILE, key), createWriteStream("old.env", { mode: 0o600 }));
 * ```
 */
import { pipeline, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { decryptStream } from "./crypto-stream.ts";
import type { BackupDestination } from "./destination.ts";
import { BackupError } from "./errors.ts";
import { checkFile, readManifest } from "./read-backup.ts";

export async function extractFile(destination: BackupDestination, id: string, file: string, key: Buffer): Promise<Readable> {
  const manifest = await readManifest(destination, id, key);
  const entry = manifest.files.find((f) => f.name === file);
  if (!entry) throw new BackupError("missing", `${id} holds no ${file}`, { id, file });
  await checkFile(destination, id, entry);
  return pipeline(await destination.get(id, file), decryptStream(key, file), createGunzip(), () => undefined);
}
