#!/usr/bin/env node
// The project's one test command (`npm test`). Finds every `*.test.ts` under tests/
// (or the files/folders given as arguments), runs them with Node's test runner through
// tsx, streams the spec report, and closes with one line: `N passed, N failed`.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(import.meta.url), "../..");

function collect(path, out) {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      collect(join(path, name), out);
    }
  } else if (path.endsWith(".test.ts")) {
    out.push(path);
  }
  return out;
}

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ["tests"]).flatMap((t) => collect(resolve(root, t), []));
if (files.length === 0) {
  console.error("no test files found");
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const concurrency = process.env.TEST_CONCURRENCY ?? "2";
const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", `--test-concurrency=${concurrency}`, ...files],
  { cwd: root, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NODE_ENV: "test" } },
);

// The spec reporter prints its summary (`ℹ pass N`) and then, when something failed, the
// failing tests again; so the summary lines are picked out of the whole stream, not the tail.
const summary = {};
let pending = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  const lines = (pending + chunk.toString()).split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const m = line.match(/^\S*\s*(pass|fail|cancelled) (\d+)\s*$/);
    if (m) summary[m[1]] = Number(m[2]);
  }
});
child.on("close", (code) => {
  const count = (label) => summary[label] ?? 0;
  const passed = count("pass");
  const failed = count("fail") + count("cancelled");
  const ranNothing = passed + failed === 0;
  console.log(`${passed} passed, ${ranNothing ? 1 : failed} failed`);
  process.exit(code === 0 && !ranNothing ? 0 : 1);
});
