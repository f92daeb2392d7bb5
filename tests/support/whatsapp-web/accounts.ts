/**
 * The server's directory: WhatsApp accounts (phone numbers) and the companion devices linked
 * to them, with what a device uploaded (identity, signed pre-key, one-time pre-keys), and the
 * phone's side of linking — signing a new device's identity the way the primary phone does.
 *
 * Simplified: one phone account key per number (the real "ADV" account key lives on the
 * phone); device ids count up from 1 per number; LIDs are random 15-digit numbers.
 */
import { randomInt } from "node:crypto";
import {
  Curve, WA_ADV_ACCOUNT_SIG_PREFIX, configureSuccessfulPairing, encodeBigEndian, hmacSign, proto,
} from "baileys";
import type { AuthenticationCreds, BinaryNode, KeyPair, SignedKeyPair } from "baileys";

/** A number with WhatsApp: what its phone holds. */
export interface PhoneAccount {
  readonly phone: string;
  /** The bare LID user (`…@lid` without device). */
  readonly lidUser: string;
  /** The phone's account key: signs every linked device's identity. */
  readonly accountKey: KeyPair;
  nextDevice: number;
  /** Set by `fail(phone, 403|419)`: every login of this number is refused with it. */
  refusal?: number;
}

/** What a linked device uploaded: enough to encrypt to it and to let it log in. */
export interface LinkedDevice {
  readonly account: PhoneAccount;
  readonly device: number;
  readonly noiseKey: Buffer;
  readonly identityKey: Buffer;
  readonly registrationId: number;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  readonly preKeys: Map<number, Buffer>;
  /** Messages for the device while it was not connected, delivered at its next login. */
  readonly offline: BinaryNode[];
  removed: boolean;
}

export const jidOf = (device: LinkedDevice): string => `${device.account.phone}:${device.device}@s.whatsapp.net`;
export const lidOf = (device: LinkedDevice): string => `${device.account.lidUser}:${device.device}@lid`;

/** What a registering socket told us about itself in its `ClientPayload.devicePairingData`. */
export interface Registration {
  noiseKey: Buffer;
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
}

export function registrationOf(noiseKey: Buffer, data: proto.ClientPayload.IDevicePairingRegistrationData): Registration {
  const int = (bytes: Uint8Array | null | undefined): number => Buffer.from(bytes ?? []).reduce((n, b) => n * 256 + b, 0);
  return {
    noiseKey,
    identityKey: Buffer.from(data.eIdent ?? []),
    registrationId: int(data.eRegid),
    signedPreKey: { keyId: int(data.eSkeyId), publicKey: Buffer.from(data.eSkeyVal ?? []), signature: Buffer.from(data.eSkeySig ?? []) },
  };
}

export function registrationOfCreds(creds: AuthenticationCreds): Registration {
  return {
    noiseKey: Buffer.from(creds.noiseKey.public),
    identityKey: Buffer.from(creds.signedIdentityKey.public),
    registrationId: creds.registrationId,
    signedPreKey: signedPreKeyOf(creds.signedPreKey),
  };
}

export const signedPreKeyOf = (key: SignedKeyPair) => ({
  keyId: key.keyId, publicKey: Buffer.from(key.keyPair.public), signature: Buffer.from(key.signature),
});

export class Directory {
  private readonly accounts = new Map<string, PhoneAccount>();
  /** Keyed by `phone:device`. */
  private readonly devices = new Map<string, LinkedDevice>();

  /** The account of `phone`, made on first use (with `lidUser` when given, else a random LID). */
  account(phone: string, lidUser?: string): PhoneAccount {
    let account = this.accounts.get(phone);
    if (!account) {
      lidUser ??= `${randomInt(100_000, 999_999)}${randomInt(100_000_000, 999_999_999)}`;
      account = { phone, lidUser, accountKey: Curve.generateKeyPair(), nextDevice: 1 };
      this.accounts.set(phone, account);
    }
    return account;
  }

  /** The account of `phone` if the number is on WhatsApp here (a store or a customer). */
  known(phone: string): PhoneAccount | undefined {
    return this.accounts.get(phone);
  }

  accountByLid(lidUser: string): PhoneAccount | undefined {
    return [...this.accounts.values()].find((account) => account.lidUser === lidUser);
  }

  link(phone: string, registration: Registration): LinkedDevice {
    const account = this.account(phone);
    const device: LinkedDevice = {
      account, device: account.nextDevice++, ...registration, preKeys: new Map(), offline: [], removed: false,
    };
    this.devices.set(`${phone}:${device.device}`, device);
    return device;
  }

  device(phone: string, device: number): LinkedDevice | undefined {
    return this.devices.get(`${phone}:${device}`);
  }

  /** The number's linked devices still in use. */
  devicesOf(phone: string): LinkedDevice[] {
    return [...this.devices.values()].filter((device) => device.account.phone === phone && !device.removed);
  }
}

/**
 * The `<iq><pair-success>` the phone's server sends once the phone approved `device`: the
 * device identity signed with the account key, wrapped in an HMAC keyed by the advSecretKey
 * that was in the QR code. Baileys' `configureSuccessfulPairing` verifies both.
 */
export function pairSuccessNode(device: LinkedDevice, advSecretKey: string, id: string): BinaryNode {
  const details = proto.ADVDeviceIdentity.encode({
    rawId: randomInt(1, 2 ** 31), timestamp: Math.floor(Date.now() / 1000), keyIndex: device.device, accountType: 0, deviceType: 0,
  }).finish();
  const accountSignature = Curve.sign(
    device.account.accountKey.private,
    Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, details, device.identityKey]),
  );
  const signed = proto.ADVSignedDeviceIdentity.encode({
    details, accountSignatureKey: device.account.accountKey.public, accountSignature,
  }).finish();
  const hmac = hmacSign(signed, Buffer.from(advSecretKey, "base64"));
  return {
    tag: "iq",
    attrs: { from: "s.whatsapp.net", type: "set", id, t: String(Math.floor(Date.now() / 1000)) },
    content: [{
      tag: "pair-success",
      attrs: {},
      content: [
        { tag: "device-identity", attrs: {}, content: proto.ADVSignedDeviceIdentityHMAC.encode({ details: signed, hmac }).finish() },
        { tag: "platform", attrs: { name: "android" } },
        { tag: "device", attrs: { jid: jidOf(device), lid: lidOf(device) } },
      ],
    }],
  };
}

/**
 * Completes `creds` as a socket would have after scanning a QR code for `device`: Baileys'
 * own `configureSuccessfulPairing` applied to the pair-success we would have sent.
 */
export function completePairing(creds: AuthenticationCreds, device: LinkedDevice): AuthenticationCreds {
  const { creds: update } = configureSuccessfulPairing(pairSuccessNode(device, creds.advSecretKey, "linked"), creds);
  // As after a real QR link, `registered` stays false: rc14 sets it only in the pairing-code flow.
  // accountSyncCounter 1: the device finished its first sync earlier, so rc14 does not hold
  // events for 20 s waiting for a history sync this server never sends.
  return { ...creds, ...update, accountSyncCounter: 1 } as AuthenticationCreds;
}

export const bigEndian = (n: number, bytes = 4): Buffer => Buffer.from(encodeBigEndian(n, bytes));

/** Keys a user's device published, as a key fetch returns them. */
export interface KeyBundle {
  registrationId: number;
  identityKey: Uint8Array;
  signedPreKey: { keyId: number; publicKey: Uint8Array; signature: Uint8Array };
  preKey?: { keyId: number; publicKey: Uint8Array };
}

/** The `<user>` node of an `<iq xmlns="encrypt"><key>` answer. */
export function bundleNode(jid: string, bundle: KeyBundle): BinaryNode {
  const { registrationId, identityKey, signedPreKey, preKey } = bundle;
  return {
    tag: "user",
    attrs: { jid },
    content: [
      { tag: "registration", attrs: {}, content: bigEndian(registrationId) },
      { tag: "type", attrs: {}, content: Buffer.from([5]) },
      { tag: "identity", attrs: {}, content: Buffer.from(identityKey) },
      {
        tag: "skey", attrs: {}, content: [
          { tag: "id", attrs: {}, content: bigEndian(signedPreKey.keyId, 3) },
          { tag: "value", attrs: {}, content: Buffer.from(signedPreKey.publicKey) },
          { tag: "signature", attrs: {}, content: Buffer.from(signedPreKey.signature) },
        ],
      },
      ...(preKey ? [{
        tag: "key", attrs: {}, content: [
          { tag: "id", attrs: {}, content: bigEndian(preKey.keyId, 3) },
          { tag: "value", attrs: {}, content: Buffer.from(preKey.publicKey) },
        ],
      }] : []),
    ],
  };
}

/** Takes one of the pre-keys a linked device uploaded (each is used once). */
export function takePreKey(device: LinkedDevice): { keyId: number; publicKey: Buffer } | undefined {
  const first = device.preKeys.entries().next();
  if (first.done) return undefined;
  const [keyId, publicKey] = first.value;
  device.preKeys.delete(keyId);
  return { keyId, publicKey };
}
