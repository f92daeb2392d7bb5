/**
 * Logging: one winston logger for the whole process, with secrets scrubbed on every path.
 *
 * ```ts
 * import { logger, tenantLogger, registerSecret } from "./logger.ts";
 * registerSecret(botToken);                        // any later occurrence prints as [REDACTED]
 * const log = tenantLogger("toko-demo");           // every line carries "tenant":"toko-demo"
 * log.warn("payment webhook rejected", { orderId, reason });
 * ```
 *
 * `logger` works from the first import (info and above, to stderr); `configureLogging` swaps its
 * transports in place, so children made earlier keep working.
 *
 * Lines go to stderr, never stdout: `niaga chat` prints the conversation on stdout and scripts
 * read it, so logs must not interleave with it. The console shows JSON lines when
 * `NODE_ENV=production` or stderr is not a terminal (service managers and log collectors),
 * readable coloured lines otherwise; `json` overrides that.
 *
 * What counts as a secret, checked in every message, meta value (nested, in arrays, in errors'
 * messages and stacks) and splat argument:
 * - a value under a secret-sounding key (`token`, `botToken`, `password`, `encryptionKey`,
 *   `authorization`, `stockPayload`, `proof`, `credentials`, …; see {@link isSecretKey});
 * - any string passed to {@link registerSecret};
 * - anything shaped like a Telegram bot token, and the password in `scheme://user:password@` URLs.
 */
import { join } from "node:path";
import { inspect } from "node:util";
import winston from "winston";
import DailyRotateFile from "winston-daily-rotate-file";
import { REDACTED, redactText } from "../storage/secrets-redaction.ts";

export { REDACTED, redactText, registerSecret } from "../storage/secrets-redaction.ts";

const { combine, errors, splat, timestamp, json: jsonLines, printf, colorize } = winston.format;

// Symbols winston keeps on each log record (the raw splat arguments and the final line).
const SPLAT = Symbol.for("splat");
const MESSAGE = Symbol.for("message");

const SECRET_WORDS = new Set([
  "token", "tokens", "secret", "secrets", "password", "passwords", "passwd", "pwd", "pass", "passphrase",
  "key", "apikey", "payload", "proof", "credential", "credentials", "creds", "authorization", "auth", "cookie",
]);
// Keys that end in "key" but name lookups, not secrets; masking them would only hide debugging help.
const NON_SECRET_KEYS = new Set([
  "idempotencykey", "lockkey", "cachekey", "i18nkey", "translationkey", "messagekey", "sortkey", "routekey",
  "dedupekey", "dedupkey", "ratelimitkey", "partitionkey", "primarykey", "publickey",
]);

/**
 * Whether a meta key names a secret: its last word (camelCase, snake_case or kebab-case) is one
 * of token, secret, password, key, payload, proof, credentials, authorization, cookie, … — so
 * `botToken`, `encryptionKey`, `stockPayload` and `x-api-key` are masked while `keyPattern`,
 * `keyId` and `tokenCount` are not. A bare `key` is masked too: log lookup keys under a
 * specific name (`lockKey`, `i18nKey`, `idempotencyKey`, `cacheKey`).
 */
export function isSecretKey(name: string): boolean {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  const last = words.at(-1);
  if (last === undefined || !SECRET_WORDS.has(last)) return false;
  return !NON_SECRET_KEYS.has(words.join(""));
}

// null, undefined and booleans say whether a secret is present without revealing it.
const canHoldSecret = (value: unknown) => value !== null && value !== undefined && typeof value !== "boolean";

const MAX_DEPTH = 12;

function redactValue(value: unknown, ancestors: Set<object>, depth: number): unknown {
  if (typeof value === "string") return redactText(value);
  if (value === null || typeof value !== "object") return value;
  if (ancestors.has(value)) return "[Circular]";
  if (depth > MAX_DEPTH) return "[Truncated]";
  if (ArrayBuffer.isView(value)) return `[binary ${value.byteLength} bytes]`;
  if (value instanceof Date) return value;
  ancestors.add(value);
  try {
    if (value instanceof Error) return redactError(value, ancestors, depth);
    if (Array.isArray(value)) return value.map((item) => redactValue(item, ancestors, depth + 1));
    if (value instanceof Map) return redactEntries([...value].map(([k, v]) => [String(k), v]), ancestors, depth);
    if (value instanceof Set) return [...value].map((item) => redactValue(item, ancestors, depth + 1));
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    // ObjectIds, mongoose documents and the like describe themselves; walking their internals would not.
    if (typeof toJSON === "function") {
      try {
        return redactValue(toJSON.call(value), ancestors, depth + 1);
      } catch {
        // A broken toJSON must not turn a log call into a crash; its fields still get logged.
      }
    }
    return redactEntries(Object.entries(value), ancestors, depth);
  } finally {
    ancestors.delete(value);
  }
}

function redactEntries(entries: [string, unknown][], ancestors: Set<object>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of entries) {
    out[key] = isSecretKey(key) && canHoldSecret(item) ? REDACTED : redactValue(item, ancestors, depth + 1);
  }
  return out;
}

function redactError(error: Error, ancestors: Set<object>, depth: number): Record<string, unknown> {
  const out = redactEntries(Object.entries(error), ancestors, depth);
  out.message = redactText(error.message);
  if (error.name !== "Error") out.name = error.name;
  if (error.stack) out.stack = redactText(error.stack);
  if (error.cause !== undefined) out.cause = redactValue(error.cause, ancestors, depth + 1);
  return out;
}

/** The winston format that masks secrets; it returns a copy, so the caller's objects stay intact. */
export const redactSecrets = winston.format((info) => {
  const source = info as winston.Logform.TransformableInfo & Record<string | symbol, unknown>;
  const out = redactEntries(Object.entries(source), new Set([source]), 0) as winston.Logform.TransformableInfo &
    Record<string | symbol, unknown>;
  if (source instanceof Error) {
    out.message = redactText(source.message);
    if (source.stack) out.stack = redactText(source.stack);
  }
  out.level = source.level;
  for (const symbol of Object.getOwnPropertySymbols(source)) {
    const item = source[symbol];
    if (symbol === SPLAT && Array.isArray(item)) out[symbol] = item.map(redactSplatArgument);
    else out[symbol] = symbol === MESSAGE ? redactValue(item, new Set(), 0) : item;
  }
  return out;
});

/**
 * winston merges trailing splat objects into the record with Object.assign, which skips an
 * Error's own message and stack; a redacted Error must keep them non-enumerable, or
 * `logger.error("failed", err)` would lose "failed".
 */
function redactSplatArgument(item: unknown): unknown {
  if (!(item instanceof Error)) return redactValue(item, new Set(), 0);
  const copy = Object.assign(Object.create(Object.getPrototypeOf(item)) as Error, redactEntries(Object.entries(item), new Set([item]), 0));
  for (const field of ["message", "stack"] as const) {
    const text = item[field];
    if (typeof text === "string") Object.defineProperty(copy, field, { value: redactText(text), writable: true, configurable: true });
  }
  if (item.cause !== undefined) {
    Object.defineProperty(copy, "cause", { value: redactValue(item.cause, new Set([item]), 1), writable: true, configurable: true });
  }
  return copy;
}

function consoleLine(colours: boolean) {
  const colourizer = colorize();
  return printf((info) => {
    const { level, message, timestamp: time, tenant, stack, ...rest } = info as Record<string, unknown>;
    const meta = Object.fromEntries(Object.entries(rest)); // own string keys only, not winston's symbols
    const levelText = String(level).toUpperCase().padEnd(5);
    const head = [
      typeof time === "string" ? time.slice(11, 23) : undefined,
      colours ? colourizer.colorize(String(level), levelText) : levelText,
      tenant === undefined ? undefined : `[${String(tenant)}]`,
      typeof message === "string" ? message : inspect(message),
    ].filter((part) => part !== undefined);
    const details = Object.keys(meta).length ? ` ${inspect(meta, { depth: 6, breakLength: Infinity, colors: colours })}` : "";
    const trace = typeof stack === "string" && stack !== "" ? `\n${stack}` : "";
    return `${head.join(" ")}${details}${trace}`;
  });
}

function defaultJson(): boolean {
  return process.env.NODE_ENV === "production" || !process.stderr.isTTY;
}

function consoleTransport(json: boolean): winston.transport {
  return new winston.transports.Console({
    stderrLevels: Object.keys(winston.config.npm.levels),
    format: combine(redactSecrets(), json ? jsonLines() : consoleLine(Boolean(process.stderr.isTTY))),
  });
}

/** The root logger: usable from the first import, reconfigured in place by {@link configureLogging}. */
export const logger: winston.Logger = winston.createLogger({
  level: "info",
  // Redacting before splat keeps secrets out of `%s` interpolation of objects; the transports
  // redact again after it, which also covers anything added by code that bypasses this format.
  format: combine(errors({ stack: true }), redactSecrets(), splat(), timestamp()),
  transports: [consoleTransport(defaultJson())],
  exitOnError: false,
});

/**
 * Sets the level and output of {@link logger}. `json` defaults to true in production or when
 * stderr is not a terminal. With `dir`, lines are also written as JSON to
 * `<dir>/niaga-YYYY-MM-DD.log`, a new file each day, kept 14 days.
 */
export function configureLogging(opts: { level: string; dir?: string; json?: boolean; fileRetryMs?: number }): void {
  if (!Object.hasOwn(logger.levels, opts.level)) {
    throw new Error(`unknown log level "${opts.level}": use one of ${Object.keys(logger.levels).join(", ")}`);
  }
  logger.level = opts.level;
  clearTimeout(fileRetry);
  logger.clear();
  logger.add(consoleTransport(opts.json ?? defaultJson()));
  if (opts.dir) logger.add(fileTransport(opts.dir, opts.fileRetryMs ?? FILE_RETRY_FIRST_MS));
}

/** The first retry of file logging after a write error; doubled each time it fails again, up to 30 min. */
const FILE_RETRY_FIRST_MS = 60_000;
const FILE_RETRY_MAX_MS = 30 * 60_000;
let fileRetry: NodeJS.Timeout | undefined;

// A transport's error is handled where it happens (below); winston re-emits it on the logger,
// where an EventEmitter without a listener would throw it and end the process.
logger.on("error", () => undefined);

/**
 * The daily log file. A write that fails (a full disk: ENOSPC, a removed folder, no
 * permission) must never stop the process: the file transport is dropped with one line on
 * stderr, the console goes on, and the file is tried again later (1 min, then doubling).
 */
function fileTransport(dir: string, retryMs: number): winston.transport {
  const file = new DailyRotateFile({
    dirname: dir,
    filename: "niaga-%DATE%.log",
    datePattern: "YYYY-MM-DD",
    maxFiles: "14d",
    auditFile: join(dir, ".niaga-log-audit.json"),
    format: combine(redactSecrets(), jsonLines()),
  });
  let failed = false;
  const onError = (error: Error) => {
    if (failed) return;
    failed = true;
    // Straight to stderr: logging it through the logger would write to this file again.
    process.stderr.write(`niaga: cannot write log files in ${dir} (${redactText(error.message)}); logging to stderr only, trying the files again in ${Math.round(retryMs / 1000)} s\n`);
    // After winston's own listener (which re-adds a transport it does not find), not before.
    setImmediate(() => {
      logger.remove(file);
      clearTimeout(fileRetry);
      fileRetry = setTimeout(() => logger.add(fileTransport(dir, Math.min(retryMs * 2, FILE_RETRY_MAX_MS))), retryMs);
      fileRetry.unref();
    });
  };
  file.on("error", onError);
  // The rotating stream underneath reports write errors on itself, and nobody else listens there.
  (file as unknown as { logStream?: { on(event: "error", listener: (error: Error) => void): unknown } }).logStream?.on("error", onError);
  return file;
}

/**
 * Flushes and closes the log files; call it last on shutdown so the final lines reach the disk.
 * Console logging continues.
 */
export async function closeLogging(): Promise<void> {
  clearTimeout(fileRetry);
  // Records still travelling through the logger's pipe reach the transports on the next turn.
  await new Promise((resolve) => setImmediate(resolve));
  const files = logger.transports.filter((transport) => transport instanceof DailyRotateFile);
  const closed = files.map((file) => new Promise((resolve) => file.once("finish", resolve)));
  for (const file of files) logger.remove(file); // unpiping makes the transport close its file
  await Promise.all(closed);
}

/** A child of {@link logger} whose every line carries `tenant: slug`. */
export function tenantLogger(slug: string): winston.Logger {
  return logger.child({ tenant: slug });
}
