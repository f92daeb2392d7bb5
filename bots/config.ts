/**
 * Configuration: every environment variable the platform reads, validated once at start.
 *
 * ```ts
 * const config = loadConfigOrExit();          // a bad variable stops the start with one line
 * const key = requireEncryptionKey(config);   // only commands that touch secrets need the key
 * ```
 *
 * Empty (or whitespace-only) values count as unset, so `FOO=` in a `.env` file behaves like a
 * missing line. Error messages name the variable and what it expects; they never repeat the
 * value, because several variables hold secrets; the secret values are also registered with the
 * logger, so they print as `[REDACTED]` wherever they turn up. `.env.example` documents every
 * variable.
 */
import { isIP } from "node:net";
import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import type { PacingOptions } from "../adapters/whatsapp/contract.ts";
import { DEFAULT_PACING } from "../adapters/whatsapp/pacing.ts";
import { DEFAULT_BROADCAST_LIMITS, type BroadcastLimits } from "../flows/broadcast/contract.ts";
import { BROADCAST_LIMIT_RANGE } from "../storage/models/index.ts";
import { registerSecret } from "./logger.ts";

export type Config = {
  mongodbUri: string;
  redisUrl?: string;
  encryptionKey?: Buffer;
  encryptionKeysOld: Buffer[];
  telegramApiRoot: string;
  publicUrl?: string;
  httpPort: number;
  ownerBotToken?: string;
  ownerChatIds: number[];
  /** `DISCORD_TOKEN` and `DISCORD_APP_ID`, both or neither: the platform's one Discord application, serving every linked store's guild. */
  discordToken?: string;
  discordAppId?: string;
  /** `DISCORD_API_ROOT`: Discord's REST (and, through `GET /gateway/bot`, its gateway); default {@link DEFAULT_DISCORD_API_ROOT}. */
  discordApiRoot: string;
  logLevel: "error" | "warn" | "info" | "debug";
  logDir?: string;
  defaultLocale: "id" | "en";
  /** `METRICS_TOKEN`: the bearer token `/metrics` asks for; unset = no token asked. */
  metricsToken?: string;
  /** `METRICS_HOST`/`METRICS_PORT`: `/metrics` served there only; unset = on `HTTP_PORT`. */
  metricsListener?: { host: string; port: number };
  /**
   * How often `niaga start` reads the stores for changes made elsewhere (`niaga tenant
   * suspend`); present only when `RECONCILE_INTERVAL_MS` is set, else
   * {@link DEFAULT_RECONCILE_INTERVAL_MS}.
   */
  reconcileIntervalMs?: number;
  /**
   * How often the reconcile sweep reads every store anyway (`STORE_FULL_SWEEP_MS`), not only
   * those that changed: it is what notices a deleted store on a standalone server, or a write
   * that bypassed the `changedAt` stamp; present only when set, else 10 min.
   */
  storeFullSweepMs?: number;
  /**
   * How long an instance's right to poll a store lasts without renewal (`POLL_LEASE_MS`);
   * present only when set, else the store bots' default (15 s).
   */
  pollLeaseMs?: number;
  nodeEnv: "development" | "production" | "test";
  // ---- Store alerts (Telegram health, webhook fallback, payment failure runs); each present only when set.
  /** `TELEGRAM_UNREACHABLE_AFTER_MS`: how long a store bot's calls must all fail before the owner hears it. Default 60 000. */
  telegramUnreachableAfterMs?: number;
  /** `TELEGRAM_START_CONCURRENCY`: store bots started (and reconciled) at once. Default 16. */
  telegramStartConcurrency?: number;
  /** `WEBHOOK_CHECK_EVERY_MS`: how often webhook-mode stores' `getWebhookInfo` is read. Default 60 000. */
  webhookCheckEveryMs?: number;
  /** `WEBHOOK_MAX_PENDING`: more updates than this waiting at Telegram count as a failing webhook. Default 100. */
  webhookMaxPending?: number;
  /** `WEBHOOK_FALLBACK_AFTER_CHECKS`: failing checks in a row before a store falls back to polling. Default 3. */
  webhookFallbackAfterChecks?: number;
  /** `ALERT_PAYMENT_FAILURES_IN_ROW`: failed payments in a row (per store and gateway) that alert. Default 3. */
  paymentFailuresInRow?: number;
  /** `ALERT_PAYMENT_FAILURE_RATE`: percentage of failed payments within the window that alerts. Default 50. */
  paymentFailureRatePercent?: number;
  /** `ALERT_PAYMENT_MIN_PAYMENTS`: payments within the window needed before the rate counts. Default 4. */
  paymentFailureMinPayments?: number;
  /** `ALERT_PAYMENT_WINDOW_MS`: the window of the failure rate. Default 600 000 (10 min). */
  paymentFailureWindowMs?: number;
  // Platform alerts: thresholds and intervals (ALERT_*).
  /** Present only when at least one `ALERT_*` variable is set; each unset one takes its default. */
  platformAlerts?: PlatformAlertsConfig;
  // ---- owner bot
  /** How the owner bot receives its updates (`OWNER_BOT_MODE`): long polling on the lease holder (default), or a webhook at `PUBLIC_URL/telegram-owner`. */
  ownerBotMode: "polling" | "webhook";
  // ---- offsite backups
  /** `BACKUP_S3_*`: the S3-compatible storage offsite backups go to; present only when set (endpoint, bucket and both keys together). */
  offsiteBackup?: OffsiteBackupConfig;
  // ---- backups
  /** `BACKUP_KEY`: 32 bytes (base64) backups are encrypted and signed with; never the same as ENCRYPTION_KEY. Needed by `niaga backup`. */
  backupKey?: Buffer;
  /** `BACKUP_DIR`: the local directory backups are kept in. Default `./backups`. */
  backupDir: string;
  /** The scheduled backup and its checks (`BACKUP_CRON`, `BACKUP_KEEP_*`, …); used when BACKUP_KEY is set. */
  backupSchedule: BackupScheduleConfig;
  // ---- WhatsApp (store numbers linked through WhatsApp Web)
  /** `WHATSAPP_WEB_URL`: the WebSocket every store's WhatsApp session connects to. Default WhatsApp's own. */
  whatsappWebUrl: string;
  /** `WHATSAPP_SESSION_LEASE_MS`: how long an instance owns a store's WhatsApp session without renewal; present only when set. */
  whatsappSessionLeaseMs?: number;
  // ---- WhatsApp pacing
  /** `WHATSAPP_GAP_MS`, `WHATSAPP_TYPING_*`, `WHATSAPP_WARMUP_*` and the restriction thresholds; present only when one is set, holding what is set (the rest take `DEFAULT_PACING`). */
  whatsappPacing?: Partial<PacingOptions>;
  // ---- broadcasts
  /** `BROADCAST_RATE_<CHANNEL>` and the platform's limits per store (`BROADCAST_PER_DAY`, `BROADCAST_MAX_RECIPIENTS`); present only when one is set, holding what is set. */
  broadcast?: BroadcastConfig;
};

/** The platform's broadcast limits per store: what is configured, else `DEFAULT_BROADCAST_LIMITS`. */
export function platformBroadcastLimits(broadcast: BroadcastConfig | undefined): BroadcastLimits {
  return { ...DEFAULT_BROADCAST_LIMITS, ...broadcast?.limits };
}

/** What is set of the broadcasts' settings; the rest take `DEFAULT_BROADCAST_PACE` and `DEFAULT_BROADCAST_LIMITS` (flows/broadcast/contract.ts). */
export interface BroadcastConfig {
  /** Messages per second the broadcast runner aims at, by channel name. */
  pace?: Record<string, number>;
  /** Per store, unless the platform owner set the store's own (`niaga tenant set --broadcasts-per-day`). */
  limits?: { perDay?: number; maxRecipients?: number };
}

/** When backups run, how many are kept, and when the owner hears that none is recent. */
export interface BackupScheduleConfig {
  /** `BACKUP_CRON`: a cron expression (default `30 2 * * *`, 02:30 every day), or undefined for `off`. */
  cron?: string;
  /** `BACKUP_TIMEZONE`: the time zone of the cron expression and of the retention's days, weeks and months. Default Asia/Jakarta. */
  timeZone: string;
  /** `BACKUP_KEEP_DAILY` / `_WEEKLY` / `_MONTHLY`: backups kept per destination. Defaults 7, 4, 6. */
  keep: { daily: number; weekly: number; monthly: number };
  /** `BACKUP_MAX_AGE_HOURS`: alert when no verified backup is newer. Default 26. */
  maxAgeHours: number;
  /** `BACKUP_SCRATCH_URI`: where verification restores a backup as a test. Default: the platform's server, database `<name>_backup_verify`. */
  scratchUri?: string;
  /** `BACKUP_ENV_FILE`: the environment file kept in each backup. Default `.env` of the working directory, when there is one. */
  envFile?: string;
}

/** `BACKUP_S3_*`: an S3-compatible bucket (AWS S3, Backblaze B2, Cloudflare R2, Wasabi, MinIO) for offsite backups. */
export interface OffsiteBackupConfig {
  endpoint: string;
  bucket: string;
  /** Folder inside the bucket (`BACKUP_S3_PREFIX`), default `niaga/`. */
  prefix: string;
  /** `BACKUP_S3_REGION`, default `us-east-1`. */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `BACKUP_S3_FORCE_PATH_STYLE`: the bucket in the URL's path rather than its host name; default true. */
  forcePathStyle: boolean;
}

/** `ALERT_*`: when the owner hears about jobs and resources (defaults in `admin-bot/job-watch.ts`, `resource-watch.ts`). */
export interface PlatformAlertsConfig {
  jobFailuresInRow?: number;
  jobOverdueAfterMs?: number;
  jobCheckEveryMs?: number;
  resourceCheckEveryMs?: number;
  diskFreeMinMb?: number;
  memoryMaxMb?: number;
  memoryAvailableMinMb?: number;
  cpuLoadMax?: number;
  logDirMaxMb?: number;
}

/** A configuration mistake the operator fixes in the environment; `message` is one line. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export const DEFAULT_RECONCILE_INTERVAL_MS = 15_000;

/** Discord's REST API; `DISCORD_API_ROOT` points the client elsewhere (tests, a proxy). */
export const DEFAULT_DISCORD_API_ROOT = "https://discord.com/api";

/** Where WhatsApp Web listens; `WHATSAPP_WEB_URL` points the sockets elsewhere (tests, a proxy). */
export const DEFAULT_WHATSAPP_WEB_URL = "wss://web.whatsapp.com/ws/chat";

const ENCRYPTION_KEY_EXPECTS = "expected base64 of exactly 32 bytes (generate one with: openssl rand -base64 32)";

function decodeKey32(value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const key = Buffer.from(value, "base64");
  // Buffer.from silently drops trailing garbage; the round trip proves every character was used.
  const unpadded = (s: string) => s.replace(/=+$/, "");
  if (key.length !== 32 || unpadded(key.toString("base64")) !== unpadded(value)) return undefined;
  return key;
}

/** An optional whole number between `min` and `max`; `unit` says what it counts, with an example. */
function wholeNumber(min: number, max: number, unit: string) {
  return z
    .string()
    .refine((v) => /^\d{1,10}$/.test(v) && Number(v) >= min && Number(v) <= max, `expected a whole number of ${unit} (${min} to ${max})`)
    .transform(Number)
    .optional();
}

/** A broadcast pace: messages per second, more than 0, whole or with up to 3 decimals. */
function messagesPerSecond(example: string) {
  return z
    .string()
    .refine((v) => /^\d{1,4}(\.\d{1,3})?$/.test(v) && Number(v) > 0 && Number(v) <= 1000, `expected messages per second, more than 0 and at most 1000 (e.g. ${example} or 0.5)`)
    .transform(Number)
    .optional();
}

function hasProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname !== "";
  } catch {
    return false;
  }
}

/** The password in `scheme://user:password@host`, decoded; regex rather than URL because mongodb:// allows several hosts. */
function urlPassword(url: string): string | undefined {
  const encoded = /^[a-z][a-z0-9+.-]*:\/\/[^:@/]*:([^@/]+)@/i.exec(url)?.[1];
  if (!encoded) return undefined;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

const withoutTrailingSlash = (value: string) => value.replace(/\/+$/, "");

/** Splits `a, b,,c` into `["a","b","c"]`: stray spaces and trailing commas are common in hand-written env files. */
const listItems = (value: string) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");

const key32 = z.string().transform((value, ctx) => {
  const key = decodeKey32(value);
  if (!key) {
    ctx.addIssue({ code: "custom", message: ENCRYPTION_KEY_EXPECTS });
    return z.NEVER;
  }
  return key;
});

const keyList = z.string().transform((value, ctx) => {
  const keys: Buffer[] = [];
  for (const [index, item] of listItems(value).entries()) {
    const key = decodeKey32(item);
    if (!key) {
      ctx.addIssue({
        code: "custom",
        message: `entry ${index + 1} is not base64 of exactly 32 bytes (a comma-separated list of former ENCRYPTION_KEY values)`,
      });
      return z.NEVER;
    }
    keys.push(key);
  }
  return keys;
});

const chatIdList = z.string().transform((value, ctx) => {
  const ids: number[] = [];
  for (const [index, item] of listItems(value).entries()) {
    const id = Number(item);
    if (!/^-?\d+$/.test(item) || !Number.isSafeInteger(id)) {
      ctx.addIssue({
        code: "custom",
        message: `entry ${index + 1} is not an integer (expected comma-separated Telegram chat ids, e.g. 123456789,-1001234567890)`,
      });
      return z.NEVER;
    }
    ids.push(id);
  }
  return ids;
});

const port = z
  .string()
  .refine((v) => /^\d{1,5}$/.test(v) && Number(v) <= 65535, "expected an integer port from 0 to 65535")
  .transform(Number);

const wholeMs = (min: number, example: number) =>
  z
    .string()
    .refine((v) => /^\d{1,10}$/.test(v) && Number(v) >= min, `expected a whole number of milliseconds, at least ${min} (e.g. ${example})`)
    .transform(Number);
/** A decimal amount; a minimum may be 0 (never alerts), a maximum may not. */
const amount = (what: string, example: string, zero: "zero allowed" | "positive" = "positive") =>
  z
    .string()
    .refine(
      (v) => /^\d{1,9}(\.\d{1,3})?$/.test(v) && (zero === "zero allowed" || Number(v) > 0),
      `expected a ${zero === "zero allowed" ? "" : "positive "}number of ${what}${zero === "zero allowed" ? ", 0 to turn it off" : ""} (e.g. ${example})`,
    )
    .transform(Number);

/** How many backups to keep of a kind: 0 (none of that kind) to 1000. */
const count = (example: number) =>
  z
    .string()
    .refine((v) => /^\d{1,4}$/.test(v) && Number(v) <= 1000, `expected a whole number from 0 to 1000 (e.g. ${example})`)
    .transform(Number);

/** `MIN-MAX` milliseconds (`1500-4000`), or one number for both. */
const msRange = (example: string) =>
  z.string().transform((v, ctx) => {
    const match = /^(\d{1,7})(?:\s*-\s*(\d{1,7}))?$/.exec(v);
    const min = Number(match?.[1]);
    const max = Number(match?.[2] ?? match?.[1]);
    if (!match || min > max) {
      ctx.addIssue({ code: "custom", message: `expected milliseconds as MIN-MAX with MIN at most MAX, or one number (e.g. ${example})` });
      return z.NEVER;
    }
    return { min, max };
  });

function isCron(v: string): boolean {
  if (v.trim().split(/\s+/).length !== 5) return false;
  try {
    CronExpressionParser.parse(v);
    return true;
  } catch {
    return false;
  }
}

function isTimeZone(v: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: v });
    return true;
  } catch {
    return false;
  }
}

const envSchema = z.object({
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/[^/\s]+/, "expected a mongodb:// or mongodb+srv:// URL, e.g. mongodb://127.0.0.1:27017/niaga")
    .default("mongodb://127.0.0.1:27017/niaga"),
  REDIS_URL: z
    .string()
    .refine((v) => hasProtocol(v, ["redis:", "rediss:"]), "expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379")
    .optional(),
  ENCRYPTION_KEY: key32.optional(),
  ENCRYPTION_KEYS_OLD: keyList.default([]),
  TELEGRAM_API_ROOT: z
    .string()
    .refine((v) => hasProtocol(v, ["http:", "https:"]), "expected an http:// or https:// URL, e.g. https://api.telegram.org")
    .transform(withoutTrailingSlash)
    .default("https://api.telegram.org"),
  PUBLIC_URL: z
    .string()
    .refine((v) => hasProtocol(v, ["http:", "https:"]), "expected the public http:// or https:// URL of this server, e.g. https://shop.example.com")
    .transform(withoutTrailingSlash)
    .optional(),
  HTTP_PORT: port.default(3000),
  OWNER_BOT_TOKEN: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]+$/, "expected a Telegram bot token like 123456789:AA… (from @BotFather)")
    .optional(),
  OWNER_CHAT_IDS: chatIdList.default([]),
  DISCORD_TOKEN: z.string().regex(/^\S+$/, "expected a Discord bot token without spaces").optional(),
  DISCORD_APP_ID: z.string().regex(/^\d{17,20}$/, "expected the Discord application id, a snowflake of 17 to 20 digits (Developer Portal → General Information)").optional(),
  DISCORD_API_ROOT: z
    .string()
    .refine((v) => hasProtocol(v, ["http:", "https:"]), `expected an http:// or https:// URL, e.g. ${DEFAULT_DISCORD_API_ROOT}`)
    .refine((v) => !/^[a-z]+:\/\/[^/]*@/i.test(v), "must not hold credentials")
    .transform(withoutTrailingSlash)
    .default(DEFAULT_DISCORD_API_ROOT),
  LOG_LEVEL: z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(["error", "warn", "info", "debug"], { error: "expected one of error, warn, info, debug" }))
    .default("info"),
  LOG_DIR: z.string().optional(),
  DEFAULT_LOCALE: z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(["id", "en"], { error: "expected id or en" }))
    .default("id"),
  METRICS_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, "expected at least 16 characters without spaces (generate one with: openssl rand -hex 32)")
    .optional(),
  METRICS_PORT: port.optional(),
  METRICS_HOST: z
    .string()
    .refine((v) => isIP(v) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(v), "expected an IP address or host name to listen on, e.g. 127.0.0.1")
    .optional(),
  RECONCILE_INTERVAL_MS: z
    .string()
    .refine((v) => /^\d{1,9}$/.test(v) && Number(v) >= 100, "expected a whole number of milliseconds, at least 100 (e.g. 15000)")
    .transform(Number)
    .optional(),
  STORE_FULL_SWEEP_MS: z
    .string()
    .refine((v) => /^\d{1,10}$/.test(v) && (Number(v) === 0 || Number(v) >= 1000), "expected a whole number of milliseconds, 0 (never) or at least 1000 (e.g. 600000)")
    .transform(Number)
    .optional(),
  POLL_LEASE_MS: z
    .string()
    .refine((v) => /^\d{1,9}$/.test(v) && Number(v) >= 3000, "expected a whole number of milliseconds, at least 3000 (e.g. 15000)")
    .transform(Number)
    .optional(),
  NODE_ENV: z.enum(["development", "production", "test"], { error: "expected development, production or test" }).default("development"),
  // ---- Store alerts (Telegram health, webhook fallback, payment failure runs)
  TELEGRAM_UNREACHABLE_AFTER_MS: wholeNumber(1000, 86_400_000, "milliseconds, e.g. 60000"),
  TELEGRAM_START_CONCURRENCY: wholeNumber(1, 64, "stores at once, e.g. 16"),
  WEBHOOK_CHECK_EVERY_MS: wholeNumber(1000, 86_400_000, "milliseconds, e.g. 60000"),
  WEBHOOK_MAX_PENDING: wholeNumber(1, 1_000_000, "updates, e.g. 100"),
  WEBHOOK_FALLBACK_AFTER_CHECKS: wholeNumber(1, 100, "checks, e.g. 3"),
  ALERT_PAYMENT_FAILURES_IN_ROW: wholeNumber(1, 1000, "failed payments, e.g. 3"),
  ALERT_PAYMENT_FAILURE_RATE: wholeNumber(1, 100, "percent, e.g. 50"),
  ALERT_PAYMENT_MIN_PAYMENTS: wholeNumber(1, 10_000, "payments, e.g. 4"),
  ALERT_PAYMENT_WINDOW_MS: wholeNumber(1000, 86_400_000, "milliseconds, e.g. 600000"),
  // Platform alerts: thresholds and intervals.
  ALERT_JOB_FAILURES: z
    .string()
    .refine((v) => /^\d{1,4}$/.test(v) && Number(v) >= 1, "expected a whole number of failures in a row, at least 1 (e.g. 3)")
    .transform(Number)
    .optional(),
  ALERT_JOB_OVERDUE_MS: wholeMs(1_000, 300_000).optional(),
  ALERT_JOB_CHECK_MS: wholeMs(1_000, 60_000).optional(),
  ALERT_RESOURCE_CHECK_MS: wholeMs(1_000, 60_000).optional(),
  ALERT_DISK_FREE_MIN_MB: amount("megabytes", "500", "zero allowed").optional(),
  ALERT_MEMORY_MAX_MB: amount("megabytes", "1024").optional(),
  ALERT_MEMORY_AVAILABLE_MIN_MB: amount("megabytes", "100", "zero allowed").optional(),
  ALERT_CPU_LOAD_MAX: amount("load per core", "2").optional(),
  ALERT_LOG_DIR_MAX_MB: amount("megabytes", "1024").optional(),
  // ---- owner bot
  OWNER_BOT_MODE: z.enum(["polling", "webhook"], { error: "expected polling or webhook" }).default("polling"),
  // ---- offsite backups
  BACKUP_S3_ENDPOINT: z
    .string()
    .refine((v) => hasProtocol(v, ["http:", "https:"]), "expected the http:// or https:// URL of an S3-compatible service, e.g. https://s3.eu-central-003.backblazeb2.com")
    .refine((v) => !/^[a-z]+:\/\/[^/]*@/i.test(v), "must not hold credentials; put them in BACKUP_S3_ACCESS_KEY_ID and BACKUP_S3_SECRET_ACCESS_KEY")
    .transform(withoutTrailingSlash)
    .optional(),
  BACKUP_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens (e.g. niaga-backups)")
    .optional(),
  BACKUP_S3_PREFIX: z
    .string()
    .regex(/^(?!\/)[A-Za-z0-9!_.*'()/-]{1,512}$/, "expected a folder inside the bucket of letters, digits and !_.*'()/- not starting with / (e.g. niaga/)")
    .optional(),
  BACKUP_S3_REGION: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "expected a region name, e.g. us-east-1, eu-central-003 or auto").optional(),
  BACKUP_S3_ACCESS_KEY_ID: z.string().regex(/^\S{3,256}$/, "expected the access key id, without spaces").optional(),
  BACKUP_S3_SECRET_ACCESS_KEY: z.string().regex(/^\S{8,256}$/, "expected the secret access key (at least 8 characters, no spaces)").optional(),
  BACKUP_S3_FORCE_PATH_STYLE: z
    .enum(["true", "false"], { error: "expected true or false" })
    .transform((v) => v === "true")
    .optional(),
  // ---- backups
  BACKUP_KEY: key32.optional(),
  BACKUP_DIR: z.string().default("./backups"),
  // ---- backup schedule
  BACKUP_CRON: z
    .string()
    .refine((v) => v === "off" || isCron(v), "expected a cron expression of 5 fields (e.g. 30 2 * * * for 02:30 daily) or off")
    .default("30 2 * * *"),
  BACKUP_TIMEZONE: z.string().refine(isTimeZone, "expected an IANA time zone, e.g. Asia/Jakarta").default("Asia/Jakarta"),
  BACKUP_KEEP_DAILY: count(7).optional(),
  BACKUP_KEEP_WEEKLY: count(4).optional(),
  BACKUP_KEEP_MONTHLY: count(6).optional(),
  BACKUP_MAX_AGE_HOURS: z
    .string()
    .refine((v) => /^\d{1,5}$/.test(v) && Number(v) >= 1, "expected a whole number of hours, at least 1 (e.g. 26)")
    .transform(Number)
    .optional(),
  BACKUP_SCRATCH_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/[^/\s]+\/[^/?\s]+/, "expected a mongodb:// URL naming its database, e.g. mongodb://127.0.0.1:27017/niaga_backup_verify")
    .optional(),
  BACKUP_ENV_FILE: z.string().refine((v) => ![...v].some((c) => c.charCodeAt(0) < 32), "expected the path of the environment file, e.g. /etc/niaga/niaga.env").optional(),
  // ---- WhatsApp
  WHATSAPP_WEB_URL: z
    .string()
    .refine((v) => hasProtocol(v, ["ws:", "wss:"]), `expected a ws:// or wss:// URL, e.g. ${DEFAULT_WHATSAPP_WEB_URL}`)
    .refine((v) => !/^[a-z]+:\/\/[^/]*@/i.test(v), "must not hold credentials")
    .default(DEFAULT_WHATSAPP_WEB_URL),
  WHATSAPP_SESSION_LEASE_MS: wholeNumber(3000, 3_600_000, "milliseconds, e.g. 30000"),
  // ---- WhatsApp pacing
  WHATSAPP_GAP_MS: msRange("1500-4000").optional(),
  WHATSAPP_TYPING_MS: msRange("1000-4000").optional(),
  WHATSAPP_TYPING_MS_PER_CHAR: wholeNumber(0, 1000, "milliseconds per character, e.g. 30"),
  WHATSAPP_WARMUP_DAYS: wholeNumber(0, 365, "days, e.g. 7"),
  WHATSAPP_WARMUP_FACTOR: z
    .string()
    .refine((v) => /^\d{1,2}(\.\d{1,2})?$/.test(v) && Number(v) >= 1 && Number(v) <= 20, "expected how many times longer new numbers pause, from 1 to 20 (e.g. 2 or 1.5)")
    .transform(Number)
    .optional(),
  WHATSAPP_SLOW_AFTER_FAILURES: wholeNumber(1, 1000, "restriction signs, e.g. 3"),
  WHATSAPP_STOP_AFTER_FAILURES: wholeNumber(1, 1000, "restriction signs, e.g. 6"),
  WHATSAPP_RESTRICTION_WINDOW_MS: wholeNumber(1000, 86_400_000, "milliseconds, e.g. 600000"),
  WHATSAPP_STOP_COOL_DOWN_MS: wholeNumber(60_000, 2_592_000_000, "milliseconds, e.g. 21600000"),
  // ---- broadcasts
  BROADCAST_RATE_TELEGRAM: messagesPerSecond("24"),
  BROADCAST_RATE_WHATSAPP: messagesPerSecond("1"),
  BROADCAST_RATE_DISCORD: messagesPerSecond("4"),
  BROADCAST_PER_DAY: wholeNumber(0, BROADCAST_LIMIT_RANGE.perDay.max, "broadcasts a store may start per day, 0 for none"),
  BROADCAST_MAX_RECIPIENTS: wholeNumber(0, BROADCAST_LIMIT_RANGE.maxRecipients.max, "recipients per broadcast"),
})
  // What no single variable can say: METRICS_HOST means nothing alone, and one port cannot be both listeners.
  .superRefine((e, ctx) => {
    if (e.METRICS_HOST !== undefined && e.METRICS_PORT === undefined) {
      ctx.addIssue({ code: "custom", path: ["METRICS_HOST"], message: "only used with METRICS_PORT; set METRICS_PORT too" });
    }
    if (e.OWNER_BOT_MODE === "webhook" && e.PUBLIC_URL === undefined) {
      ctx.addIssue({ code: "custom", path: ["OWNER_BOT_MODE"], message: "webhook needs PUBLIC_URL, the address Telegram posts to; set PUBLIC_URL or use polling" });
    }
    if (e.BACKUP_KEY && e.ENCRYPTION_KEY && e.BACKUP_KEY.equals(e.ENCRYPTION_KEY)) {
      ctx.addIssue({ code: "custom", path: ["BACKUP_KEY"], message: "must differ from ENCRYPTION_KEY, so a stolen backup is not also readable with the data key" });
    }
    if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.HTTP_PORT) {
      ctx.addIssue({ code: "custom", path: ["METRICS_PORT"], message: "must differ from HTTP_PORT, which serves everything else" });
    }
    // ---- Discord: the token belongs to the application; one without the other cannot register commands or log in.
    if ((e.DISCORD_TOKEN === undefined) !== (e.DISCORD_APP_ID === undefined)) {
      const missing = e.DISCORD_TOKEN === undefined ? "DISCORD_TOKEN" : "DISCORD_APP_ID";
      ctx.addIssue({ code: "custom", path: [missing], message: "not set; Discord needs DISCORD_TOKEN and DISCORD_APP_ID together (the bot's token and its application's id)" });
    }
    // ---- WhatsApp pacing: a number is slowed before it is stopped.
    const slowAfter = e.WHATSAPP_SLOW_AFTER_FAILURES ?? DEFAULT_PACING.slowAfterFailures;
    const stopAfter = e.WHATSAPP_STOP_AFTER_FAILURES ?? DEFAULT_PACING.stopAfterFailures;
    // Refinements do not stop the transform: a value already refused above is not compared again.
    const counts = [slowAfter, stopAfter].every((n) => Number.isInteger(n) && n >= 1 && n <= 1000);
    if (counts && stopAfter < slowAfter) {
      ctx.addIssue({
        code: "custom",
        path: [e.WHATSAPP_STOP_AFTER_FAILURES !== undefined ? "WHATSAPP_STOP_AFTER_FAILURES" : "WHATSAPP_SLOW_AFTER_FAILURES"],
        message: `a number must be slowed before it is stopped: WHATSAPP_STOP_AFTER_FAILURES (${stopAfter}) must be at least WHATSAPP_SLOW_AFTER_FAILURES (${slowAfter})`,
      });
    }
    // ---- offsite backups: all four together or none.
    const offsite = offsiteBackupSettings(e);
    if (offsite.given.length > 0 && offsite.missing.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: [offsite.missing.join(", ")],
        message: `not set; offsite backups need ${OFFSITE_REQUIRED.join(", ")} together (set: ${offsite.given.join(", ")})`,
      });
    }
  });

const OFFSITE_REQUIRED = ["BACKUP_S3_ENDPOINT", "BACKUP_S3_BUCKET", "BACKUP_S3_ACCESS_KEY_ID", "BACKUP_S3_SECRET_ACCESS_KEY"] as const;
const OFFSITE_OPTIONAL = ["BACKUP_S3_PREFIX", "BACKUP_S3_REGION", "BACKUP_S3_FORCE_PATH_STYLE"] as const;

function offsiteBackupSettings(e: Partial<Record<(typeof OFFSITE_REQUIRED)[number] | (typeof OFFSITE_OPTIONAL)[number], unknown>>) {
  return {
    given: [...OFFSITE_REQUIRED, ...OFFSITE_OPTIONAL].filter((name) => e[name] !== undefined),
    missing: OFFSITE_REQUIRED.filter((name) => e[name] === undefined),
  };
}

type EnvName = keyof z.input<typeof envSchema>;
const ENV_NAMES = Object.keys(envSchema.shape) as EnvName[];

/**
 * Reads and validates the configuration. Throws a {@link ConfigError} naming every bad variable,
 * joined on one line with `; `.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Partial<Record<EnvName, string>> = {};
  for (const name of ENV_NAMES) {
    const value = env[name]?.trim();
    if (value) input[name] = value;
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "));
  }
  const e = parsed.data;
  for (const name of ["ENCRYPTION_KEY", "ENCRYPTION_KEYS_OLD", "OWNER_BOT_TOKEN", "DISCORD_TOKEN", "METRICS_TOKEN", "BACKUP_S3_ACCESS_KEY_ID", "BACKUP_S3_SECRET_ACCESS_KEY", "BACKUP_KEY"] as const) {
    for (const secret of listItems(input[name] ?? "")) registerSecret(secret);
  }
  for (const url of [e.MONGODB_URI, e.REDIS_URL]) {
    const password = url && urlPassword(url);
    if (password) registerSecret(password);
  }
  return {
    mongodbUri: e.MONGODB_URI,
    redisUrl: e.REDIS_URL,
    encryptionKey: e.ENCRYPTION_KEY,
    encryptionKeysOld: e.ENCRYPTION_KEYS_OLD,
    telegramApiRoot: e.TELEGRAM_API_ROOT,
    publicUrl: e.PUBLIC_URL,
    httpPort: e.HTTP_PORT,
    ownerBotToken: e.OWNER_BOT_TOKEN,
    ownerChatIds: e.OWNER_CHAT_IDS,
    discordToken: e.DISCORD_TOKEN,
    discordAppId: e.DISCORD_APP_ID,
    discordApiRoot: e.DISCORD_API_ROOT,
    logLevel: e.LOG_LEVEL,
    logDir: e.LOG_DIR,
    defaultLocale: e.DEFAULT_LOCALE,
    metricsToken: e.METRICS_TOKEN,
    metricsListener: e.METRICS_PORT === undefined ? undefined : { host: e.METRICS_HOST ?? "127.0.0.1", port: e.METRICS_PORT },
    ...(e.RECONCILE_INTERVAL_MS !== undefined && { reconcileIntervalMs: e.RECONCILE_INTERVAL_MS }),
    ...(e.STORE_FULL_SWEEP_MS !== undefined && { storeFullSweepMs: e.STORE_FULL_SWEEP_MS }),
    ...(e.POLL_LEASE_MS !== undefined && { pollLeaseMs: e.POLL_LEASE_MS }),
    nodeEnv: e.NODE_ENV,
    // ---- Store alerts
    ...(e.TELEGRAM_UNREACHABLE_AFTER_MS !== undefined && { telegramUnreachableAfterMs: e.TELEGRAM_UNREACHABLE_AFTER_MS }),
    ...(e.TELEGRAM_START_CONCURRENCY !== undefined && { telegramStartConcurrency: e.TELEGRAM_START_CONCURRENCY }),
    ...(e.WEBHOOK_CHECK_EVERY_MS !== undefined && { webhookCheckEveryMs: e.WEBHOOK_CHECK_EVERY_MS }),
    ...(e.WEBHOOK_MAX_PENDING !== undefined && { webhookMaxPending: e.WEBHOOK_MAX_PENDING }),
    ...(e.WEBHOOK_FALLBACK_AFTER_CHECKS !== undefined && { webhookFallbackAfterChecks: e.WEBHOOK_FALLBACK_AFTER_CHECKS }),
    ...(e.ALERT_PAYMENT_FAILURES_IN_ROW !== undefined && { paymentFailuresInRow: e.ALERT_PAYMENT_FAILURES_IN_ROW }),
    ...(e.ALERT_PAYMENT_FAILURE_RATE !== undefined && { paymentFailureRatePercent: e.ALERT_PAYMENT_FAILURE_RATE }),
    ...(e.ALERT_PAYMENT_MIN_PAYMENTS !== undefined && { paymentFailureMinPayments: e.ALERT_PAYMENT_MIN_PAYMENTS }),
    ...(e.ALERT_PAYMENT_WINDOW_MS !== undefined && { paymentFailureWindowMs: e.ALERT_PAYMENT_WINDOW_MS }),
    // Platform alerts: thresholds and intervals.
    ...platformAlertsOf(e),
    // ---- owner bot
    ownerBotMode: e.OWNER_BOT_MODE,
    // ---- offsite backups
    ...offsiteBackupOf(e),
    // ---- backups
    backupKey: e.BACKUP_KEY,
    backupDir: e.BACKUP_DIR,
    // ---- WhatsApp pacing
    ...whatsappPacingOf(e),
    // ---- backup schedule
    backupSchedule: {
      ...(e.BACKUP_CRON !== "off" && { cron: e.BACKUP_CRON }),
      timeZone: e.BACKUP_TIMEZONE,
      keep: { daily: e.BACKUP_KEEP_DAILY ?? 7, weekly: e.BACKUP_KEEP_WEEKLY ?? 4, monthly: e.BACKUP_KEEP_MONTHLY ?? 6 },
      maxAgeHours: e.BACKUP_MAX_AGE_HOURS ?? 26,
      ...(e.BACKUP_SCRATCH_URI !== undefined && { scratchUri: e.BACKUP_SCRATCH_URI }),
      ...(e.BACKUP_ENV_FILE !== undefined && { envFile: e.BACKUP_ENV_FILE }),
    },
    // ---- WhatsApp
    whatsappWebUrl: e.WHATSAPP_WEB_URL,
    ...(e.WHATSAPP_SESSION_LEASE_MS !== undefined && { whatsappSessionLeaseMs: e.WHATSAPP_SESSION_LEASE_MS }),
    // ---- broadcasts
    ...broadcastOf(e),
  };
}

function broadcastOf(e: z.output<typeof envSchema>): Pick<Config, "broadcast"> {
  const pace: Record<string, number> = {
    ...(e.BROADCAST_RATE_TELEGRAM !== undefined && { telegram: e.BROADCAST_RATE_TELEGRAM }),
    ...(e.BROADCAST_RATE_WHATSAPP !== undefined && { whatsapp: e.BROADCAST_RATE_WHATSAPP }),
    ...(e.BROADCAST_RATE_DISCORD !== undefined && { discord: e.BROADCAST_RATE_DISCORD }),
  };
  const limits = {
    ...(e.BROADCAST_PER_DAY !== undefined && { perDay: e.BROADCAST_PER_DAY }),
    ...(e.BROADCAST_MAX_RECIPIENTS !== undefined && { maxRecipients: e.BROADCAST_MAX_RECIPIENTS }),
  };
  const set: BroadcastConfig = { ...(Object.keys(pace).length > 0 && { pace }), ...(Object.keys(limits).length > 0 && { limits }) };
  return Object.keys(set).length > 0 ? { broadcast: set } : {};
}

function offsiteBackupOf(e: z.output<typeof envSchema>): Pick<Config, "offsiteBackup"> {
  const { BACKUP_S3_ENDPOINT: endpoint, BACKUP_S3_BUCKET: bucket, BACKUP_S3_ACCESS_KEY_ID: accessKeyId, BACKUP_S3_SECRET_ACCESS_KEY: secretAccessKey } = e;
  if (!endpoint || !bucket || !accessKeyId || !secretAccessKey) return {};
  return {
    offsiteBackup: {
      endpoint,
      bucket,
      prefix: e.BACKUP_S3_PREFIX ?? "niaga/",
      region: e.BACKUP_S3_REGION ?? "us-east-1",
      accessKeyId,
      secretAccessKey,
      forcePathStyle: e.BACKUP_S3_FORCE_PATH_STYLE ?? true,
    },
  };
}

function whatsappPacingOf(e: z.output<typeof envSchema>): Pick<Config, "whatsappPacing"> {
  const set: Partial<PacingOptions> = {
    ...(e.WHATSAPP_GAP_MS !== undefined && { gapMinMs: e.WHATSAPP_GAP_MS.min, gapMaxMs: e.WHATSAPP_GAP_MS.max }),
    ...(e.WHATSAPP_TYPING_MS !== undefined && { typingMinMs: e.WHATSAPP_TYPING_MS.min, typingMaxMs: e.WHATSAPP_TYPING_MS.max }),
    ...(e.WHATSAPP_TYPING_MS_PER_CHAR !== undefined && { typingMsPerChar: e.WHATSAPP_TYPING_MS_PER_CHAR }),
    ...(e.WHATSAPP_WARMUP_DAYS !== undefined && { warmupDays: e.WHATSAPP_WARMUP_DAYS }),
    ...(e.WHATSAPP_WARMUP_FACTOR !== undefined && { warmupFactor: e.WHATSAPP_WARMUP_FACTOR }),
    ...(e.WHATSAPP_SLOW_AFTER_FAILURES !== undefined && { slowAfterFailures: e.WHATSAPP_SLOW_AFTER_FAILURES }),
    ...(e.WHATSAPP_STOP_AFTER_FAILURES !== undefined && { stopAfterFailures: e.WHATSAPP_STOP_AFTER_FAILURES }),
    ...(e.WHATSAPP_RESTRICTION_WINDOW_MS !== undefined && { restrictionWindowMs: e.WHATSAPP_RESTRICTION_WINDOW_MS }),
    ...(e.WHATSAPP_STOP_COOL_DOWN_MS !== undefined && { stopCoolDownMs: e.WHATSAPP_STOP_COOL_DOWN_MS }),
  };
  return Object.keys(set).length > 0 ? { whatsappPacing: set } : {};
}

function platformAlertsOf(e: z.output<typeof envSchema>): Pick<Config, "platformAlerts"> {
  const set: PlatformAlertsConfig = {
    ...(e.ALERT_JOB_FAILURES !== undefined && { jobFailuresInRow: e.ALERT_JOB_FAILURES }),
    ...(e.ALERT_JOB_OVERDUE_MS !== undefined && { jobOverdueAfterMs: e.ALERT_JOB_OVERDUE_MS }),
    ...(e.ALERT_JOB_CHECK_MS !== undefined && { jobCheckEveryMs: e.ALERT_JOB_CHECK_MS }),
    ...(e.ALERT_RESOURCE_CHECK_MS !== undefined && { resourceCheckEveryMs: e.ALERT_RESOURCE_CHECK_MS }),
    ...(e.ALERT_DISK_FREE_MIN_MB !== undefined && { diskFreeMinMb: e.ALERT_DISK_FREE_MIN_MB }),
    ...(e.ALERT_MEMORY_MAX_MB !== undefined && { memoryMaxMb: e.ALERT_MEMORY_MAX_MB }),
    ...(e.ALERT_MEMORY_AVAILABLE_MIN_MB !== undefined && { memoryAvailableMinMb: e.ALERT_MEMORY_AVAILABLE_MIN_MB }),
    ...(e.ALERT_CPU_LOAD_MAX !== undefined && { cpuLoadMax: e.ALERT_CPU_LOAD_MAX }),
    ...(e.ALERT_LOG_DIR_MAX_MB !== undefined && { logDirMaxMb: e.ALERT_LOG_DIR_MAX_MB }),
  };
  return Object.keys(set).length > 0 ? { platformAlerts: set } : {};
}

/**
 * {@link loadConfig} for entry points: a bad configuration prints
 * `niaga: invalid configuration: <message>` on stderr and exits with code 2 — no stack trace,
 * since the fix is in the environment, not the code.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`niaga: invalid configuration: ${error.message}\n`);
    process.exit(2);
  }
}

/** The encryption key, for commands that read or write secrets; throws a {@link ConfigError} when it is not set. */
export function requireEncryptionKey(config: Config): Buffer {
  if (!config.encryptionKey) throw new ConfigError(`ENCRYPTION_KEY: not set; ${ENCRYPTION_KEY_EXPECTS}`);
  return config.encryptionKey;
}

/** The backup key, for `niaga backup`; throws a {@link ConfigError} when it is not set. */
export function requireBackupKey(config: Config): Buffer {
  if (!config.backupKey) throw new ConfigError(`BACKUP_KEY: not set; ${ENCRYPTION_KEY_EXPECTS}, different from ENCRYPTION_KEY`);
  return config.backupKey;
}
