// `niaga …` as a real child process, for end-to-end tests: its JSON log lines (stderr)
// parsed as they come, so a test can wait for "niaga started" or any other line.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const niaga = fileURLToPath(new URL("../../bots/niaga.js", import.meta.url));

/** Generous: the child compiles TypeScript on start, on a machine running other tests. */
export const START_WAIT_MS = 60_000;

export type LogLine = Record<string, unknown> & { level?: string; message?: string };

/** A `niaga …` child process whose JSON log lines (stderr) the test can wait for. */
export class Niaga {
  readonly lines: LogLine[] = [];
  stderr = "";
  stdout = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly child: ChildProcess;
  readonly #waiters = new Set<() => void>();
  #gone = false;

  /** `nodeArgs` go to node itself, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  constructor(args: string[], env: Record<string, string>, nodeArgs: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, niaga, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let partial = "";
    this.child.stdout!.on("data", (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
      partial += chunk.toString();
      const complete = partial.split("\n");
      partial = complete.pop() ?? "";
      for (const line of complete) {
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ message: line });
        }
      }
      for (const wake of this.#waiters) wake();
    });
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => {
        this.#gone = true;
        for (const wake of this.#waiters) wake();
        resolve({ code, signal });
      }),
    );
  }

  /** Resolves with the first log line that matches, including earlier ones. */
  waitForLog(matches: (line: LogLine) => boolean, what: string, timeoutMs = 15_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(matches);
        if (found) {
          finish();
          resolve(found);
        } else if (this.#gone) {
          finish();
          reject(new Error(`niaga exited (${String(this.child.exitCode ?? this.child.signalCode)}) without logging ${what}; stderr:\n${this.stderr.slice(-4000)}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`niaga never logged ${what} within ${timeoutMs} ms; stderr:\n${this.stderr.slice(-4000)}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

/** `niaga start`'s environment for a test of several instances on the Telegram emulator: English, JSON logs at info, any free HTTP port. */
export function instanceEnv(o: { mongodbUri: string; encryptionKey: Buffer; telegramApiRoot: string; pollLeaseMs: number }): Record<string, string> {
  return {
    MONGODB_URI: o.mongodbUri,
    ENCRYPTION_KEY: o.encryptionKey.toString("base64"),
    TELEGRAM_API_ROOT: o.telegramApiRoot,
    HTTP_PORT: "0",
    POLL_LEASE_MS: String(o.pollLeaseMs),
    LOG_LEVEL: "info",
    NODE_ENV: "test",
    DEFAULT_LOCALE: "en",
  };
}

/** `niaga start` with `env`, once it has logged its start line. */
export async function startNiagaProcess(env: Record<string, string>): Promise<{ platform: Niaga; port: number; startLine: LogLine }> {
  const platform = new Niaga(["start"], env);
  const startLine = await platform.waitForLog((l) => /^niaga started/.test(l.message ?? ""), "its start line", START_WAIT_MS);
  return { platform, port: startLine.httpPort as number, startLine };
}

export function killIfRunning(platform: Niaga | undefined): void {
  if (platform && platform.child.exitCode === null && platform.child.signalCode === null) platform.child.kill("SIGKILL");
}

/** What a finished `niaga …` command printed, and its exit code. */
export interface NiagaRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `niaga …args` to its end with exactly `env` (and PATH), in `cwd` when given. */
export function runNiaga(args: string[], env: Record<string, string>, options: { cwd?: string } = {}): Promise<NiagaRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [niaga, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"], ...(options.cwd && { cwd: options.cwd }) });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
