// Every change a seller makes from the chat leaves exactly one audit entry: who (channel
// and user id), what, on what, the value before and after, when and from which chat —
// whether the change is the admin flows' own (products, stock, settings, the team) or goes
// through the ordering domain (payments, cancellations, refunds, claims). No entry holds a
// stock payload, an invite token or a proof file's reference.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Types } from "mongoose";
import { Order } from "../../flows/ordering/order.ts";
import { createOrdering, type Ordering } from "../../flows/ordering/ordering.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import type { UserFiles } from "../../flows/engine/index.ts";
import { StaffInvite } from "../../flows/tenant-admin/invites.ts";
import { AuditLog, Tenant } from "../../storage/models/index.ts";
import { adminEngine, oid, person, seedShop, type ChatUser } from "./admin-fixture.ts";
import { type ProductSpec } from "../support/stores.ts";
import { useTestDatabase } from "../support/mongo.ts";

useTestDatabase("tenant_admin_audit_coverage");

/** Stock the store starts with, and what the seller adds: none of it may reach the audit log. */
const SEEDED_STOCK = ["NF-SEED-aaa1", "NF-SEED-aaa2", "NF-SEED-aaa3", "NF-SEED-aaa4", "NF-SEED-aaa5", "NF-SEED-aaa6", "NF-SEED-aaa7"];
const TYPED_STOCK = ["typed-akun1@mail.com | sandi-rahasia-1", "typed-akun2@mail.com | sandi-rahasia-2"];
const FILE_STOCK = ["file-akun1@mail.com | sandi-file-1", "file-akun2@mail.com | sandi-file-2"];

const PRODUCTS: ProductSpec[] = [
  { code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, stock: SEEDED_STOCK },
  { code: "spotify-1m", name: "Spotify 1 Bulan", price: 25_000, stock: ["SP-SEED-bbb1"] },
  { code: "draf", name: "Paket Draf", price: 99_000, status: "hidden" },
];

/** One store with a manual payment method, its ordering domain, and the seller's engine. */
async function storeWithOrders() {
  const shop = await seedShop({ members: { "owner-1": "owner" }, products: PRODUCTS });
  await Tenant.updateOne({ _id: oid(shop.id) }, { $set: { "settings.ordering.paymentMethods": ["manual"], "settings.ordering.paymentInstructions": "BCA 123" } }).exec();
  const ordering = createOrdering({ outbox: new RecordingOutbox(), gateways: gatewayMap(manualGateway()) });
  const files: UserFiles = {
    async fetchFile(_from, fileRef) {
      if (fileRef !== "stock-file-ref") throw new Error(`no file ${fileRef}`);
      return Buffer.from(`${FILE_STOCK.join("\n")}\n`, "utf8");
    },
  };
  const { engine } = adminEngine({ ordering, files, adminRateLimit: { limit: 1000, windowMs: 60_000 } });
  return { shop, ordering, engine };
}

let buyers = 0;
/** An order of one Netflix with a transfer proof; `paid` marks it paid (not delivered), `claimed` delivers it and opens a claim. */
async function order(ordering: Ordering, tenantId: string, state: "proof" | "paid" | "claimed" = "proof") {
  buyers += 1;
  const buyer = { channel: "telegram", channelUserId: `b${buyers}`, chatId: `b${buyers}`, locale: "id" as const, name: `Pembeli ${buyers}` };
  const placed = await ordering.placeOrder({ tenantId, customer: buyer, items: [{ productCode: "netflix-1m", quantity: 1 }], snkAccepted: true });
  assert.ok(placed.ok, JSON.stringify(placed));
  const code = placed.order.code;
  assert.ok((await ordering.submitPaymentProof(tenantId, buyer, code, { fileRef: `proof-photo-ref-${buyers}` })).ok);
  if (state === "paid") {
    assert.equal((await ordering.markPaid(tenantId, placed.order.id, { method: "manual" })).outcome, "paid");
  }
  if (state === "claimed") {
    assert.ok((await ordering.approvePayment(tenantId, code, { channel: "console", userId: "setup" })).ok);
    assert.ok((await ordering.claimOrder(tenantId, buyer, code, { text: "Akun tidak bisa login", proof: { fileRef: `claim-shot-ref-${buyers}` } })).ok);
  }
  return code;
}

interface Entry {
  _id: Types.ObjectId;
  actor: { channel: string; userId: string; name?: string };
  action: string;
  target: { type: string; id?: string };
  before?: unknown;
  after?: unknown;
  at: Date;
  where: string;
}

const entriesOf = (tenantId: string) => AuditLog.find({ tenantId: oid(tenantId) }).sort({ at: 1, _id: 1 }).lean<Entry[]>().exec();

/** What one mutation must have written. `before`/`after` undefined: the entry has none. */
interface Expected {
  action: string;
  target: { type: string; id?: string };
  before?: unknown;
  after?: unknown;
}

describe("every admin mutation writes one audit entry", () => {
  test("products, stock, settings, the team, invites, payments, cancellations, refunds and claims", async () => {
    const { shop, ordering, engine } = await storeWithOrders();
    const toApprove = await order(ordering, shop.id);
    const toReject = await order(ordering, shop.id);
    const toCancel = await order(ordering, shop.id);
    const toRefund = await order(ordering, shop.id, "paid");
    const toAccept = await order(ordering, shop.id, "claimed");
    const toRefuse = await order(ordering, shop.id, "claimed");
    // The setup's own approvals are the domain's entries, not the seller's: start counting here.
    await AuditLog.deleteMany({ tenantId: oid(shop.id) }).exec();

    const owner = person(engine, shop, "owner-1");
    const owners = { channel: "console", userId: "owner-1", name: "Sari" };
    const seen: string[] = [];

    /**
     * Runs what a seller sends, checks the last reply is the change's confirmation (so the
     * change did happen), and that exactly one entry appeared, recording all of `expected`.
     */
    async function mutation(
      who: ChatUser,
      actor: { channel: string; userId: string; name?: string },
      steps: (() => Promise<string[]>)[],
      confirmation: string,
      expectation: Expected | (() => Promise<Expected>),
    ): Promise<Entry> {
      const before = new Set((await entriesOf(shop.id)).map((e) => String(e._id)));
      const startedAt = new Date();
      for (const step of steps) await step();
      const finishedAt = new Date();
      const expected = typeof expectation === "function" ? await expectation() : expectation;
      assert.deepEqual(who.keys.slice(-1), [confirmation], `${expected.action}: the change went through`);
      const fresh = (await entriesOf(shop.id)).filter((e) => !before.has(String(e._id)));
      assert.equal(fresh.length, 1, `${expected.action}: one new entry, got ${fresh.map((e) => e.action).join(", ")}`);
      const [entry] = fresh;
      assert.deepEqual(
        { actor: entry.actor, action: entry.action, target: entry.target, before: entry.before, after: entry.after, where: entry.where },
        { actor, action: expected.action, target: expected.target, before: expected.before, after: expected.after, where: `${who.inbound.channel}:${who.inbound.chatId}` },
        expected.action,
      );
      assert.ok(entry.at instanceof Date && entry.at >= new Date(startedAt.getTime() - 5) && entry.at <= finishedAt, `${expected.action}: when`);
      seen.push(expected.action);
      return entry;
    }
    const says = (who: ChatUser, typed: string) => () => who.say(typed);
    const presses = (who: ChatUser, choice: string) => () => who.press(choice);
    const product = (id: string) => ({ type: "product", id });
    const store = { type: "store", id: shop.slug };
    const member = (id: string) => ({ type: "member", id: `console:${id}` });
    const orderTarget = (code: string) => ({ type: "order", id: code });

    // Products.
    await mutation(
      owner,
      owners,
      ["/tambahproduk canva-1y", "Canva Pro 1 Tahun", "45000", "Undangan tim ke email kamu.", "Desain", "5", "3"].map((typed) => says(owner, typed)).concat(presses(owner, "save")),
      "admin.product.created",
      {
        action: "product.create",
        target: product("canva-1y"),
        after: { sku: "canva-1y", name: "Canva Pro 1 Tahun", price: 45_000, description: "Undangan tim ke email kamu.", category: "Desain", perOrderMax: 5, lowStockThreshold: 3, status: "active" },
      },
    );
    const edits: [field: string, typed: string, before: unknown, after: unknown][] = [
      ["name", "Netflix Premium 1 Bulan", "Netflix 1 Bulan", "Netflix Premium 1 Bulan"],
      ["price", "Rp37.500", 35_000, 37_500],
      ["description", "Akun sharing, 1 profil.", "", "Akun sharing, 1 profil."],
      ["category", "Streaming", "", "Streaming"],
      ["perOrderMax", "2", null, 2],
      ["lowStockThreshold", "4", 0, 4],
    ];
    for (const [field, typed, before, after] of edits) {
      await mutation(owner, owners, [says(owner, "/ubahproduk netflix-1m"), presses(owner, field), says(owner, typed)], "admin.product.changed", {
        action: `product.${field}`,
        target: product("netflix-1m"),
        before: { [field]: before },
        after: { [field]: after },
      });
    }
    await mutation(owner, owners, [says(owner, "/harga spotify-1m 26000")], "admin.product.changed", {
      action: "product.price",
      target: product("spotify-1m"),
      before: { price: 25_000 },
      after: { price: 26_000 },
    });
    await mutation(owner, owners, [says(owner, "/sembunyikan spotify-1m")], "admin.product.hidden", {
      action: "product.hide",
      target: product("spotify-1m"),
      before: { status: "active" },
      after: { status: "hidden" },
    });
    await mutation(owner, owners, [says(owner, "/tampilkan draf")], "admin.product.shown", {
      action: "product.show",
      target: product("draf"),
      before: { status: "hidden" },
      after: { status: "active" },
    });

    // Stock: typed in the chat, and as a file. Counts only, never the items.
    await mutation(owner, owners, [says(owner, `/tambahstok netflix-1m\n${TYPED_STOCK[0]}\n${TYPED_STOCK[1]}\n${SEEDED_STOCK[6]}`), says(owner, "selesai")], "admin.stock.imported", {
      action: "stock.add",
      target: product("netflix-1m"),
      after: { added: 2, duplicates: 1, source: "chat" },
    });
    await mutation(
      owner,
      owners,
      [says(owner, "/tambahstok draf"), presses(owner, "file"), () => owner.send({ kind: "media", media: { type: "document", fileRef: "stock-file-ref", fileName: "stok.txt" } })],
      "admin.stock.imported",
      { action: "stock.add", target: product("draf"), after: { added: 2, duplicates: 0, source: "file" } },
    );

    // Settings, each one.
    const settings: [id: string, answer: () => Promise<string[]>, before: unknown, after: unknown][] = [
      ["name", says(owner, "Toko Baru Jaya"), "Toko Uji", "Toko Baru Jaya"],
      ["snk", says(owner, "Garansi 7 hari."), "", "Garansi 7 hari."],
      ["payment", says(owner, "BCA 456 a.n. Sari"), "BCA 123", "BCA 456 a.n. Sari"],
      ["timeout", says(owner, "30"), 60, 30],
      ["window", says(owner, "48"), 24, 48],
      ["language", presses(owner, "en"), "id", "en"],
    ];
    for (const [id, answer, before, after] of settings) {
      await mutation(owner, owners, [says(owner, "/pengaturan"), presses(owner, id), answer], "admin.settings.saved", {
        action: `settings.${id}`,
        target: store,
        before: { [id]: before },
        after: { [id]: after },
      });
    }

    // The team: add, change the role, remove; invite, and the invited person joining.
    await mutation(owner, owners, [says(owner, "/tambahstaf admin 4242 Budi")], "admin.staff.added", { action: "staff.add", target: member("4242"), after: { role: "admin" } });
    await mutation(owner, owners, [says(owner, "/addstaff staf 4242")], "admin.staff.role_changed", {
      action: "staff.role",
      target: member("4242"),
      before: { role: "admin" },
      after: { role: "staff" },
    });
    await mutation(owner, owners, [says(owner, "/hapusstaf 4242")], "admin.staff.removed", { action: "staff.remove", target: member("4242"), before: { role: "staff" } });
    let token = "";
    const invited = await mutation(
      owner,
      owners,
      [
        async () => {
          const replies = await owner.say("/undang admin");
          token = /inv_[A-Za-z0-9_-]+/.exec(replies.join("\n"))?.[0] ?? "";
          return replies;
        },
      ],
      "admin.staff.invited",
      // Named by the invite's id (never its token), with its role and expiry.
      async () => {
        const invite = await StaffInvite.findOne({ tenantId: oid(shop.id) }).lean().exec();
        assert.ok(invite, "the invite exists");
        return { action: "staff.invite", target: { type: "invite", id: String(invite._id) }, after: { role: "admin", expiresAt: invite.expiresAt } };
      },
    );
    assert.ok(token.startsWith("inv_"), "the owner is shown the invite's token");
    assert.ok(Math.abs((invited.after as { expiresAt: Date }).expiresAt.getTime() - invited.at.getTime() - 48 * 3_600_000) < 5_000, "valid 48 hours");
    const newcomer = person(engine, shop, "newbie");
    await mutation(newcomer, { channel: "console", userId: "newbie", name: "Sari" }, [says(newcomer, `/gabung ${token}`)], "admin.staff.joined", {
      action: "staff.join",
      target: member("newbie"),
      after: { role: "admin", invite: invited.target.id },
    });

    // Orders, through the ordering domain: recorded from the seller's chat, like the rest.
    await mutation(owner, owners, [says(owner, `/setujui ${toApprove}`)], "admin.orders.approved_delivered", {
      action: "order.approve_payment",
      target: orderTarget(toApprove),
      before: { status: "pending_payment" },
      after: { status: "paid" },
    });
    await mutation(owner, owners, [says(owner, `/tolak ${toReject} transfer belum masuk`)], "admin.orders.rejected", {
      action: "order.reject_payment",
      target: orderTarget(toReject),
      before: { status: "pending_payment" },
      after: { status: "rejected", reason: "transfer belum masuk" },
    });
    await mutation(owner, owners, [says(owner, `/batalkan ${toCancel} salah harga`)], "admin.orders.cancelled", {
      action: "order.cancel",
      target: orderTarget(toCancel),
      before: { status: "pending_payment" },
      after: { status: "cancelled", reason: "salah harga" },
    });
    await mutation(owner, owners, [says(owner, `/refund ${toRefund}`)], "admin.orders.refunded", {
      action: "order.refund",
      target: orderTarget(toRefund),
      before: { status: "paid" },
      after: { status: "refunded" },
    });
    await mutation(owner, owners, [says(owner, `/klaim ${toAccept}`), presses(owner, "accepted"), says(owner, "Akun pengganti sudah dikirim")], "admin.claims.accepted", {
      action: "order.resolve_claim",
      target: orderTarget(toAccept),
      before: { snk: "claimed" },
      after: { snk: "closed", outcome: "accepted", note: "Akun pengganti sudah dikirim" },
    });
    await mutation(owner, owners, [says(owner, `/klaim ${toRefuse}`), presses(owner, "refused"), says(owner, "-")], "admin.claims.refused", {
      action: "order.resolve_claim",
      target: orderTarget(toRefuse),
      before: { snk: "claimed" },
      after: { snk: "closed", outcome: "refused" },
    });

    assert.deepEqual(seen, [
      "product.create",
      ...edits.map(([field]) => `product.${field}`),
      "product.price",
      "product.hide",
      "product.show",
      "stock.add",
      "stock.add",
      ...settings.map(([id]) => `settings.${id}`),
      "staff.add",
      "staff.role",
      "staff.remove",
      "staff.invite",
      "staff.join",
      "order.approve_payment",
      "order.reject_payment",
      "order.cancel",
      "order.refund",
      "order.resolve_claim",
      "order.resolve_claim",
    ]);

    // Nothing secret anywhere in the log: not the stock, not the invite, not the proofs.
    const log = JSON.stringify(await entriesOf(shop.id));
    const secrets = [...SEEDED_STOCK, "SP-SEED-bbb1", ...TYPED_STOCK, ...FILE_STOCK, "sandi", token, "proof-photo-ref", "claim-shot-ref", "stock-file-ref"];
    for (const secret of secrets) assert.ok(!log.includes(secret), `the audit log holds ${secret}`);
    // The orders themselves record who acted, but not the chat (that is the audit log's).
    const approved = await Order.findOne({ tenantId: oid(shop.id), code: toApprove }).lean().exec();
    assert.deepEqual(approved?.payment?.approvedBy, owners);
    const cancelled = await Order.findOne({ tenantId: oid(shop.id), code: toCancel }).lean().exec();
    assert.deepEqual(cancelled?.closing?.by, owners);
  });

  test("a refused or failed command writes nothing", async () => {
    const { shop, ordering, engine } = await storeWithOrders();
    const code = await order(ordering, shop.id);
    await AuditLog.deleteMany({ tenantId: oid(shop.id) }).exec();
    const owner = person(engine, shop, "owner-1");
    const typed = [
      "/harga netflix-1m 0",
      "/harga tidak-ada 1000",
      "/tampilkan netflix-1m",
      "/tambahstaf pemilik owner-1",
      "/hapusstaf owner-1",
      "/hapusstaf 999",
      "/setujui INV-999999",
      `/refund ${code}`,
      "/klaim INV-999999",
    ];
    const answers: string[][] = [];
    for (const command of typed) {
      await owner.say(command);
      answers.push(owner.keys);
    }
    assert.deepEqual(answers, [
      ["admin.product.price_not_positive", "admin.usage.product_price"],
      ["admin.product.unknown_sku"],
      ["admin.product.already_shown"],
      ["admin.staff.unchanged"],
      ["admin.staff.last_owner"],
      ["admin.staff.not_found"],
      ["admin.orders.unknown"],
      ["admin.orders.not_now"],
      ["admin.orders.unknown"],
    ]);
    assert.deepEqual(await entriesOf(shop.id), []);
  });
});
