import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { DecryptionError, EncryptionKeyError, Keyring, keyIdOf, keyIdOfCiphertext } from "../../storage/crypto.ts";

describe("secret encryption", () => {
  const key = randomBytes(32);

  it("seals a secret so the ciphertext hides it and opens back to the same text", () => {
    const ring = new Keyring(key);
    const secret = "123456:AAH-secret-bot-token-value-xyz";
    const sealed = ring.encrypt(secret);
    assert.ok(!sealed.includes(secret));
    assert.ok(!sealed.includes(Buffer.from(secret).toString("base64")));
    assert.equal(ring.decrypt(sealed), secret);
  });

  it("uses a fresh IV each time, so equal secrets do not look equal", () => {
    const ring = new Keyring(key);
    assert.notEqual(ring.encrypt("same"), ring.encrypt("same"));
  });

  it("carries the id of the key that sealed it", () => {
    const ring = new Keyring(key);
    assert.equal(keyIdOfCiphertext(ring.encrypt("x")), keyIdOf(key));
  });

  it("still opens values sealed under an old key after rotation", () => {
    const oldRing = new Keyring(key);
    const sealed = oldRing.encrypt("voucher-ABC-123");
    const newKey = randomBytes(32);
    const rotated = new Keyring(newKey, [key]);
    assert.equal(rotated.decrypt(sealed), "voucher-ABC-123");
    assert.equal(rotated.needsRotation(sealed), true);
    assert.equal(rotated.needsRotation(rotated.encrypt("y")), false);
  });

  it("answers a clear error, never garbage, when the key is wrong", () => {
    const sealed = new Keyring(key).encrypt("top secret");
    assert.throws(() => new Keyring(randomBytes(32)).decrypt(sealed), (err: Error) => {
      assert.ok(err instanceof DecryptionError);
      assert.match(err.message, /ENCRYPTION_KEYS_OLD/);
      assert.ok(!err.message.includes("top secret"));
      return true;
    });
  });

  it("detects a tampered ciphertext", () => {
    const ring = new Keyring(key);
    const parts = ring.encrypt("pay 10000").split(".");
    const body = Buffer.from(parts[3], "base64url");
    body[0] ^= 1;
    parts[3] = body.toString("base64url");
    assert.throws(() => ring.decrypt(parts.join(".")), (err: Error) => err instanceof DecryptionError && /authentication/.test(err.message));
  });

  it("refuses to open a ciphertext in another context (e.g. copied to another tenant)", () => {
    const ring = new Keyring(key);
    const sealed = ring.encrypt("token", "tenant:A:channels.telegram.token");
    assert.throws(() => ring.decrypt(sealed, "tenant:B:channels.telegram.token"), DecryptionError);
    assert.equal(ring.decrypt(sealed, "tenant:A:channels.telegram.token"), "token");
  });

  it("rejects malformed ciphertexts and keys of the wrong size", () => {
    const ring = new Keyring(key);
    assert.throws(() => ring.decrypt("plain text"), DecryptionError);
    assert.throws(() => new Keyring(randomBytes(16)), EncryptionKeyError);
  });
});
