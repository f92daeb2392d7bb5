/**
 * A private redis-server for tests: its own free port, no persistence, gone after `stop()`.
 *
 * ```ts
 * const server = await startRedis();
 * after(() => server.stop());
 * const redis = new Redis(server.url);
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export interface TestRedis {
  url: string;
  port: number;
  /** The server's process, for tests that freeze it (SIGSTOP) or kill it. */
  pid: number;
  stop(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "redis-server";
const READY_TIMEOUT_MS = 10_000;

export async function startRedis(): Promise<TestRedis> {
  let lastError: Error | undefined;
  // The free port can be taken between finding it and redis binding it; another port fixes that.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort());
    } catch (error) {
      lastError = error as Error;
      if ((error as NodeJS.ErrnoException).code === "ENOENT") break;
    }
  }
  throw lastError;
}

async function startOnce(port: number): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), "niaga-redis-"));
  const server = spawn(
    REDIS_SERVER,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  server.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  server.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const killOnExit = () => server.kill("SIGKILL");
  process.once("exit", killOnExit);

  const cleanup = () => {
    process.off("exit", killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };
  const failed = failureOf(server, () => output);
  failed.catch(() => {}); // after start-up, the server exiting on stop() is expected, not a failure
  try {
    await Promise.race([waitForPong(port), failed]);
  } catch (error) {
    server.kill("SIGKILL");
    cleanup();
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: server.pid!,
    async stop() {
      await stopProcess(server);
      cleanup();
    },
  };
}

function failureOf(server: ChildProcess, output: () => string): Promise<never> {
  return new Promise((_, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") {
        const missing = new Error(
          `${REDIS_SERVER} is not installed: install the Debian package redis-server (apt-get install redis-server), or set REDIS_SERVER_BIN to its path`,
        ) as NodeJS.ErrnoException;
        missing.code = "ENOENT";
        reject(missing);
      } else reject(error);
    });
    server.once("exit", (code, signal) => reject(new Error(`redis-server exited early (${signal ?? `code ${code}`}): ${output().trim()}`)));
  });
}

async function waitForPong(port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (await answersPing(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}


async function stopProcess(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  server.kill("SIGTERM");
  const timer = setTimeout(() => server.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}
