import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ConfigError, loadConfig, requireBackupKey, requireEncryptionKey } from "../../bots/config.ts";
import { redactText } from "../../bots/logger.ts";

const configModule = pathToFileURL(fileURLToPath(new URL("../../bots/config.ts", import.meta.url))).href;
const key = () => randomBytes(32).toString("base64");

function configErrorFor(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(Object.keys(env))} to be rejected`);
}

test("an empty environment starts with documented defaults", () => {
  assert.deepEqual(loadConfig({}), {
    mongodbUri: "mongodb://127.0.0.1:27017/niaga",
    redisUrl: undefined,
    encryptionKey: undefined,
    encryptionKeysOld: [],
    telegramApiRoot: "https://api.telegram.org",
    publicUrl: undefined,
    httpPort: 3000,
    ownerBotToken: undefined,
    ownerChatIds: [],
    discordToken: undefined,
    discordAppId: undefined,
    discordApiRoot: "https://discord.com/api",
    logLevel: "info",
    logDir: undefined,
    defaultLocale: "id",
    metricsToken: undefined,
    metricsListener: undefined,
    nodeEnv: "development",
    ownerBotMode: "polling",
    backupKey: undefined,
    backupDir: "./backups",
    backupSchedule: { cron: "30 2 * * *", timeZone: "Asia/Jakarta", keep: { daily: 7, weekly: 4, monthly: 6 }, maxAgeHours: 26 },
    whatsappWebUrl: "wss://web.whatsapp.com/ws/chat",
  });
});

test("an empty or blank value counts as unset", () => {
  const config = loadConfig({ HTTP_PORT: "", ENCRYPTION_KEY: "  ", REDIS_URL: "", LOG_LEVEL: "" });
  assert.equal(config.httpPort, 3000);
  assert.equal(config.encryptionKey, undefined);
  assert.equal(config.redisUrl, undefined);
  assert.equal(config.logLevel, "info");
});

test("a complete environment is parsed into typed values", () => {
  const current = randomBytes(32);
  const old = [randomBytes(32), randomBytes(32)];
  const config = loadConfig({
    MONGODB_URI: "mongodb+srv://shop:pw@cluster0.example.net/niaga?retryWrites=true",
    REDIS_URL: "rediss://:pw@redis.example.net:6380/0",
    ENCRYPTION_KEY: current.toString("base64"),
    ENCRYPTION_KEYS_OLD: old.map((k) => k.toString("base64")).join(", "),
    TELEGRAM_API_ROOT: "http://127.0.0.1:8081/",
    PUBLIC_URL: "https://shop.example.com/",
    HTTP_PORT: "0",
    OWNER_BOT_TOKEN: "123456789:AAE_abcdefghijklmnopqrstuvwxyz-0123",
    OWNER_CHAT_IDS: "123456789, -1001234567890,",
    DISCORD_TOKEN: "discord.token.value",
    DISCORD_APP_ID: "1122334455667788990",
    LOG_LEVEL: "DEBUG",
    LOG_DIR: "/var/log/niaga",
    DEFAULT_LOCALE: "en",
    NODE_ENV: "production",
  });
  assert.ok(config.encryptionKey?.equals(current));
  assert.deepEqual(config.encryptionKeysOld, old);
  assert.equal(config.telegramApiRoot, "http://127.0.0.1:8081");
  assert.equal(config.publicUrl, "https://shop.example.com");
  assert.equal(config.httpPort, 0);
  assert.deepEqual(config.ownerChatIds, [123456789, -1001234567890]);
  assert.equal(config.logLevel, "debug");
  assert.equal(config.defaultLocale, "en");
  assert.equal(config.nodeEnv, "production");
  assert.equal(requireEncryptionKey(config), config.encryptionKey);
  assert.equal(loadConfig({ POLL_LEASE_MS: "20000" }).pollLeaseMs, 20_000);
  assert.equal(loadConfig({ TELEGRAM_START_CONCURRENCY: "32" }).telegramStartConcurrency, 32);
  assert.equal(loadConfig({}).telegramStartConcurrency, undefined);
  assert.equal(loadConfig({ STORE_FULL_SWEEP_MS: "300000" }).storeFullSweepMs, 300_000);
  assert.equal(loadConfig({ STORE_FULL_SWEEP_MS: "0" }).storeFullSweepMs, 0, "0: never");
  assert.equal(loadConfig({}).storeFullSweepMs, undefined);
});

const malformed: Record<string, string[]> = {
  MONGODB_URI: ["postgres://localhost/niaga", "127.0.0.1:27017", "mongodb://"],
  REDIS_URL: ["http://localhost:6379", "localhost:6379"],
  ENCRYPTION_KEY: ["c2hvcnQ=", randomBytes(31).toString("base64"), randomBytes(33).toString("base64"), "not base64 at all!!", key() + "x"],
  ENCRYPTION_KEYS_OLD: [`${key()},short`],
  TELEGRAM_API_ROOT: ["api.telegram.org", "ftp://api.telegram.org"],
  PUBLIC_URL: ["shop.example.com"],
  HTTP_PORT: ["abc", "-1", "65536", "80.5", "3000x"],
  OWNER_BOT_TOKEN: ["not-a-token", "123456789", "abc:def"],
  OWNER_CHAT_IDS: ["12,abc", "1.5", "99999999999999999999"],
  DISCORD_TOKEN: ["two words"],
  DISCORD_APP_ID: ["app-123", "1234567", "123456789012345678901"],
  DISCORD_API_ROOT: ["discord.com/api", "ws://127.0.0.1:9/api", "https://user:secret@discord.example/api"],
  LOG_LEVEL: ["verbose"],
  DEFAULT_LOCALE: ["fr"],
  METRICS_TOKEN: ["short", "has a space in it somewhere"],
  METRICS_PORT: ["abc", "65536", "-1"],
  POLL_LEASE_MS: ["2999", "15s", "-15000"],
  STORE_FULL_SWEEP_MS: ["999", "10m", "-1"],
  NODE_ENV: ["staging"],
  // Store alerts
  TELEGRAM_UNREACHABLE_AFTER_MS: ["999", "60s"],
  TELEGRAM_START_CONCURRENCY: ["0", "65", "eight", "2.5"],
  WEBHOOK_CHECK_EVERY_MS: ["0", "1m"],
  WEBHOOK_MAX_PENDING: ["0", "many"],
  WEBHOOK_FALLBACK_AFTER_CHECKS: ["0", "101"],
  ALERT_PAYMENT_FAILURES_IN_ROW: ["0", "three"],
  ALERT_PAYMENT_FAILURE_RATE: ["0", "101", "50%"],
  ALERT_PAYMENT_MIN_PAYMENTS: ["0"],
  ALERT_PAYMENT_WINDOW_MS: ["10", "10m"],
  ALERT_JOB_FAILURES: ["0", "three", "2.5"],
  ALERT_JOB_OVERDUE_MS: ["5min", "999", "-1"],
  ALERT_JOB_CHECK_MS: ["abc", "10"],
  ALERT_RESOURCE_CHECK_MS: ["60s", "0"],
  ALERT_DISK_FREE_MIN_MB: ["-5", "lots", "1e3"],
  ALERT_MEMORY_MAX_MB: ["0", "1GB"],
  ALERT_MEMORY_AVAILABLE_MIN_MB: ["-1"],
  ALERT_CPU_LOAD_MAX: ["0", "high"],
  ALERT_LOG_DIR_MAX_MB: ["0", "-10"],
  OWNER_BOT_MODE: ["hook", "both"],
  // Offsite backups
  BACKUP_S3_ENDPOINT: ["s3.example.com", "ftp://s3.example.com", "https://AKID:secret@s3.example.com"],
  BACKUP_S3_BUCKET: ["Niaga_Backups", "ab", "-niaga"],
  BACKUP_S3_PREFIX: ["/niaga/", "has space/"],
  BACKUP_S3_REGION: ["US East", "eu_west"],
  BACKUP_S3_ACCESS_KEY_ID: ["two words"],
  BACKUP_S3_SECRET_ACCESS_KEY: ["short", "has a space in it"],
  BACKUP_S3_FORCE_PATH_STYLE: ["yes", "1"],
  // backups
  BACKUP_KEY: ["c2hvcnQ=", randomBytes(33).toString("base64"), "not base64 at all!!"],
  // backup schedule
  BACKUP_CRON: ["daily", "61 2 * * *", "30 2 * *", "* * * * * *"],
  BACKUP_TIMEZONE: ["Jakarta", "Asia/Nowhere"],
  BACKUP_KEEP_DAILY: ["-1", "seven", "1001"],
  BACKUP_KEEP_WEEKLY: ["4.5"],
  BACKUP_KEEP_MONTHLY: ["many"],
  BACKUP_MAX_AGE_HOURS: ["0", "1.5", "a day"],
  BACKUP_SCRATCH_URI: ["postgres://x/y", "mongodb://127.0.0.1:27017"],
  BACKUP_ENV_FILE: ["/etc/niaga\nniaga.env", "/tmp/\u0007bell"],
  // WhatsApp
  WHATSAPP_WEB_URL: ["https://web.whatsapp.com/ws/chat", "web.whatsapp.com", "ws://user:secret@127.0.0.1:8080/ws"],
  WHATSAPP_SESSION_LEASE_MS: ["1000", "30s", "-5"],
};

for (const [name, values] of Object.entries(malformed)) {
  test(`a malformed ${name} is rejected with a one-line message naming it`, () => {
    for (const value of values) {
      const error = configErrorFor({ [name]: value });
      assert.match(error.message, new RegExp(`^${name}: \\S`), `for ${JSON.stringify(value)}`);
      assert.doesNotMatch(error.message, /\n/);
    }
  });
}

test("Discord needs its token and application id together; a missing one is named on one line", () => {
  const both = loadConfig({ DISCORD_TOKEN: "discord.token.value", DISCORD_APP_ID: "1122334455667788990", DISCORD_API_ROOT: "http://127.0.0.1:8490/api/" });
  assert.equal(both.discordToken, "discord.token.value");
  assert.equal(both.discordAppId, "1122334455667788990");
  assert.equal(both.discordApiRoot, "http://127.0.0.1:8490/api");
  for (const [env, missing] of [
    [{ DISCORD_TOKEN: "discord.token.value" }, "DISCORD_APP_ID"],
    [{ DISCORD_APP_ID: "1122334455667788990" }, "DISCORD_TOKEN"],
  ] as const) {
    const error = configErrorFor(env);
    assert.match(error.message, new RegExp(`^${missing}: not set; Discord needs DISCORD_TOKEN and DISCORD_APP_ID together`));
    assert.doesNotMatch(error.message, /\n|discord\.token\.value/);
  }
  assert.equal(loadConfig({ DISCORD_API_ROOT: "http://127.0.0.1:8490/api" }).discordToken, undefined, "a root alone changes nothing");
});

test("WhatsApp sockets can be pointed at another WebSocket server, and the session lease set", () => {
  const config = loadConfig({ WHATSAPP_WEB_URL: "ws://127.0.0.1:8421/ws/chat", WHATSAPP_SESSION_LEASE_MS: "20000" });
  assert.equal(config.whatsappWebUrl, "ws://127.0.0.1:8421/ws/chat");
  assert.equal(config.whatsappSessionLeaseMs, 20000);
  assert.equal(loadConfig({}).whatsappSessionLeaseMs, undefined);
});

test("the platform alerts' thresholds and intervals are read when set, and absent otherwise", () => {
  assert.equal(loadConfig({}).platformAlerts, undefined);
  assert.deepEqual(loadConfig({ ALERT_JOB_FAILURES: "5", ALERT_JOB_OVERDUE_MS: "600000", ALERT_DISK_FREE_MIN_MB: "0", ALERT_CPU_LOAD_MAX: "1.5", ALERT_LOG_DIR_MAX_MB: "2048" }).platformAlerts, {
    jobFailuresInRow: 5,
    jobOverdueAfterMs: 600_000,
    diskFreeMinMb: 0,
    cpuLoadMax: 1.5,
    logDirMaxMb: 2048,
  });
});

test("an owner bot on a webhook without PUBLIC_URL is refused with a line naming OWNER_BOT_MODE", () => {
  assert.match(configErrorFor({ OWNER_BOT_MODE: "webhook" }).message, /^OWNER_BOT_MODE: webhook needs PUBLIC_URL/);
  assert.equal(loadConfig({ OWNER_BOT_MODE: "webhook", PUBLIC_URL: "https://shop.example.com" }).ownerBotMode, "webhook");
  assert.equal(loadConfig({}).ownerBotMode, "polling");
});

test("metrics can move to their own listener, on 127.0.0.1 unless told otherwise, behind a bearer token", () => {
  const token = randomBytes(24).toString("hex");
  assert.deepEqual(loadConfig({ METRICS_PORT: "9464" }).metricsListener, { host: "127.0.0.1", port: 9464 });
  const config = loadConfig({ METRICS_TOKEN: token, METRICS_PORT: "9464", METRICS_HOST: "10.0.0.5" });
  assert.equal(config.metricsToken, token);
  assert.deepEqual(config.metricsListener, { host: "10.0.0.5", port: 9464 });
  assert.equal(redactText(`Authorization: Bearer ${token}`), "Authorization: Bearer [REDACTED]", "the token never reaches a log");
});

test("a metrics listener that cannot be what was meant is refused with a line naming the variable", () => {
  for (const [env, name] of [
    [{ METRICS_HOST: "127.0.0.1" }, "METRICS_HOST"],
    [{ METRICS_PORT: "9464", METRICS_HOST: "not a host!" }, "METRICS_HOST"],
    [{ METRICS_PORT: "3000" }, "METRICS_PORT"],
    [{ METRICS_PORT: "8080", HTTP_PORT: "8080" }, "METRICS_PORT"],
  ] as const) {
    const error = configErrorFor(env);
    assert.match(error.message, new RegExp(`^${name}: \\S`), JSON.stringify(env));
    assert.doesNotMatch(error.message, /\n/);
  }
});

test("several bad variables are all named on one line", () => {
  const error = configErrorFor({ HTTP_PORT: "x", LOG_LEVEL: "loud", REDIS_URL: "nope" });
  assert.doesNotMatch(error.message, /\n/);
  for (const name of ["HTTP_PORT", "LOG_LEVEL", "REDIS_URL"]) assert.match(error.message, new RegExp(`\\b${name}: `));
});

test("an error never repeats the secret value it rejects", () => {
  // Each value carries a marker that appears nowhere else, so any echo of the value shows up.
  const marker = (name: string) => `Qz${name.replace(/_/g, "")}Marker`;
  const secrets: NodeJS.ProcessEnv = {
    ENCRYPTION_KEY: `${marker("ENCRYPTION_KEY")}-not-base64!`,
    ENCRYPTION_KEYS_OLD: `${key()},${marker("ENCRYPTION_KEYS_OLD")}`,
    OWNER_BOT_TOKEN: `975310:${marker("OWNER_BOT_TOKEN")} with spaces`,
    DISCORD_TOKEN: `${marker("DISCORD_TOKEN")} with spaces`,
    METRICS_TOKEN: `${marker("METRICS_TOKEN")} with spaces`,
    BACKUP_KEY: `${marker("BACKUP_KEY")}-not-base64!`,
    MONGODB_URI: `mysql://admin:${marker("MONGODB_URI")}@db.example.com`,
    REDIS_URL: `http://:${marker("REDIS_URL")}@redis.example.com`,
  };
  const error = configErrorFor(secrets);
  for (const name of Object.keys(secrets)) {
    assert.match(error.message, new RegExp(`\\b${name}: `));
    assert.ok(!error.message.includes(marker(name)), `${name}'s value leaked into: ${error.message}`);
  }
});

test("a BACKUP_KEY equal to ENCRYPTION_KEY is refused; a different one is read, and BACKUP_DIR too", () => {
  const same = key();
  assert.match(configErrorFor({ ENCRYPTION_KEY: same, BACKUP_KEY: same }).message, /^BACKUP_KEY: must differ from ENCRYPTION_KEY/);
  const backup = key();
  const config = loadConfig({ ENCRYPTION_KEY: key(), BACKUP_KEY: backup, BACKUP_DIR: "/var/backups/niaga" });
  assert.equal(requireBackupKey(config).toString("base64"), backup);
  assert.equal(config.backupDir, "/var/backups/niaga");
  assert.throws(() => requireBackupKey(loadConfig({})), (error: unknown) => error instanceof ConfigError && /^BACKUP_KEY: not set/.test(error.message));
});

test("the backup schedule has its defaults, reads what is set, and can be turned off", () => {
  const defaults = loadConfig({}).backupSchedule;
  assert.deepEqual(defaults, { cron: "30 2 * * *", timeZone: "Asia/Jakarta", keep: { daily: 7, weekly: 4, monthly: 6 }, maxAgeHours: 26 });
  const set = loadConfig({
    BACKUP_CRON: "0 */6 * * *",
    BACKUP_TIMEZONE: "Asia/Makassar",
    BACKUP_KEEP_DAILY: "3",
    BACKUP_KEEP_WEEKLY: "0",
    BACKUP_KEEP_MONTHLY: "12",
    BACKUP_MAX_AGE_HOURS: "8",
    BACKUP_SCRATCH_URI: "mongodb://10.0.0.5:27017/scratch",
    BACKUP_ENV_FILE: "/etc/niaga/niaga.env",
  }).backupSchedule;
  assert.deepEqual(set, {
    cron: "0 */6 * * *",
    timeZone: "Asia/Makassar",
    keep: { daily: 3, weekly: 0, monthly: 12 },
    maxAgeHours: 8,
    scratchUri: "mongodb://10.0.0.5:27017/scratch",
    envFile: "/etc/niaga/niaga.env",
  });
  assert.equal(loadConfig({ BACKUP_CRON: "off" }).backupSchedule.cron, undefined);
});

test("a command that needs the encryption key refuses to run without it and says how to make one", () => {
  assert.throws(
    () => requireEncryptionKey(loadConfig({})),
    (error: unknown) =>
      error instanceof ConfigError &&
      /^ENCRYPTION_KEY: /.test(error.message) &&
      error.message.includes("openssl rand -base64 32") &&
      !error.message.includes("\n"),
  );
});

test("a bad variable stops the process with exit code 2 and one stderr line, no stack trace", () => {
  const secret = "123456789:LeakyLeakyLeakyLeakyLeakyLeaky12345 oops";
  const child = spawnSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", `const { loadConfigOrExit } = await import(${JSON.stringify(configModule)}); loadConfigOrExit(); console.log("started");`],
    {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HTTP_PORT: "eighty", OWNER_BOT_TOKEN: secret },
      timeout: 30_000,
    },
  );
  assert.equal(child.status, 2, `stderr: ${child.stderr}`);
  assert.equal(child.stdout, "");
  const lines = child.stderr.split("\n").filter((line) => line !== "");
  assert.equal(lines.length, 1, `stderr was:\n${child.stderr}`);
  assert.match(lines[0], /^niaga: invalid configuration: /);
  assert.match(lines[0], /HTTP_PORT: /);
  assert.match(lines[0], /OWNER_BOT_TOKEN: /);
  assert.doesNotMatch(child.stderr, /\s+at\s|Error:/);
  assert.ok(!child.stderr.includes("LeakyLeaky"));
});

test("secrets read from the environment are masked in logs from then on", () => {
  const discordToken = `discord-${randomBytes(12).toString("hex")}`;
  const mongoPassword = `p@ss-${randomBytes(6).toString("hex")}`;
  const encryptionKey = key();
  loadConfig({
    DISCORD_TOKEN: discordToken,
    DISCORD_APP_ID: "1122334455667788990",
    ENCRYPTION_KEY: encryptionKey,
    MONGODB_URI: `mongodb://niaga:${encodeURIComponent(mongoPassword)}@db1:27017,db2:27017/niaga?replicaSet=rs0`,
  });
  const line = redactText(`token=${discordToken} key=${encryptionKey} password=${mongoPassword}`);
  assert.equal(line, "token=[REDACTED] key=[REDACTED] password=[REDACTED]");
});

// ---- offsite backups
const offsiteEnv = {
  BACKUP_S3_ENDPOINT: "https://s3.eu-central-003.backblazeb2.com/",
  BACKUP_S3_BUCKET: "niaga-backups",
  BACKUP_S3_ACCESS_KEY_ID: "003a1b2c3d4e5f60000000001",
  BACKUP_S3_SECRET_ACCESS_KEY: `K003${randomBytes(12).toString("hex")}`,
};

test("offsite backups are read with their defaults when endpoint, bucket and both keys are set, and absent otherwise", () => {
  assert.deepEqual(loadConfig(offsiteEnv).offsiteBackup, {
    endpoint: "https://s3.eu-central-003.backblazeb2.com",
    bucket: "niaga-backups",
    prefix: "niaga/",
    region: "us-east-1",
    accessKeyId: offsiteEnv.BACKUP_S3_ACCESS_KEY_ID,
    secretAccessKey: offsiteEnv.BACKUP_S3_SECRET_ACCESS_KEY,
    forcePathStyle: true,
  });
  const tuned = loadConfig({ ...offsiteEnv, BACKUP_S3_PREFIX: "shop-a/backups/", BACKUP_S3_REGION: "auto", BACKUP_S3_FORCE_PATH_STYLE: "false" });
  assert.equal(tuned.offsiteBackup?.prefix, "shop-a/backups/");
  assert.equal(tuned.offsiteBackup?.region, "auto");
  assert.equal(tuned.offsiteBackup?.forcePathStyle, false);
  assert.equal("offsiteBackup" in loadConfig({}), false);
});

test("offsite backups half set are refused with one line naming what is missing", () => {
  const partial = configErrorFor({ BACKUP_S3_ENDPOINT: offsiteEnv.BACKUP_S3_ENDPOINT, BACKUP_S3_BUCKET: "niaga-backups" });
  assert.match(partial.message, /^BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY: not set; offsite backups need BACKUP_S3_ENDPOINT, BACKUP_S3_BUCKET, BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY together \(set: BACKUP_S3_ENDPOINT, BACKUP_S3_BUCKET\)$/);
  const onlyPrefix = configErrorFor({ BACKUP_S3_PREFIX: "niaga/" });
  assert.match(onlyPrefix.message, /^BACKUP_S3_ENDPOINT, BACKUP_S3_BUCKET, BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY: not set; /);
  const { BACKUP_S3_SECRET_ACCESS_KEY: _secret, ...withoutSecret } = offsiteEnv;
  const noSecret = configErrorFor(withoutSecret);
  assert.match(noSecret.message, /^BACKUP_S3_SECRET_ACCESS_KEY: not set; /);
  assert.ok(!noSecret.message.includes(offsiteEnv.BACKUP_S3_ACCESS_KEY_ID));
});

test("the offsite backup keys are masked in logs once read", () => {
  loadConfig(offsiteEnv);
  const line = redactText(`id=${offsiteEnv.BACKUP_S3_ACCESS_KEY_ID} secret=${offsiteEnv.BACKUP_S3_SECRET_ACCESS_KEY}`);
  assert.equal(line, "id=[REDACTED] secret=[REDACTED]");
});

// ---- WhatsApp pacing

test("WhatsApp pacing settings are read into the pacer's options when set, and absent otherwise", () => {
  assert.equal(loadConfig({}).whatsappPacing, undefined);
  assert.deepEqual(loadConfig({ WHATSAPP_GAP_MS: "2000-6000" }).whatsappPacing, { gapMinMs: 2000, gapMaxMs: 6000 });
  assert.deepEqual(
    loadConfig({
      WHATSAPP_GAP_MS: "3000",
      WHATSAPP_TYPING_MS: "500 - 2500",
      WHATSAPP_TYPING_MS_PER_CHAR: "0",
      WHATSAPP_WARMUP_DAYS: "14",
      WHATSAPP_WARMUP_FACTOR: "1.5",
      WHATSAPP_SLOW_AFTER_FAILURES: "2",
      WHATSAPP_STOP_AFTER_FAILURES: "4",
      WHATSAPP_RESTRICTION_WINDOW_MS: "300000",
      WHATSAPP_STOP_COOL_DOWN_MS: "86400000",
    }).whatsappPacing,
    {
      gapMinMs: 3000,
      gapMaxMs: 3000,
      typingMinMs: 500,
      typingMaxMs: 2500,
      typingMsPerChar: 0,
      warmupDays: 14,
      warmupFactor: 1.5,
      slowAfterFailures: 2,
      stopAfterFailures: 4,
      restrictionWindowMs: 300_000,
      stopCoolDownMs: 86_400_000,
    },
  );
});

test("bad WhatsApp pacing settings stop the start with one line naming each", () => {
  const malformedPacing: Record<string, string[]> = {
    WHATSAPP_GAP_MS: ["4000-1500", "fast", "1500-", "-1500", "1.5-4", "1500-4000-6000"],
    WHATSAPP_TYPING_MS: ["4000-1000", "1s"],
    WHATSAPP_TYPING_MS_PER_CHAR: ["-1", "1001", "3.5"],
    WHATSAPP_WARMUP_DAYS: ["366", "a week"],
    WHATSAPP_WARMUP_FACTOR: ["0.5", "0", "21", "double"],
    WHATSAPP_SLOW_AFTER_FAILURES: ["0", "many"],
    WHATSAPP_STOP_AFTER_FAILURES: ["0", "-6"],
    WHATSAPP_RESTRICTION_WINDOW_MS: ["999", "10m"],
    WHATSAPP_STOP_COOL_DOWN_MS: ["1000", "forever"],
  };
  for (const [name, values] of Object.entries(malformedPacing)) {
    for (const value of values) {
      const error = configErrorFor({ [name]: value });
      assert.match(error.message, new RegExp(`^${name}: \\S`), `${name}=${JSON.stringify(value)}`);
      assert.doesNotMatch(error.message, /\n|;/);
    }
  }
  assert.match(configErrorFor({ WHATSAPP_STOP_AFTER_FAILURES: "2" }).message, /^WHATSAPP_STOP_AFTER_FAILURES: a number must be slowed before it is stopped: .* \(2\) .* \(3\)$/);
  assert.match(configErrorFor({ WHATSAPP_SLOW_AFTER_FAILURES: "8" }).message, /^WHATSAPP_SLOW_AFTER_FAILURES: .*\(6\) .*\(8\)$/);
});

// ---- broadcasts

test("broadcast paces and the platform's limits per store are read when set, and absent otherwise", () => {
  assert.equal(loadConfig({}).broadcast, undefined);
  assert.deepEqual(loadConfig({ BROADCAST_RATE_TELEGRAM: "20" }).broadcast, { pace: { telegram: 20 } });
  assert.deepEqual(
    loadConfig({ BROADCAST_RATE_TELEGRAM: "25.5", BROADCAST_RATE_WHATSAPP: "0.5", BROADCAST_RATE_DISCORD: "4", BROADCAST_PER_DAY: "0", BROADCAST_MAX_RECIPIENTS: "50000" }).broadcast,
    { pace: { telegram: 25.5, whatsapp: 0.5, discord: 4 }, limits: { perDay: 0, maxRecipients: 50_000 } },
  );
  assert.deepEqual(loadConfig({ BROADCAST_PER_DAY: "5" }).broadcast, { limits: { perDay: 5 } });
});

test("bad broadcast settings stop the start with one line naming each", () => {
  const malformed: Record<string, string[]> = {
    BROADCAST_RATE_TELEGRAM: ["0", "-1", "fast", "1001", "24/s", "0.0001"],
    BROADCAST_RATE_WHATSAPP: ["0", "1,5"],
    BROADCAST_RATE_DISCORD: ["0.000"],
    BROADCAST_PER_DAY: ["-1", "101", "2.5", "lots"],
    BROADCAST_MAX_RECIPIENTS: ["1000001", "20k"],
  };
  for (const [name, values] of Object.entries(malformed)) {
    for (const value of values) {
      const error = configErrorFor({ [name]: value });
      assert.match(error.message, new RegExp(`^${name}: expected `), `${name}=${JSON.stringify(value)}`);
      assert.doesNotMatch(error.message, /\n/);
    }
  }
});
