// Resource alerts (admin-bot/resource-watch.ts): real readings of a real tiny filesystem where
// mounting one is permitted, injected readings for memory; real OwnerAlerts on the embedded MongoDB.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { OwnerAlerts } from "../../admin-bot/owner-alerts.ts";
import { watchResources } from "../../admin-bot/resource-watch.ts";
import { initI18n } from "../../locales/i18n.ts";
import { OwnerAlertRecord } from "../../storage/models/index.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { useTestDatabase } from "../support/mongo.ts";
import { mountTinyDisk, type TinyDisk } from "../support/tiny-disk.ts";
import { alertText, forgetOwnerAlerts } from "../support/owner-alerts.ts";

const db = useTestDatabase("resource_watch");
const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const textOf = alertText;
let disk: TinyDisk | undefined;

before(async () => {
  await initI18n();
  disk = mountTinyDisk(1024);
});
after(() => disk?.unmount());
beforeEach(async () => {
  db();
  await forgetOwnerAlerts();
});

describe("resource alerts", () => {
  test("a full disk and memory over its threshold each raise one alert, however many samples see it, and one recovery each", async (t) => {
    const { outbox, channel } = recordingOutbox({ channel: "owner" });
    const alerts = new OwnerAlerts({ log, outbox, ownerChatIds: [7], locale: "id" });
    let rssMb = 200;
    let freeMb: number | undefined;
    if (!disk) t.diagnostic("tmpfs not mountable here: the disk reading is injected");
    const watch = watchResources({
      alerts,
      log,
      diskPath: disk?.dir ?? tmpdir(),
      thresholds: { diskFreeMinMb: 0.5, memoryMaxMb: 300, cpuLoadMax: 1e6, memoryAvailableMinMb: 0 },
      measure: { memoryMb: () => rssMb, ...(!disk && { diskFreeMb: async () => freeMb ?? 100 }) },
    });
    const first = await watch.sample();
    assert.deepEqual(first.over, []);
    assert.ok(first.diskFreeMb! > 0.5, `a fresh 1 MB disk has room: ${first.diskFreeMb}`);

    if (disk) disk.fill();
    else freeMb = 0;
    rssMb = 900;
    for (let i = 0; i < 3; i++) await watch.sample();
    assert.deepEqual(watch.resources()!.over, ["disk", "memory"]);
    assert.ok(watch.resources()!.diskFreeMb! < 0.5);
    await alerts.flush();
    assert.equal(channel.sends.length, 2, "one alert per resource");
    const texts = channel.sends.map((s) => textOf(s.outbounds[0]!, "id")).join("\n");
    assert.match(texts, /Sisa disk di .* tinggal 0\.\d MB/);
    assert.match(texts, /memakai 900 MB memori \(peringatan di atas 300 MB\)/);
    assert.match(textOf(channel.sends[0]!.outbounds[0]!, "en"), /Platform · Resources running low/);

    rssMb = 250;
    await watch.sample();
    await watch.sample();
    await alerts.flush();
    assert.equal(channel.sends.length, 3, "memory recovered once; the disk is still full");
    assert.match(textOf(channel.sends[2]!.outbounds[0]!, "en"), /recovered[\s\S]*now: 250/);
    const open = await OwnerAlertRecord.find({ state: "open" }).lean().exec();
    assert.deepEqual(open.map((a) => a.key), ["resource:platform:disk"]);
  });

  test("the size of LOG_DIR is measured with a bound on how much of it is walked", async () => {
    const dir = mkdtempSync(join(tmpdir(), "niaga-logdir-"));
    try {
      for (let i = 0; i < 20; i++) writeFileSync(join(dir, `niaga-${i}.log`), Buffer.alloc(100 * 1024));
      const alerts = new OwnerAlerts({ log, ownerChatIds: [], locale: "en" });
      const all = await watchResources({ alerts, log, diskPath: dir, logDir: dir, thresholds: { logDirMaxMb: 1, cpuLoadMax: 1e6, memoryMaxMb: 1e6, memoryAvailableMinMb: 0, diskFreeMinMb: 0 } }).sample();
      assert.ok(Math.abs(all.logDirMb! - 2000 / 1024) < 0.01, `20 × 100 KB: ${all.logDirMb}`);
      assert.deepEqual(all.over, ["log-dir"]);
      const bounded = await watchResources({ alerts, log, diskPath: dir, logDir: dir, maxLogFiles: 5, thresholds: { logDirMaxMb: 1 } }).sample();
      assert.ok(Math.abs(bounded.logDirMb! - 500 / 1024) < 0.01, `only 5 files looked at: ${bounded.logDirMb}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a reading that does not answer in time is left out, and the others still count", async () => {
    const alerts = new OwnerAlerts({ log, ownerChatIds: [], locale: "en" });
    const watch = watchResources({
      alerts,
      log,
      diskPath: tmpdir(),
      measureTimeoutMs: 50,
      thresholds: { memoryMaxMb: 1 },
      measure: { diskFreeMb: () => new Promise(() => undefined) },
    });
    const readings = await watch.sample();
    assert.equal(readings.diskFreeMb, undefined);
    assert.ok(readings.over.includes("memory"));
    assert.ok(!readings.over.includes("disk"));
  });
});
