// A chat process killed with SIGKILL between two steps resumes at the same step.
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { disconnectMongo } from "../../storage/connection.ts";
import "../../flows/engine/mongo-session-store.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { seedStore, SMALL_CATALOGUE } from "../support/stores.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const chatProcess = fileURLToPath(new URL("./fixtures/chat-process.ts", import.meta.url));

let db: TestDatabase;
before(async () => {
  db = await openTestDatabase("engine_restart");
  await seedStore({ slug: "toko-tahan", name: "Toko Tahan Banting", products: SMALL_CATALOGUE });
  await disconnectMongo();
});
after(() => db.close());

/** `niaga chat` in a child process whose stdin stays open, read as it answers. */
class ChatProcess {
  readonly child: ChildProcessWithoutNullStreams;
  #stdout = "";
  #stderr = "";
  #waiters: (() => void)[] = [];

  constructor() {
    this.child = spawn(process.execPath, ["--import", "tsx", chatProcess, "--tenant", "toko-tahan", "--user", "pembeli-1"], {
      cwd: root,
      env: { ...process.env, MONGODB_URI: db.uri, LOG_LEVEL: "error", REDIS_URL: "" },
    });
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.#stdout += chunk.toString();
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.child.stderr.on("data", (chunk: Buffer) => (this.#stderr += chunk.toString()));
  }

  /** Sends a line and returns everything printed until `expected` appears. */
  async send(line: string, expected: RegExp): Promise<string> {
    const from = this.#stdout.length;
    this.child.stdin.write(`${line}\n`);
    const deadline = Date.now() + 30_000;
    while (!expected.test(this.#stdout.slice(from))) {
      assert.ok(Date.now() < deadline, `no ${expected} after "${line}"; stdout:\n${this.#stdout.slice(from)}\nstderr:\n${this.#stderr}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
    return this.#stdout.slice(from);
  }

  kill(): Promise<NodeJS.Signals | null> {
    return new Promise((resolve) => {
      this.child.once("exit", (_code, signal) => resolve(signal));
      this.child.kill("SIGKILL");
    });
  }
}

test("a chat killed with SIGKILL between two steps continues at the same step after a restart", async () => {
  const first = new ChatProcess();
  await first.send("/survey", /Siapa namamu\?/);
  await first.send("Sari", /Dari kota mana, Sari\?/);
  assert.equal(await first.kill(), "SIGKILL");

  // A new process knows nothing of the old one's memory: only the session in MongoDB
  // can say the chat waits for a city, and that the name was Sari.
  const second = new ChatProcess();
  const plan = await second.send("Bandung", /Paket favorit\?\n {2}1\) Paket Dasar\n {2}2\) Paket Pro/);
  assert.match(plan, /^> Bandung\n/);
  assert.equal(await second.kill(), "SIGKILL");

  // "2" means the second plan only if the restarted process knows the chat is at that choice.
  const third = new ChatProcess();
  await third.send("2", /Terima kasih Sari dari Bandung \(paket pro\) — Toko Tahan Banting\./);
  third.child.stdin.end();
  const code = await new Promise<number | null>((resolve) => third.child.once("exit", (c) => resolve(c)));
  assert.equal(code, 0);
});
