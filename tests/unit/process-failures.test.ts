// Errors nothing caught (bots/process-failures.ts), in a real child process: an unhandled
// rejection is logged and alerted with an error id and the process goes on; an uncaught
// exception is logged and alerted, then the process exits 1 for its supervisor.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const module = (path: string) => JSON.stringify(pathToFileURL(fileURLToPath(new URL(path, import.meta.url))).href);

// No MongoDB at all: the alerts cannot be stored and go to the log from memory, as they would
// while MongoDB is down; without an owner bot that log is where the owner's alerts are.
const script = `
const { catchProcessFailures } = await import(${module("../../bots/process-failures.ts")});
const { OwnerAlerts } = await import(${module("../../admin-bot/owner-alerts.ts")});
const { logger, configureLogging } = await import(${module("../../bots/logger.ts")});
const { initI18n } = await import(${module("../../locales/i18n.ts")});
await initI18n();
configureLogging({ level: "info", json: true });
const alerts = new OwnerAlerts({ log: logger, ownerChatIds: [], locale: "en", storeTimeoutMs: 200 });
catchProcessFailures({ alerts: () => alerts });
Promise.reject(new Error("the export queue went away"));
setTimeout(() => {
  console.log("still running");
  setTimeout(() => { throw new Error("state is corrupt"); }, 10);
}, 1500);
setTimeout(() => console.log("never printed"), 30_000);
`;

test("an unhandled rejection is logged and alerted with one error id and the process goes on; an uncaught exception exits 1 after its alert", () => {
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    env: { PATH: process.env.PATH },
    timeout: 60_000,
  });
  const lines = child.stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { level: string; message: string; errorId?: string });
  assert.equal(child.status, 1, child.stderr.slice(-3000));
  assert.equal(child.stdout.trim(), "still running");

  const rejection = lines.find((l) => l.message === "unhandledRejection: the export queue went away");
  assert.ok(rejection?.errorId, child.stderr.slice(-3000));
  const rejectionAlert = lines.filter((l) => l.message.startsWith("owner alert:") && l.message.includes(rejection.errorId!));
  assert.equal(rejectionAlert.length, 1);
  assert.match(rejectionAlert[0]!.message, /Platform · Unhandled error\nunhandledRejection failed with error id [0-9A-F]{8}: the export queue went away/);

  const exception = lines.find((l) => l.message === "uncaughtException: state is corrupt");
  assert.ok(exception?.errorId);
  assert.notEqual(exception.errorId, rejection.errorId);
  assert.equal(lines.filter((l) => l.message.startsWith("owner alert:") && l.message.includes(exception.errorId!)).length, 1);
  assert.ok(lines.some((l) => /exiting after an uncaught exception/.test(l.message)));
});
