// Orders from the seller's chat: the to-do list, one order with its transfer proof,
// approving (goods go out once), rejecting with a reason, cancelling, refunding, SNK
// claims, and the sales report in the store's time zone and currency.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Order } from "../../flows/ordering/order.ts";
import { createOrdering, type Ordering } from "../../flows/ordering/ordering.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import { StockItem } from "../../flows/ordering/stock-item.ts";
import { AuditLog, Tenant } from "../../storage/models/index.ts";
import { adminEngine, oid, person, seedShop } from "./admin-fixture.ts";
import { type ProductSpec } from "../support/stores.ts";
import { useTestDatabase } from "../support/mongo.ts";

useTestDatabase("tenant_admin_orders");

/** What customers were sent, by message key. */
class CustomerInbox extends RecordingOutbox {
  keys(): string[] {
    return this.sent.map((s) => ("key" in s.message.text ? s.message.text.key : "inline"));
  }
}

const PRODUCTS: ProductSpec[] = [
  { code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, stock: ["NF-1", "NF-2", "NF-3", "NF-4"] },
  { code: "spotify-1m", name: "Spotify 1 Bulan", price: 25_000, stock: ["SP-1", "SP-2", "SP-3"] },
];

async function shopWithOrdering(members: Record<string, "owner" | "admin" | "staff"> = { "owner-1": "owner" }) {
  const shop = await seedShop({ members, products: PRODUCTS });
  await Tenant.updateOne({ _id: oid(shop.id) }, { $set: { "settings.ordering.paymentMethods": ["manual"], "settings.ordering.paymentInstructions": "BCA 123" } }).exec();
  const inbox = new CustomerInbox();
  const ordering = createOrdering({ outbox: inbox, gateways: gatewayMap(manualGateway()) });
  return { shop, inbox, ordering };
}

let buyers = 0;
async function orderWithProof(ordering: Ordering, tenantId: string, productCode = "netflix-1m", quantity = 1) {
  const buyer = { channel: "telegram", channelUserId: `b${++buyers}`, chatId: `b${buyers}`, locale: "id" as const, name: `Pembeli ${buyers}` };
  const placed = await ordering.placeOrder({ tenantId, customer: buyer, items: [{ productCode, quantity }], snkAccepted: true });
  assert.ok(placed.ok, JSON.stringify(placed));
  const proof = await ordering.submitPaymentProof(tenantId, buyer, placed.order.code, { fileRef: `proof-photo-${buyers}` });
  assert.ok(proof.ok);
  return { buyer, code: placed.order.code };
}

const available = async (tenantId: string) => StockItem.countDocuments({ tenantId: oid(tenantId), status: "available" }).exec();

describe("the order list", () => {
  test("/pesanan shows what needs the seller, and /pesanan KODE shows one order with its transfer proof", async () => {
    const { shop, ordering } = await shopWithOrdering();
    const { code } = await orderWithProof(ordering, shop.id);
    const { engine } = adminEngine({ ordering });
    const owner = person(engine, shop, "owner-1");
    const [todo] = await owner.say("/pesanan");
    assert.match(todo, /^🧾 Perlu ditangani: 1 bukti transfer menunggu dicek · 0 klaim · 0 bermasalah\n• INV-\d{6} · bukti transfer menunggu dicek · Rp35\.000 · Pembeli \d+ · /);
    const replies = await owner.say(`/pesanan ${code}`);
    assert.match(replies[0], new RegExp(`^🧾 ${code} — bukti transfer menunggu dicek\\nPembeli: Pembeli \\d+ \\(telegram b\\d+\\)\\n• 1× Netflix 1 Bulan \\(netflix-1m\\) @ Rp35\\.000\\nTotal: Rp35\\.000\\n`));
    assert.deepEqual(owner.last[1].media, { type: "photo", ref: `proof-photo-${buyers}` });
    assert.equal(replies[1], `Bukti transfer ${code}`);
    assert.deepEqual(owner.choiceIds, ["approve", "reject", "cancel", "done"]);
  });

  test("lists by status; a malformed filter shows the usage", async () => {
    const { shop, ordering } = await shopWithOrdering();
    await orderWithProof(ordering, shop.id);
    const { engine } = adminEngine({ ordering });
    const owner = person(engine, shop, "owner-1");
    const [waiting] = await owner.say("/pesanan menunggu");
    assert.match(waiting, /^🧾 Pesanan menunggu pembayaran \(1\):\n• INV-/);
    assert.deepEqual(await owner.say("/pesanan dibayar"), ["Tidak ada pesanan dibayar."]);
    await owner.say("/pesanan kemarin");
    assert.deepEqual(owner.keys, ["admin.usage.orders"]);
  });
});

describe("approving and rejecting a manual payment", () => {
  test("approve delivers the goods exactly once, even when approved twice", async () => {
    const { shop, inbox, ordering } = await shopWithOrdering({ "owner-1": "owner", "staf-1": "staff" });
    const { code } = await orderWithProof(ordering, shop.id);
    const { engine } = adminEngine({ ordering });
    const staff = person(engine, shop, "staf-1");
    await staff.say(`/pesanan ${code}`);
    assert.deepEqual(staff.choiceIds, ["approve", "reject", "done"], "staff may approve but not cancel");
    assert.deepEqual(await staff.press("approve"), [`✅ Pembayaran ${code} disetujui dan barang sudah terkirim ke pembeli.`]);
    assert.deepEqual(await person(engine, shop, "owner-1").say(`/setujui ${code}`), [`${code} sudah dibayar sebelumnya (status: terkirim); tidak ada yang dikirim dua kali.`]);
    assert.equal(inbox.keys().filter((k) => k === "ordering.delivery").length, 1);
    const order = await Order.findOne({ tenantId: oid(shop.id), code }).lean().exec();
    assert.equal(order?.status, "delivered");
    assert.equal(order?.payment?.approvedBy?.userId, "staf-1");
    assert.ok(await AuditLog.exists({ tenantId: oid(shop.id), action: "order.approve_payment", "target.id": code }));
  });

  test("reject asks for the reason when none is given, releases the stock and tells the customer", async () => {
    const { shop, inbox, ordering } = await shopWithOrdering();
    const { code } = await orderWithProof(ordering, shop.id, "netflix-1m", 2);
    const { engine } = adminEngine({ ordering });
    const owner = person(engine, shop, "owner-1");
    assert.equal(await available(shop.id), 5);
    await owner.say(`/tolak ${code}`);
    assert.deepEqual(owner.keys, ["admin.orders.ask_reject_reason"]);
    assert.deepEqual(await owner.say("transfer belum masuk"), [`⛔ Pembayaran ${code} ditolak. Stok dikembalikan dan pembeli diberi tahu alasannya: transfer belum masuk`]);
    assert.equal(await available(shop.id), 7);
    const notice = inbox.sent.find((s) => "key" in s.message.text && s.message.text.key === "ordering.payment_rejected");
    assert.equal(notice?.message.text.params?.reason, "transfer belum masuk");
    assert.deepEqual(await owner.say(`/setujui ${code}`), [`Pesanan ${code} sedang berstatus ditolak, jadi tidak bisa diubah dengan perintah ini.`]);
  });

  test("a reason typed with the command is used at once", async () => {
    const { shop, ordering } = await shopWithOrdering();
    const { code } = await orderWithProof(ordering, shop.id);
    const { engine } = adminEngine({ ordering });
    const [answer] = await person(engine, shop, "owner-1").say(`/reject ${code.toLowerCase()} bukti palsu`);
    assert.match(answer, /ditolak[\s\S]*alasannya: bukti palsu$/);
  });

  test("malformed or unknown codes; another store's order by code is not found", async () => {
    const { shop: shopA, ordering } = await shopWithOrdering({ "owner-a": "owner" });
    const { shop: shopB } = await shopWithOrdering({ "owner-b": "owner" });
    const { code: codeB } = await orderWithProof(ordering, shopB.id);
    const { engine } = adminEngine({ ordering });
    const owner = person(engine, shopA, "owner-a");
    assert.deepEqual(await owner.say("/setujui"), ["Cara pakai: /setujui KODE — contoh: /setujui INV-000123"]);
    await owner.say("/tolak bukan-kode alasan");
    assert.deepEqual(owner.keys, ["admin.usage.reject"]);
    assert.deepEqual(await owner.say(`/setujui ${codeB}`), [`Pesanan ${codeB} tidak ada di toko ini. Cek daftar dengan /pesanan.`]);
    await owner.say(`/pesanan ${codeB}`);
    assert.deepEqual(owner.keys, ["admin.orders.unknown"]);
    await owner.say(`/refund ${codeB}`);
    assert.deepEqual(owner.keys, ["admin.orders.unknown"]);
    assert.equal((await Order.findOne({ tenantId: oid(shopB.id), code: codeB }).lean().exec())?.status, "pending_payment");
  });

  test("without the ordering domain plugged in, changes are refused politely and nothing moves", async () => {
    const { shop, ordering } = await shopWithOrdering();
    const { code } = await orderWithProof(ordering, shop.id);
    const { engine } = adminEngine();
    assert.deepEqual(await person(engine, shop, "owner-1").say(`/setujui ${code}`), ["Mengubah pesanan belum bisa dilakukan dari sini. Hubungi pemilik platform."]);
    assert.equal((await Order.findOne({ tenantId: oid(shop.id), code }).lean().exec())?.status, "pending_payment");
  });
});

describe("cancelling and refunding", () => {
  test("an unpaid order is cancelled; a paid, undelivered one refunded; stock goes back each time", async () => {
    const { shop, inbox, ordering } = await shopWithOrdering({ "owner-1": "owner", "staf-1": "staff" });
    const { code: unpaid } = await orderWithProof(ordering, shop.id, "spotify-1m");
    const { code: paid } = await orderWithProof(ordering, shop.id, "spotify-1m");
    const paidOrder = await Order.findOne({ tenantId: oid(shop.id), code: paid }).lean().exec();
    assert.equal((await ordering.markPaid(shop.id, String(paidOrder!._id), { method: "manual" })).outcome, "paid");
    const { engine } = adminEngine({ ordering });
    const staff = person(engine, shop, "staf-1");
    await staff.say(`/batalkan ${unpaid}`);
    assert.deepEqual(staff.keys, ["admin.denied.role"]);
    const owner = person(engine, shop, "owner-1");
    assert.deepEqual(await owner.say(`/batalkan ${unpaid} salah harga`), [`✖️ Pesanan ${unpaid} dibatalkan. Stok dikembalikan dan pembeli sudah diberi tahu.`]);
    await owner.say(`/pesanan ${paid}`);
    assert.deepEqual(owner.choiceIds, ["refund", "done"]);
    assert.deepEqual(await owner.press("refund"), [`↩️ Pesanan ${paid} ditandai refund. Stok dikembalikan dan pembeli sudah diberi tahu. Kembalikan dananya lewat rekeningmu ya.`]);
    assert.equal(await available(shop.id), 4 + 3);
    assert.ok(inbox.keys().includes("ordering.order_cancelled") && inbox.keys().includes("ordering.order_refunded"));
    assert.deepEqual(await owner.say(`/refund ${unpaid}`), [`Pesanan ${unpaid} sedang berstatus dibatalkan, jadi tidak bisa diubah dengan perintah ini.`]);
  });
});

describe("SNK claims", () => {
  test("a customer's claim shows with its screenshot; the seller accepts it with a note", async () => {
    const { shop, inbox, ordering } = await shopWithOrdering();
    const { buyer, code } = await orderWithProof(ordering, shop.id);
    const { engine } = adminEngine({ ordering });
    const owner = person(engine, shop, "owner-1");
    assert.deepEqual(await owner.say("/klaim"), ["Tidak ada klaim yang menunggu jawaban. 👍"]);
    await owner.say(`/setujui ${code}`);
    const claimed = await ordering.claimOrder(shop.id, buyer, code, { text: "Akun tidak bisa login", proof: { fileRef: "claim-shot-1" } });
    assert.ok(claimed.ok);

    await owner.say("/klaim");
    assert.deepEqual(owner.choiceIds, [code]);
    const shown = await owner.press(code);
    assert.match(shown[0], new RegExp(`^🛟 Klaim ${code} dari Pembeli \\d+ \\(.+\\)\\nBarang: 1× Netflix 1 Bulan\\nKata pembeli: Akun tidak bisa login$`));
    assert.deepEqual(owner.last[1].media, { type: "photo", ref: "claim-shot-1" });
    assert.deepEqual(owner.choiceIds, ["accepted", "refused", "later"]);
    await owner.press("accepted");
    assert.deepEqual(await owner.say("Akun pengganti sudah dikirim"), [`✅ Klaim ${code} diterima; pembeli sudah diberi tahu. Jangan lupa kirim pengganti atau refund-nya.`]);
    const resolved = inbox.sent.find((s) => "key" in s.message.text && s.message.text.key === "ordering.claim_accepted");
    assert.equal(resolved?.message.text.params?.note, "Akun pengganti sudah dikirim");
    assert.deepEqual(await owner.say(`/klaim ${code}`), [`${code} tidak punya klaim yang menunggu jawaban.`]);
    assert.ok(await AuditLog.exists({ tenantId: oid(shop.id), action: "order.resolve_claim" }));
  });
});

describe("/laporan", () => {
  test("counts orders and revenue in the store's calendar and currency, with the best sellers", async () => {
    const { shop, ordering } = await shopWithOrdering({ "owner-1": "owner", "staf-1": "staff" });
    // 08:00 in Jakarta on 10 March; the store's "today" began at 17:00 UTC on 9 March.
    const now = new Date("2026-03-10T01:00:00Z");
    const placedAt = async (code: string, at: string) =>
      // Straight to the collection: mongoose keeps `createdAt` immutable, as it should be outside tests.
      Order.collection.updateOne({ tenantId: oid(shop.id), code }, { $set: { createdAt: new Date(at) } });
    const sold = async (productCode: string, quantity: number, at: string) => {
      const { code } = await orderWithProof(ordering, shop.id, productCode, quantity);
      await ordering.approvePayment(shop.id, code, { channel: "console", userId: "owner-1" });
      await placedAt(code, at);
    };
    await sold("netflix-1m", 2, "2026-03-09T18:00:00Z"); // 01:00 WIB, today
    await sold("spotify-1m", 1, "2026-03-10T00:30:00Z"); // 07:30 WIB, today
    await sold("spotify-1m", 1, "2026-03-09T16:30:00Z"); // 23:30 WIB yesterday: this week only
    const { code: waiting } = await orderWithProof(ordering, shop.id, "spotify-1m");
    await placedAt(waiting, "2026-03-10T00:45:00Z");
    const { engine } = adminEngine({ ordering, clock: () => now });
    const owner = person(engine, shop, "owner-1");
    assert.deepEqual(await owner.say("/laporan"), [
      "📈 Laporan hari ini (10 Mar – 10 Mar, Asia/Jakarta)\nPesanan: 3 (dibayar 2 · menunggu 1 · batal/kedaluwarsa 0 · refund 0)\nOmzet: Rp95.000\nProduk terlaris:\n1. Netflix 1 Bulan (netflix-1m) — 2 terjual · Rp70.000\n2. Spotify 1 Bulan (spotify-1m) — 1 terjual · Rp25.000",
    ]);
    const [week] = await owner.say("/laporan 7h");
    assert.match(week, /^📈 Laporan 7 hari terakhir \(4 Mar – 10 Mar, Asia\/Jakarta\)\nPesanan: 4 \(dibayar 3 · menunggu 1[\s\S]*Omzet: Rp120\.000\n[\s\S]*1\. Netflix 1 Bulan \(netflix-1m\) — 2 terjual · Rp70\.000\n2\. Spotify 1 Bulan \(spotify-1m\) — 2 terjual · Rp50\.000$/);
    const [english] = await person(engine, shop, "owner-1", { locale: "en" }).say("/report 30d");
    assert.match(english, /^📈 Report for the last 30 days \(9 Feb – 10 Mar, Asia\/Jakarta\)\nOrders: 4 [\s\S]*Revenue: Rp120,000/);
    await owner.say("/laporan kemarin");
    assert.deepEqual(owner.keys, ["admin.usage.report"]);
    const staff = person(engine, shop, "staf-1");
    await staff.say("/laporan");
    assert.deepEqual(staff.keys, ["admin.denied.role"], "revenue is for owners and admins");
  });

  test("another store's sales never appear", async () => {
    const { shop: shopA, ordering } = await shopWithOrdering({ "owner-a": "owner" });
    const { shop: shopB } = await shopWithOrdering({ "owner-b": "owner" });
    const { code } = await orderWithProof(ordering, shopB.id);
    await ordering.approvePayment(shopB.id, code, { channel: "console", userId: "owner-b" });
    const { engine } = adminEngine({ ordering });
    const [report] = await person(engine, shopA, "owner-a").say("/laporan 30h");
    assert.match(report, /Pesanan: 0 [\s\S]*Omzet: Rp0\nProduk terlaris:\nbelum ada penjualan$/);
  });
});
