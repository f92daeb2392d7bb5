// Sellers managing products from a chat: adding, editing, pricing, hiding, listing — and
// every kind of wrong input they might type.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Product } from "../../flows/ordering/product.ts";
import { AuditLog } from "../../storage/models/index.ts";
import { adminEngine, oid, person, seedShop } from "./admin-fixture.ts";
import { useTestDatabase } from "../support/mongo.ts";

useTestDatabase("tenant_admin_products");

const lean = (tenantId: string, code: string) => Product.findOne({ tenantId: oid(tenantId), code }).lean<Record<string, unknown>>().exec();

describe("adding a product", () => {
  test("the wizard asks for every field, shows a summary, saves it and records who did it", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    assert.deepEqual(owner.keys, []);
    await owner.say("/tambahproduk");
    assert.deepEqual(owner.keys, ["admin.product.ask_sku"]);
    await owner.say("Canva-1Y");
    assert.deepEqual(owner.keys, ["admin.product.ask_name"]);
    await owner.say("Canva Pro 1 Tahun");
    await owner.say("Rp45.000");
    await owner.say("Undangan tim ke email kamu.");
    await owner.say("Desain");
    await owner.say("5");
    const review = await owner.say("3");
    assert.equal(
      review.at(-1),
      "Cek dulu ya:\nSKU: canva-1y\nNama: Canva Pro 1 Tahun\nHarga: Rp45.000\nDeskripsi: Undangan tim ke email kamu.\nKategori: Desain\nMaks. per pesanan: 5\nPeringatan stok menipis: 3\n\nSimpan produk ini?\n  1. ✅ Simpan [save]\n  2. ✖️ Batal [cancel]",
    );
    assert.deepEqual(await owner.press("save"), ["✅ Produk Canva Pro 1 Tahun (canva-1y) tersimpan. Tambah stoknya dengan /tambahstok canva-1y"]);
    const saved = await lean(shop.id, "canva-1y");
    assert.equal(saved?.name, "Canva Pro 1 Tahun");
    assert.equal(saved?.price, 45_000);
    assert.equal(saved?.category, "Desain");
    assert.equal(saved?.perOrderMax, 5);
    assert.equal(saved?.lowStockThreshold, 3);
    const entry = await AuditLog.findOne({ tenantId: oid(shop.id), action: "product.create" }).lean().exec();
    assert.equal(entry?.actor?.userId, "owner-1");
    assert.equal(entry?.target?.id, "canva-1y");
    assert.equal((entry?.after as { price: number }).price, 45_000);
    assert.equal(entry?.where, "console:chat-owner-1");
  });

  test("optional fields can be skipped with -, and a sku given with the command is used", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/addproduct steam-60k");
    assert.deepEqual(owner.keys, ["admin.product.ask_name"]);
    for (const answer of ["Steam Wallet 60K", "57000", "-", "-", "-", "-"]) await owner.say(answer);
    await owner.press("save");
    const saved = await lean(shop.id, "steam-60k");
    assert.equal(saved?.description, "");
    assert.equal(saved?.perOrderMax, undefined);
    assert.equal(saved?.lowStockThreshold, 0);
  });

  test("negative, zero, absurd and non-numeric prices are refused, each with its reason", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahproduk baru");
    await owner.say("Produk Baru");
    assert.deepEqual(await owner.say("-5000"), ["Harga harus lebih dari 0."]);
    assert.deepEqual(await owner.say("0"), ["Harga harus lebih dari 0."]);
    assert.deepEqual(await owner.say("999999999999"), ["Harga itu terlalu besar: maksimal Rp100.000.000. Cek lagi jumlah nolnya ya."]);
    assert.deepEqual(await owner.say("dua puluh ribu"), ["Harga harus berupa angka, misalnya 35000, 35.000 atau 35rb."]);
    // Five refusals end the wizard; the seller starts again.
    await owner.say("/tambahproduk baru");
    await owner.say("Produk Baru");
    await owner.say("25.000,5");
    assert.deepEqual(owner.keys, ["admin.product.price_fraction_rupiah"]);
    await owner.say("25rb");
    assert.deepEqual(owner.keys, ["admin.product.ask_description"]);
    for (const answer of ["-", "-", "-", "-"]) await owner.say(answer);
    await owner.press("save");
    assert.equal((await lean(shop.id, "baru"))?.price, 25_000);
  });

  test("a cents currency takes decimals and its own limit", async () => {
    const shop = await seedShop({ currency: "USD", locale: "en", members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1", { locale: "en" });
    await owner.say("/addproduct gift-5");
    await owner.say("Gift card $5");
    assert.deepEqual(await owner.say("1000000"), ["That price is too high: at most $100,000.00. Please check the zeros."]);
    await owner.say("4.99");
    for (const answer of ["-", "-", "-", "-"]) await owner.say(answer);
    await owner.press("save");
    assert.equal((await lean(shop.id, "gift-5"))?.price, 499);
  });

  test("a 300-character name is refused with the limit named", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahproduk panjang");
    assert.deepEqual(await owner.say("N".repeat(300)), [
      "Nama produk terlalu panjang: maksimal 80 karakter (yang kamu kirim 300). Coba dipersingkat.",
    ]);
    assert.deepEqual(owner.keys, ["admin.product.name_too_long"]);
  });

  test("a sku already used in the store, or not a sku at all, is refused", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahproduk");
    assert.deepEqual(await owner.say("Netflix-1M"), ["SKU netflix-1m sudah dipakai produk lain. Pilih kode lain ya."]);
    await owner.say("netflix 1 bulan");
    assert.deepEqual(owner.keys, ["admin.product.sku_invalid"]);
    await owner.say("x".repeat(40));
    assert.deepEqual(owner.keys, ["admin.product.sku_too_long"]);
  });

  test("the same sku in another store is that store's business", async () => {
    const [shopA, shopB] = [await seedShop({ members: { "owner-a": "owner" } }), await seedShop({ products: [] })];
    const { engine } = adminEngine();
    const owner = person(engine, shopA, "owner-a");
    await owner.say("/tambahproduk");
    await owner.say("spotify-1m");
    assert.deepEqual(owner.keys, ["admin.product.sku_taken"]);
    assert.equal(await Product.countDocuments({ tenantId: oid(shopB.id) }), 0);
  });
});

describe("changing a product", () => {
  test("/harga SKU HARGA changes the price at once and records before and after", async () => {
    const shop = await seedShop({ members: { "admin-1": "admin" } });
    const { engine } = adminEngine();
    const admin = person(engine, shop, "admin-1");
    assert.deepEqual(await admin.say("/harga netflix-1m 30.000"), ["✅ Harga netflix-1m diubah: Rp35.000 → Rp30.000"]);
    assert.equal((await lean(shop.id, "netflix-1m"))?.price, 30_000);
    const entry = await AuditLog.findOne({ tenantId: oid(shop.id), action: "product.price" }).lean().exec();
    assert.deepEqual([entry?.before, entry?.after], [{ price: 35_000 }, { price: 30_000 }]);
  });

  test("/harga without arguments lets the seller pick the product and type the price", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/harga");
    assert.deepEqual(owner.choiceIds, ["netflix-1m", "spotify-1m", "draf"]);
    await owner.press("spotify-1m");
    assert.deepEqual(owner.keys, ["admin.product.ask_price"]);
    assert.deepEqual(await owner.say("27000"), ["✅ Harga spotify-1m diubah: Rp25.000 → Rp27.000"]);
  });

  test("malformed price commands show their usage; an unknown sku is named", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    assert.deepEqual(await owner.say("/harga netflix-1m murah"), [
      "Harga harus berupa angka, misalnya 35000, 35.000 atau 35rb.",
      "Cara pakai: /harga SKU HARGA — contoh: /harga netflix-1m 35000",
    ]);
    assert.deepEqual(await owner.say("/harga netflix-1m -100"), ["Harga harus lebih dari 0.", "Cara pakai: /harga SKU HARGA — contoh: /harga netflix-1m 35000"]);
    assert.deepEqual(await owner.say("/harga Netflix_1M 1000"), ["Cara pakai: /harga SKU HARGA — contoh: /harga netflix-1m 35000"]);
    assert.deepEqual(await owner.say("/harga tidak-ada 1000"), ["Produk dengan SKU tidak-ada tidak ada di toko ini. Cek daftar dengan /produk."]);
    assert.deepEqual(await owner.say("/sembunyikan a b c!"), ["Cara pakai: /sembunyikan SKU — contoh: /sembunyikan netflix-1m"]);
    assert.equal((await lean(shop.id, "netflix-1m"))?.price, 35_000);
  });

  test("/harga reads a price the ways sellers write it, and refuses what could be read two ways, with an example", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    assert.deepEqual(await owner.say("/harga spotify-1m 35,000"), ["✅ Harga spotify-1m diubah: Rp25.000 → Rp35.000"]);
    for (const typed of ["35000", "35.000", "35rb", "35k", "35 rb", "Rp35.000", "Rp 35.000", "35.000,-"]) {
      await owner.say(`/harga spotify-1m ${typed === "35000" ? "30000" : typed}`);
      assert.equal((await lean(shop.id, "spotify-1m"))?.price, typed === "35000" ? 30_000 : 35_000, typed);
    }
    const usage = "Cara pakai: /harga SKU HARGA — contoh: /harga netflix-1m 35000";
    assert.deepEqual(await owner.say("/harga spotify-1m 1 2"), ['Harga "1 2" bisa dibaca lebih dari satu cara. Tulis misalnya 35000, 35.000 atau 35rb.', usage]);
    assert.deepEqual(await owner.say("/harga spotify-1m 35,00,0"), ['Harga "35,00,0" bisa dibaca lebih dari satu cara. Tulis misalnya 35000, 35.000 atau 35rb.', usage]);
    assert.deepEqual(await owner.say("/harga spotify-1m 35.5"), ["Rupiah tidak pakai pecahan: tulis harga bulat, misalnya 35000, 35.000 atau 35rb.", usage]);
    assert.equal((await lean(shop.id, "spotify-1m"))?.price, 35_000);
  });

  test("a price more than 5× up or down is asked about first, showing old and new; 'no' keeps it, 'yes' applies and records it", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    const audits = () => AuditLog.find({ tenantId: oid(shop.id), action: "product.price" }).sort({ at: 1 }).lean().exec();
    assert.deepEqual(await owner.say("/harga spotify-1m 250000"), [
      "⚠️ Harga spotify-1m berubah lebih dari 5 kali lipat: Rp25.000 → Rp250.000. Yakin?\n  1. ✅ Ya, jadikan Rp250.000 [yes]\n  2. ✖️ Tidak, tetap Rp25.000 [no]",
    ]);
    assert.deepEqual(await owner.press("no"), ["Oke, harga spotify-1m tetap Rp25.000."]);
    assert.equal((await lean(shop.id, "spotify-1m"))?.price, 25_000);
    assert.deepEqual(await audits(), []);

    await owner.say("/harga spotify-1m 2.500");
    assert.deepEqual(owner.choiceIds, ["yes", "no"]);
    assert.deepEqual(await owner.press("yes"), ["✅ Harga spotify-1m diubah: Rp25.000 → Rp2.500"]);
    // Exactly 5× is not more than 5×: applied at once.
    assert.deepEqual(await owner.say("/harga spotify-1m 12.500"), ["✅ Harga spotify-1m diubah: Rp2.500 → Rp12.500"]);
    assert.deepEqual((await audits()).map((a) => [a.before, a.after]), [
      [{ price: 25_000 }, { price: 2_500 }],
      [{ price: 2_500 }, { price: 12_500 }],
    ]);

    // Typed after picking the product, and through /ubahproduk, the same question.
    await owner.say("/harga");
    await owner.press("netflix-1m");
    await owner.say("350rb");
    assert.deepEqual(owner.keys, ["admin.product.price_confirm"]);
    await owner.press("yes");
    await owner.say("/ubahproduk netflix-1m");
    await owner.press("price");
    assert.deepEqual(await owner.say("1,8jt"), [
      "⚠️ Harga netflix-1m berubah lebih dari 5 kali lipat: Rp350.000 → Rp1.800.000. Yakin?\n  1. ✅ Ya, jadikan Rp1.800.000 [yes]\n  2. ✖️ Tidak, tetap Rp350.000 [no]",
    ]);
    assert.deepEqual(await owner.press("no"), ["Oke, harga netflix-1m tetap Rp350.000."]);
    assert.equal((await lean(shop.id, "netflix-1m"))?.price, 350_000);
  });

  test("an English-speaking seller is asked and refused in English", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1", { locale: "en" });
    assert.deepEqual(await owner.say("/setprice spotify-1m 1 2"), [
      'The price "1 2" could be read more than one way. Write it like 35000, 35,000 or 35k.',
      "Usage: /setprice SKU PRICE — e.g. /setprice netflix-1m 35000",
    ]);
    assert.deepEqual(await owner.say("/setprice spotify-1m 1.5jt"), [
      "⚠️ The price of spotify-1m changes more than 5×: Rp25,000 → Rp1,500,000. Are you sure?\n  1. ✅ Yes, make it Rp1,500,000 [yes]\n  2. ✖️ No, keep Rp25,000 [no]",
    ]);
    assert.deepEqual(await owner.press("no"), ["OK, the price of spotify-1m stays Rp25,000."]);
  });

  test("/ubahproduk edits one field", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/ubahproduk netflix-1m");
    assert.deepEqual(owner.choiceIds, ["name", "price", "description", "category", "perOrderMax", "lowStockThreshold"]);
    await owner.press("name");
    assert.deepEqual(await owner.say("Netflix Premium 1 Bulan"), ["✅ Nama netflix-1m diubah: Netflix 1 Bulan → Netflix Premium 1 Bulan"]);
    await owner.say("/ubahproduk netflix-1m");
    await owner.press("perOrderMax");
    assert.deepEqual(await owner.say("0"), ["Tulis bilangan bulat antara 1 dan 1000, atau - untuk mengosongkan."]);
    assert.deepEqual(await owner.say("2"), ["✅ Maks. per pesanan netflix-1m diubah: – → 2"]);
    await owner.say("/ubahproduk netflix-1m");
    await owner.press("lowStockThreshold");
    assert.deepEqual(await owner.say("-"), ["✅ Batas stok menipis netflix-1m diubah: 2 → tidak diingatkan"]);
    const saved = await lean(shop.id, "netflix-1m");
    assert.deepEqual([saved?.name, saved?.perOrderMax, saved?.lowStockThreshold], ["Netflix Premium 1 Bulan", 2, 0]);
  });

  test("hiding and showing a product takes it out of the customers' catalog and back", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    const customer = person(engine, shop, "pembeli");
    assert.deepEqual(await owner.say("/sembunyikan spotify-1m"), ["🙈 Spotify 1 Bulan (spotify-1m) disembunyikan dari katalog. Tampilkan lagi dengan /tampilkan spotify-1m"]);
    await customer.say("/catalog");
    assert.ok(!customer.choiceIds.includes("spotify-1m"));
    assert.deepEqual(await owner.say("/sembunyikan spotify-1m"), ["spotify-1m memang sedang disembunyikan."]);
    assert.deepEqual(await owner.say("/tampilkan spotify-1m"), ["👀 Spotify 1 Bulan (spotify-1m) tampil lagi di katalog."]);
    await customer.say("/catalog");
    assert.ok(customer.choiceIds.includes("spotify-1m"));
    assert.deepEqual(
      (await AuditLog.find({ tenantId: oid(shop.id), target: { type: "product", id: "spotify-1m" } }).sort({ at: 1 }).lean().exec()).map((e) => e.action),
      ["product.hide", "product.show"],
    );
  });

  test("/produk lists every product with price and stock, hidden ones marked", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const [list] = await person(engine, shop, "owner-1").say("/produk");
    assert.equal(
      list,
      "📦 Produk (3):\n• netflix-1m — Netflix 1 Bulan — Rp35.000 — stok 3\n• spotify-1m — Spotify 1 Bulan — Rp25.000 — stok 1\n• draf — Paket Draf — Rp99.000 — stok 0 (disembunyikan)\n\nUbah: /ubahproduk SKU · Harga: /harga SKU HARGA · Stok: /tambahstok SKU",
    );
  });

  test("a seller of store A naming store B's product by sku changes nothing there", async () => {
    const shopA = await seedShop({ members: { "owner-a": "owner" }, products: [{ code: "punya-a", name: "Punya A", price: 1000 }] });
    const shopB = await seedShop({ products: [{ code: "punya-b", name: "Punya B", price: 2000 }] });
    const { engine } = adminEngine();
    const owner = person(engine, shopA, "owner-a");
    assert.deepEqual(owner.keys, []);
    await owner.say("/harga punya-b 1");
    assert.deepEqual(owner.keys, ["admin.product.unknown_sku"]);
    await owner.say("/sembunyikan punya-b");
    assert.deepEqual(owner.keys, ["admin.product.unknown_sku"]);
    const b = await lean(shopB.id, "punya-b");
    assert.deepEqual([b?.price, b?.status], [2000, "active"]);
  });
});
