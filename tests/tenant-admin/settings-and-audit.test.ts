// Store settings from the chat, and the audit trail every change leaves.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { storeSettings } from "../../flows/ordering/store-settings.ts";
import { recordAudit } from "../../storage/models/index.ts";
import { AuditLog, Tenant } from "../../storage/models/index.ts";
import { adminEngine, oid, person, seedShop } from "./admin-fixture.ts";
import { useTestDatabase } from "../support/mongo.ts";

useTestDatabase("tenant_admin_settings");

describe("/pengaturan", () => {
  test("shows the current settings and changes each one, validated and audited", async () => {
    const shop = await seedShop({ name: "Toko Lama", members: { "admin-1": "admin" } });
    const { engine } = adminEngine();
    const admin = person(engine, shop, "admin-1");
    const [current] = await admin.say("/pengaturan");
    assert.equal(
      current,
      "⚙️ Pengaturan toko sekarang:\n• Nama toko: Toko Lama\n• Bahasa: Bahasa Indonesia\n• SNK: (kosong)\n• Instruksi pembayaran: (kosong)\n• Batas waktu bayar: 60 menit\n• Masa SNK setelah barang dikirim: 24 jam",
    );
    assert.deepEqual(admin.choiceIds, ["name", "language", "snk", "payment", "timeout", "window", "done"]);

    const change = async (setting: string, ...answers: string[]) => {
      await admin.say("/pengaturan");
      await admin.press(setting);
      let last: string[] = [];
      for (const answer of answers) last = await admin.say(answer);
      return last;
    };
    assert.deepEqual(await change("name", "Toko Baru Jaya"), ["✅ Nama toko disimpan: Toko Baru Jaya"]);
    assert.deepEqual(await change("snk", "Garansi 7 hari.\nTidak ada refund setelah akun dipakai."), ["✅ SNK (syarat & ketentuan) disimpan: Garansi 7 hari.\nTidak ada refund setelah akun dipakai."]);
    assert.deepEqual(await change("payment", "BCA 123 a.n. Sari"), ["✅ Instruksi pembayaran disimpan: BCA 123 a.n. Sari"]);
    assert.deepEqual(await change("timeout", "2", "2000", "30"), ["✅ Batas waktu bayar disimpan: 30 menit"]);
    assert.deepEqual(await change("window", "48"), ["✅ Masa SNK disimpan: 48 jam"]);
    await admin.say("/pengaturan");
    await admin.press("language");
    assert.deepEqual(await admin.press("en"), ["✅ Bahasa disimpan: English"]);

    const store = await storeSettings(shop.id);
    assert.equal(store?.name, "Toko Baru Jaya");
    assert.equal(store?.locale, "en");
    assert.deepEqual(
      [store?.ordering.snkText, store?.ordering.paymentInstructions, store?.ordering.paymentTimeoutMinutes, store?.ordering.snkWindowHours],
      ["Garansi 7 hari.\nTidak ada refund setelah akun dipakai.", "BCA 123 a.n. Sari", 30, 48],
    );
    const entries = await AuditLog.find({ tenantId: oid(shop.id) }).sort({ at: 1 }).lean().exec();
    assert.deepEqual(entries.map((e) => e.action), ["settings.name", "settings.snk", "settings.payment", "settings.timeout", "settings.window", "settings.language"]);
    assert.deepEqual([entries[0].before, entries[0].after], [{ name: "Toko Lama" }, { name: "Toko Baru Jaya" }]);
    assert.deepEqual([entries[3].before, entries[3].after], [{ timeout: 60 }, { timeout: 30 }]);
    for (const entry of entries) {
      assert.deepEqual(
        { actor: entry.actor, target: entry.target, where: entry.where },
        { actor: { channel: "console", userId: "admin-1", name: "Sari" }, target: { type: "store", id: shop.slug }, where: "console:chat-admin-1" },
        entry.action,
      );
    }
  });

  test("out-of-range and too-long values are refused with the limit named; '-' clears the terms", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    await Tenant.updateOne({ _id: oid(shop.id) }, { $set: { "settings.ordering.snkText": "Lama" } }).exec();
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/pengaturan");
    await owner.press("timeout");
    assert.deepEqual(await owner.say("1"), ["Tulis bilangan bulat antara 5 dan 1440."]);
    assert.deepEqual(await owner.say("sejam"), ["Tulis bilangan bulat antara 5 dan 1440."]);
    await owner.say("/pengaturan");
    await owner.press("name");
    assert.deepEqual(await owner.say("T".repeat(300)), ["Terlalu panjang: maksimal 64 karakter (yang kamu kirim 300)."]);
    await owner.say("/pengaturan");
    await owner.press("payment");
    assert.deepEqual(await owner.say("B".repeat(2500)), ["Terlalu panjang: maksimal 2000 karakter (yang kamu kirim 2500)."]);
    await owner.say("/pengaturan");
    await owner.press("snk");
    assert.deepEqual(await owner.say("-"), ["✅ SNK (syarat & ketentuan) disimpan: (kosong)"]);
    assert.equal((await storeSettings(shop.id))?.ordering.snkText, "");
    assert.equal((await storeSettings(shop.id))?.ordering.paymentTimeoutMinutes, 60);
  });

  test("staff may not change settings", async () => {
    const shop = await seedShop({ members: { "staf-1": "staff" } });
    const { engine } = adminEngine();
    const staff = person(engine, shop, "staf-1");
    assert.deepEqual(await staff.say("/pengaturan"), ["Maaf, perintah ini tidak tersedia untuk peran staf. Minta pemilik toko kalau perlu akses."]);
    // What would pick and answer a setting goes nowhere: no settings menu was opened.
    await staff.say("1");
    await staff.say("Toko Curian");
    assert.ok(!staff.keys.includes("admin.settings.saved"), staff.keys.join(", "));
    assert.equal((await storeSettings(shop.id))?.name, "Toko Uji");
    assert.equal(await AuditLog.countDocuments({ tenantId: oid(shop.id) }).exec(), 0);
  });
});

describe("/audit", () => {
  test("shows the latest changes, newest first, in the store's time zone, with secrets redacted", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner", "staf-1": "staff" } });
    await recordAudit({
      tenantId: oid(shop.id),
      actor: { channel: "console", userId: "ops" },
      action: "channel.token",
      target: { type: "store" },
      before: { token: "123:SECRET" },
      after: { token: "456:SECRET" },
      where: "cli",
    });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/harga netflix-1m 36000");
    await owner.say("/sembunyikan spotify-1m");
    const [log] = await owner.say("/audit 2");
    const lines = log.split("\n");
    assert.equal(lines[0], "📜 2 perubahan terakhir:");
    assert.match(lines[1], /^• \d\d\/\d\d\/\d{4},? \d\d[.:]\d\d · Sari \(console owner-1\) · product\.hide · product spotify-1m · \{"status":"active"\} → \{"status":"hidden"\}$/);
    assert.match(lines[2], /product\.price · product netflix-1m · \{"price":35000\} → \{"price":36000\}$/);
    const [all] = await owner.say("/audit");
    assert.match(all, /channel\.token · store · \{"token":"\[REDACTED\]"\} → \{"token":"\[REDACTED\]"\}/);
    assert.ok(!all.includes("SECRET"));
  });

  test("malformed counts show the usage; staff may not read the log", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner", "staf-1": "staff" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    assert.deepEqual(await owner.say("/audit semua"), ["Cara pakai: /audit [jumlah] — contoh: /audit 20 (maksimal 50)"]);
    assert.deepEqual(await owner.say("/audit"), ["Belum ada perubahan yang tercatat."]);
    const staff = person(engine, shop, "staf-1");
    await staff.say("/audit");
    assert.deepEqual(staff.keys, ["admin.denied.role"]);
  });

  test("one store's log never shows another store's changes", async () => {
    const shopA = await seedShop({ members: { "owner-a": "owner" } });
    const shopB = await seedShop({ members: { "owner-b": "owner" } });
    const { engine } = adminEngine();
    await person(engine, shopB, "owner-b").say("/harga netflix-1m 1000");
    assert.deepEqual(await person(engine, shopA, "owner-a").say("/audit"), ["Belum ada perubahan yang tercatat."]);
  });
});
