#!/usr/bin/env node
// The project's one test command (`npm test`). Finds every `*.test.ts` under tests/
// (or the files/folders given as arguments), runs them with Node's test runner through
// tsx, each file in a process of its own (its spec report printed whole when it ends), and
// closes with one line: `N passed, N failed`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join, relative, resolve } from "node:path";
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
const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY ?? "3") || 3);
// No test file runs without end: one still running after this long is killed and counted as
// failed, naming itself. That covers a stuck test and also a timer or socket left open that
// keeps the file's process alive after its tests: Node 24's runner then waits for ever (its
// --test-timeout is per test; --test-force-exit ended files with tests still to run, unreported).
const fileTimeoutMs = Number(process.env.TEST_TIMEOUT_MS ?? "600000");
// TEST_TIMINGS=<file>: each test file's wall-clock time, slowest first, written as files end.
const timingsFile = process.env.TEST_TIMINGS && resolve(process.env.TEST_TIMINGS);

// Not NODE_TEST_CONTEXT: set when this runner itself runs inside a test, it would make the
// files' runners skip their files.
const { NODE_TEST_CONTEXT: _inTest, ...inherited } = process.env;
const fileEnv = { ...inherited, NODE_ENV: "test" };

/** Each file in a `node --test` of its own, its output printed whole once it ends, in the order files end. */
const totals = { pass: 0, fail: 0, cancelled: 0 };
const troubles = [];
const durations = new Map();
const running = new Set();

function runFile(file) {
  return new Promise((done) => {
    const began = Date.now();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--test", "--test-reporter=spec", `--test-timeout=${fileTimeoutMs}`, file],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: fileEnv, detached: true },
    );
    running.add(child);
    const chunks = [];
    child.stdout.on("data", (chunk) => chunks.push(chunk));
    child.stderr.on("data", (chunk) => chunks.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, fileTimeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const output = Buffer.concat(chunks).toString();
      process.stdout.write(output.endsWith("\n") || output === "" ? output : `${output}\n`);
      // The spec reporter prints its summary (`ℹ pass N`) and then, when something failed, the
      // failing tests again; so the summary lines are picked out of the whole output.
      const counts = {};
      for (const line of output.split("\n")) {
        const m = line.match(/^\S*\s*(pass|fail|cancelled) (\d+)\s*$/);
        if (m) counts[m[1]] = Number(m[2]);
      }
      const name = relative(root, file);
      const reported = (counts.pass ?? 0) + (counts.fail ?? 0) + (counts.cancelled ?? 0);
      for (const key of Object.keys(totals)) totals[key] += counts[key] ?? 0;
      if (timedOut) {
        totals.fail += 1;
        troubles.push(`${name}: still running after ${fileTimeoutMs / 1000} s, killed (a stuck test, or a timer or socket left open)`);
      } else if (code !== 0 && !(counts.fail || counts.cancelled)) {
        totals.fail += 1;
        troubles.push(`${name}: exited with ${signal ?? `code ${code}`}${reported ? "" : " without reporting a test"}`);
      } else if (counts.fail || counts.cancelled) {
        troubles.push(`${name}: ${counts.fail ?? 0} failed, ${counts.cancelled ?? 0} cancelled`);
      }
      durations.set(name, Date.now() - began);
      if (timingsFile) writeTimings();
      done();
    });
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

function writeTimings() {
  const rows = [...durations].sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${(ms / 1000).toFixed(1).padStart(8)} s  ${name}`);
  writeFileSync(timingsFile, `${rows.join("\n")}\n`);
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of running) killGroup(child);
    process.exit(1);
  });
}

const queue = [...files];
await Promise.all(
  Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    while (queue.length > 0) await runFile(queue.shift());
  }),
);
const passed = totals.pass;
const failed = totals.fail + totals.cancelled;
const ranNothing = passed + failed === 0;
if (troubles.length > 0) console.log(`\nfiles with failures:\n${troubles.map((t) => `  ${t}`).join("\n")}`);
console.log(`${passed} passed, ${ranNothing ? 1 : failed} failed`);
process.exit(failed === 0 && !ranNothing ? 0 : 1);
