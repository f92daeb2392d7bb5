/**
 * Linking with a pairing code instead of a QR code, the phone's side.
 *
 * The socket's `requestPairingCode(phone)` sends `link_code_companion_reg` stage
 * `companion_hello` with its pairing ephemeral key wrapped under the 8-character code. When
 * the user types that code on the phone (`enterPairingCode`), the phone unwraps that key,
 * sends its own ephemeral key wrapped the same way and its identity key
 * (`<notification type="link_code_companion_reg">`); the socket answers `companion_finish`
 * with a key bundle encrypted under the shared secret, from which both sides derive the
 * advSecretKey that authenticates the `pair-success` that follows (then 515, as after a QR).
 * A wrong code yields a bundle the phone cannot decrypt: the link is refused.
 */
import { randomBytes } from "node:crypto";
import {
  Curve, aesDecryptCTR, aesDecryptGCM, aesEncryptCTR, derivePairingCodeKey, getBinaryNodeChild, getBinaryNodeChildBuffer, hkdf,
} from "baileys";
import type { BinaryNode } from "baileys";
import { registrationOf } from "./accounts.ts";
import type { Directory, LinkedDevice } from "./accounts.ts";
import { serverId } from "./connection.ts";
import type { Connection } from "./connection.ts";
import { result } from "./iq.ts";
import { completeLink } from "./login.ts";

/** What a socket asked for with `requestPairingCode`. */
export interface CodeRequest {
  phone: string;
  wrappedCompanionEphemeral: Buffer;
  ref: string;
  /** Resolves with the socket's `companion_finish`. */
  finish?: (node: BinaryNode) => void;
}

const requests = new WeakMap<Connection, CodeRequest>();

/** Handles the unlinked socket's `link_code_companion_reg` iqs; true when it was one. */
export async function onCodeIq(connection: Connection, iq: BinaryNode): Promise<boolean> {
  const reg = getBinaryNodeChild(iq, "link_code_companion_reg");
  if (iq.tag !== "iq" || !reg) return false;
  if (reg.attrs.stage === "companion_hello") {
    const ref = randomBytes(16).toString("hex");
    requests.set(connection, {
      phone: (reg.attrs.jid ?? "").split("@")[0]!.split(":")[0]!,
      wrappedCompanionEphemeral: Buffer.from(getBinaryNodeChildBuffer(reg, "link_code_pairing_wrapped_companion_ephemeral_pub")!),
      ref,
    });
    await connection.send(result(iq, [{ tag: "link_code_companion_reg", attrs: {}, content: [{ tag: "link_code_pairing_ref", attrs: {}, content: Buffer.from(ref) }] }]));
  } else if (reg.attrs.stage === "companion_finish") {
    await connection.send(result(iq));
    requests.get(connection)?.finish?.(reg);
  }
  return true;
}

/** Wraps (or unwraps) a 32-byte key under the pairing code, as `salt ‖ iv ‖ AES-CTR(key)`. */
async function wrap(code: string, key: Uint8Array): Promise<Buffer> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  return Buffer.concat([salt, iv, aesEncryptCTR(key, await derivePairingCodeKey(code, salt), iv)]);
}
async function unwrap(code: string, wrapped: Buffer): Promise<Buffer> {
  return aesDecryptCTR(wrapped.subarray(48, 80), await derivePairingCodeKey(code, wrapped.subarray(0, 32)), wrapped.subarray(32, 48));
}

/** The phone of the number the socket asked for types `code`: links a device, → pair-success, → 515. */
export async function enterPairingCode(code: string, waiting: Iterable<Connection>, directory: Directory, timeoutMs = 10_000): Promise<LinkedDevice> {
  // requestPairingCode does not wait for the server: give its request a moment to arrive.
  const deadline = Date.now() + timeoutMs;
  const pending = () => [...waiting].reverse().find((c) => !c.closed && c.pairing && requests.get(c));
  while (!pending() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const connection = pending();
  const request = connection && requests.get(connection);
  if (!connection?.pairing || !request) throw new Error("no socket is waiting for a pairing code");
  const account = directory.account(request.phone);
  const companionEphemeral = await unwrap(code, request.wrappedCompanionEphemeral);
  const primaryEphemeral = Curve.generateKeyPair();
  const finished = new Promise<BinaryNode>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the socket did not finish the pairing")), timeoutMs);
    request.finish = (node) => {
      clearTimeout(timer);
      resolve(node);
    };
  });
  await connection.send({
    tag: "notification",
    attrs: { from: "s.whatsapp.net", type: "link_code_companion_reg", id: serverId(), t: String(Math.floor(Date.now() / 1000)) },
    content: [{
      tag: "link_code_companion_reg", attrs: {}, content: [
        { tag: "link_code_pairing_ref", attrs: {}, content: Buffer.from(request.ref) },
        { tag: "primary_identity_pub", attrs: {}, content: Buffer.from(account.accountKey.public) },
        { tag: "link_code_pairing_wrapped_primary_ephemeral_pub", attrs: {}, content: await wrap(code, primaryEphemeral.public) },
      ],
    }],
  });
  const finish = await finished;
  const bundle = Buffer.from(getBinaryNodeChildBuffer(finish, "link_code_pairing_wrapped_key_bundle")!);
  const companionShared = Curve.sharedKey(primaryEphemeral.private, companionEphemeral);
  const bundleKey = hkdf(companionShared, 32, { salt: bundle.subarray(0, 32), info: "link_code_pairing_key_bundle_encryption_key" });
  let plain: Buffer;
  try {
    plain = aesDecryptGCM(bundle.subarray(44), bundleKey, bundle.subarray(32, 44), Buffer.alloc(0));
  } catch {
    requests.delete(connection);
    throw new Error("wrong pairing code");
  }
  const companionIdentity = plain.subarray(0, 32);
  const random = plain.subarray(64, 96);
  const identityShared = Curve.sharedKey(account.accountKey.private, companionIdentity);
  const advSecretKey = Buffer.from(hkdf(Buffer.concat([companionShared, identityShared, random]), 32, { info: "adv_secret" })).toString("base64");
  requests.delete(connection);
  const device = directory.link(request.phone, registrationOf(connection.pairing.noiseKey, connection.pairing.payload.devicePairingData!));
  return completeLink(connection, device, advSecretKey);
}
