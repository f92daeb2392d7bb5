// The owner bot's commands through the Telegram emulator, acting on real running store bots:
// each works, refuses bad input with its usage, names an unknown store clearly, and leaves an
// audit entry with the owner as actor.
import assert from "node:assert/strict";
import mongoose from "mongoose";
import { after, before, describe, test } from "node:test";
import { Order } from "../../flows/ordering/order.ts";
import { JOBS_COLLECTION } from "../../bots/scheduler.ts";
import { AuditLog, OwnerAlertRecord, PlatformAudit, Tenant } from "../../storage/models/index.ts";
import { alertKey } from "../../admin-bot/owner-alerts.ts";
import { startOwnerBotWorld, type OwnerBotWorld } from "./owner-bot-fixture.ts";

let world: OwnerBotWorld;
before(async () => {
  world = await startOwnerBotWorld();
});
after(async () => {
  await world?.close();
});

const ask = async (text: string) => (await world.ask(world.owner, text))[0]!;
const ownerActor = () => ({ channel: "owner", userId: String(world.owner.id) });
const storeAudit = async (tenantId: string, action: string) => AuditLog.findOne({ tenantId, action }).sort({ at: -1 }).lean().exec();

describe("the owner bot's commands", () => {
  test("wrong arguments get the command's usage; an unknown store gets one clear line", async () => {
    const usages: Array<[string, RegExp]> = [
      ["/store", /^Cara pakai: \/store SLUG$/],
      ["/store a b", /^Cara pakai: \/store SLUG$/],
      ["/suspend", /^Cara pakai: \/suspend SLUG/],
      ["/resume", /^Cara pakai: \/resume SLUG/],
      ["/restart", /^Cara pakai: \/restart SLUG/],
      ["/mode", /^Cara pakai: \/mode SLUG polling\|webhook/],
      ["/mode toko-a pigeon", /^Cara pakai: \/mode/],
      ["/maintenance", /^Cara pakai: \/maintenance on/],
      ["/maintenance maybe", /^Cara pakai: \/maintenance on/],
      ["/maintenance off now", /^Cara pakai: \/maintenance on/],
      ["/alerts snooze", /^Cara pakai: \/alerts/],
      ["/alerts mute job-failing", /^Cara pakai: \/alerts/],
      ["/jobs rerun", /^Cara pakai: \/jobs/],
      ["/stores dua", /^Cara pakai: \/stores/],
      ["/limit", /^Cara pakai: \/limit SLUG/],
      ["/limit toko-a perday", /^Cara pakai: \/limit/],
      ["/limit toko-a perday 101", /^Cara pakai: \/limit/],
      ["/limit toko-a weekly 3", /^Cara pakai: \/limit/],
      ["/limit toko-a perday 2 perday 3", /^Cara pakai: \/limit/],
    ];
    for (const [command, usage] of usages) assert.match(await ask(command), usage, command);
    for (const command of ["/store toko-hilang", "/suspend toko-hilang", "/resume toko-hilang", "/restart toko-hilang", "/mode toko-hilang polling", "/limit toko-hilang perday 2"]) {
      assert.equal(await ask(command), 'Tidak ada toko dengan slug "toko-hilang". Lihat /stores.', command);
    }
    assert.match(await ask("/alerts mute hujan 2h"), /^Jenis alert tidak dikenal: hujan/);
    assert.match(await ask("/alerts mute job-failing 2tahun"), /^Durasi tidak valid: 2tahun/);
    assert.match(await ask("/help"), /\/maintenance on\|off/);
    assert.match(await ask("/entah"), /^Perintah tidak dikenal/);
  });

  test("suspend, resume, restart and mode act on the store's running bot, and each is audited with the owner as actor", async () => {
    const { stores } = world;
    const { tg } = stores;
    const store = await stores.createStore({ name: "Toko Anyelir" });
    await stores.bots.start(store.id);
    await tg.waitForPoll(store.token, 10_000);

    assert.equal(await ask(`/suspend ${store.slug} belum bayar sewa`), `Toko ${store.slug} ditangguhkan; bot-nya berhenti.`);
    assert.equal(stores.bots.status(store.id), undefined, "its bot stopped");
    assert.equal((await Tenant.findById(store.id).lean().exec())!.status, "suspended");
    const suspended = await storeAudit(store.id, "tenant.suspend");
    assert.deepEqual(suspended!.actor, { ...ownerActor(), name: "Pemilik" });
    assert.equal(suspended!.where, "owner-bot");
    assert.deepEqual(suspended!.after, { status: "suspended", reason: "belum bayar sewa" });
    assert.equal(await ask(`/suspend ${store.slug}`), `Toko ${store.slug} sudah ditangguhkan.`);
    assert.match(await ask(`/restart ${store.slug}`), /ditangguhkan; aktifkan dulu dengan \/resume/);

    assert.equal(await ask(`/resume ${store.slug}`), `Toko ${store.slug} aktif lagi; bot: jalan.`);
    assert.equal(stores.bots.status(store.id)?.mode, "polling");
    assert.ok(await storeAudit(store.id, "tenant.resume"));

    // A restart from what Telegram already has makes no getMe; starting to poll removes any webhook first.
    const deletes = tg.calls(store.token, "deleteWebhook").length;
    assert.equal(await ask(`/restart ${store.slug}`), `Bot toko ${store.slug} dimulai ulang: jalan (polling).`);
    assert.ok(tg.calls(store.token, "deleteWebhook").length > deletes, "the bot started again");
    assert.ok(await storeAudit(store.id, "tenant.restart-bot"));

    assert.equal(await ask(`/mode ${store.slug} webhook`), `Toko ${store.slug} sekarang memakai webhook; bot: jalan.`);
    assert.equal(stores.bots.status(store.id)?.mode, "webhook");
    await tg.waitForCall(store.token, "setWebhook");
    assert.deepEqual((await storeAudit(store.id, "tenant.telegram-mode"))!.after, { telegramMode: "webhook" });
    assert.equal(await ask(`/mode ${store.slug} polling`), `Toko ${store.slug} sekarang memakai polling; bot: jalan.`);
    assert.equal(stores.bots.status(store.id)?.mode, "polling");
    await stores.bots.stop(store.id);
  });

  test("/limit shows a store's broadcast limits, sets its own or the platform's again, each change audited with the owner as actor", async () => {
    const store = await world.stores.createStore({ name: "Toko Siaran" });
    assert.equal(
      await ask(`/limit ${store.slug}`),
      `Batas siaran ${store.slug}:\n• 3 siaran per hari (bawaan platform)\n• paling banyak 20.000 penerima per siaran (bawaan platform)`,
    );

    assert.equal(
      await ask(`/limit ${store.slug} perday 10 recipients 500`),
      `Batas siaran ${store.slug} diubah.\nBatas siaran ${store.slug}:\n• 10 siaran per hari (khusus toko ini)\n• paling banyak 500 penerima per siaran (khusus toko ini)`,
    );
    assert.deepEqual((await Tenant.findById(store.id).lean())?.limits?.broadcast, { perDay: 10, maxRecipients: 500 });
    const set = (await storeAudit(store.id, "tenant.update"))!;
    assert.deepEqual([set.actor, set.before, set.after], [
      { ...ownerActor(), name: "Pemilik" }, { broadcastsPerDay: "default", broadcastRecipients: "default" }, { broadcastsPerDay: 10, broadcastRecipients: 500 },
    ]);

    assert.match(await ask(`/limit ${store.slug} perday default`), /• 3 siaran per hari \(bawaan platform\)\n• paling banyak 500 penerima per siaran \(khusus toko ini\)$/);
    assert.deepEqual((await Tenant.findById(store.id).lean())?.limits?.broadcast, { maxRecipients: 500 });
    const back = (await storeAudit(store.id, "tenant.update"))!;
    assert.deepEqual([back.before, back.after], [{ broadcastsPerDay: 10 }, { broadcastsPerDay: "default" }]);
  });

  test("/store shows the store's state, its recent problems and its last orders; /stores pages the list", async () => {
    const { stores } = world;
    const store = await stores.createStore({ name: "Toko Dahlia" });
    await world.alerts.raise({ kind: "payments-failing", store: { tenantId: store.id, slug: store.slug, name: store.name }, params: { gateway: "simulator", count: 5, window: "5 berturut-turut" }, key: alertKey("payments-failing", store.slug) });
    await world.stores.tg.waitForSent(world.ownerToken, world.owner, (m) => (m.text ?? "").includes(`(${store.slug})`));
    const customer = { channel: "telegram", channelUserId: "7", chatId: "7" };
    const items = [{ productId: new mongoose.Types.ObjectId(), code: "V10", name: "Voucher 10K", unitPrice: 10_000, quantity: 1 }];
    for (let i = 1; i <= 6; i++) {
      await Order.create({ tenantId: store.id, code: `INV-00000${i}`, customer, items, total: 10_000 * i, currency: "IDR", status: i === 6 ? "paid" : "delivered", expiresAt: new Date(Date.now() + 60_000), createdAt: new Date(Date.now() - (10 - i) * 60_000) });
    }
    const shown = await ask(`/store ${store.slug}`);
    assert.match(shown, new RegExp(`^Toko Dahlia \\(${store.slug}\\)`));
    assert.match(shown, /Status: aktif/);
    assert.match(shown, /Pembayaran gagal beruntun ×1 \(terbuka\)/);
    assert.match(shown, /INV-000006 · paid/);
    assert.equal((shown.match(/INV-0000/g) ?? []).length, 5, "the last five orders");
    assert.doesNotMatch(shown, /INV-000001/);

    const page = await ask("/stores");
    assert.match(page, /^Toko 1–/);
    assert.match(page, new RegExp(`${store.slug} — Toko Dahlia: aktif, bot berhenti`));
  });

  test("/maintenance on and off is saved for every instance and audited on the platform", async () => {
    assert.match(await ask("/maintenance on Kami kembali jam 10 pagi"), /Mode perawatan AKTIF\. Pelanggan menerima:\nKami kembali jam 10 pagi/);
    assert.deepEqual({ on: (await world.maintenance.current()).on, text: (await world.maintenance.current()).text }, { on: true, text: "Kami kembali jam 10 pagi" });
    assert.match(await ask("/status"), /Mode perawatan AKTIF sejak/);
    assert.equal(await ask("/maintenance off"), "Mode perawatan dimatikan; pelanggan dilayani lagi.");
    assert.equal((await world.maintenance.current()).on, false);
    const entries = await PlatformAudit.find({ action: /^maintenance\./ }).sort({ at: 1 }).lean().exec();
    assert.deepEqual(entries.map((e) => e.action), ["maintenance.on", "maintenance.off"]);
    assert.equal(entries[0]!.actor!.userId, String(world.owner.id));
    assert.equal(entries[0]!.actor!.channel, "owner");
  });

  test("/alerts lists recent alerts, mutes a kind for a while and unmutes it, audited on the platform", async () => {
    await world.alerts.raise({ kind: "job-overdue", params: { count: 1, jobs: "expire-orders", minutes: 12 }, key: alertKey("job-overdue", undefined, "expire-orders") });
    // The notice first, so it does not come between a command and its answer.
    await world.stores.tg.waitForSent(world.ownerToken, world.owner, (m) => /expire-orders/.test(m.text ?? ""));
    assert.match(await ask("/alerts"), /Alert terbaru:[\s\S]*Platform · /);
    assert.match(await ask("/alerts mute job-overdue 2h"), /^Alert job-overdue dibisukan sampai /);
    assert.deepEqual((await world.alerts.mutes()).map((m) => m.kind), ["job-overdue"]);
    assert.match(await ask("/alerts"), /Dibisukan:\n• job-overdue sampai/);
    assert.equal(await ask("/alerts unmute job-overdue"), "Alert job-overdue tidak dibisukan lagi.");
    assert.deepEqual(await world.alerts.mutes(), []);
    const entries = await PlatformAudit.find({ action: /^alerts\./ }).sort({ at: 1 }).lean().exec();
    assert.deepEqual(entries.map((e) => [e.action, e.target, e.actor!.userId]), [["alerts.mute", "job-overdue", String(world.owner.id)], ["alerts.unmute", "job-overdue", String(world.owner.id)]]);
    assert.ok(await OwnerAlertRecord.exists({ kind: "job-overdue" }));
  });

  test("/jobs lists failed and overdue jobs and /jobs retry schedules one to run now, audited", async () => {
    const jobs = mongoose.connection.db!.collection(JOBS_COLLECTION);
    const hourAgo = new Date(Date.now() - 3_600_000);
    const failed = await jobs.insertOne({ name: "deliver-order", data: {}, type: "normal", priority: 0, nextRunAt: null, lastRunAt: hourAgo, lastFinishedAt: hourAgo, failedAt: hourAgo, failCount: 3, failReason: "stock sold out", lockedAt: null });
    const overdue = await jobs.insertOne({ name: "expire-orders", data: {}, type: "single", priority: 0, nextRunAt: hourAgo, lockedAt: null });
    const listed = await ask("/jobs");
    assert.match(listed, new RegExp(`${failed.insertedId} · deliver-order gagal 3× · .*: stock sold out`));
    assert.match(listed, new RegExp(`${overdue.insertedId} · expire-orders terlambat sejak`));
    assert.match(await ask("/status"), /Job: 1 jatuh tempo, 0 berjalan, 1 gagal, 1 terlambat/);
    assert.equal(await ask(`/jobs retry ${failed.insertedId}`), `Job ${failed.insertedId} dijadwalkan jalan sekarang.`);
    const retried = await jobs.findOne({ _id: failed.insertedId });
    assert.ok(retried!.nextRunAt instanceof Date && retried!.nextRunAt.getTime() > hourAgo.getTime());
    assert.equal(await ask("/jobs retry 64f000000000000000000000"), "Tidak ada job dengan ID 64f000000000000000000000.");
    assert.equal((await PlatformAudit.findOne({ action: "job.retry" }).lean().exec())!.target, String(failed.insertedId));
    await jobs.deleteMany({});
  });

  test("/newstore creates a store step by step: its token checked with Telegram and sealed, its bot started, audited", async () => {
    const { stores } = world;
    const { tg } = stores;
    const taken = await stores.createStore({ name: "Toko Lama" });
    const { token } = tg.bot();
    assert.match(await ask("/newstore"), /^Toko baru\. Slug-nya apa\?/);
    assert.match(await ask("Bukan Slug!"), /^Slug itu tidak bisa dipakai/);
    assert.equal(await ask(taken.slug), `Slug ${taken.slug} sudah dipakai toko lain. Pilih yang lain.`);
    const slug = `toko-baru-${Date.now().toString(36)}`;
    assert.equal(await ask(slug), "Nama toko (yang dilihat pelanggan)?");
    assert.match(await ask("Toko Baru Jaya"), /^Bahasa toko/);
    assert.equal(await ask("jawa"), "Ketik id atau en.");
    assert.match(await ask("id"), /^Token bot Telegram/);
    assert.match(await ask("123456:bukan-token-yang-dikenal-telegram-sama-sekali"), /^Token itu tidak bisa dipakai: .*Kirim token lain, atau \/cancel\.$/);
    const confirm = await ask(token);
    assert.match(confirm, new RegExp(`^Buat toko ini\\?\\nSlug: ${slug}\\nNama: Toko Baru Jaya\\nBahasa: id\\nBot: @`));
    assert.ok(!tg.sent(world.ownerToken, world.owner).some((m) => (m.text ?? "").includes(token)), "the token is never echoed");
    assert.ok(tg.calls(world.ownerToken, "deleteMessage").length >= 2, "the messages holding tokens are deleted");
    assert.equal(await ask("mungkin"), "Ketik ya untuk membuat toko, atau /cancel untuk batal.");
    assert.match(await ask("ya"), new RegExp(`^Toko ${slug} dibuat\\. Bot @\\w+: jalan\\.$`));

    const tenant = await Tenant.findOne({ slug }).exec();
    assert.ok(tenant);
    assert.equal(tenant.name, "Toko Baru Jaya");
    assert.ok(!JSON.stringify(tenant.toObject()).includes(token), "the token is stored sealed");
    assert.equal(stores.bots.status(String(tenant._id))?.mode, "polling", "its bot runs");
    const created = await storeAudit(String(tenant._id), "tenant.create");
    assert.equal(created!.actor!.userId, String(world.owner.id));
    assert.equal(created!.actor!.channel, "owner");
    await stores.bots.stop(String(tenant._id));
  });

  test("/cancel leaves the wizard and nothing is created", async () => {
    assert.match(await ask("/newstore"), /^Toko baru/);
    const slug = `toko-batal-${Date.now().toString(36)}`;
    await ask(slug);
    assert.equal(await ask("/cancel"), "Dibatalkan; tidak ada yang dibuat.");
    assert.equal(await Tenant.exists({ slug }).exec(), null);
    assert.match(await ask("/status"), /^Niaga/, "commands work again");
    assert.equal(await ask("/cancel"), "Tidak ada yang perlu dibatalkan.");
  });
});
