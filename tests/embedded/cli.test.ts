import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { MongoClient } from "mongodb";
import { startEmbeddedServer } from "../../storage/embedded/index.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const entry = "storage/embedded/main.ts";

function startCli(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (err += c));
  return { child, stdout: () => out, stderr: () => err };
}

async function firstLine(read: () => string, child: ChildProcess): Promise<string> {
  while (!read().includes("\n")) {
    if (child.exitCode !== null) throw new Error(`exited early with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return read().split("\n")[0];
}

describe("niaga db (embedded server CLI)", () => {
  it("prints a connectable URI, serves clients, and exits 0 on SIGTERM", { timeout: 30_000 }, async () => {
    const cli = startCli(["--port", "0"]);
    try {
      const uri = await firstLine(cli.stdout, cli.child);
      assert.match(uri, /^mongodb:\/\/127\.0\.0\.1:\d+$/);
      const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5000 });
      try {
        await client.db("cli").collection("things").insertOne({ hello: "world" });
        assert.equal(await client.db("cli").collection("things").countDocuments(), 1);
      } finally {
        await client.close();
      }
      assert.match(cli.stderr(), /memory/);
      assert.equal(cli.stdout().trim().split("\n").length, 1, "stdout carries only the URI");
      cli.child.kill("SIGTERM");
      const [code] = await once(cli.child, "exit");
      assert.equal(code, 0);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill("SIGKILL");
    }
  });

  it("--replica-set NAME starts the primary of a one-member set, whose collections can be watched", { timeout: 30_000 }, async () => {
    const cli = startCli(["--port", "0", "--replica-set", "rs7"]);
    try {
      const uri = await firstLine(cli.stdout, cli.child);
      const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5000 });
      try {
        assert.equal((await client.db("admin").command({ hello: 1 })).setName, "rs7");
        const things = client.db("cli").collection("things");
        const stream = things.watch([], { maxAwaitTimeMS: 50 });
        assert.equal(await stream.tryNext(), null);
        await things.insertOne({ hello: "world" });
        assert.equal((await stream.tryNext())?.operationType, "insert");
        await stream.close();
      } finally {
        await client.close();
      }
      assert.match(cli.stderr(), /replica set 'rs7'/);
      cli.child.kill("SIGTERM");
      const [code] = await once(cli.child, "exit");
      assert.equal(code, 0);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill("SIGKILL");
    }
  });

  it("exits with code 2 and names the flag for a bad --replica-set", { timeout: 30_000 }, async () => {
    for (const bad of [["--replica-set"], ["--replica-set", "a b"], ["--replica-set=rs/0"]]) {
      const cli = startCli(bad);
      const [code] = await once(cli.child, "exit");
      assert.equal(code, 2, `exit code for ${bad.join(" ")}`);
      assert.match(cli.stderr(), /--replica-set/);
    }
  });

  it("exits with code 2 and names the flag for a bad --port", { timeout: 30_000 }, async () => {
    for (const bad of [["--port", "abc"], ["--port", "70000"], ["--port"]]) {
      const cli = startCli(bad);
      const [code] = await once(cli.child, "exit");
      assert.equal(code, 2, `exit code for ${bad.join(" ")}`);
      assert.match(cli.stderr(), /--port/);
      assert.equal(cli.stderr().trim().split("\n").length, 1);
      assert.equal(cli.stdout(), "");
    }
  });

  it("exits with code 1 and says why when the port is taken", { timeout: 30_000 }, async () => {
    const occupant = await startEmbeddedServer();
    try {
      const cli = startCli([`--port=${occupant.port}`]);
      const [code] = await once(cli.child, "exit");
      assert.equal(code, 1);
      assert.match(cli.stderr(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${occupant.port}`));
      assert.equal(cli.stdout(), "");
    } finally {
      await occupant.close();
    }
  });
});
