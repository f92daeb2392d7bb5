// The restore drill, as a test: a store with products, stock, a delivered order whose SNK
// window is still open and an unpaid one, running on a real `niaga start` with customers on
// the Telegram emulator. It is backed up to both destinations (a local directory and offsite
// S3, a real S3-compatible server on 127.0.0.1), the server is lost (kill -9), the database
// dropped and the local backups gone; it is restored from offsite and started again. Then:
// the counts match the manifest, customers can buy, nothing delivered is delivered again,
// the pending SNK jobs each fire once, the unpaid order can still be paid. A second test
// restores with one collection skipped, for each collection, and shows the drill notices.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose from "mongoose";
import type { Db } from "mongodb";
import type { User } from "grammy/types";
import { JOBS_COLLECTION } from "../../bots/scheduler.ts";
import { ORDER_JOBS } from "../../flows/ordering/order-jobs.ts";
import { Order } from "../../flows/ordering/order.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import type { Manifest } from "../../storage/backup/manifest.ts";
import { readManifest } from "../../storage/backup/read-backup.ts";
import { S3Destination } from "../../storage/backup/s3-destination.ts";
import { BackupService } from "../../storage/backup/service.ts";
import { createMongoLeases } from "../../storage/leases.ts";
import { eventually } from "../support/eventually.ts";
import { freePort } from "../support/free-port.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { killIfRunning, type Niaga, startNiagaProcess } from "../support/niaga-process.ts";
import { startS3Server, type TestS3Server } from "../support/s3-server.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { jobsOf, restoredDatabaseProblems, skippingCollection, type DrillRecord } from "./drill-checks.ts";
import {
  availableStock, countContaining, type DrillShop, goodsArrive, orderOf, orderThroughBot, payInBrowser, REPLY_MS, seedDrillShop, settle, words,
} from "./drill-shop.ts";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const encryptionKey = randomBytes(32);
const backupKey = randomBytes(32);

let db: TestDatabase;
let tg: TelegramEmulator;
let s3: TestS3Server;
let dir: string;
let shop: DrillShop;
let platformEnv: Record<string, string>;
let backupEnv: Record<string, string>;
let platform: Niaga | undefined;
/** What the drill saw just before the backup. */
let record: DrillRecord;

const liveDb = () => mongoose.connection.db!;
const offsite = () => new S3Destination({ endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, ...s3.credentials, forcePathStyle: true });

before(async () => {
  await initI18n();
  db = await openTestDatabase("backup_drill", { encryptionKey });
  tg = await startTelegramEmulator();
  s3 = await startS3Server();
  dir = await mkdtemp(join(tmpdir(), "niaga-drill-"));
  shop = await seedDrillShop(tg, tg.user({ first_name: "Pemilik", language_code: "id" }));
  const port = await freePort();
  platformEnv = {
    MONGODB_URI: db.uri,
    ENCRYPTION_KEY: encryptionKey.toString("base64"),
    TELEGRAM_API_ROOT: tg.apiRoot,
    HTTP_PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    // The lost server's polling lease is in the backup: the restored platform waits this long for it to lapse.
    POLL_LEASE_MS: "3000",
    LOG_LEVEL: "info",
    NODE_ENV: "test",
  };
  backupEnv = {
    ...platformEnv,
    DEFAULT_LOCALE: "en",
    BACKUP_KEY: backupKey.toString("base64"),
    BACKUP_DIR: join(dir, "backups"),
    BACKUP_S3_ENDPOINT: s3.endpoint,
    BACKUP_S3_BUCKET: s3.bucket,
    BACKUP_S3_REGION: s3.region,
    BACKUP_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    // s3rver checks the key id only; any secret of a valid shape is accepted.
    BACKUP_S3_SECRET_ACCESS_KEY: "unchecked-by-s3rver",
  };
});

after(async () => {
  killIfRunning(platform);
  await platform?.exited;
  await tg.stop();
  await s3.stop();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** The platform's backups as a machine with `backupEnv` sees them: the local directory and offsite S3. */
function backups(): BackupService {
  return new BackupService({ db: liveDb(), backupKey, local: new LocalDestination(backupEnv.BACKUP_DIR), offsite: offsite(), leases: createMongoLeases(), log: quiet });
}

/** A backup to both destinations, then verified in each; its id. */
async function backUp(): Promise<string> {
  const made = await backups().create({ trigger: "cli" });
  assert.deepEqual([made.destinations.local?.state, made.destinations.offsite?.state], ["stored", "stored"]);
  const verified = await backups().verify(made.id);
  assert.ok(verified.ok && verified.destinations.local?.ok && verified.destinations.offsite?.ok, JSON.stringify(verified));
  return made.id;
}

/** Restores `id` from offsite (never the local copy) into the live database, or through `into`. */
async function restoreFromOffsite(id: string, into?: Db): Promise<void> {
  await backups().restore(id, { from: "offsite", ...(into && { into }) });
}

/** Moves an order's SNK times and its SNK jobs earlier by `ms`, as if that much time had passed. */
async function timePasses(orderId: DrillRecord["delivered"]["id"], ms: number): Promise<void> {
  const order = await Order.findOne({ tenantId: shop.tenant, _id: orderId }).lean().exec();
  const earlier = (d: Date) => new Date(d.getTime() - ms);
  await Order.updateOne({ tenantId: shop.tenant, _id: orderId }, { $set: { "snk.remindAt": earlier(order!.snk!.remindAt!), "snk.windowEndsAt": earlier(order!.snk!.windowEndsAt!) } }).exec();
  for (const job of await jobsOf(liveDb(), orderId)) {
    if ((job.name === ORDER_JOBS.snkReminder || job.name === ORDER_JOBS.snkClose) && job.nextRunAt) {
      await liveDb().collection(JOBS_COLLECTION).updateOne({ _id: job._id }, { $set: { nextRunAt: earlier(job.nextRunAt) } });
    }
  }
}

/** The restored job `name` of the order ran: it is gone (removed on completion) or has no next run. */
async function jobDone(orderId: DrillRecord["delivered"]["id"], name: string): Promise<void> {
  const restored = record.delivered.jobs.find((j) => j.name === name)!;
  await eventually(async () => {
    const job = (await jobsOf(liveDb(), orderId)).find((j) => j._id.equals(restored._id));
    return !job || !job.nextRunAt;
  }, `the ${name} job done`);
}

describe("the restore drill: back up, lose the server, restore from offsite, serve", () => {
  let id = "";
  let manifest: Manifest;
  let ana: User;
  let anaPayload = "";
  let budi: User;
  let budiPay = { payUrl: "", payload: "" };

  it("a store that was backed up to both destinations, then lost, comes back whole from offsite and serves", { timeout: 120_000 }, async () => {
    ({ platform } = await startNiagaProcess(platformEnv));

    // Ana buys and pays: delivered, her SNK window open with its reminder and close jobs pending.
    ana = tg.user({ first_name: "Ana", language_code: "id" });
    const bought = await orderThroughBot(tg, shop, ana);
    anaPayload = bought.payload;
    await payInBrowser(bought.payUrl);
    await goodsArrive(tg, shop, ana, anaPayload);
    // Budi orders and has not paid yet: his stock held, his expiry job pending.
    budi = tg.user({ first_name: "Budi", language_code: "id" });
    budiPay = await orderThroughBot(tg, shop, budi);
    await settle(tg, shop, ana);
    assert.equal(countContaining(tg, shop, ana, anaPayload), 1);

    const delivered = (await orderOf(shop, ana))!;
    const unpaid = (await orderOf(shop, budi))!;
    assert.equal(delivered.status, "delivered");
    assert.equal(unpaid.status, "pending_payment");
    record = {
      tenant: shop.tenant,
      delivered: { id: delivered._id, code: delivered.code, jobs: await jobsOf(liveDb(), delivered._id) },
      unpaid: { id: unpaid._id, code: unpaid.code, jobs: await jobsOf(liveDb(), unpaid._id) },
      available: await availableStock(shop),
    };
    assert.deepEqual(record.delivered.jobs.map((j) => j.name), [ORDER_JOBS.expireUnpaidOrder, ORDER_JOBS.snkClose, ORDER_JOBS.snkReminder]);
    assert.deepEqual(record.unpaid.jobs.map((j) => j.name), [ORDER_JOBS.expireUnpaidOrder]);
    assert.equal(record.available, 4);

    // The scheduled backup, while the platform serves.
    id = await backUp();
    assert.deepEqual((await offsite().list()).map((b) => b.id), [id]);

    // The server is lost: the process dies, the database and the local backups are gone.
    platform.child.kill("SIGKILL");
    await platform.exited;
    await liveDb().dropDatabase();
    assert.deepEqual(await liveDb().listCollections().toArray(), []);
    await rename(backupEnv.BACKUP_DIR, `${backupEnv.BACKUP_DIR}.lost`);

    await restoreFromOffsite(id);
    manifest = await readManifest(offsite(), id, backupKey);
    assert.ok(Object.keys(manifest.collections).length >= 8, `collections: ${Object.keys(manifest.collections).join(", ")}`);
    assert.deepEqual(await restoredDatabaseProblems(liveDb(), manifest, record), []);

    ({ platform } = await startNiagaProcess(platformEnv));

    // Time passes to the reminder: the restored reminder job fires, once.
    const order = (await Order.findOne({ tenantId: shop.tenant, _id: delivered._id }).lean().exec())!;
    await timePasses(delivered._id, order.snk!.remindAt!.getTime() - Date.now() + 1_000);
    const windowEnds = (await Order.findOne({ tenantId: shop.tenant, _id: delivered._id }).lean().exec())!.snk!.windowEndsAt!;
    const reminder = t("id", "ordering.snk_reminder", { code: delivered.code, store: shop.name, windowEnds: formatWhen(windowEnds, { locale: "id", timeZone: "Asia/Jakarta" }) });
    await tg.waitForSent(shop.token, ana, (m) => words(m) === reminder, REPLY_MS);
    await jobDone(delivered._id, ORDER_JOBS.snkReminder);
    // And on to the window's end: the restored close job fires, once, and the order is complete.
    await timePasses(delivered._id, windowEnds.getTime() - Date.now() + 1_000);
    const closed = t("id", "ordering.snk_closed", { code: delivered.code, store: shop.name });
    await tg.waitForSent(shop.token, ana, (m) => words(m) === closed, REPLY_MS);
    await jobDone(delivered._id, ORDER_JOBS.snkClose);
    const completed = await Order.findOne({ tenantId: shop.tenant, _id: delivered._id }).lean().exec();
    assert.equal(completed?.status, "completed");
    assert.equal(completed?.snk?.state, "confirmed");

    // Ana presses Pay again on her old link: paid already, nothing delivered again.
    const again = await fetch(bought.payUrl, { method: "POST", redirect: "manual" });
    assert.equal(again.status, 303);
    assert.equal(new URL(again.headers.get("location") ?? "", bought.payUrl).searchParams.get("r"), "paid");

    // Budi pays the order he placed before the loss: the pay link still works, the goods come.
    assert.equal((await orderOf(shop, budi))?.status, "pending_payment");
    await payInBrowser(budiPay.payUrl);
    await goodsArrive(tg, shop, budi, budiPay.payload);

    // A new customer buys from the restored store.
    const citra = tg.user({ first_name: "Citra", language_code: "id" });
    const fresh = await orderThroughBot(tg, shop, citra);
    assert.ok(![anaPayload, budiPay.payload].includes(fresh.payload), "a new order gets stock nobody bought");
    await payInBrowser(fresh.payUrl);
    await goodsArrive(tg, shop, citra, fresh.payload);

    await Promise.all([ana, budi, citra].map((customer) => settle(tg, shop, customer)));
    assert.equal(countContaining(tg, shop, ana, anaPayload), 1, "Ana's goods came once, before the loss, and never again");
    assert.equal(tg.sent(shop.token, ana).filter((m) => words(m) === reminder).length, 1, "one SNK reminder");
    assert.equal(tg.sent(shop.token, ana).filter((m) => words(m) === closed).length, 1, "one notice that the window closed");
    assert.equal(countContaining(tg, shop, budi, budiPay.payload), 1);
    assert.equal(countContaining(tg, shop, citra, fresh.payload), 1);
    assert.equal(await availableStock(shop), record.available - 1);
    assert.deepEqual([(await orderOf(shop, budi))?.status, (await orderOf(shop, citra))?.status], ["delivered", "delivered"]);

    platform.child.kill("SIGTERM");
    await platform.exited;
  });

  it("a restore that skips any one collection is caught by the drill's checks", { timeout: 120_000 }, async () => {
    assert.ok(id && record, "runs after the drill");
    killIfRunning(platform);
    await platform?.exited;
    for (const name of Object.keys(manifest.collections).sort()) {
      await liveDb().dropDatabase();
      await restoreFromOffsite(id, skippingCollection(liveDb(), name));
      const problems = await restoredDatabaseProblems(liveDb(), manifest, record);
      assert.ok(problems.some((p) => p.startsWith(`${name}: `)), `skipping ${name} went unnoticed: ${problems.join("; ")}`);
      assert.ok(problems.filter((p) => p.includes(": missing (")).every((p) => p.startsWith(`${name}: `)), `only ${name} is missing: ${problems.join("; ")}`);
      // Beyond the counts, the drill's own records notice what the store lost.
      const alsoSeen = { orders: `the delivered order ${record.delivered.code} is missing`, [JOBS_COLLECTION]: `the ${ORDER_JOBS.snkReminder} job of ${record.delivered.code} is missing`, stock_items: "on sale" }[name];
      if (alsoSeen) assert.ok(problems.some((p) => p.includes(alsoSeen)), `${name}: ${problems.join("; ")}`);
    }
    // The same restore, skipping nothing, passes the same checks.
    await liveDb().dropDatabase();
    await restoreFromOffsite(id, skippingCollection(liveDb(), "no-such-collection"));
    assert.deepEqual(await restoredDatabaseProblems(liveDb(), manifest, record), []);
  });
});
