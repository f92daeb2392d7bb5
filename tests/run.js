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

let tail = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});
child.on("close", (code) => {
  const count = (label) => {
    const m = tail.match(new RegExp(`^\\S*\\s*${label} (\\d+)`, "m"));
    return m ? Number(m[1]) : 0;
  };
  const passed = count("pass");
  const failed = count("fail") + count("cancelled");
  const ranNothing = passed + failed === 0;
  console.log(`${passed} passed, ${ranNothing ? 1 : failed} failed`);
  process.exit(code === 0 && !ranNothing ? 0 : 1);
});
