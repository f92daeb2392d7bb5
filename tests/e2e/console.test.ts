// `niaga chat` and `npm run demo` as a user drives them: lines in, the conversation out.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { ChatIo } from "../../adapters/console/chat-command.ts";
import { chatCommand } from "../../bots/chat.ts";
import { parseConsoleLine } from "../../adapters/console/console-chat.ts";
import { disconnectMongo } from "../../storage/connection.ts";
import "../../flows/engine/mongo-session-store.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { testFlows } from "../engine/fixtures/test-flows.ts";
import { seedStore, SMALL_CATALOGUE } from "../support/stores.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

let db: TestDatabase;
before(async () => {
  db = await openTestDatabase("console_chat");
  await seedStore({ slug: "toko-konsol", name: "Toko Konsol", products: SMALL_CATALOGUE, members: { pemilik: "owner" } });
  await seedStore({ slug: "english-shop", name: "English Shop", locale: "en", products: SMALL_CATALOGUE });
  await disconnectMongo();
});
after(() => db.close());

/** Runs `niaga chat ARGS` in process with `lines` piped in; returns exit code, stdout and stderr. */
async function chat(args: string[], lines: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c.toString()));
  stderr.on("data", (c: Buffer) => (err += c.toString()));
  stdin.end(lines.map((l) => `${l}\n`).join(""));
  const io: ChatIo = { stdin, stdout, stderr, env: { MONGODB_URI: db.uri, LOG_LEVEL: "error" } };
  const code = await chatCommand(args, { flows: testFlows }, io);
  return { code, out, err };
}

describe("niaga chat with piped input", () => {
  test("processes one line at a time, prints the replies, and exits 0 at the end of input", async () => {
    const { code, out, err } = await chat(["--tenant", "toko-konsol", "--user", "pipa-1"], ["/survey", "Sari", "", "Medan", "paket pro"]);
    assert.equal(code, 0, err);
    assert.equal(
      out,
      [
        "> /survey",
        "Siapa namamu?",
        "",
        "> Sari",
        "Dari kota mana, Sari?",
        "",
        "> Medan",
        "Paket favorit?",
        "  1) Paket Dasar",
        "  2) Paket Pro",
        "",
        "> paket pro",
        "Terima kasih Sari dari Medan (paket pro) — Toko Konsol.",
        "",
        "",
      ].join("\n"),
    );
  });

  test("a numbered choice is picked by its number", async () => {
    const { out } = await chat(["--tenant", "toko-konsol", "--user", "pipa-2"], ["survei", "Budi", "Solo", "1"]);
    assert.match(out, /> 1\nTerima kasih Budi dari Solo \(paket basic\) — Toko Konsol\.\n/);
  });

  test("a member of the store is a seller and sees the seller's help; --as overrides it either way", async () => {
    const seller = await chat(["--tenant", "toko-konsol", "--user", "pemilik"], ["/help", "/report"]);
    assert.match(seller.out, /^> \/help\nMenu penjual Toko Konsol:\n\/survey — Isi survei singkat\n\/report — Laporan penjual\n/);
    assert.match(seller.out, /> \/report\nLaporan: semua beres\./);
    const asCustomer = await chat(["--tenant", "toko-konsol", "--user", "pemilik", "--as", "customer"], ["/help", "/report"]);
    assert.match(asCustomer.out, /^> \/help\nYang bisa kamu lakukan di Toko Konsol:\n\/survey — Isi survei singkat\n\/cancel/);
    assert.match(asCustomer.out, /Perintah \/report tidak dikenal\./);
    const forced = await chat(["--tenant", "toko-konsol", "--user", "tamu", "--as", "seller"], ["/help"]);
    assert.match(forced.out, /Menu penjual Toko Konsol:/);
  });

  test("speaks the store's language, or the one asked for", async () => {
    const english = await chat(["--tenant", "english-shop"], ["/survey"]);
    assert.match(english.out, /^> \/survey\nWhat's your name\?\n/);
    const indonesian = await chat(["--tenant", "english-shop", "--locale", "id", "--user", "x"], ["/survey"]);
    assert.match(indonesian.out, /^> \/survey\nSiapa namamu\?\n/);
  });

  test("a session outlives the command: the next run continues the conversation", async () => {
    await chat(["--tenant", "toko-konsol", "--user", "lanjut"], ["/survey", "Dewi"]);
    const { out } = await chat(["--tenant", "toko-konsol", "--user", "lanjut"], ["Makassar"]);
    assert.match(out, /^> Makassar\nPaket favorit\?/);
  });

  test("an unknown store is one clear line and exit code 2", async () => {
    const { code, out, err } = await chat(["--tenant", "tidak-ada"], ["/start"]);
    assert.equal(code, 2);
    assert.equal(out, "");
    assert.equal(err, 'niaga chat: toko "tidak-ada" tidak ditemukan (lihat: niaga tenant list)\n');
  });

  test("bad flags print the usage and exit 2", async () => {
    for (const args of [[], ["--tenant"], ["--tenant", "toko-konsol", "--as", "admin"], ["--tenant", "toko-konsol", "--verbose"], ["--tenant", "toko-konsol", "--locale", "fr"]]) {
      const { code, err } = await chat(args, []);
      assert.equal(code, 2, args.join(" "));
      assert.match(err, /^niaga chat: .+\nPemakaian: niaga chat --tenant SLUG/, args.join(" "));
    }
  });
});

describe("a console line", () => {
  const prompt = {
    text: { key: "catalog.welcome" },
    choices: [
      { id: "catalog", label: { key: "catalog.menu.catalog" } },
      { id: "help", label: { key: "catalog.menu.help" } },
    ],
    prompt: { flow: "welcome", step: "menu" },
  };

  test("is a command, an attachment, a choice by number or label, or text", () => {
    assert.deepEqual(parseConsoleLine("/start@TokoBot promo 10", undefined, "id"), { kind: "command", command: "start", args: "promo 10" });
    assert.deepEqual(parseConsoleLine("2", prompt, "id"), { kind: "choice", choiceId: "help", prompt: { flow: "welcome", step: "menu" } });
    assert.deepEqual(parseConsoleLine("🛍️ lihat KATALOG", prompt, "id"), { kind: "choice", choiceId: "catalog", prompt: { flow: "welcome", step: "menu" } });
    assert.deepEqual(parseConsoleLine("3", prompt, "id"), { kind: "text", text: "3" });
    assert.deepEqual(parseConsoleLine("!photo bukti/transfer.jpg lunas", undefined, "id"), {
      kind: "media",
      media: { type: "photo", fileRef: "bukti/transfer.jpg", fileName: "transfer.jpg", caption: "lunas" },
    });
    assert.deepEqual(parseConsoleLine("!contact 0812345678 Budi", undefined, "id"), { kind: "contact", contact: { phone: "0812345678", name: "Budi" } });
    assert.equal(parseConsoleLine("   ", prompt, "id"), undefined);
  });
});

describe("npm run demo", () => {
  /** Lines a logger would print: JSON lines, or winston's "level:" prefixes. */
  const LOG_LINE = /^\s*(\{"level"|\{"message"|(error|warn|info|debug):)/m;

  test("shows the demo store's greeting for /start and exits 0, with nothing but the chat on stdout", async () => {
    const child = spawn("npm", ["run", "-s", "demo"], { cwd: root, env: { ...process.env, LOG_LEVEL: "" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.stdin.end("/start\n");
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 0, err);
    const [banner, transcript] = out.split("\n\n> /start\n");
    assert.match(banner, /^Demo Niaga — Toko Demo berjalan di database sementara dalam memori \(mongodb:\/\/127\.0\.0\.1:\d+\/niaga\); semua data hilang saat demo ditutup\.\nKamu chat sebagai pelanggan\./);
    assert.match(transcript, /^Halo, selamat datang di Toko Demo! 👋\n/);
    assert.match(transcript, /\n {2}1\) .+\n/, "the greeting offers numbered choices");
    assert.doesNotMatch(out, LOG_LINE);
  });

  test("as the seller, shows the seller's menu", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "bots/demo.ts", "--as", "seller"], { cwd: root, env: { ...process.env, LOG_LEVEL: "" } });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stdin.end("/help\n");
    assert.equal(await new Promise<number | null>((resolve) => child.once("exit", resolve)), 0);
    assert.match(out, /Kamu chat sebagai penjual/);
    assert.match(out, /> \/help\nMenu penjual Toko Demo:\n\/start — Menu utama toko\n/);
    assert.doesNotMatch(out, LOG_LINE);
  });

  test("a customer browses the demo catalog with prices and stock", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "bots/demo.ts"], { cwd: root, env: { ...process.env, LOG_LEVEL: "" } });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stdin.end("/catalog\nNetflix\n");
    assert.equal(await new Promise<number | null>((resolve) => child.once("exit", resolve)), 0);
    assert.match(out, /Netflix Premium 1 Bulan — Rp35\.000/);
    assert.match(out, /Voucher Google Play 100K — Rp98\.000 \(habis\)/);
    assert.match(out, /> Netflix\nNetflix Premium 1 Bulan\nHarga: Rp35\.000 · stok 5\n/);
    // The sealed stock items (e.g. "NETFLIX-1M-9F3A…-1") are delivered after payment, never shown while browsing.
    assert.doesNotMatch(out, /NETFLIX-1M-[0-9A-F]{8}/);
  });

  /** Runs the demo with `lines` piped in; resolves with its exit code and what it printed. */
  async function demo(lines: string[], args: string[] = []): Promise<{ code: number | null; out: string; err: string }> {
    const child = spawn(process.execPath, ["--import", "tsx", "bots/demo.ts", ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: "" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.stdin.end(lines.map((line) => `${line}\n`).join(""));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    return { code, out, err };
  }

  test("a customer buys: quantity, SNK, the simulator's pay page, and the goods arrive in the chat once", async () => {
    // catalog → Netflix → Buy → 2 → accept the SNK → pay online → "Pay now" (presses the pay page's button) → my orders → the order
    const { code, out, err } = await demo(["/katalog", "Netflix", "1", "2", "1", "1", "1", "/pesanansaya", "1"]);
    assert.equal(code, 0, err);
    assert.match(out, /> 2\n📜 Syarat dan ketentuan \(SNK\) Toko Demo:\n/);
    assert.match(out, /Netflix Premium 1 Bulan × 2 @ Rp35\.000\nSubtotal: Rp70\.000\nTotal: Rp70\.000/);
    const payLink = /http:\/\/127\.0\.0\.1:\d+\/pay\/sim\/demo\/(INV-\d{6})\?t=[\w-]+/.exec(out);
    assert.ok(payLink, "the customer gets the pay page's link");
    assert.match(out, new RegExp(`✅ Pembayaran pesanan ${payLink[1]} di Toko Demo sudah diterima\\. Ini pesananmu:\\n\\n📦 Netflix Premium 1 Bulan \\(2\\)\\n`));
    const goods = out.match(/NETFLIX-1M-[0-9A-F]{8}-\d/g) ?? [];
    assert.equal(goods.length, 2, "two items, each shown once");
    assert.equal(new Set(goods).size, 2, "two different items");
    assert.match(out, new RegExp(`> 1\\n🧾 Pesanan ${payLink[1]} — terkirim\\n`), "my orders shows it delivered");
    assert.doesNotMatch(out, LOG_LINE);
  });

  test("a customer who declines the store's terms orders nothing, and says so in my orders", async () => {
    const { code, out } = await demo(["/katalog", "Netflix", "1", "1", "2", "/pesanansaya"]);
    assert.equal(code, 0);
    assert.match(out, /> 2\nOke, pesanan tidak dilanjutkan\./);
    assert.match(out, /> \/pesanansaya\nKamu belum punya pesanan di sini\./);
  });

  test("a seller adds stock from a file, changes a price, and reads both in the audit log", async () => {
    const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "niaga-demo-"));
    try {
      const file = join(dir, "stok.txt");
      await writeFile(file, "KODE-A1\nKODE-A2\n\nKODE-A1\n");
      const { code, out, err } = await demo(["/tambahstok netflix-1m", "2", `!document ${file}`, "/harga netflix-1m 36000", "/audit 5"], ["--as", "seller"]);
      assert.equal(code, 0, err);
      assert.match(out, /➕ Ditambahkan: 2\n⏭️ Dilewati \(duplikat\): 1 — baris 4\n/);
      assert.match(out, /📦 Tersedia sekarang: 7/);
      assert.match(out, /✅ Harga netflix-1m diubah: Rp35\.000 → Rp36\.000/);
      assert.match(out, /product\.price · product netflix-1m · \{"price":35000\} → \{"price":36000\}/);
      assert.match(out, /stock\.add · product netflix-1m · – → \{"added":2,"duplicates":1,"source":"file"\}/);
      assert.doesNotMatch(out, /KODE-A/, "stock payloads are never echoed");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
