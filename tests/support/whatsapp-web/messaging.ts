/**
 * Messages between customers and stores, as the server relays them.
 *
 * Customer → store: the customer encrypts once per linked device of the store's number; a
 * connected device gets the `<message>` at once (Baileys: `messages.upsert` `notify`), a
 * disconnected one at its next login, marked `offline` before the `<ib><offline/>` end marker
 * (Baileys: `append`). Phone-addressed messages come `from` `…@s.whatsapp.net`;
 * LID-addressed ones `from` `…@lid` with `addressing_mode="lid"` and `sender_pn`, from
 * which Baileys fills `key.remoteJidAlt`.
 *
 * Store → customer: the socket first asks `usync` for the devices and LIDs of the customer
 * and of its own number, then the customer's pre-key bundle (`<iq xmlns="encrypt"><key>`),
 * then sends `<message><participants><to jid=…><enc/>…`. Each `<to>` for a customer is
 * decrypted with the customer's Signal state and recorded; the server answers with an `ack`,
 * then a delivery `receipt` (→ `messages.update` status 3) and, when `receipts: "read"`, a
 * read receipt (status 4). A number set with `refuseSendsFrom` gets an ack carrying an
 * `error` code instead (rc14 → `messages.update` status 0 `ERROR` with the code first in
 * `messageStubParameters`; 463 is what WhatsApp answers a restricted number, and rc14 adds
 * "Your account has been restricted" after it and asks for the account's reach-out limits).
 */
import { getBinaryNodeChild, getBinaryNodeChildren, jidDecode, normalizeMessageContent } from "baileys";
import type { BinaryNode, proto } from "baileys";
import { bundleNode, takePreKey } from "./accounts.ts";
import type { Directory, LinkedDevice } from "./accounts.ts";
import type { Connection } from "./connection.ts";
import { CustomerIdentity, messageId } from "./customers.ts";
import type { ReceivedMessage } from "./customers.ts";
import { result } from "./iq.ts";
import type { IqRoute } from "./iq.ts";
import type { MediaStore } from "./media.ts";

export type ReceiptMode = "delivered" | "read" | "none";

export class Messaging {
  private readonly customers = new Map<string, CustomerIdentity>();
  private readonly refusals = new Map<string, number>();
  receipts: ReceiptMode;
  /** Customers' messages to stores by Signal message type, one per device encrypted to. */
  readonly encrypted = { pkmsg: 0, msg: 0 };

  constructor(
    private readonly directory: Directory,
    private readonly media: MediaStore,
    /** The connection a device is logged in on, if any. */
    private readonly connectionOf: (device: LinkedDevice) => Connection | undefined,
    receipts: ReceiptMode,
    /** How long the customer's phone takes to confirm delivery. */
    private readonly receiptDelayMs: number,
  ) {
    this.receipts = receipts;
  }

  customer(phone: string, options: { lid?: string; pushName?: string }): CustomerIdentity {
    const existing = this.customers.get(phone);
    if (existing) return existing;
    const account = this.directory.account(phone, options.lid?.replace(/@lid$/, ""));
    const customer = new CustomerIdentity(account, options.pushName, !!options.lid);
    this.customers.set(phone, customer);
    return customer;
  }

  customerByPhone(phone: string): CustomerIdentity | undefined {
    return this.customers.get(phone);
  }

  refuseSendsFrom(storePhone: string, code: number | undefined): void {
    if (code === undefined) this.refusals.delete(storePhone);
    else this.refusals.set(storePhone, code);
  }

  /** Sends `message` from `customer` to every linked device of `storePhone`; returns the message id. */
  async send(customer: CustomerIdentity, storePhone: string, message: proto.IMessage): Promise<string> {
    const devices = this.directory.devicesOf(storePhone);
    if (devices.length === 0) throw new Error(`${storePhone} has no linked device`);
    const id = messageId();
    const media = ["imageMessage", "documentMessage", "videoMessage", "audioMessage", "stickerMessage"].find((k) => k in message);
    for (const device of devices) {
      const { type, ciphertext } = await customer.encryptFor(device, message);
      this.encrypted[type]++;
      const node: BinaryNode = {
        tag: "message",
        attrs: {
          id,
          from: customer.lidAddressing ? customer.lidJid : customer.pnJid,
          type: media ? "media" : "text",
          t: String(Math.floor(Date.now() / 1000)),
          ...(customer.pushName && { notify: customer.pushName }),
          ...(customer.lidAddressing && { addressing_mode: "lid", sender_pn: customer.pnJid }),
        },
        content: [{
          tag: "enc",
          attrs: { v: "2", type, ...(media && { mediatype: media.replace("Message", "") }) },
          content: ciphertext,
        }],
      };
      const connection = this.connectionOf(device);
      if (connection) await connection.send(node);
      else device.offline.push(node);
    }
    return id;
  }

  /** Answers `usync` (devices, LIDs, contacts) and pre-key fetches for customers and store numbers. */
  readonly iqRoutes: IqRoute[] = [
    (_connection, iq) => (iq.attrs.xmlns === "usync" ? this.usync(iq) : undefined),
    (_connection, iq) => (iq.attrs.xmlns === "encrypt" && iq.attrs.type === "get" && getBinaryNodeChild(iq, "key") ? this.keys(iq) : undefined),
  ];

  /** A node the store's socket sent that is not an iq: messages and typing. */
  async fromStore(connection: Connection, node: BinaryNode): Promise<void> {
    if (node.tag === "chatstate") {
      const customer = this.customerOf(node.attrs.to);
      const state = Array.isArray(node.content) ? node.content[0]?.tag : undefined;
      if (customer && state) customer.presences.push({ state, at: new Date() });
      return;
    }
    if (node.tag !== "message") return;
    const device = connection.device!;
    const to = node.attrs.to!;
    const refusal = this.refusals.get(device.account.phone);
    const ack = (extra: Record<string, string> = {}) => connection.send({
      tag: "ack", attrs: { class: "message", id: node.attrs.id!, from: to, t: String(Math.floor(Date.now() / 1000)), ...extra },
    });
    if (refusal !== undefined) return ack({ error: String(refusal) });
    const customer = this.customerOf(to);
    if (customer) {
      const target = getBinaryNodeChildren(getBinaryNodeChild(node, "participants"), "to")
        .find((n) => this.customerOf(n.attrs.jid) === customer);
      const enc = getBinaryNodeChild(target, "enc") ?? getBinaryNodeChild(node, "enc");
      if (enc?.content instanceof Uint8Array) {
        const message = await customer.decryptFrom(device, enc.attrs.type as "pkmsg" | "msg", enc.content);
        customer.received.push(await this.describe(node.attrs.id!, message));
      }
    }
    await ack();
    if (!customer || this.receipts === "none") return;
    const mode = this.receipts;
    const receipt = (type?: string) => connection.send({
      tag: "receipt", attrs: { id: node.attrs.id!, from: to, t: String(Math.floor(Date.now() / 1000)), ...(type && { type }) },
    });
    setTimeout(() => {
      receipt()
        .then(() => (mode === "read" ? receipt("read") : undefined))
        .catch(() => connection.drop());
    }, this.receiptDelayMs);
  }

  private customerOf(jid: string | undefined): CustomerIdentity | undefined {
    const decoded = jid ? jidDecode(jid) : undefined;
    if (!decoded) return undefined;
    if (decoded.server === "lid") return [...this.customers.values()].find((c) => c.account.lidUser === decoded.user);
    return this.customers.get(decoded.user);
  }

  private async describe(id: string, raw: proto.Message): Promise<ReceivedMessage> {
    const message = normalizeMessageContent(raw) ?? raw;
    const received: ReceivedMessage = { id, message, at: new Date() };
    const text = message.conversation ?? message.extendedTextMessage?.text;
    if (text) received.text = text;
    const image = message.imageMessage;
    if (image?.directPath && image.mediaKey) {
      received.image = await this.media.open(image.directPath, image.mediaKey, "image");
      if (image.caption) received.caption = image.caption;
    }
    const document = message.documentMessage ?? message.documentWithCaptionMessage?.message?.documentMessage;
    if (document?.directPath && document.mediaKey) {
      received.document = {
        bytes: await this.media.open(document.directPath, document.mediaKey, "document"),
        fileName: document.fileName ?? "",
        mimetype: document.mimetype ?? "",
      };
      if (document.caption) received.caption = document.caption;
    }
    return received;
  }

  private usync(iq: BinaryNode): BinaryNode {
    const usync = getBinaryNodeChild(iq, "usync")!;
    const wanted = new Set((getBinaryNodeChild(usync, "query")?.content as BinaryNode[] | undefined ?? []).map((n) => n.tag));
    const users = getBinaryNodeChildren(getBinaryNodeChild(usync, "list"), "user").map((user) => {
      const contact = getBinaryNodeChild(user, "contact");
      const jid = user.attrs.jid ?? `${String(contact?.content ?? "").replace(/\D/g, "")}@s.whatsapp.net`;
      const decoded = jidDecode(jid);
      const account = decoded?.server === "lid" ? this.directory.accountByLid(decoded.user) : this.directory.known(decoded?.user ?? "");
      const content: BinaryNode[] = [];
      if (wanted.has("contact")) content.push({ tag: "contact", attrs: { type: account ? "in" : "out" } });
      if (account && wanted.has("devices")) {
        // A customer has their phone (device 0); a store number shows its linked devices
        // only (there is no primary phone here to encrypt to).
        const linked = this.directory.devicesOf(account.phone);
        const devices = linked.length
          ? linked.map((d) => ({ tag: "device", attrs: { id: String(d.device), "key-index": String(d.device) } }))
          : [{ tag: "device", attrs: { id: "0" } }];
        content.push({ tag: "devices", attrs: {}, content: [{ tag: "device-list", attrs: {}, content: devices }] });
      }
      // LIDs are given for customers only: for a store's own number rc14 would then fetch keys
      // for its primary phone (device 0 of the LID), which this server does not have.
      const isStore = account && this.directory.devicesOf(account.phone).length > 0;
      if (account && !isStore && wanted.has("lid") && decoded?.server !== "lid") content.push({ tag: "lid", attrs: { val: `${account.lidUser}@lid` } });
      return { tag: "user", attrs: { jid }, content };
    });
    return result(iq, [{
      tag: "usync", attrs: { sid: usync.attrs.sid ?? "", index: "0", last: "true" },
      content: [{ tag: "result", attrs: {} }, { tag: "list", attrs: {}, content: users }],
    }]);
  }

  private async keys(iq: BinaryNode): Promise<BinaryNode> {
    const users: BinaryNode[] = [];
    for (const user of getBinaryNodeChildren(getBinaryNodeChild(iq, "key"), "user")) {
      const jid = user.attrs.jid!;
      const customer = this.customerOf(jid);
      const decoded = jidDecode(jid);
      if (customer && !decoded?.device) {
        users.push(await customer.bundle(jid));
        continue;
      }
      const account = decoded?.server === "lid" ? this.directory.accountByLid(decoded.user) : this.directory.known(decoded?.user ?? "");
      const device = account && this.directory.device(account.phone, decoded?.device ?? 0);
      users.push(device ? deviceBundle(jid, device) : { tag: "user", attrs: { jid }, content: [{ tag: "error", attrs: { code: "404", text: "item-not-found" } }] });
    }
    return result(iq, [{ tag: "list", attrs: {}, content: users }]);
  }
}

/** A linked device's bundle from what it uploaded, consuming one of its pre-keys. */
function deviceBundle(jid: string, device: LinkedDevice): BinaryNode {
  return bundleNode(jid, { ...device, preKey: takePreKey(device) });
}
