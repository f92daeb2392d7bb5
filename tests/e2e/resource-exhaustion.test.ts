// Resource-exhaustion drill (seed 004 §7): the disk under LOG_DIR fills up and the process's
// memory is over its threshold while `niaga start` serves customers. The owner hears of each
// once; the log files fail and logging goes on to stderr; customers keep being answered.
// The disk is a real 2 MB tmpfs where mounting is permitted (root); elsewhere a plain folder
// with a free-disk threshold above any real disk stands in for it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Message, User } from "grammy/types";
import { killIfRunning, startNiagaProcess, type LogLine, type Niaga } from "../support/niaga-process.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { seedStore } from "../support/stores.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { mountTinyDisk, type TinyDisk } from "../support/tiny-disk.ts";

const SLUG = "toko-penuh";
const STORE = "Toko Penuh";

let db: TestDatabase;
let tg: TelegramEmulator;
let token: string;
let platform: Niaga;
let disk: TinyDisk | undefined;
let logDir: string;

const greeting = (after: number) => (m: Message) => m.message_id > after && (m.text ?? "").includes(STORE);
const ownerAlerts = (resource: string, notice: "raised" | "resolved") =>
  platform.lines.filter((l: LogLine) => l.alert === "resource" && l.notice === notice && (l.message ?? "").startsWith("owner alert:") && (l.message ?? "").includes(resource));

before(async () => {
  db = await openTestDatabase("resource_drill");
  tg = await startTelegramEmulator();
  ({ token } = tg.bot());
  await seedStore({ slug: SLUG, name: STORE, locale: "id", telegram: { token } });
  disk = mountTinyDisk(2048);
  // Full before the start: the first line written to the log file fails (a disk that fills up
  // later fails the same way, at whichever write finds no room).
  disk?.fill();
  logDir = disk?.dir ?? mkdtempSync(join(tmpdir(), "niaga-drill-logs-"));
  ({ platform } = await startNiagaProcess({
    MONGODB_URI: db.uri,
    ENCRYPTION_KEY: db.encryptionKey.toString("base64"),
    TELEGRAM_API_ROOT: tg.apiRoot,
    HTTP_PORT: "0",
    LOG_LEVEL: "info",
    LOG_DIR: logDir,
    NODE_ENV: "test",
    ALERT_RESOURCE_CHECK_MS: "1000",
    // Half a megabyte left of the tiny disk's 2 MB means full. Without it, any real disk is "full".
    ALERT_DISK_FREE_MIN_MB: disk ? "0.5" : "999999999",
    // Any running process is over 1 MB.
    ALERT_MEMORY_MAX_MB: "1",
    ALERT_MEMORY_AVAILABLE_MIN_MB: "0",
    ALERT_CPU_LOAD_MAX: "1000",
  }));
});

after(async () => {
  killIfRunning(platform);
  await platform?.exited;
  await tg?.stop();
  await db?.close();
  if (disk) disk.unmount();
  else rmSync(logDir, { recursive: true, force: true });
});

describe("a full disk under LOG_DIR and memory over its threshold", () => {
  it("raise one alert each, the log files fail without stopping anything, and customers are still answered", async (t) => {
    if (!disk) t.diagnostic("tmpfs not mountable here: a threshold above the real disk stands in for a full one");
    const ani: User = tg.user({ first_name: "Ani", language_code: "id" });
    const first = await tg.sendCommand(token, ani, "/start");
    await tg.waitForSent(token, ani, greeting(first.message_id), 15_000);
    await platform.waitForLog((l) => l.alert === "resource" && (l.message ?? "").includes("MB of memory"), "the memory alert", 20_000);
    await platform.waitForLog((l) => l.alert === "resource" && (l.message ?? "").includes("free on the disk"), "the disk alert", 20_000);
    if (disk) await platform.waitForLog((l) => (l.message ?? "").startsWith("niaga: cannot write log files"), "the log files failing", 20_000);

    // Customers are answered while the disk is full, and the console still has every line.
    for (const name of ["Beni", "Citra", "Dodi"]) {
      const customer: User = tg.user({ first_name: name, language_code: "id" });
      const asked = await tg.sendCommand(token, customer, "/start");
      await tg.waitForSent(token, customer, greeting(asked.message_id), 15_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // three more samples
    assert.equal(platform.child.exitCode, null, "still running");
    assert.equal(ownerAlerts("MB of memory", "raised").length, 1, "one memory alert however many samples see it");
    assert.equal(ownerAlerts("free on the disk", "raised").length, 1, "one disk alert");
    assert.match(ownerAlerts("free on the disk", "raised")[0]!.message!, new RegExp(`Platform · Resources running low\\nOnly \\d+\\.\\d MB free on the disk of ${logDir}`));
    if (disk) {
      assert.equal(platform.stderr.split("\n").filter((line) => line.startsWith("niaga: cannot write log files")).length, 1, "said once");
      // Room again: the owner hears the disk recovered.
      for (const name of readdirSync(disk.dir)) if (name.startsWith("fill-") || name.startsWith("crumb-")) rmSync(join(disk.dir, name));
      await platform.waitForLog((l) => l.alert === "resource" && l.notice === "resolved" && (l.message ?? "").includes("free on the disk"), "the disk recovering", 20_000);
    }
  });
});
