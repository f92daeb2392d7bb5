// Admin commands through a real store bot: grammY against the Bot API emulator, the
// platform's storefront and admin flows, a stock file fetched with getFile, and an invite
// link built from the bot's username.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { User } from "grammy/types";
import type { StoreBots } from "../../adapters/telegram/store-bots.ts";
import { memberAudience } from "../../flows/engine/audience.ts";
import { createEngine } from "../../flows/engine/engine.ts";
import { combineFlowBundles } from "../../flows/engine/flow-bundle.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { catalogFlows } from "../../flows/ordering/catalog-flows.ts";
import { Product } from "../../flows/ordering/product.ts";
import { StockItem } from "../../flows/ordering/stock-item.ts";
import { createAdminFlows } from "../../flows/tenant-admin/admin-flows.ts";
import { NO_PLATFORM_OWNERS, withPlatformOwners } from "../../flows/tenant-admin/permissions.ts";
import { Member, Tenant } from "../../storage/models/index.ts";
import { startStores, words, type Store, type Stores } from "../telegram/store-fixture.ts";
import { eventually } from "../support/eventually.ts";

describe("admin commands in a Telegram store bot", () => {
  let stores: Stores;
  let store: Store;
  let owner: User;
  let productId: unknown;
  // The file fetcher needs the bots, which need the engine: filled in once both exist.
  const running: { bots?: StoreBots } = {};

  before(async () => {
    const bundle = combineFlowBundles(
      catalogFlows,
      createAdminFlows({ files: { fetchFile: (from, fileRef, { maxBytes }) => running.bots!.downloadFile(from.tenantId, fileRef, { maxBytes }) } }),
    );
    const engine = createEngine({ ...bundle, sessions: new MongoSessionStore(), audienceOf: withPlatformOwners(memberAudience(), NO_PLATFORM_OWNERS) });
    stores = await startStores({ engine });
    running.bots = stores.bots;
    store = await stores.createStore({ name: "Toko Kilat" });
    owner = stores.user({ first_name: "Pemilik" });
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(owner.id), role: "owner" } as never);
    productId = (await Product.create({ tenantId: store.id, code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000 }))._id;
    await stores.bots.start(store.id);
  });
  after(() => stores.close());

  it("an owner adds stock by sending a .txt file; a customer does not even see the command", async () => {
    const { tg } = stores;
    const ask = await tg.sendCommand(store.token, owner, "/tambahstok", "netflix-1m");
    const method = await tg.waitForSent(store.token, owner, (m) => m.message_id > ask.message_id && words(m).startsWith("Tambah stok Netflix 1 Bulan"));
    await tg.pressButton(store.token, owner, method, { text: "📄 Kirim file .txt / .csv" });
    await tg.waitForSent(store.token, owner, (m) => words(m).startsWith("Kirim file .txt"));
    const file = await tg.sendDocument(store.token, owner, Buffer.from("KODE-1\nKODE-2\n\nKODE-1\n"), "stok.txt", "text/plain");
    const summary = await tg.waitForSent(store.token, owner, (m) => m.message_id > file.message_id && words(m).startsWith("✅"));
    assert.equal(words(summary), "✅ Stok Netflix 1 Bulan (netflix-1m) diperbarui:\n➕ Ditambahkan: 2\n⏭️ Dilewati (duplikat): 1 — baris 4\n⛔ Ditolak: 0\n📦 Tersedia sekarang: 2");
    assert.equal(await StockItem.countDocuments({ tenantId: store.id, productId, status: "available" } as never), 2);

    const customer = stores.user({ first_name: "Pembeli" });
    const typed = await tg.sendCommand(store.token, customer, "/tambahstok", "netflix-1m");
    const answer = await tg.waitForSent(store.token, customer, (m) => m.message_id > typed.message_id);
    assert.equal(words(answer), "Perintah /tambahstok tidak dikenal. Ketik /help untuk melihat daftar perintah.");
    const menu = tg.commandsFor(store.token).map((c) => c.command);
    assert.ok(menu.includes("start") && !menu.some((c) => ["tambahstok", "addstock", "admin", "stok", "undang"].includes(c)), `customer menu: ${menu.join(", ")}`);
  });

  it("a stock file over 1 MB is refused with its real size and the limit, in each member's language; a spreadsheet is told what to send", async () => {
    const { tg } = stores;
    const admin = stores.user({ first_name: "Admin", language_code: "en" });
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(admin.id), role: "admin" } as never);
    const big = Buffer.alloc(Math.round(1.4 * 1024 * 1024), "KODE-123\n");
    const expected = [
      { who: owner, method: "📄 Kirim file .txt / .csv", refusal: "⛔ File tidak diimpor: ukurannya 1,4 MB, maksimal 1 MB. Pecah jadi beberapa file ya." },
      { who: admin, method: "📄 Send a .txt / .csv file", refusal: "⛔ The file was not imported: it is 1.4 MB, at most 1 MB is accepted. Please split it into several files." },
    ];
    for (const { who, method, refusal } of expected) {
      const ask = await tg.sendCommand(store.token, who, "/tambahstok", "netflix-1m");
      const menu = await tg.waitForSent(store.token, who, (m) => m.message_id > ask.message_id && m.reply_markup !== undefined);
      await tg.pressButton(store.token, who, menu, { text: method });
      const file = await tg.sendDocument(store.token, who, big, "stok.txt", "text/plain");
      const answer = await tg.waitForSent(store.token, who, (m) => m.message_id > file.message_id && words(m).startsWith("⛔"));
      assert.equal(words(answer), refusal);
    }
    const sheet = await tg.sendDocument(store.token, owner, Buffer.from("PK\u0003\u0004"), "stok.xlsx");
    const answer = await tg.waitForSent(store.token, owner, (m) => m.message_id > sheet.message_id);
    assert.equal(
      words(answer),
      "⛔ File ini tidak bisa diimpor: hanya file .txt atau .csv yang bisa dibaca. Dari Excel, simpan sebagai \"CSV UTF-8\" lalu kirim file itu, atau tempel itemnya sebagai teks.",
    );
    await tg.sendCommand(store.token, owner, "/cancel");
    await tg.sendCommand(store.token, admin, "/cancel");
    assert.equal(await StockItem.countDocuments({ tenantId: store.id, productId } as never), 2);
  });

  it("an invite names the bot's own link, and the invited person joins from Telegram", async () => {
    const { tg } = stores;
    const asked = await tg.sendCommand(store.token, owner, "/undang", "staf");
    const invite = await tg.waitForSent(store.token, owner, (m) => m.message_id > asked.message_id && words(m).startsWith("✉️"));
    const link = /https:\/\/t\.me\/(\w+)\?start=(inv_[\w-]+)/.exec(words(invite));
    assert.ok(link, words(invite));
    const tenant = await Tenant.findById(store.id).lean().exec();
    assert.equal(link[1], tenant?.channels?.telegram?.botUsername, "the link opens this store's own bot");
    const joiner = stores.user({ first_name: "Rekan" });
    const sent = await tg.sendCommand(store.token, joiner, "/gabung", link[2]);
    const welcome = await tg.waitForSent(store.token, joiner, (m) => m.message_id > sent.message_id);
    assert.equal(words(welcome), "🎉 Selamat bergabung! Kamu sekarang staf di toko ini. Ketik /admin untuk mulai.");
    await eventually(() => Member.exists({ tenantId: store.id, channel: "telegram", channelUserId: String(joiner.id), role: "staff" } as never), "the new member");
  });
});
