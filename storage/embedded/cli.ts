// `niaga db [--port N] [--replica-set NAME]`: the embedded server as a process for local
// tools; with --replica-set, the primary of a one-member replica set (change streams).
import { startEmbeddedServer } from "./server.ts";

export const DEFAULT_PORT = 27017;

export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

const processIo: CliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

type Parsed = { port: number; replicaSet?: string } | { error: string };

const USAGE = "usage: niaga db [--port N] [--replica-set NAME]";

function parseArgs(argv: string[]): Parsed {
  let port = DEFAULT_PORT;
  let replicaSet: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const flag = arg.split("=")[0];
    const value = arg.includes("=") ? arg.slice(flag.length + 1) : argv[++i];
    if (flag === "--port") {
      if (value === undefined || !/^\d+$/.test(value) || Number(value) > 65535) {
        return { error: `niaga db: --port must be a whole number from 0 to 65535, got '${value ?? ""}'` };
      }
      port = Number(value);
    } else if (flag === "--replica-set") {
      if (value === undefined || !/^[^/\s,=]+$/.test(value)) return { error: `niaga db: --replica-set needs a set name (no spaces, '/' or ','), got '${value ?? ""}'` };
      replicaSet = value;
    } else {
      return { error: `niaga db: unknown argument '${arg}' (${USAGE})` };
    }
  }
  return { port, replicaSet };
}

/**
 * Starts the server on 127.0.0.1, prints its URI, and resolves with the process exit code
 * once SIGINT or SIGTERM has closed it (2 for bad arguments, 1 if it cannot listen).
 */
export async function runEmbeddedServerCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const parsed = parseArgs(argv);
  if ("error" in parsed) {
    io.stderr(parsed.error);
    return 2;
  }
  let server;
  try {
    server = await startEmbeddedServer({ port: parsed.port, host: "127.0.0.1", replicaSet: parsed.replicaSet });
  } catch (err) {
    io.stderr(`niaga db: cannot listen on 127.0.0.1:${parsed.port}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  io.stdout(server.uri);
  io.stderr("niaga db: embedded MongoDB-compatible server; data lives in memory and is lost when this process exits");
  if (parsed.replicaSet !== undefined) io.stderr(`niaga db: the primary of the one-member replica set '${parsed.replicaSet}' (change streams, retryable writes; no transactions)`);
  const running = server;
  return new Promise<number>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      running.close().then(() => resolve(0), () => resolve(1));
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
