#!/usr/bin/env node
// The project's one test command (`npm test`). Finds every `*.test.ts` under tests/
// (or the files/folders given as arguments), runs them with Node's test runner through
// tsx, streams the spec report, and closes with one line: `N passed, N failed`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
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

// System programs the tests drive for real: a Redis server and a browser for the pay page.
// On a fresh Debian machine as root they are installed here; elsewhere the run stops at once
// with the one command to type, instead of a wall of failing tests (also when
// NIAGA_TESTS_NO_INSTALL is set).
const SYSTEM_PACKAGES = [
  { program: process.env.REDIS_SERVER_BIN ?? "redis-server", debian: "redis-server" },
  { program: process.env.CHROMIUM_BIN ?? "chromium", debian: "chromium" },
];

function onPath(program) {
  if (program.includes("/")) return existsSync(program);
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, program)));
}

function ensureSystemPackages() {
  const missing = SYSTEM_PACKAGES.filter((p) => !onPath(p.program)).map((p) => p.debian);
  if (missing.length === 0) return;
  const packages = missing.join(" ");
  const install = `apt-get update && apt-get install -y --no-install-recommends ${packages}`;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot && onPath("apt-get") && !process.env.NIAGA_TESTS_NO_INSTALL) {
    console.error(`tests need ${missing.join(", ")}: installing them (${install})`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const ok = [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", ...missing]].every(
      (args) => spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "inherit"], env }).status === 0,
    );
    if (ok && SYSTEM_PACKAGES.every((p) => onPath(p.program))) return;
  }
  console.error(`tests need ${missing.join(", ")}, which ${missing.length === 1 ? "is" : "are"} not installed. Install with:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

ensureSystemPackages();

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ["tests"]).flatMap((t) => collect(resolve(root, t), []));
if (files.length === 0) {
  console.error("no test files found");
  console.log("0 passed, 1 failed");
  process.exit(1);
}

// Three files at a time: most tests wait on timers and child processes rather than compute.
const concurrency = process.env.TEST_CONCURRENCY ?? "3";
// TEST_TIMINGS=<file> also writes each file's time there, slowest first.
const timings = process.env.TEST_TIMINGS
  ? ["--test-reporter-destination=stdout", `--test-reporter=${join(root, "tests/support/timing-reporter.mjs")}`, "--test-reporter-destination=stderr"]
  : [];
// No test file waits without end: one still running after this long fails, naming itself
// (a test stuck, or a timer or socket left open that keeps the file's process alive).
// Not --test-force-exit: on Node 24 it ended a file with tests still to run, unreported.
const timeout = process.env.TEST_TIMEOUT_MS ?? "600000";
const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", ...timings, `--test-concurrency=${concurrency}`, `--test-timeout=${timeout}`, ...files],
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
