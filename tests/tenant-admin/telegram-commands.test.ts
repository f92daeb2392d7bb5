// Every seller command of the README's table, typed or tapped in a real store bot: grammY
// against the Bot API emulator, with the platform's own wiring — `createCommerce` (ordering,
// manual payments, sellers' alerts, customer messages through the store bots), the engine's
// `withPlatformOwners(memberAudience(), …)` and the role-filtered command menus. An owner
// runs the store from the chat, a staff member is refused the owner's tools, and the
// platform owner acts in a store they are not a member of. Replies are read as the seller's
// Telegram shows them; the database says what each command changed.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { Types } from "mongoose";
import type { Message, User } from "grammy/types";
import type { StoreBots } from "../../adapters/telegram/store-bots.ts";
import { createCommerce, type Commerce } from "../../bots/commerce.ts";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import { Channels, Outbox } from "../../flows/engine/index.ts";
import { configureLogging } from "../../bots/logger.ts";
import { memberAudience } from "../../flows/engine/audience.ts";
import { createEngine } from "../../flows/engine/engine.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { formatPrice } from "../../flows/ordering/catalog.ts";
import { Order, type CustomerRef, type OrderRecord } from "../../flows/ordering/order.ts";
import { Product } from "../../flows/ordering/product.ts";
import { addStockItems, StockItem } from "../../flows/ordering/stock-item.ts";
import { roleMayStart } from "../../flows/tenant-admin/admin-flows.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { StaffInvite } from "../../flows/tenant-admin/invites.ts";
import { withPlatformOwners } from "../../flows/tenant-admin/permissions.ts";
import { startOfStoreDay } from "../../flows/tenant-admin/sales-report.ts";
import { t } from "../../locales/i18n.ts";
import { AuditLog, Member, Tenant } from "../../storage/models/index.ts";
import { createInProcessRateLimiter, type RateLimiter } from "../../storage/rate-limit.ts";
import { samplePng } from "../support/telegram-emulator.ts";
import { buttonLabels, startStores, storeChat, words, type Store, type Stores } from "../telegram/store-fixture.ts";
import { eventually } from "../support/eventually.ts";

const ID = "id";
const ZONE = "Asia/Jakarta";
const STORE_NAME = "Toko Kilat";
/** The platform owner (`OWNER_CHAT_IDS`): known before the emulator makes users, since the engine needs it. */
const PLATFORM_OWNER_ID = 555_000_111;
const rp = (amount: number) => formatPrice(amount, "IDR", ID);
const when = (at: Date) => formatWhen(at, { locale: ID, timeZone: ZONE, style: "compact" });

describe("every seller command in a Telegram store bot, with the platform's wiring", () => {
  let stores: Stores;
  let store: Store;
  let commerce: Commerce;
  let owner: User;
  let staff: User;
  let platformOwner: User;
  let netflixId: Types.ObjectId;
  // The bots are made after the engine (they need it); the domain reaches them once they exist.
  const running: { bots?: StoreBots } = {};
  const channels = new Channels();
  // The platform's in-process limiter (30 admin commands a minute each), fresh for each test as if a minute had passed.
  let minute = createInProcessRateLimiter();
  const limiter: RateLimiter = { consume: (...args) => minute.consume(...args) };

  /** A customer and the order they placed; `proof` is the file_id of the receipt photo they sent. */
  interface Placed {
    customer: User;
    ref: CustomerRef;
    code: string;
    proof?: string;
  }
  const orders: Record<"A" | "B" | "C" | "D" | "E" | "F", Placed> = {} as never;
  let claimShot = "";

  const tenantId = () => new Types.ObjectId(store.id);
  const orderOf = (code: string) => Order.findOne({ tenantId: tenantId(), code }).lean<OrderRecord>().exec();
  const available = (productId: Types.ObjectId) => StockItem.countDocuments({ tenantId: tenantId(), productId, status: "available" } as never).exec();

  const { botMessagesAfter, send, press } = storeChat(() => stores, () => store);

  const texts = (list: Message[]) => list.map(words);
  const lastAudit = async () => AuditLog.findOne({ tenantId: tenantId() }).sort({ at: -1 }).lean<{ action: string; actor: { name?: string; userId: string }; before?: unknown; after?: unknown }>().exec();

  before(async () => {
    configureLogging({ level: "error" });
    commerce = createCommerce({
      outbox: new Outbox(channels),
      files: channels,
      encryptionKey: randomBytes(32),
      payPageUrl: () => "http://127.0.0.1:9",
      platformOwners: { channel: "telegram", userIds: [PLATFORM_OWNER_ID] },
      limiter,
      onMembershipChanged: (change) => channels.membershipChanged(change),
    });
    const engine = createEngine({
      ...commerce.flows,
      sessions: new MongoSessionStore(),
      audienceOf: withPlatformOwners(memberAudience(), { channel: "telegram", userIds: [PLATFORM_OWNER_ID] }),
    });
    stores = await startStores({ engine, sellerMenu: roleMayStart });
    running.bots = stores.bots;
    channels.add(new TelegramChannel(stores.bots));

    store = await stores.createStore({ name: STORE_NAME });
    await Tenant.updateOne({ _id: tenantId() }, { $set: { "settings.ordering.paymentMethods": ["manual"], "settings.ordering.paymentInstructions": "Transfer ke BCA 123 a.n. Toko Kilat" } }).exec();
    owner = stores.user({ first_name: "Pemilik" });
    staff = stores.user({ first_name: "Staf" });
    platformOwner = stores.tg.user({ id: PLATFORM_OWNER_ID, first_name: "Bos", last_name: "Platform", language_code: "id" });
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(owner.id), role: "owner", displayName: "Pemilik" } as never);
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(staff.id), role: "staff", displayName: "Staf" } as never);
    for (const user of [owner, staff]) stores.tg.openChat(store.token, user);
    const netflix = await Product.create({ tenantId: store.id, code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, sortOrder: 0 });
    netflixId = netflix._id;
    await addStockItems(tenantId(), netflix._id, Array.from({ length: 10 }, (_, i) => `NF-${String(i + 1).padStart(2, "0")}`));
    const spotify = await Product.create({ tenantId: store.id, code: "spotify-1m", name: "Spotify 1 Bulan", price: 25_000, sortOrder: 1, lowStockThreshold: 2 });
    await addStockItems(tenantId(), spotify._id, ["SP-01"]);
    await stores.bots.start(store.id);

    // Six customers, one order each, placed through the ordering domain the bot runs; the
    // transfer receipts and the claim screenshot are photos they really sent to the bot.
    let seed = 1;
    const place = async (label: keyof typeof orders, quantity = 1): Promise<Placed> => {
      const customer = stores.user({ first_name: `Pembeli ${label}` });
      stores.tg.openChat(store.token, customer);
      const ref: CustomerRef = { channel: "telegram", channelUserId: String(customer.id), chatId: String(customer.id), locale: "id", name: customer.first_name };
      const placed = await commerce.ordering.placeOrder({ tenantId: store.id, customer: ref, items: [{ productCode: "netflix-1m", quantity }], snkAccepted: true });
      assert.ok(placed.ok, JSON.stringify(placed));
      return (orders[label] = { customer, ref, code: placed.order.code });
    };
    const photoFrom = async (customer: User) => {
      const photo = await stores.tg.sendPhoto(store.token, customer, samplePng({ width: 8, height: 6, seed: seed++ }));
      return photo.photo.at(-1)!.file_id;
    };
    const withProof = async (label: keyof typeof orders, quantity = 1) => {
      const placed = await place(label, quantity);
      const started = await commerce.ordering.startPayment(store.id, placed.ref, placed.code, "manual");
      assert.ok(started.ok, JSON.stringify(started));
      placed.proof = await photoFrom(placed.customer);
      const submitted = await commerce.ordering.submitPaymentProof(store.id, placed.ref, placed.code, { fileRef: placed.proof });
      assert.ok(submitted.ok, JSON.stringify(submitted));
      return placed;
    };
    // F: paid, delivered, then claimed with a screenshot.
    const f = await withProof("F");
    const approved = await commerce.ordering.approvePayment(store.id, f.code, { channel: "telegram", userId: String(owner.id), name: "Pemilik" });
    assert.ok(approved.ok && approved.delivery === "delivered", JSON.stringify(approved));
    claimShot = await photoFrom(f.customer);
    const claimed = await commerce.ordering.claimOrder(store.id, f.ref, f.code, { text: "akun tidak bisa login", proof: { fileRef: claimShot } });
    assert.ok(claimed.ok, JSON.stringify(claimed));
    // A, B, C: transfer receipts waiting for the seller.
    await withProof("A");
    await withProof("B", 2);
    await withProof("C");
    // D: placed, not paid.
    await place("D");
    // E: paid (recorded), not delivered yet.
    const e = await place("E");
    const record = await orderOf(e.code);
    const paid = await commerce.ordering.markPaid(store.id, String(record!._id), { method: "manual", approvedBy: { channel: "telegram", userId: String(owner.id) } });
    assert.equal(paid.outcome, "paid");

    // The team heard of every receipt (owner and staff) and of the claim (owner only), in their own chats.
    await eventually(() => stores.tg.sent(store.token, owner).filter((m) => words(m).startsWith("🧾 Bukti transfer baru")).length === 4, "the owner's receipt alerts");
    await eventually(() => stores.tg.sent(store.token, staff).filter((m) => words(m).startsWith("🧾 Bukti transfer baru")).length === 4, "the staff's receipt alerts");
    await stores.tg.waitForSent(store.token, owner, (m) => words(m) === t(ID, "admin.order_alert.claim_opened", { code: f.code, store: STORE_NAME }));
  });
  after(() => stores?.close());
  // The owner runs ~40 commands in a few seconds here; each test is "a minute later" for the rate limit.
  beforeEach(() => {
    minute = createInProcessRateLimiter();
  });

  it("the sellers' alerts name the commands: a receipt to owner and staff, a claim to the owner only", async () => {
    const receipt = t(ID, "admin.order_alert.proof_submitted", { code: orders.A.code, store: STORE_NAME });
    assert.ok(stores.tg.sent(store.token, owner).some((m) => words(m) === receipt));
    assert.ok(stores.tg.sent(store.token, staff).some((m) => words(m) === receipt));
    assert.ok(!stores.tg.sent(store.token, staff).some((m) => words(m).startsWith("🛟")), "staff may not answer claims, so are not told of them");
  });

  it("/admin: the owner's menu has every section, staff's only theirs; a press runs the section's command", async () => {
    const [menu] = await send(owner, "/admin");
    assert.equal(words(menu), t(ID, "admin.menu.title", { store: STORE_NAME }));
    const all = ["orders", "claims", "products", "add_product", "stock", "add_stock", "report", "settings", "staff", "invite", "audit"].map((k) => t(ID, `admin.menu.${k}`));
    assert.deepEqual(buttonLabels(menu).flat(), all);

    const [todo] = await press(owner, menu, t(ID, "admin.menu.orders"));
    assert.ok(words(todo).startsWith("🧾 Perlu ditangani: 3 bukti transfer menunggu dicek · 1 klaim · 0 bermasalah\n"), words(todo));
    const pressed = stores.tg.sent(store.token, owner).find((m) => m.message_id === menu.message_id)!;
    assert.deepEqual(buttonLabels(pressed), [], "the menu's buttons are spent once one is pressed");

    const [staffMenu] = await send(staff, "/admin");
    assert.deepEqual(buttonLabels(staffMenu).flat(), ["orders", "stock", "add_stock"].map((k) => t(ID, `admin.menu.${k}`)));
  });
  it("/pesanan lists what needs the seller; /pesanan KODE shows the order, sends the receipt photo by file_id, and its approve button delivers", async () => {
    const { A, B, C, F } = orders;
    const line = async (o: Placed, state: string) => {
      const record = (await orderOf(o.code))!;
      return t(ID, "admin.orders.line", { code: o.code, state, total: rp(record.total), customer: o.customer.first_name, at: when(record.createdAt) });
    };
    const awaiting = t(ID, "admin.orders.status.awaiting");
    const [todo] = await send(owner, "/pesanan");
    assert.equal(
      words(todo),
      t(ID, "admin.orders.todo", {
        awaiting: 3, claims: 1, attention: 0,
        lines: [await line(C, awaiting), await line(B, awaiting), await line(A, awaiting), await line(F, t(ID, "admin.orders.status.claimed"))].join("\n"),
      }),
    );

    const sent = await stores.tg.sendCommand(store.token, owner, "/pesanan", A.code.toLowerCase());
    const [detail, photo, next] = await botMessagesAfter(owner, sent.message_id, 3);
    const record = (await orderOf(A.code))!;
    assert.equal(
      words(detail),
      t(ID, "admin.orders.detail", {
        code: A.code, state: awaiting, customer: "Pembeli A", channel: "telegram", customerId: String(A.customer.id),
        items: t(ID, "admin.orders.item", { quantity: 1, name: "Netflix 1 Bulan", sku: "netflix-1m", price: rp(35_000) }),
        total: rp(35_000), at: when(record.createdAt),
        facts: [t(ID, "admin.orders.fact.method", { method: t(ID, "ordering.method.manual") }), t(ID, "admin.orders.fact.proof_sent", { at: when(record.payment!.proof!.submittedAt!) })].join("\n"),
      }),
    );
    assert.ok(photo.photo, "the receipt comes as a photo");
    assert.equal(words(photo), t(ID, "admin.orders.proof_caption", { code: A.code }));
    const call = stores.tg.calls(store.token, "sendPhoto").find((c) => c.params.chat_id === owner.id && c.params.photo === A.proof);
    assert.ok(call, "the bot re-sent the customer's own photo by its file_id");
    assert.equal(words(next), t(ID, "admin.orders.what_next"));
    assert.deepEqual(buttonLabels(next).flat(), ["approve", "reject", "cancel"].map((a) => t(ID, `admin.orders.actions.${a}`)).concat(t(ID, "admin.common.done")));

    const [approved] = await press(owner, next, t(ID, "admin.orders.actions.approve"));
    assert.equal(words(approved), t(ID, "admin.orders.approved_delivered", { code: A.code }));
    const goods = await stores.tg.waitForSent(store.token, A.customer, (m) => words(m).startsWith(`✅ Pembayaran pesanan ${A.code} di ${STORE_NAME} sudah diterima.`));
    assert.match(words(goods), /NF-\d\d/, "the customer got the stock item");
    const after = (await orderOf(A.code))!;
    assert.equal(after.status, "delivered");
    assert.equal(after.payment?.approvedBy?.userId, String(owner.id));
    assert.equal((await lastAudit())?.action, "order.approve_payment");
  });

  it("staff see only the buttons their role may use, and \"Selesai\" answers and spends them", async () => {
    const { B } = orders;
    const sent = await stores.tg.sendCommand(store.token, staff, "/pesanan", B.code);
    const [, proof, next] = await botMessagesAfter(staff, sent.message_id, 3);
    assert.ok(stores.tg.calls(store.token, "sendPhoto").some((c) => c.params.chat_id === staff.id && c.params.photo === B.proof), "staff see the receipt too");
    assert.ok(proof.photo);
    assert.deepEqual(buttonLabels(next).flat(), [t(ID, "admin.orders.actions.approve"), t(ID, "admin.orders.actions.reject"), t(ID, "admin.common.done")], "no cancel for staff");
    assert.deepEqual(texts(await press(staff, next, t(ID, "admin.common.done"))), [t(ID, "admin.common.ok")]);
    const pressed = stores.tg.sent(store.token, staff).find((m) => m.message_id === next.message_id)!;
    assert.deepEqual(buttonLabels(pressed), [], "the buttons are gone once the seller is done");
    assert.equal((await orderOf(B.code))?.status, "pending_payment");
  });

  it("/setujui by a staff member delivers; /approve of the same order again sends nothing twice", async () => {
    const { B } = orders;
    assert.deepEqual(texts(await send(staff, `/setujui ${B.code}`)), [t(ID, "admin.orders.approved_delivered", { code: B.code })]);
    await stores.tg.waitForSent(store.token, B.customer, (m) => words(m).startsWith(`✅ Pembayaran pesanan ${B.code}`));
    assert.equal((await orderOf(B.code))?.payment?.approvedBy?.userId, String(staff.id));
    assert.deepEqual(texts(await send(owner, `/approve ${B.code}`)), [t(ID, "admin.orders.already_paid", { code: B.code, state: t(ID, "admin.orders.status.delivered") })]);
    const deliveries = stores.tg.sent(store.token, B.customer).filter((m) => words(m).startsWith(`✅ Pembayaran pesanan ${B.code}`));
    assert.equal(deliveries.length, 1);
  });

  it("/tolak KODE ALASAN rejects the payment: the buyer reads the reason, the stock goes back on sale", async () => {
    const { C } = orders;
    const before = await available(netflixId);
    const reason = "transfer belum masuk";
    // The code as a number, as the README allows (`/tolak 4 …` for INV-000004).
    assert.deepEqual(texts(await send(owner, `/tolak ${Number(C.code.slice(4))} ${reason}`)), [t(ID, "admin.orders.rejected", { code: C.code, reason })]);
    await stores.tg.waitForSent(store.token, C.customer, (m) => words(m) === t(ID, "ordering.payment_rejected", { code: C.code, store: STORE_NAME, reason }));
    assert.equal((await orderOf(C.code))?.status, "rejected");
    assert.equal(await available(netflixId), before + 1);
  });

  it("/batalkan: refused to staff; the owner cancels an unpaid order, the buyer is told and the stock is back", async () => {
    const { D } = orders;
    assert.deepEqual(texts(await send(staff, `/batalkan ${D.code}`)), [t(ID, "admin.denied.role", { role: t(ID, "admin.roles.staff") })]);
    assert.equal((await orderOf(D.code))?.status, "pending_payment");
    const before = await available(netflixId);
    assert.deepEqual(texts(await send(owner, `/batalkan ${D.code} stok salah`)), [t(ID, "admin.orders.cancelled", { code: D.code })]);
    await stores.tg.waitForSent(store.token, D.customer, (m) => words(m) === t(ID, "ordering.order_cancelled", { code: D.code, store: STORE_NAME, reason: "stok salah" }));
    assert.equal((await orderOf(D.code))?.status, "cancelled");
    assert.equal(await available(netflixId), before + 1);
  });

  it("/refund marks a paid, undelivered order refunded: buyer told, stock back", async () => {
    const { E } = orders;
    const before = await available(netflixId);
    assert.deepEqual(texts(await send(owner, `/refund ${E.code} akun bermasalah`)), [t(ID, "admin.orders.refunded", { code: E.code })]);
    await stores.tg.waitForSent(store.token, E.customer, (m) => words(m) === t(ID, "ordering.order_refunded", { code: E.code, store: STORE_NAME, reason: "akun bermasalah" }));
    assert.equal((await orderOf(E.code))?.status, "refunded");
    assert.equal(await available(netflixId), before + 1);
  });

  it("/klaim lists the claims; a claim shows its screenshot as a photo; accepting with a note tells the buyer", async () => {
    const { F } = orders;
    const [pick] = await send(owner, "/klaim");
    assert.equal(words(pick), t(ID, "admin.claims.pick"));
    const choice = t(ID, "admin.claims.choice", { code: F.code, customer: "Pembeli F", text: "akun tidak bisa login" });
    assert.deepEqual(buttonLabels(pick).flat(), [choice]);

    const [detail, shot, decide] = await press(owner, pick, choice, 3);
    const record = (await orderOf(F.code))!;
    assert.equal(words(detail), t(ID, "admin.claims.detail", { code: F.code, customer: "Pembeli F", at: when(record.snk!.claim!.at!), text: "akun tidak bisa login", items: "1× Netflix 1 Bulan" }));
    assert.ok(shot.photo, "the screenshot comes as a photo");
    assert.equal(words(shot), t(ID, "admin.claims.proof_caption", { code: F.code }));
    assert.ok(stores.tg.calls(store.token, "sendPhoto").some((c) => c.params.chat_id === owner.id && c.params.photo === claimShot), "the customer's screenshot, by its file_id");
    assert.equal(words(decide), t(ID, "admin.claims.decide"));
    assert.deepEqual(buttonLabels(decide).flat(), ["accept", "refuse", "later"].map((k) => t(ID, `admin.claims.${k}`)));

    assert.deepEqual(texts(await press(owner, decide, t(ID, "admin.claims.accept"))), [t(ID, "admin.claims.ask_note")]);
    const note = "akun pengganti sudah dikirim lewat chat";
    assert.deepEqual(texts(await send(owner, note)), [t(ID, "admin.claims.accepted", { code: F.code })]);
    await stores.tg.waitForSent(store.token, F.customer, (m) => words(m) === t(ID, "ordering.claim_accepted", { code: F.code, store: STORE_NAME, note }));
    const resolved = (await orderOf(F.code))!;
    assert.equal(resolved.status, "completed");
    assert.equal(resolved.snk?.state, "closed");
    assert.deepEqual({ outcome: resolved.snk?.claim?.resolution?.outcome, note: resolved.snk?.claim?.resolution?.note }, { outcome: "accepted", note });
    assert.deepEqual(texts(await send(owner, "/claims")), [t(ID, "admin.claims.none")]);
  });

  it("/orders (the English alias) lists by status", async () => {
    const { A, B } = orders;
    const line = async (o: Placed) => {
      const record = (await orderOf(o.code))!;
      return t(ID, "admin.orders.line", { code: o.code, state: t(ID, "admin.orders.status.delivered"), total: rp(record.total), customer: o.customer.first_name, at: when(record.createdAt) });
    };
    assert.deepEqual(texts(await send(owner, "/orders terkirim")), [
      t(ID, "admin.orders.list", { filter: t(ID, "admin.orders.status.delivered"), count: 2, lines: [await line(B), await line(A)].join("\n") }),
    ]);
    assert.deepEqual(texts(await send(owner, "/pesanan menunggu")), [t(ID, "admin.orders.none", { filter: t(ID, "admin.orders.status.pending_payment") })]);
  });

  it("/produk lists products; /tambahproduk walks the whole wizard and saves the product", async () => {
    const productLine = (sku: string, name: string, price: number, count: number, hidden = false) =>
      t(ID, hidden ? "admin.product.line_hidden" : "admin.product.line", { sku, name, price: rp(price), count });
    assert.deepEqual(texts(await send(owner, "/produk")), [
      t(ID, "admin.product.list", { count: 2, lines: [productLine("netflix-1m", "Netflix 1 Bulan", 35_000, 6), productLine("spotify-1m", "Spotify 1 Bulan", 25_000, 1)].join("\n") }),
    ]);

    const wizard: [string, string][] = [
      ["/tambahproduk", "admin.product.ask_sku"],
      ["canva-pro", "admin.product.ask_name"],
      ["Canva Pro 1 Bulan", "admin.product.ask_price"],
      ["Rp15.000", "admin.product.ask_description"],
      ["Akun Canva Pro untuk 1 bulan.", "admin.product.ask_category"],
      ["Desain", "admin.product.ask_per_order_max"],
      ["3", "admin.product.ask_low_stock"],
    ];
    for (const [answer, question] of wizard) assert.deepEqual(texts(await send(owner, answer)), [t(ID, question)], `after "${answer}"`);
    const [confirm] = await send(owner, "2");
    const summary = t(ID, "admin.product.summary", {
      sku: "canva-pro", name: "Canva Pro 1 Bulan", price: rp(15_000), description: "Akun Canva Pro untuk 1 bulan.", category: "Desain", perOrderMax: 3, lowStockThreshold: 2,
    });
    assert.equal(words(confirm), t(ID, "admin.product.confirm", { summary }));
    assert.deepEqual(buttonLabels(confirm).flat(), [t(ID, "admin.common.save"), t(ID, "admin.common.cancel")]);
    assert.deepEqual(texts(await press(owner, confirm, t(ID, "admin.common.save"))), [t(ID, "admin.product.created", { sku: "canva-pro", name: "Canva Pro 1 Bulan" })]);
    const saved = await Product.findOne({ tenantId: tenantId(), code: "canva-pro" }).lean().exec();
    assert.deepEqual(
      { name: saved?.name, price: saved?.price, description: saved?.description, category: saved?.category, perOrderMax: saved?.perOrderMax, lowStockThreshold: saved?.lowStockThreshold, status: saved?.status },
      { name: "Canva Pro 1 Bulan", price: 15_000, description: "Akun Canva Pro untuk 1 bulan.", category: "Desain", perOrderMax: 3, lowStockThreshold: 2, status: "active" },
    );
    assert.equal((await lastAudit())?.action, "product.create");
  });

  it("/ubahproduk changes the field chosen by button; /harga typed and picked; /sembunyikan and /tampilkan", async () => {
    const product = () => Product.findOne({ tenantId: tenantId(), code: "canva-pro" }).lean().exec();
    const [field] = await send(owner, "/ubahproduk canva-pro");
    assert.equal(words(field), t(ID, "admin.product.pick_field", { productName: "Canva Pro 1 Bulan", sku: "canva-pro" }));
    assert.deepEqual(buttonLabels(field).flat(), ["name", "price", "description", "category", "perOrderMax", "lowStockThreshold"].map((f) => t(ID, `admin.product.fields.${f}`)));
    assert.deepEqual(texts(await press(owner, field, t(ID, "admin.product.fields.category"))), [t(ID, "admin.product.ask_category")]);
    assert.deepEqual(texts(await send(owner, "Desain Grafis")), [t(ID, "admin.product.changed", { sku: "canva-pro", field: t(ID, "admin.product.fields.category"), before: "Desain", after: "Desain Grafis" })]);
    assert.equal((await product())?.category, "Desain Grafis");

    assert.deepEqual(texts(await send(owner, "/harga canva-pro 17.500")), [t(ID, "admin.product.changed", { sku: "canva-pro", field: t(ID, "admin.product.fields.price"), before: rp(15_000), after: rp(17_500) })]);
    assert.equal((await product())?.price, 17_500);

    const [pick] = await send(owner, "/harga");
    assert.equal(words(pick), t(ID, "admin.product.pick"));
    const spotify = t(ID, "admin.product.choice", { sku: "spotify-1m", name: "Spotify 1 Bulan", price: rp(25_000) });
    assert.ok(buttonLabels(pick).flat().includes(spotify), JSON.stringify(buttonLabels(pick)));
    assert.deepEqual(texts(await press(owner, pick, spotify)), [t(ID, "admin.product.ask_price")]);
    assert.deepEqual(texts(await send(owner, "27000")), [t(ID, "admin.product.changed", { sku: "spotify-1m", field: t(ID, "admin.product.fields.price"), before: rp(25_000), after: rp(27_000) })]);
    assert.equal((await Product.findOne({ tenantId: tenantId(), code: "spotify-1m" }).lean().exec())?.price, 27_000);

    assert.deepEqual(texts(await send(owner, "/sembunyikan canva-pro")), [t(ID, "admin.product.hidden", { sku: "canva-pro", name: "Canva Pro 1 Bulan" })]);
    assert.equal((await product())?.status, "hidden");
    const [list] = await send(owner, "/products");
    assert.ok(words(list).includes(t(ID, "admin.product.line_hidden", { sku: "canva-pro", name: "Canva Pro 1 Bulan", price: rp(17_500), count: 0 })), words(list));
    assert.deepEqual(texts(await send(owner, "/tampilkan canva-pro")), [t(ID, "admin.product.shown", { sku: "canva-pro", name: "Canva Pro 1 Bulan" })]);
    assert.equal((await product())?.status, "active");
  });

  it("/tambahstok: typed in two messages, then 'selesai'; /addstock with the items under the command; /stok", async () => {
    const [method] = await send(owner, "/tambahstok netflix-1m");
    assert.equal(words(method), t(ID, "admin.stock.method", { productName: "Netflix 1 Bulan", sku: "netflix-1m" }));
    assert.deepEqual(texts(await press(owner, method, t(ID, "admin.stock.method_type"))), [t(ID, "admin.stock.ask_lines", { productName: "Netflix 1 Bulan" })]);
    assert.deepEqual(texts(await send(owner, "NF-NEW-1\nNF-NEW-2", 2)), [t(ID, "admin.stock.staged", { count: 2, total: 2 }), t(ID, "admin.stock.ask_more")]);
    assert.deepEqual(texts(await send(owner, "NF-NEW-3\nNF-NEW-1", 2)), [t(ID, "admin.stock.staged", { count: 2, total: 4 }), t(ID, "admin.stock.ask_more")]);
    assert.equal(await available(netflixId), 6, "nothing is saved before 'selesai'");
    assert.deepEqual(texts(await send(owner, "selesai")), [
      t(ID, "admin.stock.imported", { sku: "netflix-1m", name: "Netflix 1 Bulan", added: 3, skipped: 1, skippedLines: t(ID, "admin.stock.at_lines", { lines: "4" }), rejected: 0, available: 9 }),
    ]);
    assert.equal(await available(netflixId), 9);

    const spotifyId = (await Product.findOne({ tenantId: tenantId(), code: "spotify-1m" }).lean().exec())!._id;
    assert.deepEqual(texts(await send(staff, "/addstock spotify-1m\nSP-02\nSP-03", 2)), [t(ID, "admin.stock.staged", { count: 2, total: 2 }), t(ID, "admin.stock.ask_more")]);
    assert.deepEqual(texts(await send(staff, "done")), [
      t(ID, "admin.stock.imported", { sku: "spotify-1m", name: "Spotify 1 Bulan", added: 2, skipped: 0, skippedLines: "", rejected: 0, available: 3 }),
    ]);
    assert.equal(await available(spotifyId), 3);
    const entry = await lastAudit();
    assert.equal(entry?.action, "stock.add");
    assert.ok(!JSON.stringify(entry).includes("SP-0"), "stock payloads stay out of the audit log");

    const stockLine = (sku: string, name: string, counts: { available: number; reserved: number; sold: number }, flag = "") => t(ID, "admin.stock.line", { sku, name, ...counts, flag });
    assert.deepEqual(texts(await send(staff, "/stok")), [
      t(ID, "admin.stock.summary", {
        lines: [
          stockLine("netflix-1m", "Netflix 1 Bulan", { available: 9, reserved: 0, sold: 4 }),
          stockLine("spotify-1m", "Spotify 1 Bulan", { available: 3, reserved: 0, sold: 0 }),
          stockLine("canva-pro", "Canva Pro 1 Bulan", { available: 0, reserved: 0, sold: 0 }, t(ID, "admin.stock.flag_sold_out")),
        ].join("\n"),
        available: 12, reserved: 0, sold: 4,
      }),
    ]);
  });

  it("/laporan hariini|7h|30h (and /report 7d): orders, revenue and the best seller, in the store's time zone and currency", async () => {
    const day = (at: Date) => new Intl.DateTimeFormat("id-ID", { timeZone: ZONE, day: "numeric", month: "short" }).format(at);
    for (const [command, period, daysBack] of [["/laporan hariini", "today", 0], ["/laporan 7h", "7d", 6], ["/laporan 30h", "30d", 29], ["/report 7d", "7d", 6]] as const) {
      const now = new Date();
      // F's claim opened a ticket today (and resolving it closed it), so every period also has the ticket lines, as a second message.
      const [sales, tickets] = texts(await send(owner, command, 2));
      assert.match(tickets ?? "", /^🎫 /u, command);
      assert.deepEqual([sales], [
        t(ID, "admin.report.summary", {
          period: t(ID, `admin.report.period.${period}`), from: day(startOfStoreDay(now, ZONE, daysBack)), to: day(now), timeZone: ZONE,
          // A and B delivered, F completed; C rejected, D cancelled; E refunded.
          orders: 6, paid: 3, pending: 0, closed: 2, refunded: 1, revenue: rp(140_000),
          top: t(ID, "admin.report.top_line", { rank: 1, name: "Netflix 1 Bulan", sku: "netflix-1m", quantity: 4, revenue: rp(140_000) }),
        }),
      ], command);
    }
  });

  it("/pengaturan changes the SNK text and /settings the payment time limit, by button; refused to staff", async () => {
    const current = (snk: string, timeout: number) =>
      t(ID, "admin.settings.current", {
        name: STORE_NAME, language: t(ID, "admin.settings.languages.id"), snk, payment: "Transfer ke BCA 123 a.n. Toko Kilat",
        timeout: t(ID, "admin.settings.minutes", { count: timeout }), window: t(ID, "admin.settings.hours", { count: 24 }),
      });
    const choices = ["name", "language", "snk", "payment", "timeout", "window"].map((k) => t(ID, `admin.settings.labels.${k}`)).concat(t(ID, "admin.common.done"));
    const [shown, which] = await send(owner, "/pengaturan", 2);
    assert.equal(words(shown), current(t(ID, "admin.settings.empty_value"), 60));
    assert.equal(words(which), t(ID, "admin.settings.which"));
    assert.deepEqual(buttonLabels(which).flat(), choices);
    assert.deepEqual(texts(await press(owner, which, t(ID, "admin.settings.labels.snk"))), [t(ID, "admin.settings.ask.snk")]);
    const snk = "1. Akun bergaransi 24 jam.\n2. Klaim dengan tangkapan layar.";
    assert.deepEqual(texts(await send(owner, snk)), [t(ID, "admin.settings.saved", { setting: t(ID, "admin.settings.labels.snk"), value: snk })]);

    const [again, which2] = await send(owner, "/settings", 2);
    assert.equal(words(again), current(snk, 60));
    assert.deepEqual(texts(await press(owner, which2, t(ID, "admin.settings.labels.timeout"))), [t(ID, "admin.settings.ask.timeout")]);
    const [tooShort] = await send(owner, "3");
    assert.ok(words(tooShort).startsWith(t(ID, "admin.settings.whole_number", { min: 5, max: 1440 })), words(tooShort));
    assert.deepEqual(texts(await send(owner, "45")), [t(ID, "admin.settings.saved", { setting: t(ID, "admin.settings.labels.timeout"), value: t(ID, "admin.settings.minutes", { count: 45 }) })]);
    const tenant = await Tenant.findById(store.id).lean<{ settings: { ordering: { snkText: string; paymentTimeoutMinutes: number } } }>().exec();
    assert.equal(tenant?.settings.ordering.snkText, snk);
    assert.equal(tenant?.settings.ordering.paymentTimeoutMinutes, 45);

    assert.deepEqual(texts(await send(staff, "/pengaturan")), [t(ID, "admin.denied.role", { role: t(ID, "admin.roles.staff") })]);
  });

  it("/staf lists the team; /tambahstaf adds by user id; /hapusstaf removes (refused to staff)", async () => {
    const member = (name: string, role: "owner" | "admin" | "staff", id: number | string) => t(ID, "admin.staff.line", { name, role: t(ID, `admin.roles.${role}`), channel: "telegram", id: String(id) });
    assert.deepEqual(texts(await send(owner, "/staf")), [t(ID, "admin.staff.list", { count: 2, lines: [member("Pemilik", "owner", owner.id), member("Staf", "staff", staff.id)].join("\n") })]);
    assert.deepEqual(texts(await send(owner, "/tambahstaf admin 777000111 Budi")), [t(ID, "admin.staff.added", { id: "777000111", channel: "telegram", role: t(ID, "admin.roles.admin") })]);
    const added = await Member.findOne({ tenantId: store.id, channel: "telegram", channelUserId: "777000111" } as never).lean<{ role: string; displayName?: string }>().exec();
    assert.deepEqual({ role: added?.role, displayName: added?.displayName }, { role: "admin", displayName: "Budi" });
    assert.deepEqual(texts(await send(owner, "/staff")), [
      t(ID, "admin.staff.list", { count: 3, lines: [member("Pemilik", "owner", owner.id), member("Budi", "admin", "777000111"), member("Staf", "staff", staff.id)].join("\n") }),
    ]);
    assert.deepEqual(texts(await send(staff, "/hapusstaf 777000111")), [t(ID, "admin.denied.role", { role: t(ID, "admin.roles.staff") })]);
    assert.ok(await Member.exists({ tenantId: store.id, channelUserId: "777000111" } as never));
    assert.deepEqual(texts(await send(owner, "/hapusstaf 777000111")), [t(ID, "admin.staff.removed", { id: "777000111", channel: "telegram", role: t(ID, "admin.roles.admin") })]);
    assert.equal(await Member.exists({ tenantId: store.id, channelUserId: "777000111" } as never), null);
  });

  it("/undang gives the bot's own deep link; opening it joins with the invite's role; /gabung joins with the code, once", async () => {
    const tenant = await Tenant.findById(store.id).lean<{ channels: { telegram: { botUsername: string } } }>().exec();
    /** The invite's message as it must read, from the invite saved for it. */
    const invited = async (token: string, role: "admin" | "staff") => {
      const saved = await StaffInvite.findOne({ tenantId: tenantId() } as never).sort({ _id: -1 }).lean<{ expiresAt: Date; role: string }>().exec();
      assert.equal(saved?.role, role);
      const link = `https://t.me/${tenant!.channels.telegram.botUsername}?start=${token}`;
      return t(ID, "admin.staff.invited", { role: t(ID, `admin.roles.${role}`), how: t(ID, "admin.staff.invite_link", { link, token }), expires: when(saved!.expiresAt) });
    };
    const tokenOf = (message: Message) => {
      const token = /start=(inv_[\w-]+)/.exec(words(message))?.[1];
      assert.ok(token, words(message));
      return token;
    };

    const [forAdmin] = await send(owner, "/undang admin");
    const adminToken = tokenOf(forAdmin);
    assert.equal(words(forAdmin), await invited(adminToken, "admin"));
    // The link opens the bot with `/start inv_…`.
    const joiner = stores.user({ first_name: "Rekan" });
    assert.deepEqual(texts(await send(joiner, `/start ${adminToken}`)), [t(ID, "admin.staff.joined", { role: t(ID, "admin.roles.admin") })]);
    assert.ok(await Member.exists({ tenantId: store.id, channel: "telegram", channelUserId: String(joiner.id), role: "admin" } as never));

    const [forStaff] = await send(owner, "/invite");
    const staffToken = tokenOf(forStaff);
    assert.equal(words(forStaff), await invited(staffToken, "staff"), "staff by default");
    const second = stores.user({ first_name: "Rekan Dua" });
    assert.deepEqual(texts(await send(second, `/gabung ${staffToken}`)), [t(ID, "admin.staff.joined", { role: t(ID, "admin.roles.staff") })]);
    assert.ok(await Member.exists({ tenantId: store.id, channel: "telegram", channelUserId: String(second.id), role: "staff" } as never));
    const third = stores.user({ first_name: "Orang Lain" });
    assert.deepEqual(texts(await send(third, `/gabung ${staffToken}`)), [t(ID, "admin.staff.invite_used")]);
    assert.equal(await Member.exists({ tenantId: store.id, channelUserId: String(third.id) } as never), null);
  });

  it("/audit N shows the latest changes: who, what, before → after", async () => {
    const entries = await AuditLog.find({ tenantId: tenantId() })
      .sort({ at: -1 }).limit(5)
      .lean<{ actor: { channel: string; userId: string; name?: string }; action: string; target: { type: string; id?: string }; before?: unknown; after?: unknown; at: Date }[]>()
      .exec();
    assert.deepEqual(entries.map((e) => e.action), ["staff.join", "staff.invite", "staff.join", "staff.invite", "staff.remove"]);
    const lines = entries.map((e) =>
      t(ID, "admin.audit.line", {
        at: when(e.at),
        who: e.actor.name ? `${e.actor.name} (${e.actor.channel} ${e.actor.userId})` : `${e.actor.channel} ${e.actor.userId}`,
        action: e.action,
        target: e.target.id !== undefined ? `${e.target.type} ${e.target.id}` : e.target.type,
        change: e.before !== undefined || e.after !== undefined ? t(ID, "admin.audit.change", { before: e.before === undefined ? "–" : JSON.stringify(e.before), after: e.after === undefined ? "–" : JSON.stringify(e.after) }) : "",
      }),
    );
    const [audit] = await send(owner, "/audit 5");
    assert.equal(words(audit), t(ID, "admin.audit.list", { count: 5, lines: lines.join("\n") }));
    assert.ok(lines[4].includes(`Pemilik (telegram ${owner.id}) · staff.remove · member telegram:777000111 · {"role":"admin"} → –`), lines[4]);
  });

  it("the platform owner, not a member of the store, sets a price and reads the audit log, recorded as the platform", async () => {
    assert.equal(await Member.exists({ tenantId: store.id, channelUserId: String(PLATFORM_OWNER_ID) } as never), null);
    assert.deepEqual(texts(await send(platformOwner, "/harga netflix-1m 36000")), [t(ID, "admin.product.changed", { sku: "netflix-1m", field: t(ID, "admin.product.fields.price"), before: rp(35_000), after: rp(36_000) })]);
    assert.equal((await Product.findOne({ tenantId: tenantId(), _id: netflixId }).lean().exec())?.price, 36_000);
    const entry = await lastAudit();
    assert.deepEqual({ action: entry?.action, name: entry?.actor.name, userId: entry?.actor.userId }, { action: "product.price", name: "Bos Platform (platform)", userId: String(PLATFORM_OWNER_ID) });
    const [audit] = await send(platformOwner, "/audit 1");
    assert.ok(words(audit).includes(`Bos Platform (platform) (telegram ${PLATFORM_OWNER_ID}) · product.price · product netflix-1m · {"price":35000} → {"price":36000}`), words(audit));
  });
});
