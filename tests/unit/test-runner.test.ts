// `npm test` on a machine without the system programs the tests drive: it stops at once with
// the command that installs them, instead of running hundreds of tests that cannot pass. And
// a test file whose process never ends cannot hold the run: it is killed and named.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const runner = fileURLToPath(new URL("../run.js", import.meta.url));

test("without redis-server and chromium the test command names the install command and runs nothing", () => {
  const result = spawnSync(process.execPath, [runner, "tests/unit/config.test.ts"], {
    env: { ...process.env, REDIS_SERVER_BIN: "/nonexistent/redis-server", CHROMIUM_BIN: "/nonexistent/chromium", NIAGA_TESTS_NO_INSTALL: "1" },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(result.status, 1);
  assert.equal(result.stdout.trim(), "0 passed, 1 failed");
  assert.match(result.stderr, /tests need redis-server, chromium/);
  assert.match(result.stderr, /sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server chromium/);
  assert.doesNotMatch(result.stdout + result.stderr, /▶|✔/, "no test ran");
});

test("a file whose process never ends is killed after TEST_TIMEOUT_MS, named, and counted as failed", () => {
  const result = spawnSync(process.execPath, [runner, "tests/unit/.fixtures/leaves-a-timer.test.ts"], {
    env: { ...process.env, TEST_TIMEOUT_MS: "3000" },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(result.status, 1, result.stdout + result.stderr);
  assert.match(result.stdout, /tests\/unit\/\.fixtures\/leaves-a-timer\.test\.ts: still running after 3 s, killed/);
  assert.equal(result.stdout.trim().split("\n").at(-1), "0 passed, 1 failed");
});
