/**
 * Answers to the queries (`<iq>`) a logged-in socket sends: pre-key counts and uploads,
 * the key-bundle digest, keep-alive pings, `passive`, logout (`remove-companion-device`).
 * Device lists (`usync`), other users' pre-key bundles and `media_conn` are answered by the
 * modules that own that data (see `messaging.ts`, `media.ts`), through `IqRoutes`.
 *
 * Anything else gets an empty `result`, as if the server had nothing to say: Baileys logs
 * what it cannot use and goes on (app-state sync, privacy settings, profile pictures, … are
 * not emulated).
 */
import { getBinaryNodeChild, getBinaryNodeChildBuffer, getBinaryNodeChildren } from "baileys";
import type { BinaryNode } from "baileys";
import type { Connection } from "./connection.ts";

const int = (bytes: Uint8Array | undefined): number => Buffer.from(bytes ?? []).reduce((n, b) => n * 256 + b, 0);

/** Specialised answers: return a node to send, or undefined to fall through. */
export type IqRoute = (connection: Connection, iq: BinaryNode) => Promise<BinaryNode | undefined> | BinaryNode | undefined;

export const result = (iq: BinaryNode, content?: BinaryNode[]): BinaryNode => ({
  tag: "iq", attrs: { from: "s.whatsapp.net", type: "result", id: iq.attrs.id! }, ...(content && { content }),
});

export async function answerIq(connection: Connection, iq: BinaryNode, routes: IqRoute[], onLogout: (connection: Connection) => void): Promise<void> {
  for (const route of routes) {
    const answer = await route(connection, iq);
    if (answer) return connection.send(answer);
  }
  const device = connection.device;
  const children = Array.isArray(iq.content) ? iq.content : [];
  const first = children[0]?.tag;
  if (iq.attrs.xmlns === "encrypt" && device) {
    if (first === "count") return connection.send(result(iq, [{ tag: "count", attrs: { value: String(device.preKeys.size) } }]));
    if (first === "digest") return connection.send(result(iq, [{ tag: "digest", attrs: {} }]));
    const list = getBinaryNodeChild(iq, "list");
    if (list) {
      for (const key of getBinaryNodeChildren(list, "key")) {
        device.preKeys.set(int(getBinaryNodeChildBuffer(key, "id")), Buffer.from(getBinaryNodeChildBuffer(key, "value")!));
      }
    }
    const skey = getBinaryNodeChild(iq, "skey") ?? getBinaryNodeChild(getBinaryNodeChild(iq, "rotate"), "skey");
    if (skey) {
      device.signedPreKey = {
        keyId: int(getBinaryNodeChildBuffer(skey, "id")),
        publicKey: Buffer.from(getBinaryNodeChildBuffer(skey, "value")!),
        signature: Buffer.from(getBinaryNodeChildBuffer(skey, "signature")!),
      };
    }
  }
  if (iq.attrs.xmlns === "md" && first === "remove-companion-device" && device) {
    device.removed = true;
    await connection.send(result(iq));
    onLogout(connection);
    return;
  }
  await connection.send(result(iq));
}
