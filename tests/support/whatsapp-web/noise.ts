/**
 * The server's half of WhatsApp Web's Noise XX handshake and of the framed, encrypted
 * transport that follows — the mirror image of Baileys' `Utils/noise-handler.js`.
 *
 * Frames are a 3-byte big-endian length and a body; the client's first frame is preceded by
 * the `WA 6 3` intro header. During the handshake bodies are `HandshakeMessage` protobufs;
 * afterwards each body is one binary node, AES-GCM encrypted with a per-direction counter.
 *
 * The server's certificate chain is self-made (an intermediate key of ours signs the leaf).
 * Baileys rc14 accepts it because its `Curve.verify` only reports a signature as invalid
 * when libsignal throws, and libsignal returns `false` instead of throwing: the check against
 * WhatsApp's own root key never fails. Real WhatsApp's certificate is signed by that root.
 */
import { Curve, NOISE_MODE, NOISE_WA_HEADER, aesDecryptGCM, aesEncryptGCM, decodeBinaryNode, encodeBinaryNode, hkdf, proto, sha256 } from "baileys";
import type { BinaryNode, KeyPair } from "baileys";

const iv = (counter: number): Buffer => {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(counter, 8);
  return bytes;
};

/** A self-made noise certificate chain for `serverStatic`, shaped like WhatsApp's. */
function certificateChain(serverStatic: KeyPair): Uint8Array {
  const intermediate = Curve.generateKeyPair();
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1, issuerSerial: 0, key: intermediate.public,
    notBefore: Math.floor(Date.now() / 1000) - 60, notAfter: Math.floor(Date.now() / 1000) + 86_400,
  }).finish();
  const rootStandIn = Curve.generateKeyPair();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2, issuerSerial: 1, key: serverStatic.public,
    notBefore: Math.floor(Date.now() / 1000) - 60, notAfter: Math.floor(Date.now() / 1000) + 86_400,
  }).finish();
  return proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: Curve.sign(rootStandIn.private, intermediateDetails) },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();
}

/**
 * One connection's noise state, server side. Feed it the socket's bytes with `receive`; it
 * calls `onHandshake` with the client's static key and login payload once, then `onNode` for
 * every binary node. `encodeNode` frames and encrypts a node for sending.
 */
export class NoiseServer {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private inBytes = Buffer.alloc(0);
  private sawIntro = false;
  private readonly ephemeral = Curve.generateKeyPair();
  private readonly serverStatic = Curve.generateKeyPair();
  private transport?: { enc: Buffer; dec: Buffer; readCounter: number; writeCounter: number };
  private clientEphemeral?: Uint8Array;
  /** Parsed frames are handled one at a time, in order, even though decoding nodes is async. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly handlers: {
      sendRaw(bytes: Buffer): void;
      onHandshake(clientStatic: Buffer, payload: proto.ClientPayload): void;
      onNode(node: BinaryNode): Promise<void> | void;
      onError(error: Error): void;
    },
  ) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.byteLength === 32 ? mode : Buffer.from(sha256(mode));
    this.salt = this.hash;
    this.key = this.hash;
    this.authenticate(NOISE_WA_HEADER);
  }

  receive(data: Buffer): void {
    this.inBytes = Buffer.concat([this.inBytes, data]);
    if (!this.sawIntro) {
      if (this.inBytes.length < 4) return;
      // The intro may carry routing info ("ED" header) before the WA header; we do not route.
      if (this.inBytes.subarray(0, 2).toString() === "ED") {
        const routingLength = (this.inBytes[4]! << 16) | this.inBytes.readUInt16BE(5);
        this.inBytes = this.inBytes.subarray(7 + routingLength);
      }
      this.inBytes = this.inBytes.subarray(NOISE_WA_HEADER.length);
      this.sawIntro = true;
    }
    for (;;) {
      if (this.inBytes.length < 3) return;
      const size = (this.inBytes[0]! << 16) | (this.inBytes[1]! << 8) | this.inBytes[2]!;
      if (this.inBytes.length < size + 3) return;
      const frame = this.inBytes.subarray(3, size + 3);
      this.inBytes = this.inBytes.subarray(size + 3);
      this.queue = this.queue.then(() => this.onFrame(frame)).catch((error: Error) => this.handlers.onError(error));
    }
  }

  async encodeNode(node: BinaryNode): Promise<Buffer> {
    if (!this.transport) throw new Error("noise transport not ready");
    const nonce = iv(this.transport.writeCounter++);
    return frame(aesEncryptGCM(encodeBinaryNode(node), this.transport.enc, nonce, Buffer.alloc(0)));
  }

  private async onFrame(body: Buffer): Promise<void> {
    if (this.transport) {
      const plain = aesDecryptGCM(body, this.transport.dec, iv(this.transport.readCounter++), Buffer.alloc(0));
      await this.handlers.onNode(await decodeBinaryNode(plain));
      return;
    }
    const message = proto.HandshakeMessage.decode(body);
    if (message.clientHello?.ephemeral) this.answerHello(Buffer.from(message.clientHello.ephemeral));
    else if (message.clientFinish?.static && message.clientFinish.payload) {
      this.finish(Buffer.from(message.clientFinish.static), Buffer.from(message.clientFinish.payload));
    } else throw new Error("unexpected handshake message");
  }

  private answerHello(clientEphemeral: Buffer): void {
    this.clientEphemeral = clientEphemeral;
    this.authenticate(clientEphemeral);
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientEphemeral));
    const staticEnc = this.encrypt(this.serverStatic.public);
    this.mixIntoKey(Curve.sharedKey(this.serverStatic.private, clientEphemeral));
    const payloadEnc = this.encrypt(certificateChain(this.serverStatic));
    const hello = proto.HandshakeMessage.encode({
      serverHello: { ephemeral: this.ephemeral.public, static: staticEnc, payload: payloadEnc },
    }).finish();
    this.handlers.sendRaw(frame(hello));
  }

  private finish(staticEnc: Buffer, payloadEnc: Buffer): void {
    if (!this.clientEphemeral) throw new Error("client finish before hello");
    const clientStatic = this.decrypt(staticEnc);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStatic));
    const payload = proto.ClientPayload.decode(this.decrypt(payloadEnc));
    const keys = hkdf(Buffer.alloc(0), 64, { salt: this.salt, info: "" });
    // The client writes with the first half and reads with the second.
    this.transport = { dec: Buffer.from(keys.subarray(0, 32)), enc: Buffer.from(keys.subarray(32)), readCounter: 0, writeCounter: 0 };
    this.handlers.onHandshake(clientStatic, payload);
  }

  private authenticate(data: Uint8Array): void {
    this.hash = Buffer.from(sha256(Buffer.concat([this.hash, data])));
  }

  private encrypt(plain: Uint8Array): Buffer {
    const result = aesEncryptGCM(plain, this.key, iv(this.counter++), this.hash);
    this.authenticate(result);
    return result;
  }

  private decrypt(cipher: Buffer): Buffer {
    const result = aesDecryptGCM(cipher, this.key, iv(this.counter++), this.hash);
    this.authenticate(cipher);
    return result;
  }

  private mixIntoKey(data: Uint8Array): void {
    const key = hkdf(Buffer.from(data), 64, { salt: this.salt, info: "" });
    this.salt = Buffer.from(key.subarray(0, 32));
    this.key = Buffer.from(key.subarray(32));
    this.counter = 0;
  }
}

function frame(body: Uint8Array): Buffer {
  const out = Buffer.alloc(3 + body.length);
  out[0] = (body.length >>> 16) & 0xff;
  out[1] = (body.length >>> 8) & 0xff;
  out[2] = body.length & 0xff;
  out.set(body, 3);
  return out;
}
