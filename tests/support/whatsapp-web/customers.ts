/**
 * Customers: WhatsApp users with one phone (device 0) and their own Signal identity, held by
 * the emulator. They encrypt to a store's linked devices with the bundles those devices
 * uploaded (a `pkmsg` first, then `msg`), decrypt what the store sends them with Baileys'
 * own signal repository, and hand out their pre-key bundles when a store's socket asks.
 */
import { randomBytes } from "node:crypto";
import {
  Curve, addTransactionCapability, DEFAULT_CONNECTION_CONFIG, encodeWAMessage, generateSignalPubKey, initAuthCreds, proto, unpadRandomMax16,
} from "baileys";
import type { BinaryNode, KeyPair, SignalRepositoryWithLIDStore } from "baileys";
import { bundleNode, lidOf, takePreKey } from "./accounts.ts";
import type { LinkedDevice, PhoneAccount } from "./accounts.ts";
import { memoryKeys, quietLogger } from "./memory-auth.ts";

/** Something a customer received from a store, decrypted. */
export interface ReceivedMessage {
  id: string;
  text?: string;
  caption?: string;
  image?: Buffer;
  document?: { bytes: Buffer; fileName: string; mimetype: string };
  /** The decrypted `proto.Message`, for anything else. */
  message: proto.IMessage;
  at: Date;
}

const PRE_KEY_POOL = 20;

export class CustomerIdentity {
  readonly creds = initAuthCreds();
  readonly keys = addTransactionCapability(memoryKeys(), quietLogger, { maxCommitRetries: 1, delayBetweenTriesMs: 10 });
  readonly repository: SignalRepositoryWithLIDStore;
  readonly received: ReceivedMessage[] = [];
  readonly presences: { state: string; at: Date }[] = [];
  private nextPreKeyId = 1;
  private readonly unusedPreKeys: { id: number; pair: KeyPair }[] = [];

  constructor(
    readonly account: PhoneAccount,
    readonly pushName: string | undefined,
    /** Incoming messages are LID-addressed (`from` …@lid with `sender_pn`), else phone-addressed. */
    readonly lidAddressing: boolean,
  ) {
    this.repository = DEFAULT_CONNECTION_CONFIG.makeSignalRepository({ creds: this.creds, keys: this.keys }, quietLogger);
  }

  get phone(): string {
    return this.account.phone;
  }
  get pnJid(): string {
    return `${this.account.phone}@s.whatsapp.net`;
  }
  get lidJid(): string {
    return `${this.account.lidUser}@lid`;
  }

  /** The `<user>` node of a key fetch: identity, signed pre-key and one unused pre-key. */
  async bundle(jid: string): Promise<BinaryNode> {
    if (this.unusedPreKeys.length === 0) await this.makePreKeys();
    const preKey = this.unusedPreKeys.shift()!;
    const signed = this.creds.signedPreKey;
    return bundleNode(jid, {
      registrationId: this.creds.registrationId,
      identityKey: this.creds.signedIdentityKey.public,
      signedPreKey: { keyId: signed.keyId, publicKey: signed.keyPair.public, signature: signed.signature },
      preKey: { keyId: preKey.id, publicKey: preKey.pair.public },
    });
  }

  /** Encrypts `message` for one of the store's devices, starting a session from its uploaded keys when there is none. */
  async encryptFor(device: LinkedDevice, message: proto.IMessage): Promise<{ type: "pkmsg" | "msg"; ciphertext: Uint8Array }> {
    const address = lidOf(device);
    if (!(await this.repository.validateSession(address)).exists) {
      const preKey = takePreKey(device);
      await this.repository.injectE2ESession({
        jid: address,
        session: {
          registrationId: device.registrationId,
          identityKey: generateSignalPubKey(device.identityKey),
          signedPreKey: {
            keyId: device.signedPreKey.keyId,
            publicKey: generateSignalPubKey(device.signedPreKey.publicKey),
            signature: device.signedPreKey.signature,
          },
          ...(preKey && { preKey: { keyId: preKey.keyId, publicKey: generateSignalPubKey(preKey.publicKey) } }),
        },
      });
    }
    return this.repository.encryptMessage({ jid: address, data: encodeWAMessage(message) });
  }

  async decryptFrom(device: LinkedDevice, type: "pkmsg" | "msg", ciphertext: Uint8Array): Promise<proto.Message> {
    const plain = await this.repository.decryptMessage({ jid: lidOf(device), type, ciphertext });
    return proto.Message.decode(unpadRandomMax16(plain));
  }

  private async makePreKeys(): Promise<void> {
    const made: Record<string, KeyPair> = {};
    for (let i = 0; i < PRE_KEY_POOL; i++) {
      const entry = { id: this.nextPreKeyId++, pair: Curve.generateKeyPair() };
      made[entry.id] = entry.pair;
      this.unusedPreKeys.push(entry);
    }
    await this.keys.set({ "pre-key": made });
  }
}

/** A message id in the style of WhatsApp's clients. */
export const messageId = (): string => `3EB0${randomBytes(9).toString("hex").toUpperCase()}`;
