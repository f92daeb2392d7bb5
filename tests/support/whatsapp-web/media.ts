/**
 * Media: the encrypted files behind image and document messages.
 *
 * - Customers' media is encrypted with Baileys' `encryptedStream` and served over plain HTTP
 *   from the emulator's own port; the message carries that `url` and no `directPath`, so
 *   `downloadMediaMessage` fetches it without any TLS setup. (WhatsApp's messages carry an
 *   `https://mmg.whatsapp.net/…` url and a `directPath`.)
 * - A store's socket uploads over HTTPS, as Baileys only uploads to `https://<host>/mms/…`:
 *   `media_conn` names this server's HTTPS port, whose certificate is self-signed (made with
 *   the `openssl` command at start). In-process sockets trust it through
 *   `makeWASocket({ fetchAgent: wa.httpsAgent })`; child processes through
 *   `NODE_EXTRA_CA_CERTS=<wa.caCertPath>`.
 * - The emulator decrypts what was uploaded with the media key from the message (as the
 *   customer's phone would), checking the MAC.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, createServer } from "node:https";
import type { Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { aesDecryptWithIV, encryptedStream, getMediaKeys } from "baileys";
import type { MediaType } from "baileys";

/** A self-signed certificate for 127.0.0.1, made once per process. */
let certificate: { key: Buffer; cert: Buffer; path: string } | undefined;
function selfSigned(): { key: Buffer; cert: Buffer; path: string } {
  if (certificate) return certificate;
  const dir = mkdtempSync(join(tmpdir(), "wa-web-tls-"));
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "7",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
  ], { stdio: "ignore", timeout: 20_000 });
  certificate = { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")), path: join(dir, "cert.pem") };
  return certificate;
}

export class MediaStore {
  /** Encrypted files by path (`/v/t62…/<name>`). */
  private readonly files = new Map<string, Buffer>();
  readonly httpsAgent: Agent;
  readonly caCertPath: string;
  readonly uploadHost: string;
  uploads = 0;

  private constructor(private readonly https: Server, private readonly httpBase: string, tls: { cert: Buffer; path: string }) {
    this.httpsAgent = new Agent({ ca: tls.cert });
    this.caCertPath = tls.path;
    this.uploadHost = `127.0.0.1:${(https.address() as AddressInfo).port}`;
  }

  /** Starts the HTTPS upload server; `httpBase` is the emulator's plain HTTP origin for downloads. */
  static async start(httpBase: string): Promise<MediaStore> {
    const tls = selfSigned();
    const https = createServer({ key: tls.key, cert: tls.cert });
    await new Promise<void>((resolve, reject) => {
      https.once("error", reject);
      https.listen(0, "127.0.0.1", () => resolve());
    });
    const store = new MediaStore(https, httpBase, tls);
    https.on("request", (request, response) => store.handle(request, response));
    return store;
  }

  /** Encrypts `bytes` as Baileys would and keeps the result; returns the message fields. */
  async put(bytes: Buffer, mediaType: MediaType): Promise<{ url: string; mediaKey: Buffer; fileSha256: Buffer; fileEncSha256: Buffer; fileLength: number }> {
    const encrypted = await encryptedStream(bytes, mediaType);
    try {
      const path = `/v/t62.7118-24/${randomBytes(12).toString("hex")}.enc`;
      this.files.set(path, readFileSync(encrypted.encFilePath));
      return { url: `${this.httpBase}${path}`, mediaKey: encrypted.mediaKey, fileSha256: encrypted.fileSha256, fileEncSha256: encrypted.fileEncSha256, fileLength: encrypted.fileLength };
    } finally {
      rmSync(encrypted.encFilePath, { force: true });
    }
  }

  /** The plaintext of a file a store uploaded, from the message's `directPath` and `mediaKey`. */
  async open(directPath: string, mediaKey: Uint8Array, mediaType: MediaType): Promise<Buffer> {
    const file = this.files.get(directPath.split("?")[0]!);
    if (!file) throw new Error(`no uploaded file at ${directPath}`);
    const { cipherKey, iv, macKey } = await getMediaKeys(mediaKey, mediaType);
    const body = file.subarray(0, -10);
    const mac = createHmac("sha256", macKey!).update(iv).update(body).digest().subarray(0, 10);
    if (!mac.equals(file.subarray(-10))) throw new Error("media MAC mismatch");
    return aesDecryptWithIV(body, cipherKey, iv);
  }

  /** Serves `GET <path>` of a stored file on the emulator's plain HTTP port; false when not a media path. */
  serve(request: IncomingMessage, response: ServerResponse): boolean {
    const path = (request.url ?? "").split("?")[0]!;
    if (request.method !== "GET" || !path.startsWith("/v/")) return false;
    const file = this.files.get(path);
    if (!file) response.writeHead(404).end();
    else response.writeHead(200, { "content-type": "application/octet-stream", "content-length": file.length }).end(file);
    return true;
  }

  close(): Promise<void> {
    this.httpsAgent.destroy();
    return new Promise((resolve) => this.https.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    if (request.method === "GET") {
      if (!this.serve(request, response)) response.writeHead(404).end();
      return;
    }
    const url = new URL(request.url ?? "/", "https://local");
    if (request.method !== "POST" || !url.pathname.startsWith("/mms/")) {
      response.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const hash = createHash("sha256").update(body).digest("base64url");
      if (url.searchParams.get("token") !== hash) {
        response.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "hash mismatch" }));
        return;
      }
      const path = `/v/t62.7118-24/${randomBytes(12).toString("hex")}.enc`;
      this.files.set(path, body);
      this.uploads++;
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
        url: `https://${this.uploadHost}${path}?ccb=11-4`, direct_path: `${path}?ccb=11-4`,
      }));
    });
  }
}
