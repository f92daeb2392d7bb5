/**
 * A private S3-compatible server for tests: s3rver (npm, a devDependency) in its own process,
 * on a port of its choosing on 127.0.0.1, objects in a temp dir, one bucket made at start-up,
 * gone after `stop()`. It checks SigV4 signatures with its fixed keys (`S3RVER`/`S3RVER`).
 *
 * ```ts
 * const s3 = await startS3Server();
 * after(() => s3.stop());
 * new S3Destination({ endpoint: s3.endpoint, bucket: s3.bucket, ...s3.credentials, forcePathStyle: true });
 * ```
 *
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through
 * its legacy provider: the server runs with `--openssl-legacy-provider` (its process only).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestS3Server {
  /** `http://127.0.0.1:PORT`; use path-style addressing. */
  endpoint: string;
  port: number;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The server's process, for tests that freeze it (SIGSTOP) or kill it. */
  pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const BUCKET = "niaga-backups";

function s3rverBin(): string {
  const require = createRequire(import.meta.url);
  return join(require.resolve("s3rver/package.json"), "..", "bin", "s3rver.js");
}

export async function startS3Server(options: { bucket?: string } = {}): Promise<TestS3Server> {
  const bucket = options.bucket ?? BUCKET;
  const dir = mkdtempSync(join(tmpdir(), "niaga-s3-"));
  // Port 0: the server binds a free port itself and prints it, so no other process can take it first.
  const server = spawn(
    process.execPath,
    ["--openssl-legacy-provider", s3rverBin(), "-d", dir, "-a", "127.0.0.1", "-p", "0", "-s", "--no-vhost-buckets", "--configure-bucket", bucket],
    { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" } },
  );
  let output = "";
  const killOnExit = () => server.kill("SIGKILL");
  process.once("exit", killOnExit);
  const cleanup = () => {
    process.off("exit", killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };

  const listening = new Promise<number>((resolve, reject) => {
    let started = false;
    const onData = (chunk: Buffer) => {
      if (started) return;
      output += chunk.toString();
      const match = /S3rver listening on [^:\s]+:(\d+)/.exec(output);
      if (match) {
        started = true;
        resolve(Number(match[1]));
      }
    };
    server.stdout?.on("data", onData);
    server.stderr?.on("data", onData);
    server.once("error", reject);
    server.once("exit", (code, signal) => reject(new Error(`s3rver exited early (${signal ?? `code ${code}`}): ${output.trim()}`)));
  });
  listening.catch(() => {}); // after start-up, the server exiting on stop() is expected
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`s3rver did not start within ${READY_TIMEOUT_MS} ms: ${output.trim()}`)), READY_TIMEOUT_MS);
  });
  let port: number;
  try {
    port = await Promise.race([listening, timeout]);
  } catch (error) {
    server.kill("SIGKILL");
    cleanup();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  // Keep draining its output so a chatty server never blocks on a full pipe.
  server.stdout?.resume();
  server.stderr?.resume();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    pid: server.pid!,
    async stop() {
      await stopProcess(server);
      cleanup();
    },
  };
}

async function stopProcess(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  server.kill("SIGCONT"); // a test may have left it frozen
  server.kill("SIGTERM");
  const timer = setTimeout(() => server.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}
