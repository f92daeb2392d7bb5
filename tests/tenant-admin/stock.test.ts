// Sellers adding stock from a chat — typed, pasted or as a file — and reading the stock
// summary. A batch goes in whole or not at all, duplicates are skipped and counted, and a
// stock payload never shows up in a reply, a log line, the audit log or a session.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConversationSession } from "../../flows/engine/mongo-session-store.ts";
import { Product } from "../../flows/ordering/product.ts";
import { StockItem, stockPayloadContext } from "../../flows/ordering/stock-item.ts";
import { FileFetchError } from "../../flows/engine/index.ts";
import type { UserFiles } from "../../flows/engine/index.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { decryptSecret } from "../../storage/crypto.ts";
import { AuditLog, Member } from "../../storage/models/index.ts";
import { adminEngine, oid, person, seedShop } from "./admin-fixture.ts";
import { useTestDatabase } from "../support/mongo.ts";

useTestDatabase("tenant_admin_stock");

async function payloadsOf(tenantId: string, code: string): Promise<string[]> {
  const product = await Product.findOne({ tenantId: oid(tenantId), code }).lean().exec();
  const items = await StockItem.find({ tenantId: oid(tenantId), productId: product!._id }).sort({ _id: 1 }).lean().exec();
  return items.map((item) => decryptSecret(item.payload, stockPayloadContext(tenantId)));
}

/** A file fetcher serving the given files by reference, and remembering the limit it was given. */
function filesServed(files: Record<string, Buffer>): UserFiles & { asked: { maxBytes: number; channel: string }[] } {
  const asked: { maxBytes: number; channel: string }[] = [];
  return {
    asked,
    async fetchFile(from, fileRef, options) {
      asked.push({ ...options, channel: from.channel });
      const file = files[fileRef];
      if (!file) throw new Error(`no file ${fileRef}`);
      return file;
    },
  };
}

const documentMessage = (fileRef: string, fileName: string, mimeType?: string) =>
  ({ kind: "media", media: { type: "document", fileRef, fileName, ...(mimeType && { mimeType }) } }) as const;

describe("typing stock in the chat", () => {
  test("items under the command, then 'selesai': blank lines ignored, duplicates skipped with their line numbers", async () => {
    const shop = await seedShop({ members: { "staf-1": "staff" } });
    const { engine } = adminEngine();
    const staff = person(engine, shop, "staf-1");
    const staged = await staff.say("/tambahstok netflix-1m\nNF-D\n\nNF-E\nNF-A\nNF-D");
    assert.deepEqual(staged, ["📥 4 item diterima (total 4). Belum disimpan sampai kamu ketik selesai.", "Kirim item lagi, atau ketik selesai untuk menyimpan."]);
    assert.deepEqual(await staff.say("selesai"), [
      "✅ Stok Netflix 1 Bulan (netflix-1m) diperbarui:\n➕ Ditambahkan: 2\n⏭️ Dilewati (duplikat): 2 — baris 4, 5\n⛔ Ditolak: 0\n📦 Tersedia sekarang: 5",
    ]);
    assert.deepEqual(await payloadsOf(shop.id, "netflix-1m"), ["NF-A", "NF-B", "NF-C", "NF-D", "NF-E"]);
  });

  test("lines of only invisible characters (zero-width space, word joiner, …) are blank, not items; a real code keeps its own characters", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    const invisible = ["\u200B", "\u2060", "\u200B \u200C\u200D", "\uFEFF", "\u3164", "\u2800", "\u00A0\u180E"];
    const staged = await owner.say(`/tambahstok netflix-1m\nNF-D\n${invisible.join("\n")}\nNF\u200B-E`);
    assert.deepEqual(staged, ["📥 2 item diterima (total 2). Belum disimpan sampai kamu ketik selesai.", "Kirim item lagi, atau ketik selesai untuk menyimpan."]);
    assert.deepEqual(await owner.say("\u200B\n\u2060"), ["Pesan itu kosong. Kirim item stok, satu per baris.", "Kirim item lagi, atau ketik selesai untuk menyimpan."]);
    assert.match((await owner.say("selesai"))[0], /Ditambahkan: 2\n/);
    assert.deepEqual(await payloadsOf(shop.id, "netflix-1m"), ["NF-A", "NF-B", "NF-C", "NF-D", "NF\u200B-E"]);
    // Nothing visible under the command is no items at all: the bot asks how to add them.
    await owner.say("/tambahstok netflix-1m\n\u200B\u2060");
    assert.deepEqual(owner.keys, ["admin.stock.method"]);
  });

  test("several messages count lines on, and nothing is saved before 'selesai'", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/addstock spotify-1m");
    assert.deepEqual(owner.choiceIds, ["type", "file", "cancel"]);
    await owner.press("type");
    assert.deepEqual(owner.keys, ["admin.stock.ask_lines"]);
    await owner.say("SP-1\nSP-2");
    await owner.say("SP-3\nSP-1");
    assert.equal((await payloadsOf(shop.id, "spotify-1m")).length, 1);
    const [summary] = await owner.say("done");
    assert.match(summary, /Ditambahkan: 3\n⏭️ Dilewati \(duplikat\): 1 — baris 4\n/);
    assert.deepEqual(await payloadsOf(shop.id, "spotify-1m"), ["SP-A", "SP-1", "SP-2", "SP-3"]);
  });

  test("a message with a line that is too long is refused whole, naming the line", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahstok netflix-1m\nNF-X");
    assert.deepEqual(await owner.say(`NF-Y\n${"z".repeat(1001)}`), [
      "⛔ Pesan ini tidak disimpan, perbaiki lalu kirim ulang:\n• baris 3: terlalu panjang (maksimal 1000 karakter)",
      "Kirim item lagi, atau ketik selesai untuk menyimpan.",
    ]);
    const [summary] = await owner.say("selesai");
    assert.match(summary, /Ditambahkan: 1\n/);
  });

  test("'selesai' with nothing sent saves nothing; /cancel drops what was sent", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahstok netflix-1m");
    await owner.press("type");
    assert.deepEqual(await owner.say("selesai"), ["Belum ada item yang dikirim, jadi tidak ada yang disimpan."]);
    await owner.say("/tambahstok netflix-1m\nNF-Q");
    await owner.say("/cancel");
    assert.equal((await payloadsOf(shop.id, "netflix-1m")).length, 3);
  });

  test("malformed commands show their usage; an unknown sku or another store's is named", async () => {
    const shopA = await seedShop({ members: { "owner-a": "owner" } });
    await seedShop({ products: [{ code: "milik-b", name: "Milik B", price: 1000 }] });
    const { engine } = adminEngine();
    const owner = person(engine, shopA, "owner-a");
    const [usage] = await owner.say("/tambahstok netflix-1m tambah banyak");
    assert.match(usage, /^Cara pakai: \/tambahstok SKU/);
    await owner.say("/tambahstok Netflix_1M!");
    assert.deepEqual(owner.keys, ["admin.usage.stock_add"]);
    assert.deepEqual(await owner.say("/tambahstok milik-b\nKODE-1"), ["Produk dengan SKU milik-b tidak ada di toko ini. Cek daftar dengan /produk."]);
    const sessions = await ConversationSession.collection.find({}).toArray();
    assert.ok(!JSON.stringify(sessions).includes("KODE-1"));
  });

  test("without a sku, the seller picks the product", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahstok");
    assert.deepEqual(owner.choiceIds, ["netflix-1m", "spotify-1m", "draf"]);
    await owner.press("draf");
    await owner.press("type");
    await owner.say("DRAF-1");
    const [summary] = await owner.say("selesai");
    assert.match(summary, /Paket Draf \(draf\)[\s\S]*Ditambahkan: 1/);
  });
});

describe("sending a stock file", () => {
  test("a .txt file is imported whole, with duplicates skipped", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const fetcher = filesServed({ f1: Buffer.from("\uFEFFNF-1\r\nNF-2\r\n\r\nNF-B\r\nNF-1\r\n", "utf8") });
    const { engine } = adminEngine({ files: fetcher });
    const owner = person(engine, shop, "owner-1", { channel: "telegram" });
    await seedMember(shop.id, "telegram", "owner-1");
    await owner.say("/tambahstok netflix-1m");
    await owner.press("file");
    const [summary] = await owner.send(documentMessage("f1", "stok.txt"));
    assert.equal(summary, "✅ Stok Netflix 1 Bulan (netflix-1m) diperbarui:\n➕ Ditambahkan: 2\n⏭️ Dilewati (duplikat): 2 — baris 4, 5\n⛔ Ditolak: 0\n📦 Tersedia sekarang: 5");
    assert.deepEqual(fetcher.asked, [{ maxBytes: 1024 * 1024, channel: "telegram" }]);
  });

  test("a .csv with a header row and quoted commas becomes one item per row", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const csv = 'email,password\nsatu@mail.com,"rahasia,1"\n"dua@mail.com","kata ""sandi"""\n';
    const { engine } = adminEngine({ files: filesServed({ c1: Buffer.from(csv) }) });
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahstok spotify-1m");
    await owner.press("file");
    const replies = await owner.send(documentMessage("c1", "akun.csv"));
    assert.equal(replies[0], "Baris pertama file dianggap judul kolom, jadi tidak diimpor.");
    assert.match(replies[1], /Ditambahkan: 2\n/);
    assert.deepEqual(await payloadsOf(shop.id, "spotify-1m"), ["SP-A", "satu@mail.com | rahasia,1", 'dua@mail.com | kata "sandi"']);
  });

  test("invisible-only lines in a .txt and rows in a .csv are skipped like blank ones, not sold as blank codes", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const txt = Buffer.from("SP-1\r\n\u200B\r\n\u2060\u200B\r\nSP-2\r\n", "utf8");
    const csv = Buffer.from("email;password\r\nsatu@mail.com;sandi1\r\n\u200B;\u2060\r\n\u200B\r\n", "utf8");
    const { engine } = adminEngine({ files: filesServed({ txt, csv }) });
    const owner = person(engine, shop, "owner-1");
    for (const [ref, name] of [["txt", "stok.txt"], ["csv", "akun.csv"]]) {
      await owner.say("/tambahstok spotify-1m");
      await owner.press("file");
      const replies = await owner.send(documentMessage(ref, name));
      assert.match(replies.at(-1)!, /⛔ Ditolak: 0\n/, replies.join("\n"));
    }
    assert.deepEqual(await payloadsOf(shop.id, "spotify-1m"), ["SP-A", "SP-1", "SP-2", "satu@mail.com | sandi1"]);
  });

  test("a CSV with a bad row in the middle is refused whole, naming the row and the reason", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const csv = "a@mail.com,pass1\nb@mail.com,pass2\nc@mail.com,pa\"ss3\nd@mail.com\ne@mail.com,pass5\n";
    const { engine } = adminEngine({ files: filesServed({ bad: Buffer.from(csv) }) });
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahstok spotify-1m");
    await owner.press("file");
    assert.deepEqual(await owner.send(documentMessage("bad", "akun.csv")), [
      "⛔ File tidak diimpor — tidak ada stok yang ditambahkan. Ditolak: 2 baris. Perbaiki lalu kirim ulang:\n• baris 3: CSV rusak: tanda kutip \" di tengah kolom\n• baris 4: CSV rusak: jumlah kolom berbeda (baris pertama punya 2)",
      "Kirim file .txt (satu item per baris) atau .csv (satu item per baris, kolom digabung dengan \" | \"). Maksimal 1 MB, teks UTF-8.",
    ]);
    assert.deepEqual(await payloadsOf(shop.id, "spotify-1m"), ["SP-A"]);
  });

  test("a 5 MB file is refused with its size and the limit, whether the channel, the fetcher or the check stops it", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const big = Buffer.alloc(5 * 1024 * 1024 + 1, "A\n");
    const stopsEarly: UserFiles = {
      fetchFile: () => Promise.reject(new FileFetchError("the file is 5242881 bytes; at most 1048576 are accepted", "too-large")),
    };
    const served = filesServed({ big });
    const cases = [
      { files: served, sizeBytes: big.length, refusal: "⛔ File tidak diimpor: ukurannya 5,1 MB, maksimal 1 MB. Pecah jadi beberapa file ya." },
      { files: served, refusal: "⛔ File tidak diimpor: ukurannya 5,1 MB, maksimal 1 MB. Pecah jadi beberapa file ya." },
      { files: stopsEarly, refusal: "⛔ File tidak diimpor: ukurannya lebih dari 1 MB. Pecah jadi beberapa file ya." },
    ];
    for (const { files, sizeBytes, refusal } of cases) {
      const { engine } = adminEngine({ files });
      const owner = person(engine, shop, "owner-1");
      await owner.say("/tambahstok spotify-1m");
      await owner.press("file");
      const sent = documentMessage("big", "stok.txt");
      const [answer] = await owner.send(sizeBytes === undefined ? sent : { ...sent, media: { ...sent.media, sizeBytes } });
      assert.equal(answer, refusal);
      // A size the channel gave is enough to refuse: the file is not even fetched.
      if (sizeBytes !== undefined) assert.deepEqual(served.asked, []);
      await owner.say("/cancel");
    }
    assert.equal((await payloadsOf(shop.id, "spotify-1m")).length, 1);
  });

  test("a Latin-1 file is refused as not UTF-8, instead of importing garbled items", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const latin1 = Buffer.from("café-1\ncrème-2\n", "latin1");
    const { engine } = adminEngine({ files: filesServed({ l1: latin1 }) });
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahstok spotify-1m");
    await owner.press("file");
    const [refusal] = await owner.send(documentMessage("l1", "stok.txt"));
    assert.equal(refusal, "⛔ File tidak diimpor: file harus berupa teks UTF-8. Simpan ulang sebagai \"UTF-8\" (di Excel: CSV UTF-8) lalu kirim lagi.");
    assert.equal((await payloadsOf(shop.id, "spotify-1m")).length, 1);
  });

  test("a photo, a spreadsheet, or a channel without file support get a clear answer", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const withFiles = adminEngine({ files: filesServed({}) });
    const owner = person(withFiles.engine, shop, "owner-1");
    await owner.say("/tambahstok spotify-1m");
    await owner.press("file");
    await owner.send({ kind: "media", media: { type: "photo", fileRef: "p" } });
    assert.deepEqual(owner.keys, ["admin.stock.reask_file"]);
    assert.deepEqual(await owner.send(documentMessage("x", "stok.xlsx")), [
      "⛔ File ini tidak bisa diimpor: hanya file .txt atau .csv yang bisa dibaca. Dari Excel, simpan sebagai \"CSV UTF-8\" lalu kirim file itu, atau tempel itemnya sebagai teks.",
      "Kirim file .txt (satu item per baris) atau .csv (satu item per baris, kolom digabung dengan \" | \"). Maksimal 1 MB, teks UTF-8.",
    ]);
    const noFiles = adminEngine();
    const other = person(noFiles.engine, shop, "owner-1");
    await other.say("/tambahstok spotify-1m");
    await other.press("file");
    await other.send(documentMessage("x", "stok.txt"));
    assert.deepEqual(other.keys, ["admin.stock.file.no_upload_here"]);
  });
});

describe("/stok", () => {
  test("shows available, reserved and sold per product, and flags low, sold-out and hidden ones", async () => {
    const shop = await seedShop({ members: { "staf-1": "staff" } });
    const netflix = await Product.findOne({ tenantId: oid(shop.id), code: "netflix-1m" }).lean().exec();
    const items = await StockItem.find({ tenantId: oid(shop.id), productId: netflix!._id }).sort({ _id: 1 }).lean().exec();
    await StockItem.updateOne({ tenantId: oid(shop.id), _id: items[0]._id }, { $set: { status: "sold" } }).exec();
    await StockItem.updateOne({ tenantId: oid(shop.id), _id: items[1]._id }, { $set: { status: "reserved" } }).exec();
    const { engine } = adminEngine();
    const [summary] = await person(engine, shop, "staf-1").say("/stok");
    assert.equal(
      summary,
      "📊 Stok per produk:\n• Netflix 1 Bulan (netflix-1m): tersedia 1 · dipesan 1 · terjual 1 ⚠️ menipis (batas 2)\n• Spotify 1 Bulan (spotify-1m): tersedia 1 · dipesan 0 · terjual 0\n• Paket Draf (draf): tersedia 0 · dipesan 0 · terjual 0 🙈 disembunyikan\n\nTotal: tersedia 2 · dipesan 1 · terjual 1",
    );
  });
});

describe("stock payloads stay secret", () => {
  test("no reply, log line, audit entry or stored session holds a payload", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const secret = (n: number) => `RAHASIA-${n}-7f3a9c`;
    const csv = `${secret(1)}\n${secret(2)}\n${"x".repeat(1001)}${secret(3)}\n`;
    const outbox = new RecordingOutbox();
    const { engine, logs } = adminEngine({ outbox, files: filesServed({ ok: Buffer.from(`${secret(4)}\n${secret(5)}\n`), bad: Buffer.from(csv) }) });
    const owner = person(engine, shop, "owner-1");
    const replies: string[] = [];
    replies.push(...(await owner.say(`/tambahstok netflix-1m\n${secret(6)}\n${secret(6)}`)));
    replies.push(...(await owner.say(`${secret(7)}\n${"y".repeat(1001)}${secret(8)}`)));
    replies.push(...(await owner.say(secret(9))));
    // Mid-flow, the items wait in the stored session: sealed, not in the clear.
    const waiting = await ConversationSession.collection.find({}).toArray();
    assert.ok(JSON.stringify(waiting).includes(`"stagedCount":3`), "the staged items are in the session");
    assert.ok(!/RAHASIA/.test(JSON.stringify(waiting)), "typed items stored in the clear");
    replies.push(...(await owner.say("selesai")));
    replies.push(...(await owner.say("/tambahstok spotify-1m")));
    replies.push(...(await owner.press("file")));
    replies.push(...(await owner.send(documentMessage("bad", "stok.txt"))));
    replies.push(...(await owner.send(documentMessage("ok", "stok.txt"))));
    replies.push(...(await owner.say("/audit 50")));
    replies.push(...(await owner.say("/stok")));
    assert.ok((await payloadsOf(shop.id, "netflix-1m")).includes(secret(6)));
    const audits = await AuditLog.find({ tenantId: oid(shop.id) }).lean().exec();
    const sessions = await ConversationSession.collection.find({}).toArray();
    const seen = JSON.stringify({ replies, logs, audits, sessions, alerts: outbox.sent });
    assert.ok(!/RAHASIA/.test(seen), "a stock payload leaked");
    assert.ok(audits.some((a) => a.action === "stock.add"));
  });
});

async function seedMember(tenantId: string, channel: "telegram", userId: string): Promise<void> {
  await Member.create({ tenantId: oid(tenantId), channel, channelUserId: userId, role: "owner" } as never);
}
