/**
 * Logging in and linking: what the server answers once the noise handshake is done.
 *
 * - A socket with creds (`ClientPayload.username`/`device`) logs in: `<success/>` when the
 *   device is linked and its noise key is the one it linked with; `<failure reason="401"/>`
 *   when the phone removed it or it is unknown; `<failure reason="403|419"/>` when the
 *   number was blocked with `fail`.
 * - A socket without creds registers: it gets `<pair-device>` with `qrRefs` refs; Baileys
 *   shows one QR code per ref and, when they run out, closes with 408 itself.
 * - `scanQr` plays the phone: it reads the QR string, links a device for the number, sends
 *   `<pair-success>` (signed so Baileys' checks pass), waits for the socket's
 *   `<pair-device-sign>` and ends the stream with 515, as WhatsApp does after linking.
 */
import { randomBytes } from "node:crypto";
import type { BinaryNode, proto } from "baileys";
import { pairSuccessNode, registrationOf } from "./accounts.ts";
import type { Directory, LinkedDevice } from "./accounts.ts";
import { serverId } from "./connection.ts";
import type { Connection } from "./connection.ts";

export interface LoginHooks {
  /** Called once a linked device's socket was told `<success/>`. */
  loggedIn(connection: Connection): Promise<void>;
  countQrRefs(n: number): void;
  countRefusal(): void;
}

export const failureNode = (reason: number): BinaryNode => ({ tag: "failure", attrs: { reason: String(reason), location: "local" } });
export const streamError = (code: number, child?: BinaryNode): BinaryNode => ({
  tag: "stream:error", attrs: { code: String(code) }, ...(child && { content: [child] }),
});

export async function answerHandshake(
  connection: Connection,
  clientStatic: Buffer,
  payload: proto.ClientPayload,
  directory: Directory,
  qrRefs: number,
  hooks: LoginHooks,
): Promise<void> {
  if (payload.devicePairingData) {
    const refs = Array.from({ length: qrRefs }, () => `2@${randomBytes(24).toString("base64")}`);
    connection.pairing = { noiseKey: clientStatic, refs, payload };
    hooks.countQrRefs(refs.length);
    await connection.send({
      tag: "iq",
      attrs: { from: "s.whatsapp.net", type: "set", id: serverId(), xmlns: "md" },
      content: [{ tag: "pair-device", attrs: {}, content: refs.map((ref) => ({ tag: "ref", attrs: {}, content: Buffer.from(ref) })) }],
    });
    return;
  }
  const phone = String(payload.username ?? "");
  const device = directory.device(phone, payload.device ?? 0);
  const account = directory.account(phone);
  const refusal = account.refusal ?? (!device || device.removed || !device.noiseKey.equals(clientStatic) ? 401 : undefined);
  if (refusal) {
    hooks.countRefusal();
    return connection.end(failureNode(refusal));
  }
  connection.device = device!;
  connection.connectedSince = new Date();
  await hooks.loggedIn(connection);
}

/** The parts of a QR code string `https://wa.me/settings/linked_devices#ref,noise,identity,adv,platform`. */
export function parseQr(qr: string): { ref: string; noiseKey: Buffer; identityKey: Buffer; advSecretKey: string } {
  const [ref, noise, identity, adv] = qr.slice(qr.indexOf("#") + 1).split(",");
  if (!ref || !noise || !identity || !adv) throw new Error("not a WhatsApp linking QR code");
  return { ref, noiseKey: Buffer.from(noise, "base64"), identityKey: Buffer.from(identity, "base64"), advSecretKey: adv };
}

/** The phone scanning `qr`: links a device on `phone` for the socket that showed it. */
export async function scanQr(qr: string, phone: string, waiting: Iterable<Connection>, directory: Directory): Promise<LinkedDevice> {
  const code = parseQr(qr);
  const connection = [...waiting].find((c) => !c.closed && c.pairing?.refs.includes(code.ref));
  if (!connection?.pairing) throw new Error("no socket is showing this QR code (expired, or its socket closed)");
  const registration = registrationOf(connection.pairing.noiseKey, connection.pairing.payload.devicePairingData!);
  if (!registration.noiseKey.equals(code.noiseKey) || !registration.identityKey.equals(code.identityKey)) {
    throw new Error("the QR code's keys are not the socket's");
  }
  return completeLink(connection, directory.link(phone, registration), code.advSecretKey);
}

/**
 * Sends `pair-success` for `device` and ends the stream with 515 once the socket signed it.
 * When the socket is gone or refuses, the device is dropped again.
 */
export async function completeLink(connection: Connection, device: LinkedDevice, advSecretKey: string): Promise<LinkedDevice> {
  connection.pairing = undefined;
  const answer = await connection.query(pairSuccessNode(device, advSecretKey, serverId())).catch(() => undefined);
  if (answer?.attrs.type !== "result") {
    device.removed = true;
    throw new Error(answer ? "the socket refused the pairing" : "no socket is showing this QR code (its socket closed)");
  }
  await connection.end(streamError(515));
  return device;
}
