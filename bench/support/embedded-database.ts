// The embedded MongoDB-compatible server in its own process, as a real mongod would run
// beside the platform: its memory and CPU are not the benchmark's.
//
//   const db = await startEmbeddedDatabase();   // { server: "mongodb://127.0.0.1:PORT", child }
//   … `${db.server}/niaga_bench_x` …
//   db.child.kill();
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Starts `storage/embedded/main.ts` on a free port; resolves with its URI (no database name). */
export function startEmbeddedDatabase(): Promise<{ server: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "storage/embedded/main.ts", "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith("mongodb://"));
      if (line) resolve({ server: line.trim().replace(/\/$/, ""), child });
    });
    child.once("exit", (code) => reject(new Error(`embedded server exited with ${code}`)));
  });
}
