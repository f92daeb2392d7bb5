import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Secret fields (bot tokens, stock payloads, WhatsApp credentials, payment proofs) are
 * stored as AES-256-GCM ciphertexts of the form
 *
 *     v1.<keyId>.<iv>.<ciphertext>.<tag>      (base64url parts)
 *
 * The key id names the key that sealed the value, so after `ENCRYPTION_KEY` rotates the
 * old key (listed in `ENCRYPTION_KEYS_OLD`) still opens old values until
 * `niaga rotate-key` has re-sealed them under the new one.
 *
 * An optional `context` (e.g. `tenant:<id>`) is bound as additional authenticated data:
 * a ciphertext copied into another tenant's document does not open there.
 */

const VERSION = "v1";
const IV_BYTES = 12;

export class EncryptionKeyError extends Error {
  override name = "EncryptionKeyError";
}

/** Opening a ciphertext failed: wrong key, unknown key id, or tampered data. Never garbage. */
export class DecryptionError extends Error {
  override name = "DecryptionError";
}

export function keyIdOf(key: Buffer): string {
  return createHash("sha256").update("niaga-key-id:").update(key).digest("hex").slice(0, 8);
}

export class Keyring {
  readonly currentId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(current: Buffer, old: readonly Buffer[] = []) {
    for (const key of [current, ...old]) {
      if (key.length !== 32) throw new EncryptionKeyError("encryption keys must be exactly 32 bytes");
      const id = keyIdOf(key);
      if (!this.keys.has(id)) this.keys.set(id, Buffer.from(key));
    }
    this.currentId = keyIdOf(current);
  }

  encrypt(plain: string, context = ""): string {
    const key = this.keys.get(this.currentId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.currentId, b64(iv), b64(body), b64(tag)].join(".");
  }

  decrypt(sealed: string, context = ""): string {
    const parts = typeof sealed === "string" ? sealed.split(".") : [];
    if (parts.length !== 5 || parts[0] !== VERSION) {
      throw new DecryptionError("value is not a Niaga ciphertext (expected v1.<keyId>.<iv>.<data>.<tag>)");
    }
    const [, keyId, iv, body, tag] = parts;
    const key = this.keys.get(keyId);
    if (!key) {
      throw new DecryptionError(
        `value was encrypted with key id ${keyId}, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_OLD`,
      );
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
    } catch {
      throw new DecryptionError(`value under key id ${keyId} failed authentication: wrong key or tampered data`);
    }
  }

  /** Whether the value is sealed under a key other than the current one. */
  needsRotation(sealed: string): boolean {
    return keyIdOfCiphertext(sealed) !== this.currentId;
  }
}

export function keyIdOfCiphertext(sealed: string): string | undefined {
  const parts = sealed.split(".");
  return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined;
}

export function isCiphertext(value: unknown): value is string {
  return typeof value === "string" && keyIdOfCiphertext(value) !== undefined;
}

let keyring: Keyring | undefined;

export function configureEncryption(key: Buffer, oldKeys: readonly Buffer[] = []): Keyring {
  keyring = new Keyring(key, oldKeys);
  return keyring;
}

export function activeKeyring(): Keyring {
  if (!keyring) {
    throw new EncryptionKeyError("ENCRYPTION_KEY is not configured: set it (base64 of 32 bytes) before touching secrets");
  }
  return keyring;
}

export function encryptSecret(plain: string, context?: string): string {
  return activeKeyring().encrypt(plain, context);
}

export function decryptSecret(sealed: string, context?: string): string {
  return activeKeyring().decrypt(sealed, context);
}

function b64(buf: Buffer): string {
  return buf.toString("base64url");
}
