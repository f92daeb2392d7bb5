/**
 * Streaming AES-256-GCM for backup files. Layout of an encrypted file:
 * `NIAGABK1` (8 bytes) · key id (8 ASCII hex: first 8 of sha256(BACKUP_KEY)) · IV (12 random bytes)
 * · ciphertext · GCM tag (16 bytes). The 28-byte header is authenticated as additional data.
 * The decrypting side holds back the last 16 bytes as the tag and checks it at the end, so a
 * consumer must treat everything it read as untrusted until the stream ends without error.
 *
 * ```ts
 * await pipeline(source, createGzip(), encryptStream(key), sink);
 * await pipeline(source, decryptStream(key, "db.ndjson.gz.enc"), createGunzip(), sink);
 * ```
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, type DecipherGCM } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { BackupError } from "./errors.ts";

const MAGIC = Buffer.from("NIAGABK1", "ascii");
const HEADER_BYTES = MAGIC.length + 8 + 12;
const TAG_BYTES = 16;

/** First 8 hex characters of sha256(key): names the key in files and manifests without revealing it. */
export function backupKeyId(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

/** A key for one purpose ("data", "manifest"), derived from BACKUP_KEY so each key does one job. */
export function deriveKey(key: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), `niaga-backup-${purpose}`, 32));
}

export function hmacHex(key: Buffer, text: string): string {
  return createHmac("sha256", deriveKey(key, "manifest")).update(text).digest("hex");
}

/** Encrypts what flows through it; writes the header first and the tag last. */
export function encryptStream(key: Buffer): Transform {
  const iv = randomBytes(12);
  const header = Buffer.concat([MAGIC, Buffer.from(backupKeyId(key), "ascii"), iv]);
  const cipher = createCipheriv("aes-256-gcm", deriveKey(key, "data"), iv);
  cipher.setAAD(header);
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (!started) {
        started = true;
        this.push(header);
      }
      done(null, cipher.update(chunk));
    },
    flush(done) {
      if (!started) this.push(header);
      this.push(cipher.final());
      done(null, cipher.getAuthTag());
    },
  });
}

/** Decrypts a file written by {@link encryptStream}; fails with a {@link BackupError} naming `file`. */
export function decryptStream(key: Buffer, file: string): Transform {
  let head = Buffer.alloc(0);
  let decipher: DecipherGCM | undefined;
  let held = Buffer.alloc(0);
  const fail = (reason: "wrong_key" | "tampered" | "truncated", message: string) => new BackupError(reason, message, { file });
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (!decipher) {
        head = Buffer.concat([head, chunk]);
        if (head.length < HEADER_BYTES) return done();
        if (!head.subarray(0, MAGIC.length).equals(MAGIC)) return done(fail("tampered", `${file} is not a Niaga backup file`));
        const id = head.subarray(MAGIC.length, MAGIC.length + 8).toString("ascii");
        if (id !== backupKeyId(key)) return done(fail("wrong_key", `${file} was encrypted with another backup key (${id})`));
        decipher = createDecipheriv("aes-256-gcm", deriveKey(key, "data"), head.subarray(MAGIC.length + 8, HEADER_BYTES));
        decipher.setAAD(head.subarray(0, HEADER_BYTES));
        chunk = head.subarray(HEADER_BYTES);
      }
      held = Buffer.concat([held, chunk]);
      if (held.length <= TAG_BYTES) return done();
      const body = held.subarray(0, held.length - TAG_BYTES);
      held = Buffer.from(held.subarray(held.length - TAG_BYTES));
      done(null, decipher.update(body));
    },
    flush(done) {
      if (!decipher || held.length < TAG_BYTES) return done(fail("truncated", `${file} ends before its end (truncated)`));
      decipher.setAuthTag(held);
      try {
        done(null, decipher.final());
      } catch {
        done(fail("tampered", `${file} does not match its authentication tag (changed or corrupt)`));
      }
    },
  });
}
