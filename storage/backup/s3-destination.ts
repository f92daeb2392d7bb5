/**
 * Offsite backups over the S3 API (AWS S3, Backblaze B2, Cloudflare R2, Wasabi, MinIO): each
 * file of a backup is the object `<prefix><backupId>/<file>` in one bucket.
 *
 * ```ts
 * const offsite = new S3Destination({ endpoint, bucket, accessKeyId, secretAccessKey, forcePathStyle: true });
 * await offsite.put(id, "manifest.json", stream);      // multipart, streamed; nothing visible unless whole
 * ```
 *
 * Every call is bounded: a connection timeout, a per-request timeout and a socket idle timeout on
 * the HTTP handler, and an abort signal over each whole operation (its retries included). Failed
 * requests are retried by the SDK's standard retry strategy (`maxAttempts` tries in all, exponential
 * back-off with jitter, only for errors worth retrying: network, timeouts, 5xx, throttling).
 * Uploads go through `@aws-sdk/lib-storage`'s `Upload`, which holds at most `partSize × 2` bytes
 * in memory and aborts the multipart upload when anything fails, so no partial object appears.
 * Keys are never logged nor put in error messages.
 */
import type { Readable } from "node:stream";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type _Object,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { BackupNotFound, type BackupDestination, type StoredBackup } from "./destination.ts";

export interface S3DestinationOptions {
  /** The service's URL, e.g. `https://s3.eu-central-003.backblazeb2.com`. */
  endpoint: string;
  bucket: string;
  /** Folder inside the bucket; default `niaga/`. */
  prefix?: string;
  /** Default `us-east-1` (what most S3-compatible services accept). */
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `bucket` in the path rather than the host name (MinIO and most self-hosted servers need it). Default true. */
  forcePathStyle?: boolean;
  /** Time to open a connection. Default 10 s. */
  connectTimeoutMs?: number;
  /** Time a single request may take, up to its response's headers. Default 120 s. */
  requestTimeoutMs?: number;
  /** Time a connection may stay silent, also while a body streams. Default 30 s. */
  idleTimeoutMs?: number;
  /** Time a whole list, get or remove may take, its retries included. Default 5 min. */
  operationTimeoutMs?: number;
  /** Tries per request, the first included. Default 4. */
  maxAttempts?: number;
  /** Objects per ListObjectsV2 page (at most 1000). Default 1000. */
  pageSize?: number;
  /** Bytes per multipart part (at least 5 MiB, the S3 minimum). Default 8 MiB. */
  partSize?: number;
}

const MIB = 1024 * 1024;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export class S3Destination implements BackupDestination {
  readonly name = "offsite" as const;
  readonly describe: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly operationTimeoutMs: number;
  private readonly pageSize: number;
  private readonly partSize: number;

  constructor(options: S3DestinationOptions) {
    this.bucket = options.bucket;
    this.prefix = normalizePrefix(options.prefix ?? "niaga/");
    this.operationTimeoutMs = options.operationTimeoutMs ?? 5 * 60_000;
    this.pageSize = Math.min(Math.max(options.pageSize ?? 1000, 1), 1000);
    this.partSize = Math.max(options.partSize ?? 8 * MIB, 5 * MIB);
    this.describe = `s3://${this.bucket}/${this.prefix} at ${new URL(options.endpoint).origin}`;
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? "us-east-1",
      forcePathStyle: options.forcePathStyle ?? true,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      maxAttempts: options.maxAttempts ?? 4,
      retryMode: "standard",
      // Checksums only where S3 requires them: several S3-compatible services reject the newer
      // default (CRC32 trailers on streamed bodies); the backup's manifest carries SHA-256s anyway.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 10_000,
        requestTimeout: options.requestTimeoutMs ?? 120_000,
        throwOnRequestTimeout: true,
        socketTimeout: options.idleTimeoutMs ?? 30_000,
      },
    });
  }

  async put(backupId: string, file: string, body: Readable): Promise<void> {
    const key = this.key(backupId, file);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body },
      partSize: this.partSize,
      queueSize: 2,
      leavePartsOnError: false,
    });
    // When the body breaks, that is the cause to report, even if cancelling the upload failed too.
    let bodyError: unknown;
    body.once("error", (error) => (bodyError ??= error));
    try {
      await upload.done();
    } catch (error) {
      body.destroy();
      if (bodyError === undefined || bodyError === error) throw this.failure(`storing ${backupId}/${file}`, error);
      const failure = this.failure(`storing ${backupId}/${file}`, bodyError);
      failure.message += ` (and cancelling the unfinished upload failed: ${reason(error)})`;
      throw failure;
    }
  }

  async list(): Promise<StoredBackup[]> {
    const backups = new Map<string, StoredBackup>();
    for await (const object of this.objects(this.prefix, "listing backups")) {
      const rest = object.Key!.slice(this.prefix.length);
      const slash = rest.indexOf("/");
      if (slash <= 0 || slash === rest.length - 1) continue; // not `<id>/<file>`: someone else's object
      const id = rest.slice(0, slash);
      const backup = backups.get(id) ?? { id, files: [] };
      backup.files.push({ name: rest.slice(slash + 1), size: object.Size ?? 0 });
      backups.set(id, backup);
    }
    return [...backups.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  async get(backupId: string, file: string): Promise<Readable> {
    const key = this.key(backupId, file);
    try {
      // The deadline covers the request up to its headers; the body then streams under the idle timeout.
      const response = await this.bounded((abortSignal) => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }));
      return response.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new BackupNotFound(`${backupId}/${file} is not in ${this.describe}`);
      throw this.failure(`reading ${backupId}/${file}`, error);
    }
  }

  async remove(backupId: string): Promise<void> {
    const folder = this.key(backupId, "");
    // Deletes page by page from the start: no continuation token is carried across deletions.
    for (;;) {
      const page = await this.page(folder, undefined, `removing ${backupId}`);
      const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key! }));
      if (keys.length === 0) return;
      const result = await this.bounded((abortSignal) =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }), { abortSignal }),
      ).catch((error: unknown) => {
        throw this.failure(`removing ${backupId}`, error);
      });
      if (result.Errors?.length) {
        const first = result.Errors[0]!;
        throw new Error(`${this.describe}: removing ${backupId} failed for ${result.Errors.length} file(s): ${first.Code ?? "error"} ${first.Message ?? ""}`.trim());
      }
    }
  }

  /** Every object under `prefix`, page after page. */
  private async *objects(prefix: string, what: string): AsyncGenerator<_Object> {
    let token: string | undefined;
    do {
      const page = await this.page(prefix, token, what);
      yield* page.Contents ?? [];
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async page(prefix: string, token: string | undefined, what: string) {
    try {
      return await this.bounded((abortSignal) =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: this.pageSize, ContinuationToken: token }),
          { abortSignal },
        ),
      );
    } catch (error) {
      throw this.failure(what, error);
    }
  }

  /** Runs one SDK call under the operation deadline; the signal is never fired once the call has settled. */
  private async bounded<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new OperationTimeout(this.operationTimeoutMs)), this.operationTimeoutMs);
    try {
      return await call(controller.signal);
    } catch (error) {
      throw controller.signal.aborted ? controller.signal.reason : error;
    } finally {
      clearTimeout(timer);
    }
  }

  private key(backupId: string, file: string): string {
    if (!NAME.test(backupId)) throw new Error(`not a backup id: ${JSON.stringify(backupId)}`);
    if (file !== "" && !NAME.test(file)) throw new Error(`not a backup file name: ${JSON.stringify(file)}`);
    return `${this.prefix}${backupId}/${file}`;
  }

  /** One line for people: where, what, why; never a key or a secret. */
  private failure(what: string, error: unknown): Error {
    return new Error(`${this.describe}: ${what} failed: ${reason(error)}`, { cause: error });
  }
}

class OperationTimeout extends Error {
  override name = "TimeoutError";
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code;
  if (error.name === "TimeoutError" || code === "ETIMEDOUT" || (code === "ECONNRESET" && /timeout/i.test(error.message))) {
    return `timed out (${error.message})`;
  }
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = error.name !== "Error" ? `${error.name}: ` : "";
  return `${name}${error.message}${status ? ` (HTTP ${status})` : ""}${code && !error.message.includes(code) ? ` [${code}]` : ""}`;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.name === "NoSuchBucket") return false;
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, "");
  return trimmed === "" || trimmed.endsWith("/") ? trimmed : `${trimmed}/`;
}

