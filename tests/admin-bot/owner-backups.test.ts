// Backups from the owner bot, through the Telegram emulator, against the platform's real
// BackupService (embedded MongoDB, a local directory, and s3rver as offsite storage): /backup
// makes one with a progress message edited to its result while the bot keeps answering,
// /backups lists it, /verify checks it, /restore shows the plan and replaces the data only
// once confirmed, with maintenance mode on while it runs. Every action is audited.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import mongoose from "mongoose";
import type { Message } from "grammy/types";
import type { OwnerBot } from "../../admin-bot/owner-bot.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import { DATABASE_FILE } from "../../storage/backup/manifest.ts";
import { S3Destination } from "../../storage/backup/s3-destination.ts";
import { BackupService, type Backups } from "../../storage/backup/service.ts";
import { createMongoLeases } from "../../storage/leases.ts";
import { PlatformAudit, Tenant } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { startS3Server, type TestS3Server } from "../support/s3-server.ts";
import { startOwnerBotWorld, type OwnerBotWorld } from "./owner-bot-fixture.ts";

let world: OwnerBotWorld;
let s3: TestS3Server;
let dir: string;
let service: BackupService;
let bot: OwnerBot;
/** Whether maintenance mode was on each time the bot called `restore`. */
const maintenanceAtRestore: boolean[] = [];

before(async () => {
  world = await startOwnerBotWorld();
  s3 = await startS3Server();
  dir = await mkdtemp(join(tmpdir(), "niaga-owner-backups-"));
});
after(async () => {
  await world?.close();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const tg = () => world.stores.tg;
const ask = async (text: string) => (await world.ask(world.owner, text))[0]!;
/** The owner sends `text`; resolves with the bot's first message after it. */
const command = async (text: string): Promise<Message> => {
  const sent = await tg().sendText(world.ownerToken, world.owner, text);
  return tg().waitForSent(world.ownerToken, world.owner, (m) => m.message_id > sent.message_id, 10_000);
};
/** The bot's message `id` once its text matches `done`. */
const finished = (id: number, done: RegExp, timeoutMs = 60_000) => tg().waitForSent(world.ownerToken, world.owner, (m) => m.message_id === id && done.test(m.text ?? ""), timeoutMs);
const edits = (id: number) => tg().calls(world.ownerToken, "editMessageText").filter((c) => Number(c.params.message_id) === id);
const audits = (action: string) => PlatformAudit.find({ action }).sort({ at: 1 }).lean().exec();

describe("backups from the owner bot, without BACKUP_KEY", () => {
  test("each backup command answers one line naming BACKUP_KEY", async () => {
    for (const command of ["/backup", "/backups", "/verify", "/restore niaga-20261202T190000Z-3fa9"]) {
      assert.match(await ask(command), /^Cadangan belum disiapkan di platform ini: setel BACKUP_KEY/, command);
    }
    assert.match(await ask("/help"), /\/restore ID/);
  });
});

describe("backups from the owner bot", () => {
  before(async () => {
    service = new BackupService({
      db: mongoose.connection.db!,
      backupKey: randomBytes(32),
      local: new LocalDestination(join(dir, "backups")),
      offsite: new S3Destination({ endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, ...s3.credentials, forcePathStyle: true, operationTimeoutMs: 20_000 }),
      alerts: world.alerts,
      leases: createMongoLeases(),
    });
    // The real service; `restore` is watched, to see the maintenance switch the moment it starts.
    const watched: Backups = {
      destinations: service.destinations,
      create: (opts) => service.create(opts),
      list: () => service.list(),
      verify: (id, opts) => service.verify(id, opts),
      plan: (id, opts) => service.plan(id, opts),
      async restore(id, opts) {
        maintenanceAtRestore.push((await world.maintenance.current()).on);
        return service.restore(id, opts);
      },
      prune: () => service.prune(),
      check: () => service.check(),
    };
    // The world's bot has no backups; this one, on the same token, takes over.
    await world.bot.stop(2_000);
    bot = world.ownerBot({ backups: watched, progressEveryMs: 300 });
    await bot.start();
    await eventually(() => bot.polling, "the owner bot with backups to poll", { timeoutMs: 15_000 });
    await tg().waitForPoll(world.ownerToken, 10_000);
  });

  test("/backup runs in the background with one progress message edited to its result; /status answers meanwhile; a second /backup is told one runs", async () => {
    await world.stores.createStore({ name: "Toko Asli" });
    // Offsite storage frozen: the backup cannot finish until it thaws.
    process.kill(s3.pid, "SIGSTOP");
    let progress: Message;
    try {
      progress = await command("/backup");
      assert.match(progress.text!, /^💾 Membuat cadangan…\nTahap: memulai$/);
      assert.match(await ask("/status"), /^Niaga /, "the bot answers while the backup runs");
      assert.equal(await ask("/backup"), "Pencadangan, verifikasi atau pemulihan lain sedang berjalan; coba lagi sebentar lagi.");
      const edited = await eventually(() => edits(progress.message_id)[0], "the progress message to be edited while the backup runs", { timeoutMs: 20_000 });
      assert.match(String(edited.params.text), /^💾 Membuat cadangan…\nTahap: /);
      assert.doesNotMatch(tg().sent(world.ownerToken, world.owner).find((m) => m.message_id === progress.message_id)!.text!, /selesai/, "not done while offsite storage is frozen");
    } finally {
      process.kill(s3.pid, "SIGCONT");
    }
    const done = await finished(progress.message_id, /^✅ Cadangan niaga-\S+ selesai/);
    const id = /Cadangan (niaga-\S+) selesai/.exec(done.text!)![1]!;
    assert.match(done.text!, /dokumen dalam \d+ koleksi/);
    assert.match(done.text!, /\n• lokal: /);
    assert.match(done.text!, /\n• offsite: belum diverifikasi/);
    assert.ok(edits(progress.message_id).length >= 2, "the progress message was edited as the work went, then with the result");
    assert.deepEqual((await service.list()).map((b) => b.id), [id]);

    const [entry] = await audits("backup.create");
    assert.equal(entry!.target, id);
    assert.equal(entry!.actor!.userId, String(world.owner.id));
    assert.equal((entry!.after as { outcome: string }).outcome, "ok");
  });

  test("/backups lists each backup, newest first, with its size and each destination's state", async () => {
    const [newest] = await service.list();
    const listed = await ask("/backups");
    assert.match(listed, /^Cadangan 1–1 dari 1 \(terbaru dulu\):/);
    assert.match(listed, new RegExp(`• ${newest!.id}\\n  .+ · [\\d,]+ (KB|MB) · [\\d.]+ dokumen\\n  lokal: belum diverifikasi · offsite: belum diverifikasi`));
    assert.equal(await ask("/backups dua"), "Cara pakai: /backups [halaman]");
  });

  test("/verify checks the newest backup in every destination, and /backups then shows when; an unknown ID gets one line and the usage", async () => {
    const [newest] = await service.list();
    const progress = await command("/verify");
    assert.match(progress.text!, new RegExp(`^🔍 Memeriksa cadangan ${newest!.id}…`));
    const done = await finished(progress.message_id, /^(✅|❌)/);
    assert.equal(done.text, `✅ Cadangan ${newest!.id} lolos pemeriksaan: setiap file utuh, bisa didekripsi, jumlah dokumen cocok.\n• lokal: ok\n• offsite: ok`);
    assert.equal((await audits("backup.verify")).at(-1)!.target, newest!.id);
    assert.match(await ask("/backups"), /lokal: terverifikasi .+ · offsite: terverifikasi /, "the list shows when each copy was verified");

    assert.equal(await ask("/verify niaga-20200101T000000Z-0000"), "Tidak ada cadangan dengan ID niaga-20200101T000000Z-0000. Lihat /backups.\nCara pakai: /verify [ID] (tanpa ID: cadangan terbaru; lihat /backups)");
    assert.equal(await ask("/verify a b"), "Cara pakai: /verify [ID] (tanpa ID: cadangan terbaru; lihat /backups)");
  });

  test("/restore shows the plan; Cancel, or /cancel at the code, changes nothing", async () => {
    const [newest] = await service.list();
    const id = newest!.id;
    const tenants = await Tenant.countDocuments().exec();
    const checking = await command(`/restore ${id}`);
    assert.match(checking.text!, new RegExp(`^🔍 Memeriksa cadangan ${id} sebelum pemulihan…`));
    const plan = await finished(checking.message_id, /^Pulihkan cadangan/);
    assert.match(plan.text!, new RegExp(`\\n• \\d+ koleksi lain, jumlah dokumennya sama: .*tenants \\(${tenants}\\)`));
    assert.match(plan.text!, /mode perawatan aktif/);
    await tg().pressButton(world.ownerToken, world.owner, plan, { text: "Batal" });
    await tg().waitForSent(world.ownerToken, world.owner, (m) => m.message_id > plan.message_id && m.text === "Pemulihan dibatalkan; tidak ada yang diubah.");
    assert.equal(tg().sent(world.ownerToken, world.owner).find((m) => m.message_id === plan.message_id)!.reply_markup, undefined, "the plan's buttons are gone");

    const again = await finished((await command(`/restore ${id}`)).message_id, /^Pulihkan cadangan/);
    await tg().pressButton(world.ownerToken, world.owner, again, { text: "♻️ Pulihkan" });
    await tg().waitForSent(world.ownerToken, world.owner, (m) => m.message_id > again.message_id && /^⚠️ Ini MENGGANTI data/.test(m.text ?? ""));
    assert.equal(await ask("/cancel"), "Pemulihan dibatalkan; tidak ada yang diubah.");
    assert.deepEqual(maintenanceAtRestore, [], "no restore was started");
    assert.deepEqual((await audits("backup.restore-cancel")).map((e) => [e.target, (e.after as { step: string }).step]), [[id, "plan"], [id, "confirm"]]);
    assert.equal(await ask("/restore"), "Cara pakai: /restore ID [local|offsite] (ID dari /backups)");
    assert.equal(await ask("/restore niaga-20200101T000000Z-0000"), "Tidak ada cadangan dengan ID niaga-20200101T000000Z-0000. Lihat /backups.\nCara pakai: /restore ID [local|offsite] (ID dari /backups)");
  });

  test("a stranger gets the one polite line and no backup work", async () => {
    const stranger = tg().user({ first_name: "Orang", language_code: "id" });
    const before = (await service.list()).length;
    for (const typed of ["/backup", "/backups", "/restore x"]) assert.deepEqual(await world.ask(stranger, typed), ["Maaf, bot ini tidak melayani umum."], typed);
    assert.equal((await service.list()).length, before);
    // The owner hears of it; the notice first, so it does not come between a command and its answer.
    await tg().waitForSent(world.ownerToken, world.owner, (m) => (m.text ?? "").includes(`(${stranger.id})`));
  });

  test("/restore replaces the data only once the code is typed, with maintenance on while it runs and off after; audited", async () => {
    const [newest] = await service.list();
    const id = newest!.id;
    const asli = await Tenant.findOne({ name: "Toko Asli" }).exec();
    await Tenant.updateOne({ _id: asli!._id }, { $set: { name: "Toko Diubah" } }).exec();
    const later = await world.stores.createStore({ name: "Toko Sesudah" });

    const plan = await finished((await command(`/restore ${id}`)).message_id, /^Pulihkan cadangan/);
    assert.match(plan.text!, /\n• tenants: 2 dokumen sekarang → 1 dari cadangan\n/);
    await tg().pressButton(world.ownerToken, world.owner, plan, { text: "♻️ Pulihkan" });
    await tg().waitForSent(world.ownerToken, world.owner, (m) => m.message_id > plan.message_id && /ketik [0-9a-z]{4}/.test(m.text ?? ""));
    assert.equal(await ask("zzzz"), `Bukan itu. Ketik ${id.slice(-4)} untuk memulihkan, atau /cancel untuk batal.`);
    assert.equal((await Tenant.findById(asli!._id).lean().exec())!.name, "Toko Diubah", "nothing restored before the code");

    const restoring = await command(id.slice(-4).toUpperCase());
    assert.match(restoring.text!, new RegExp(`^♻️ Memulihkan cadangan ${id}…`));
    const done = await finished(restoring.message_id, /^(✅|❌)/);
    assert.match(done.text!, new RegExp(`^✅ Cadangan ${id} dipulihkan: \\d+ koleksi diganti`));
    assert.match(done.text!, /\nMulai ulang platform sekarang/);
    assert.match(done.text!, /\nMode perawatan dimatikan lagi/);
    assert.deepEqual(maintenanceAtRestore, [true], "maintenance was on when the restore began");
    assert.equal((await world.maintenance.current()).on, false, "and off after");
    assert.equal((await Tenant.findById(asli!._id).lean().exec())!.name, "Toko Asli", "the data is the backup's again");
    assert.equal(await Tenant.exists({ slug: later.slug }).exec(), null, "a store made after the backup is gone");

    const restored = await audits("backup.restore");
    assert.deepEqual(restored.map((e) => [e.target, (e.after as { outcome: string }).outcome]), [[id, "ok"]]);
    assert.equal(restored[0]!.actor!.userId, String(world.owner.id));
  });

  test("a backup changed on disk after its plan was shown: the restore fails naming the file and changes nothing, maintenance stays as it was; /verify reports it", async () => {
    const [newest] = await service.list();
    const id = newest!.id;
    const asli = await Tenant.findOne({ name: "Toko Asli" }).exec();
    await Tenant.updateOne({ _id: asli!._id }, { $set: { name: "Toko Sekarang" } }).exec();
    await world.maintenance.set({ on: true, text: "Perbaikan jaringan" }, "test");

    const plan = await finished((await command(`/restore ${id} local`)).message_id, /^Pulihkan cadangan/);
    await tg().pressButton(world.ownerToken, world.owner, plan, { text: "♻️ Pulihkan" });
    await tg().waitForSent(world.ownerToken, world.owner, (m) => m.message_id > plan.message_id && /ketik [0-9a-z]{4}/.test(m.text ?? ""));
    await writeFile(join(dir, "backups", id, DATABASE_FILE), randomBytes(64));
    const done = await finished((await command(id.slice(-4))).message_id, /^(✅|❌)/);
    assert.match(done.text!, new RegExp(`^❌ Pemulihan cadangan ${id} gagal: ${DATABASE_FILE.replace(/\./g, "\\.")} terpotong`));
    assert.match(done.text!, /\nMode perawatan tetap AKTIF seperti sebelum pemulihan\.$/);
    assert.deepEqual(maintenanceAtRestore.slice(-1), [true]);
    const maintenance = await world.maintenance.current();
    assert.deepEqual({ on: maintenance.on, text: maintenance.text }, { on: true, text: "Perbaikan jaringan" }, "maintenance as it was, text and all");
    assert.equal((await Tenant.findById(asli!._id).lean().exec())!.name, "Toko Sekarang", "nothing was restored");
    assert.deepEqual((await audits("backup.restore")).map((e) => (e.after as { outcome: string }).outcome), ["ok", "failed"]);
    await world.maintenance.set({ on: false }, "test");

    const verified = await finished((await command(`/verify ${id}`)).message_id, /^(✅|❌)/);
    assert.match(verified.text!, new RegExp(`^❌ Cadangan ${id} GAGAL pemeriksaan\\.\\n• lokal: ${DATABASE_FILE.replace(/\./g, "\\.")} terpotong`));
    assert.match(verified.text!, /\n• offsite: ok$/);
    const refused = await finished((await command(`/restore ${id} local`)).message_id, /^(Pulihkan|❌)/);
    assert.match(refused.text!, new RegExp(`^❌ Cadangan ${id} tidak bisa dipulihkan: `));
  });
});
