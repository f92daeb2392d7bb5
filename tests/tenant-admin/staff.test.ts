// The store's team from the chat: adding by user id, single-use invites, removing, and a
// store that always keeps an owner.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { memberAudience } from "../../flows/engine/index.ts";
import { StaffInvite } from "../../flows/tenant-admin/invites.ts";
import { AuditLog, Member } from "../../storage/models/index.ts";
import { adminEngine, oid, person, seedShop } from "./admin-fixture.ts";
import { useTestDatabase } from "../support/mongo.ts";

useTestDatabase("tenant_admin_staff");

const team = async (tenantId: string) =>
  (await Member.find({ tenantId: oid(tenantId) } as never).lean().exec()).map((m) => `${m.channel}:${m.channelUserId}:${m.role}`).sort();

/** The invite token in an invite reply. */
const tokenIn = (reply: string) => /inv_[A-Za-z0-9_-]+/.exec(reply)?.[0] ?? assert.fail(`no token in: ${reply}`);

describe("adding and removing team members", () => {
  test("an owner adds staff by user id, changes a role, lists the team and removes someone", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    assert.deepEqual(await owner.say("/tambahstaf staf 5551 Budi Santoso"), ["✅ 5551 (console) ditambahkan sebagai staf."]);
    assert.deepEqual(await owner.say("/addstaff admin telegram:123456"), ["✅ 123456 (telegram) ditambahkan sebagai admin."]);
    assert.deepEqual(await owner.say("/tambahstaf admin 5551"), ["✅ Peran 5551 (console) diubah: staf → admin."]);
    assert.deepEqual(await owner.say("/tambahstaf admin 5551"), ["5551 (console) memang sudah admin."]);
    const [list] = await owner.say("/staf");
    assert.equal(
      list,
      "👥 Tim toko (3):\n• – — pemilik — console owner-1\n• – — admin — telegram 123456\n• Budi Santoso — admin — console 5551\n\nTambah: /tambahstaf PERAN ID · Undang: /undang PERAN · Hapus: /hapusstaf ID",
    );
    assert.deepEqual(await owner.say("/hapusstaf telegram:123456"), ["✅ 123456 (telegram, admin) dihapus dari tim."]);
    assert.deepEqual(await team(shop.id), ["console:5551:admin", "console:owner-1:owner"]);
    const actions = (await AuditLog.find({ tenantId: oid(shop.id) }).sort({ at: 1 }).lean().exec()).map((e) => `${e.action} ${e.target?.id}`);
    assert.deepEqual(actions, ["staff.add console:5551", "staff.add telegram:123456", "staff.role console:5551", "staff.remove telegram:123456"]);
  });

  test("the last owner can be neither removed nor demoted; with a second owner it can", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    const lastOwner = "⛔ Toko harus punya minimal satu pemilik. Tambahkan pemilik lain dulu sebelum menghapus atau mengubah pemilik terakhir.";
    assert.deepEqual(await owner.say("/hapusstaf owner-1"), [lastOwner]);
    assert.deepEqual(await owner.say("/tambahstaf admin owner-1"), [lastOwner]);
    await owner.say("/tambahstaf pemilik owner-2");
    assert.deepEqual(await owner.say("/hapusstaf owner-1"), ["✅ owner-1 (console, pemilik) dihapus dari tim."]);
    assert.deepEqual(await team(shop.id), ["console:owner-2:owner"]);
  });

  test("malformed staff commands show their usage", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahstaf");
    assert.deepEqual(owner.keys, ["admin.usage.staff_add"]);
    await owner.say("/tambahstaf bos 123");
    assert.deepEqual(owner.keys, ["admin.usage.staff_add"]);
    await owner.say("/tambahstaf staf fax:123");
    assert.deepEqual(owner.keys, ["admin.usage.staff_add"]);
    await owner.say("/hapusstaf");
    assert.deepEqual(owner.keys, ["admin.usage.staff_remove"]);
    await owner.say("/hapusstaf 1 2");
    assert.deepEqual(owner.keys, ["admin.usage.staff_remove"]);
    await owner.say("/undang raja");
    assert.deepEqual(owner.keys, ["admin.usage.staff_invite"]);
    await owner.say("/gabung");
    assert.deepEqual(owner.keys, ["admin.usage.staff_join"]);
  });

  test("a seller of store A naming store B's team member by id touches nothing in B", async () => {
    const shopA = await seedShop({ members: { "owner-a": "owner" } });
    const shopB = await seedShop({ members: { "owner-b": "owner", "staf-b": "staff" } });
    const { engine } = adminEngine();
    const ownerA = person(engine, shopA, "owner-a");
    assert.deepEqual(await ownerA.say("/hapusstaf staf-b"), ["staf-b (console) bukan anggota tim toko ini. Cek daftar dengan /staf."]);
    await ownerA.say("/hapusstaf owner-b");
    assert.deepEqual(ownerA.keys, ["admin.staff.not_found"]);
    assert.deepEqual(await team(shopB.id), ["console:owner-b:owner", "console:staf-b:staff"]);
    const [list] = await ownerA.say("/staf");
    assert.ok(!list.includes("staf-b") && !list.includes("owner-b"));
  });
});

describe("invites", () => {
  test("an invite link works once: the invited person joins with its role and becomes a seller", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" }, botUsername: "toko_uji_bot" });
    // A clock in the future: invites are purged by a TTL index on real time a week after they expire.
    const { engine } = adminEngine({ clock: () => new Date("2030-03-01T10:00:00Z") });
    const owner = person(engine, shop, "owner-1");
    const [invite] = await owner.say("/undang admin");
    assert.match(
      invite,
      /^✉️ Undangan sebagai admin siap, berlaku sampai 03\/03\/2030,? 17[.:]00 dan hanya bisa dipakai sekali\.\nKirim link ini ke orangnya: https:\/\/t\.me\/toko_uji_bot\?start=inv_[A-Za-z0-9_-]{24}\n\(atau minta dia mengetik \/gabung inv_[A-Za-z0-9_-]{24} di bot ini\)$/,
    );
    const token = tokenIn(invite);
    const stored = await StaffInvite.findOne({ tenantId: oid(shop.id) }).lean().exec();
    assert.ok(stored && !JSON.stringify(stored).includes(token), "only a hash of the token is stored");
    const audit = await AuditLog.findOne({ tenantId: oid(shop.id), action: "staff.invite" }).lean().exec();
    assert.ok(audit && !JSON.stringify(audit).includes(token), "the audit log holds no usable token");

    const newcomer = person(engine, shop, "calon-1");
    await newcomer.say("/stok");
    assert.deepEqual(newcomer.keys, ["engine.unknown_command"]);
    assert.deepEqual(await newcomer.say(`/gabung ${token}`), ["🎉 Selamat bergabung! Kamu sekarang admin di toko ini. Ketik /admin untuk mulai."]);
    await newcomer.say("/stok");
    assert.deepEqual(newcomer.keys, ["admin.stock.summary"]);
    assert.deepEqual(await newcomer.say(`/gabung ${token}`), ["Kamu sudah terdaftar sebagai admin di toko ini. Ketik /admin untuk mulai."]);

    const latecomer = person(engine, shop, "calon-2");
    assert.deepEqual(await latecomer.say(`/join ${token}`), ["Undangan ini sudah dipakai. Minta undangan baru ke pemilik toko."]);
    assert.deepEqual(await team(shop.id), ["console:calon-1:admin", "console:owner-1:owner"]);
  });

  test("with the platform's remembered audience, someone who joins or is removed is answered in the new role from the next message", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" }, botUsername: "toko_uji_bot" });
    const { engine } = adminEngine({ clock: () => new Date("2030-03-01T10:00:00Z") }, undefined, undefined, memberAudience());
    const owner = person(engine, shop, "owner-1");
    const token = tokenIn((await owner.say("/undang staff"))[0]);
    const newcomer = person(engine, shop, "calon-9");
    await newcomer.say("/stok");
    assert.deepEqual(newcomer.keys, ["engine.unknown_command"], "a customer, and remembered as one");
    await newcomer.say(`/gabung ${token}`);
    await newcomer.say("/stok");
    assert.deepEqual(newcomer.keys, ["admin.stock.summary"], "a seller at once, not ten seconds later");
    assert.match((await owner.say("/hapusstaf console:calon-9"))[0], /dihapus dari tim/);
    await newcomer.say("/stok");
    assert.deepEqual(newcomer.keys, ["engine.unknown_command"], "a customer again at once");
  });

  test("an expired invite is refused; without a Telegram bot the invite is a command", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    let now = new Date("2030-03-01T10:00:00Z");
    const { engine } = adminEngine({ clock: () => now, inviteTtlMs: 48 * 3_600_000 });
    const [invite] = await person(engine, shop, "owner-1").say("/undang");
    assert.match(invite, /sebagai staf[\s\S]*Minta orangnya mengetik perintah ini di toko: \/gabung inv_/);
    now = new Date("2030-03-03T10:00:01Z");
    const late = person(engine, shop, "calon-3");
    assert.deepEqual(await late.say(`/gabung ${tokenIn(invite)}`), ["Undangan ini sudah kedaluwarsa. Minta undangan baru ke pemilik toko."]);
    assert.deepEqual(await team(shop.id), ["console:owner-1:owner"]);
  });

  test("another store's invite, or a made-up one, does not open this store", async () => {
    const shopA = await seedShop({ members: { "owner-a": "owner" } });
    const shopB = await seedShop({ members: { "owner-b": "owner" } });
    const { engine } = adminEngine();
    const [inviteB] = await person(engine, shopB, "owner-b").say("/undang pemilik");
    const intruder = person(engine, shopA, "penyusup");
    assert.deepEqual(await intruder.say(`/gabung ${tokenIn(inviteB)}`), ["Kode undangan tidak dikenal. Cek lagi link atau kodenya, atau minta undangan baru."]);
    await intruder.say("/gabung inv_AAAAAAAAAAAAAAAAAAAAAAAA");
    assert.deepEqual(intruder.keys, ["admin.staff.invite_unknown"]);
    await intruder.say("/gabung hadiah");
    assert.deepEqual(intruder.keys, ["admin.staff.invite_unknown"]);
    assert.deepEqual(await team(shopA.id), ["console:owner-a:owner"]);
    // B's invite is still unused: trying it in A did not burn it.
    assert.deepEqual(await person(engine, shopB, "rekan-b").say(`/gabung ${tokenIn(inviteB)}`), ["🎉 Selamat bergabung! Kamu sekarang pemilik di toko ini. Ketik /admin untuk mulai."]);
  });

  test("two people opening the same invite at once: exactly one joins", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const token = tokenIn((await person(engine, shop, "owner-1").say("/undang"))[0]);
    const people = Array.from({ length: 6 }, (_, i) => person(engine, shop, `rebutan-${i}`));
    const answers = await Promise.all(people.map((p) => p.say(`/gabung ${token}`)));
    assert.equal(answers.filter(([a]) => a.startsWith("🎉")).length, 1);
    assert.equal(answers.filter(([a]) => a.startsWith("Undangan ini sudah dipakai")).length, 5);
    assert.equal((await team(shop.id)).length, 2);
  });

  test("the invite's deep link, /start inv_…, joins like /gabung; a used or expired one is refused; other payloads greet", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" }, botUsername: "toko_uji_bot" });
    let now = new Date("2030-03-01T10:00:00Z");
    const { engine } = adminEngine({ clock: () => now });
    const owner = person(engine, shop, "owner-1");
    const token = tokenIn((await owner.say("/undang admin"))[0]);
    const newcomer = person(engine, shop, "calon-1");
    assert.deepEqual(await newcomer.say(`/start ${token}`), ["🎉 Selamat bergabung! Kamu sekarang admin di toko ini. Ketik /admin untuk mulai."]);
    await newcomer.say("/stok");
    assert.deepEqual(newcomer.keys, ["admin.stock.summary"]);
    assert.deepEqual(await person(engine, shop, "calon-2").say(`/start ${token}`), ["Undangan ini sudah dipakai. Minta undangan baru ke pemilik toko."]);

    const second = tokenIn((await owner.say("/undang"))[0]);
    now = new Date("2030-03-04T10:00:00Z");
    assert.deepEqual(await person(engine, shop, "calon-3").say(`/start ${second}`), ["Undangan ini sudah kedaluwarsa. Minta undangan baru ke pemilik toko."]);

    const shopper = person(engine, shop, "pembeli-1");
    await shopper.say("/start promo-7");
    assert.deepEqual(shopper.keys, ["catalog.welcome"]);
    assert.deepEqual(shopper.choiceIds, ["catalog", "orders", "help", "language"]);
    await shopper.say("/start inv_");
    assert.deepEqual(shopper.keys, ["admin.staff.invite_unknown"], "a payload with the invite prefix is the invite flow's to judge");
    assert.deepEqual(await team(shop.id), ["console:calon-1:admin", "console:owner-1:owner"]);
  });

  test("the membership hook hears of every member added, promoted, removed or joined, and of nothing else", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const heard: string[] = [];
    const { engine } = adminEngine({ onMembershipChanged: ({ tenantId, channel, userId }) => void heard.push(`${tenantId === shop.id ? "shop" : tenantId} ${channel}:${userId}`) });
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahstaf staf telegram:123456");
    await owner.say("/tambahstaf staf telegram:123456");
    await owner.say("/tambahstaf admin telegram:123456");
    await owner.say("/hapusstaf telegram:123456");
    await owner.say("/hapusstaf telegram:123456");
    await owner.say("/hapusstaf owner-1");
    const token = tokenIn((await owner.say("/undang"))[0]);
    await person(engine, shop, "calon-1").say(`/start ${token}`);
    await person(engine, shop, "calon-2").say(`/gabung ${token}`);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(heard, ["shop telegram:123456", "shop telegram:123456", "shop telegram:123456", "shop console:calon-1"]);
  });

  test("a failing membership hook is logged; the seller still gets the answer", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine, logs } = adminEngine({ onMembershipChanged: () => Promise.reject(new Error("telegram down")) });
    assert.deepEqual(await person(engine, shop, "owner-1").say("/tambahstaf staf 777"), ["✅ 777 (console) ditambahkan sebagai staf."]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(logs.some((line) => line.level === "warn" && line.message === "onMembershipChanged failed" && line.meta.error === "telegram down"), JSON.stringify(logs));
  });

  test("guessing invite codes is rate limited", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const guesser = person(engine, shop, "penebak");
    for (let i = 0; i < 5; i++) await guesser.say(`/gabung inv_${String(i).repeat(24)}`);
    await guesser.say("/gabung inv_ZZZZZZZZZZZZZZZZZZZZZZZZ");
    assert.deepEqual(guesser.keys, ["admin.rate_limited"]);
  });
});
