/**
 * Reading a backup back from a destination: its authenticated manifest, each file checked
 * against the manifest's size and SHA-256 (streaming), and the database part as decoded lines.
 */
import { createHash } from "node:crypto";
import { pipeline, Transform, type Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";
import { BackupNotFound, type BackupDestination } from "./destination.ts";
import { decryptStream } from "./crypto-stream.ts";
import { parseLine, type DumpLine } from "./dump.ts";
import { BackupError } from "./errors.ts";
import { DATABASE_FILE, MANIFEST_FILE, openManifest, type Manifest, type ManifestFile } from "./manifest.ts";

const MAX_MANIFEST_BYTES = 1024 * 1024;

async function getFile(destination: BackupDestination, id: string, file: string): Promise<Readable> {
  try {
    return await destination.get(id, file);
  } catch (err) {
    if (err instanceof BackupNotFound) throw new BackupError("missing", `${id}/${file} is not at ${destination.describe}`, { id, file });
    throw err;
  }
}

export async function readManifest(destination: BackupDestination, id: string, key: Buffer): Promise<Manifest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await getFile(destination, id, MANIFEST_FILE)) {
    size += (chunk as Buffer).length;
    if (size > MAX_MANIFEST_BYTES) throw new BackupError("manifest_tampered", `the manifest of ${id} is too large`, { id, file: MANIFEST_FILE });
    chunks.push(chunk as Buffer);
  }
  return openManifest(Buffer.concat(chunks).toString("utf8"), key, id);
}

/** Re-reads one file and compares its size and SHA-256 with the manifest; `onBytes` hears the bytes read so far. */
export async function checkFile(destination: BackupDestination, id: string, file: ManifestFile, onBytes?: (read: number) => void): Promise<void> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of await getFile(destination, id, file.name)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    onBytes?.(size);
  }
  if (size < file.size) {
    throw new BackupError("truncated", `${id}/${file.name} is truncated: ${size} of ${file.size} bytes`, { id, file: file.name, expected: file.size, actual: size });
  }
  if (size !== file.size || hash.digest("hex") !== file.sha256) {
    throw new BackupError("tampered", `${id}/${file.name} has been changed or is corrupt (its SHA-256 does not match the manifest)`, { id, file: file.name });
  }
}

/**
 * The database part, decrypted and decompressed, one parsed line at a time. The GCM tag is
 * checked at the end: lines are untrusted until the generator finishes without throwing.
 * `onBytes` sees the stored (encrypted) bytes, to hash them on the way.
 */
export async function* databaseLines(destination: BackupDestination, id: string, key: Buffer, onBytes?: (chunk: Buffer) => void): AsyncGenerator<DumpLine> {
  const source = await getFile(destination, id, DATABASE_FILE);
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes?.(chunk);
      done(null, chunk);
    },
  });
  const plain = pipeline(source, tap, decryptStream(key, DATABASE_FILE), createGunzip(), () => undefined);
  const decoder = new StringDecoder("utf8");
  let rest = "";
  for await (const chunk of plain) {
    const lines = (rest + decoder.write(chunk as Buffer)).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line) yield parseLine(line);
  }
  rest += decoder.end();
  if (rest.trim()) yield parseLine(rest);
}

export function toBackupError(err: unknown, id: string, file: string): BackupError {
  if (err instanceof BackupError) return err;
  return new BackupError("tampered", `${id}/${file} cannot be read back: ${(err as Error).message.split("\n")[0]}`, { id, file });
}
