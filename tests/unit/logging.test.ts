import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import winston from "winston";
import { mountTinyDisk } from "../support/tiny-disk.ts";
import { configureLogging, isSecretKey, logger, redactText, registerSecret, tenantLogger } from "../../bots/logger.ts";

const loggerModule = pathToFileURL(fileURLToPath(new URL("../../bots/logger.ts", import.meta.url))).href;

// Distinct, recognisable values: if any of them shows up in the output bytes, something leaked.
const secrets = {
  botToken: `7${randomBytes(4).readUInt32BE()}:AAH${randomBytes(24).toString("base64url")}`,
  encryptionKey: randomBytes(32).toString("base64"),
  password: `pw-${randomBytes(9).toString("hex")}`,
  stockPayload: `buyer@example.com:${randomBytes(6).toString("hex")}`,
  registered: `reg-${randomBytes(9).toString("hex")}`,
};

/**
 * Writes every secret through every way the code base logs, in a separate process, so the
 * real console transport (stderr) and the real daily file transport are what gets inspected.
 */
const emitter = `
const { logger, configureLogging, tenantLogger, registerSecret, closeLogging } = await import(${JSON.stringify(loggerModule)});
const s = JSON.parse(process.env.SECRETS);
registerSecret(s.registered);
registerSecret(s.encryptionKey);
const earlyTenant = tenantLogger("toko-awal");
configureLogging({ level: "debug", dir: process.env.TEST_LOG_DIR, json: process.env.TEST_JSON === "1" });
const meta = { botToken: s.botToken, encryptionKey: s.encryptionKey, password: s.password, stockPayload: s.stockPayload };
for (const level of ["error", "warn", "info", "debug"]) {
  logger[level]("level " + level + " token " + s.botToken + " registered " + s.registered, meta);
  logger.log(level, "log() path " + s.registered, { nested: { deeper: [{ payload: s.stockPayload, note: s.registered }] } });
}
logger.info("splat %s then %s and %j", s.botToken, s.registered, { password: s.password });
logger.info("splat object %s", { secret: s.password, creds: s.stockPayload });
logger.error(new Error("error object " + s.registered + " " + s.botToken));
logger.error("failed while delivering", new Error("inner " + s.registered));
logger.warn("error in meta", { error: new Error("nested " + s.registered, { cause: new Error("cause " + s.botToken) }) });
logger.info({ message: "object form " + s.registered, authorization: "Bearer " + s.password });
logger.info("uri mongodb://niaga:" + s.password + "@db.example.com:27017/niaga");
logger.child({ credentials: { user: "u", pass: s.password } }).info("child with secret meta");
tenantLogger("toko-demo").warn("stock delivered", { stockPayload: s.stockPayload, orderId: "ord-1" });
earlyTenant.info("child made before configureLogging " + s.registered);
await closeLogging();
`;

function runEmitter(json: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "niaga-logs-"));
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", emitter], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, SECRETS: JSON.stringify(secrets), TEST_LOG_DIR: dir, TEST_JSON: json ? "1" : "0", NODE_ENV: "test" },
    timeout: 30_000,
  });
  assert.equal(child.status, 0, `emitter failed:\n${child.stderr}`);
  const files = readdirSync(dir);
  const logFile = files.find((name) => /^niaga-\d{4}-\d{2}-\d{2}\.log$/.test(name));
  const fileText = logFile ? readFileSync(join(dir, logFile), "utf8") : "";
  rmSync(dir, { recursive: true, force: true });
  return { console: child.stderr, stdout: child.stdout, files, fileText };
}

function assertNoSecrets(output: string, where: string) {
  for (const [name, value] of Object.entries(secrets)) {
    assert.ok(!output.includes(value), `${name} leaked into ${where}:\n${output}`);
  }
  // The password travels URL-encoded inside the mongodb URI; neither form may appear.
  assert.ok(!output.includes(encodeURIComponent(secrets.stockPayload)), `stockPayload leaked (encoded) into ${where}`);
  assert.ok(output.includes("[REDACTED]"), `nothing was redacted in ${where}`);
}

test("JSON console lines and the daily log file carry no secrets on any logging path", () => {
  const run = runEmitter(true);
  assert.equal(run.stdout, "", "logs belong on stderr, stdout is for command output");
  assertNoSecrets(run.console, "the console");
  assertNoSecrets(run.fileText, "the log file");

  const lines = run.console.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines.length, 18);
  assert.ok(lines.some((l) => l.level === "debug"), "debug lines are written at level debug");
  assert.ok(lines.some((l) => l.message === "failed while delivering inner [REDACTED]"), "the caller's message survives an Error meta");
  assert.ok(lines.some((l) => l.message === "uri mongodb://niaga:[REDACTED]@db.example.com:27017/niaga"), "only the URI password is masked");
  assert.equal(run.fileText.trim().split("\n").length, 18, "every line also reaches the file");
});

test("every line about a tenant carries its slug, even from a logger made before configuration", () => {
  const run = runEmitter(true);
  assert.match(run.console, /"tenant":"toko-demo"/);
  assert.match(run.fileText, /"tenant":"toko-demo"/);
  assert.match(run.fileText, /"message":"child made before configureLogging \[REDACTED\]"[^\n]*"tenant":"toko-awal"/);
});

test("readable terminal lines carry no secrets either", () => {
  const run = runEmitter(false);
  assertNoSecrets(run.console, "the readable console");
  assert.match(run.console, /WARN {2}\[toko-demo\] stock delivered/);
  assert.doesNotMatch(run.console, /Symbol\(/, "winston's internal fields are not printed");
});

test("log files rotate by day in LOG_DIR", () => {
  const run = runEmitter(true);
  const today = new Date();
  const stamp = [today.getFullYear(), today.getMonth() + 1, today.getDate()].map((n) => String(n).padStart(2, "0")).join("-");
  assert.ok(run.files.includes(`niaga-${stamp}.log`), `files in LOG_DIR: ${run.files.join(", ")}`);
});

function captureRootLogger() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  const transport = new winston.transports.Stream({ stream, format: winston.format.json() });
  // Keeps the test report readable: only the capture hears these lines.
  const others = logger.transports.filter((t) => !t.silent);
  for (const other of others) other.silent = true;
  logger.add(transport);
  return {
    text: () => text,
    stop: () => {
      logger.remove(transport);
      for (const other of others) other.silent = false;
    },
  };
}

test("secret-sounding keys are masked, lookup keys are not", () => {
  for (const name of ["token", "botToken", "bot_token", "encryptionKey", "apiKey", "x-api-key", "password", "passwd", "secret", "clientSecret", "authorization", "Authorization", "payload", "stockPayload", "proof", "paymentProof", "credentials", "creds", "set-cookie"]) {
    assert.equal(isSecretKey(name), true, name);
  }
  for (const name of ["keyPattern", "keyId", "tokenCount", "idempotencyKey", "lockKey", "message", "tenant", "orderId", "monkey", "bypass"]) {
    assert.equal(isSecretKey(name), false, name);
  }
});

test("redaction copies the record and never alters the caller's objects", () => {
  configureLogging({ level: "info", json: true });
  const capture = captureRootLogger();
  const meta = { order: { stockPayload: "code-123", items: [{ password: "x1" }] } };
  const circular: Record<string, unknown> = { name: "loop" };
  circular.self = circular;
  try {
    logger.info("delivered", meta);
    logger.info("circular", { circular });
  } finally {
    capture.stop();
  }
  assert.deepEqual(meta, { order: { stockPayload: "code-123", items: [{ password: "x1" }] } });
  assert.match(capture.text(), /"stockPayload":"\[REDACTED\]"/);
  assert.match(capture.text(), /"self":"\[Circular\]"/);
});

test("a secret registered later is masked in free text, also URL-encoded", () => {
  const secret = `late/secret+${randomBytes(4).toString("hex")}`;
  registerSecret(secret);
  registerSecret("");
  assert.equal(redactText(`a ${secret} b`), "a [REDACTED] b");
  assert.equal(redactText(`q=${encodeURIComponent(secret)}`), "q=[REDACTED]");
  assert.equal(redactText("redis://:p%40ss@cache:6379/0"), "redis://:[REDACTED]@cache:6379/0");
  assert.equal(redactText("https://api.telegram.org/bot123456789:AAE_abcdefghijklmnopqrstuvwxyz-0123/getMe"), "https://api.telegram.org/bot[REDACTED]/getMe");
  assert.equal(redactText("order 12345678 at 10:30"), "order 12345678 at 10:30");
});

test("with two thousand secrets registered, each is masked wherever it appears, the longest of overlapping ones whole", () => {
  const secrets = Array.from({ length: 2000 }, (_, i) => `fleet${i}-${randomBytes(6).toString("hex")}`);
  for (const secret of secrets) registerSecret(secret);
  // One secret that begins with another: the longer one is masked whole, not its tail left.
  const longer = `${secrets[7]}-and-more`;
  registerSecret(longer);
  registerSecret("Zq"); // shorter than the lookup prefix
  assert.equal(redactText(`first ${secrets[0]} last ${secrets[1999]}`), "first [REDACTED] last [REDACTED]");
  assert.equal(redactText(`${secrets[42]}${secrets[43]}`), "[REDACTED][REDACTED]");
  assert.equal(redactText(`x ${longer} y ${secrets[7]}!`), "x [REDACTED] y [REDACTED]!");
  assert.equal(redactText(`grab ${secrets[5].slice(0, -1)} kept`), `grab ${secrets[5].slice(0, -1)} kept`);
  assert.equal(redactText("cZq"), "c[REDACTED]");
  assert.equal(redactText("fle"), "fle");
});

test("the slug of a tenant logger is on every line", () => {
  configureLogging({ level: "info", json: true });
  const capture = captureRootLogger();
  try {
    tenantLogger("toko-budi").info("order paid", { orderId: "o-1" });
  } finally {
    capture.stop();
  }
  assert.match(capture.text(), /"tenant":"toko-budi"/);
});

test("an unknown log level is refused with the accepted ones", () => {
  assert.throws(() => configureLogging({ level: "loud" }), /unknown log level "loud": use one of error, warn, info/);
});

test("a full disk under LOG_DIR never stops the process: logging goes on on stderr, with one line saying the files failed", (t) => {
  const disk = mountTinyDisk(512);
  if (!disk) {
    t.skip("mounting a tmpfs is not permitted here (needs root); the resource drill covers a full disk through its measuring seam");
    return;
  }
  try {
    disk.fill();
    const script = `
const { logger, configureLogging, closeLogging } = await import(${JSON.stringify(loggerModule)});
const { rmSync, readdirSync } = await import("node:fs");
configureLogging({ level: "info", dir: process.env.TEST_LOG_DIR, json: true, fileRetryMs: 500 });
for (let i = 0; i < 40; i++) {
  logger.info("line " + i + " " + "x".repeat(2000));
  await new Promise((resolve) => setTimeout(resolve, 10));
}
console.log("still running");
// Room again: after the retry delay the files take lines again.
for (const name of readdirSync(process.env.TEST_LOG_DIR)) if (/^(fill|crumb)-/.test(name)) rmSync(process.env.TEST_LOG_DIR + "/" + name);
await new Promise((resolve) => setTimeout(resolve, 1500));
logger.info("after the disk has room again");
await closeLogging();
`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, TEST_LOG_DIR: disk.dir },
      timeout: 60_000,
    });
    assert.equal(child.status, 0, `stderr: ${child.stderr.slice(-2000)}`);
    assert.equal(child.stdout.trim(), "still running");
    const failures = child.stderr.split("\n").filter((line) => line.startsWith("niaga: cannot write log files"));
    assert.equal(failures.length, 1, child.stderr.slice(-2000));
    assert.match(failures[0]!, /ENOSPC/);
    assert.match(child.stderr, /"message":"line 39 /, "the console still gets every line");
    const files = readdirSync(disk.dir).filter((name) => name.startsWith("niaga-"));
    assert.ok(files.some((name) => readFileSync(join(disk.dir, name), "utf8").includes("after the disk has room again")), "the log files resume once there is room");
  } finally {
    disk.unmount();
  }
});
