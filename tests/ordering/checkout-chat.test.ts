// The customer's conversation with a real ordering domain behind it: the engine runs the
// storefront flows (welcome, catalog, checkout, my orders, language) on MongoDB sessions,
// the ordering domain reserves, sells and delivers real (sealed) stock, the manual and
// simulator gateways take the money, and a recording outbox stands in for the chat the
// goods are sent to. Assertions read the words the customer would see, built from the
// locale files, and the database the seller would see.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPlatformHttp, type PlatformHttp } from "../../bots/http-server.ts";
import { logger } from "../../bots/logger.ts";
import type { Engine } from "../../flows/engine/engine.ts";
import type { InboundMessage, InboundTenant, Locale, Outbound } from "../../flows/engine/message.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { i18nTexts, renderText } from "../../flows/engine/texts.ts";
import { createOrderingFlows } from "../../flows/ordering/catalog-flows.ts";
import { formatPrice } from "../../flows/ordering/catalog.ts";
import { formatWhen } from "../../locales/format-when.ts";
import type { SimulatedPayment } from "../../flows/ordering/flow-services.ts";
import { Order, type CustomerKey, type CustomerRef, type OrderRecord } from "../../flows/ordering/order.ts";
import { createOrdering, type Ordering } from "../../flows/ordering/ordering.ts";
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import { paymentRoutes } from "../../flows/ordering/payments/payment-webhooks.ts";
import { simulatorGateway, simulatorSecretFrom, type SimulatorGateway } from "../../flows/ordering/payments/simulator.ts";
import { Product } from "../../flows/ordering/product.ts";
import { StockItem } from "../../flows/ordering/stock-item.ts";
import { t } from "../../locales/i18n.ts";
import { Customer, Tenant } from "../../storage/models/index.ts";
import { ChatUser, testEngine } from "../engine/chat-harness.ts";
import { RecordingOutbox, seedOrderingStore, seller } from "./ordering-fixture.ts";
import { payloadFor, type ProductSpec, type SeededStore } from "../support/stores.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

const TZ = "Asia/Jakarta";
const SNK = "Garansi 1x24 jam. Klaim wajib dengan screenshot.";

let db: TestDatabase;
let http: PlatformHttp;
let base = "";
let simulator: SimulatorGateway;
let ordering: Ordering;
let outbox: RecordingOutbox;
let engine: Engine;
/** Every press of the demo's "Pay now (simulator)" button, as the pay page answered it. */
const simulatedPays: string[] = [];

/** Pays the way a person pressing "Pay" on the simulator's pay page does: a form POST to the pay link. */
const payOnPayPage: SimulatedPayment = async ({ payUrl }) => {
  const res = await fetch(payUrl, { method: "POST", redirect: "manual" });
  const location = res.headers.get("location") ?? "";
  simulatedPays.push(`${res.status} ${location}`);
  return res.status === 303 && location.includes("r=paid");
};

before(async () => {
  db = await openTestDatabase("ordering_checkout_chat");
  await MongoSessionStore.ensureIndexes();
  outbox = new RecordingOutbox();
  simulator = simulatorGateway({ secret: simulatorSecretFrom(db.encryptionKey), publicUrl: () => base });
  ordering = createOrdering({ outbox, gateways: gatewayMap(manualGateway(), simulator) });
  http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
  http.register(paymentRoutes(ordering.deps, { simulator }));
  base = `http://127.0.0.1:${await http.listen(0, "127.0.0.1")}`;
  const flows = createOrderingFlows({ ordering, simulatePayment: payOnPayPage });
  engine = testEngine({ ...flows, sessions: new MongoSessionStore() });
});
after(async () => {
  await http.close();
  await db.close();
});

// ---------------------------------------------------------------------------------------
// Helpers: a store the engine knows, customers chatting with it, and what they were told.

interface Shop {
  store: SeededStore;
  tenant: InboundTenant;
  name: string;
}

let shops = 0;
async function openShop(products: ProductSpec[], settings: Record<string, unknown> = {}): Promise<Shop> {
  const name = `Toko Chat ${++shops}`;
  const store = await seedOrderingStore({ name, products, settings });
  return { store, name, tenant: { id: store.tenantId, slug: store.slug, name } };
}

let users = 0;
/** A Telegram customer of `shop`; `as` continues an earlier one's chat in another language. */
function newCustomer(shop: Shop, opts: { locale?: Locale; as?: ChatUser } = {}): ChatUser {
  const n = ++users;
  const chatId = opts.as?.inbound.chatId ?? `chat-${n}`;
  const userId = opts.as?.inbound.user.id ?? `user-${n}`;
  return new ChatUser(engine, { tenant: shop.tenant, channel: "telegram", chatId, userId, locale: opts.locale ?? "id" });
}

const keyOf = (u: ChatUser): CustomerKey => ({ channel: u.inbound.channel, channelUserId: u.inbound.user.id });
const refOf = (u: ChatUser): CustomerRef => ({ ...keyOf(u), chatId: u.inbound.chatId, locale: u.inbound.locale, name: "Sari" });

/** The texts of the last replies, in the customer's language, without the buttons. */
function texts(u: ChatUser): string[] {
  return u.last.map((o) => renderText(o.text, u.inbound.locale, i18nTexts));
}

function labels(u: ChatUser, index = -1): string[] {
  return (u.last.at(index)?.choices ?? []).map((c) => renderText(c.label, u.inbound.locale, i18nTexts));
}

/** The goods sent for one order of one store (order codes are numbered per store). */
function deliveriesOf(shop: Shop, code: string) {
  return outbox.deliveries(code).filter((m) => m.to.tenantId === shop.store.tenantId);
}

const id = (key: string, params?: Record<string, unknown>) => t("id", key, params);

async function stock(shop: Shop, code: string): Promise<Record<"available" | "reserved" | "sold", number>> {
  const productId = shop.store.products[code];
  const count = (status: "available" | "reserved" | "sold") => StockItem.countDocuments({ tenantId: shop.store.tenant, productId, status }).exec();
  const [available, reserved, sold] = await Promise.all([count("available"), count("reserved"), count("sold")]);
  return { available, reserved, sold };
}

async function ordersOf(shop: Shop, u: ChatUser): Promise<OrderRecord[]> {
  return Order.find({ tenantId: shop.store.tenant, "customer.channel": u.inbound.channel, "customer.channelUserId": u.inbound.user.id }).lean<OrderRecord[]>().exec();
}

async function orderRecord(shop: Shop, code: string): Promise<OrderRecord> {
  const order = await Order.findOne({ tenantId: shop.store.tenant, code }).lean<OrderRecord>().exec();
  assert.ok(order, `order ${code} exists`);
  return order;
}

/** /start → catalog → the product → Buy: the customer is asked how many. */
async function toQuantity(u: ChatUser, code: string): Promise<void> {
  await u.say("/start");
  await u.press("catalog");
  await u.press(code);
  await u.press("buy");
}

/** …→ quantity → (SNK accepted) → summary: the customer is asked how to pay. */
async function toMethod(u: ChatUser, code: string, quantity: number): Promise<void> {
  await toQuantity(u, code);
  await u.say(String(quantity));
  if (u.choiceIds.includes("accept")) await u.press("accept");
  assert.deepEqual(u.keys.at(-1), "ordering.checkout.pick_method", "at the payment method");
}

function photo(fileRef: string): InboundMessage {
  return { kind: "media", media: { type: "photo", fileRef, mimeType: "image/jpeg" } };
}

// ---------------------------------------------------------------------------------------

describe("the catalog a customer sees", () => {
  test("hidden products are absent, sold-out ones are marked and cannot be bought", async () => {
    const shop = await openShop([
      { code: "netflix", name: "Netflix 1 Bulan", price: 25_000, stock: 3, sortOrder: 1 },
      { code: "rahasia", name: "Produk Rahasia", price: 10_000, stock: 2, status: "hidden", sortOrder: 2 },
      { code: "spotify", name: "Spotify Premium", price: 15_000, stock: 0, sortOrder: 3 },
    ]);
    const u = newCustomer(shop);
    await u.say("/start");
    assert.deepEqual(texts(u), [id("catalog.welcome", { store: shop.name })]);
    assert.deepEqual(u.choiceIds, ["catalog", "orders", "help", "language"]);

    await u.press("catalog");
    assert.deepEqual(texts(u), [id("catalog.pick_product")]);
    assert.deepEqual(u.choiceIds, ["netflix", "spotify", "menu"], "the hidden product is not offered");
    assert.deepEqual(labels(u).slice(0, 2), [
      id("catalog.product_choice", { name: "Netflix 1 Bulan", price: "Rp25.000" }),
      id("catalog.product_choice_sold_out", { name: "Spotify Premium", price: "Rp15.000" }),
    ]);
    assert.ok(labels(u)[1].endsWith("(habis)"));

    // A forged button for the hidden product, or its code typed, shows nothing of it.
    await u.press("rahasia");
    assert.deepEqual(u.keys, ["engine.stale_choice", "catalog.pick_product"]);
    await u.say("rahasia");
    assert.deepEqual(u.keys, ["engine.reask.choice"]);
    assert.ok(!texts(u).join("\n").includes("Produk Rahasia"));

    await u.press("spotify");
    assert.deepEqual(texts(u), [`Spotify Premium\nHarga: Rp15.000 · ${id("catalog.sold_out")}`], "no blank lines without a description");
    assert.deepEqual(u.choiceIds, ["back", "menu"], "no Buy on a sold-out product");
  });

  test("a product's page shows its description, price and live stock", async () => {
    const shop = await openShop([{ code: "canva", name: "Canva Pro", price: 30_000, stock: 4, description: "Akun Canva Pro 30 hari.\nLogin dengan email." }]);
    const u = newCustomer(shop);
    await u.say("/katalog");
    await u.press("canva");
    assert.deepEqual(texts(u), ["Canva Pro\nHarga: Rp30.000 · stok 4\n\nAkun Canva Pro 30 hari.\nLogin dengan email."]);
    assert.deepEqual(u.choiceIds, ["buy", "back", "menu"]);
    await u.press("back");
    assert.deepEqual(u.keys, ["catalog.pick_product"]);
  });
});

describe("a full purchase in the chat", () => {
  test("manual transfer: SNK, summary, instructions, proof photo; the seller's approval delivers once; my orders confirms", async () => {
    const shop = await openShop(
      [{ code: "netflix", name: "Netflix 1 Bulan", price: 25_000, stock: 5, description: "Akun sharing, 1 profil." }],
      { snkText: SNK, paymentMethods: ["manual", "simulator"], paymentInstructions: "BCA 1234567890 a.n. Toko Chat" },
    );
    const u = newCustomer(shop);
    await u.say("/start");
    await u.press("catalog");
    await u.press("netflix");
    assert.deepEqual(texts(u), ["Netflix 1 Bulan\nHarga: Rp25.000 · stok 5\n\nAkun sharing, 1 profil."]);
    await u.press("buy");
    assert.deepEqual(texts(u), [id("ordering.checkout.ask_quantity", { product: { name: "Netflix 1 Bulan" }, maxQuantity: 5 })]);

    await u.say("2");
    assert.deepEqual(texts(u), [id("ordering.checkout.snk", { store: shop.name, snkText: SNK })]);
    assert.ok(texts(u)[0].includes(SNK));
    assert.deepEqual(u.choiceIds, ["accept", "decline"]);
    assert.equal((await stock(shop, "netflix")).reserved, 0, "nothing is held before a payment method is picked");

    await u.press("accept");
    assert.deepEqual(texts(u), [
      id("ordering.checkout.summary", { name: "Netflix 1 Bulan", quantity: 2, price: "Rp25.000", subtotal: "Rp50.000", total: "Rp50.000" }),
      id("ordering.checkout.pick_method"),
    ]);
    assert.deepEqual(u.choiceIds, ["manual", "simulator", "cancel"]);

    await u.press("manual");
    const [order] = await ordersOf(shop, u);
    assert.ok(order, "the order was placed");
    assert.equal(order.status, "pending_payment");
    assert.equal(order.total, 50_000);
    assert.ok(order.snk?.acceptedAt, "the SNK acceptance is recorded on the order");
    assert.deepEqual(texts(u), [
      id("ordering.checkout.transfer", { code: order.code, amount: "Rp50.000", deadline: formatWhen(order.expiresAt, { locale: "id", timeZone: TZ }), instructions: "BCA 1234567890 a.n. Toko Chat" }),
      id("ordering.checkout.ask_proof"),
    ]);
    assert.deepEqual(await stock(shop, "netflix"), { available: 3, reserved: 2, sold: 0 });

    await u.say("sudah saya transfer ya kak");
    assert.deepEqual(texts(u), [id("ordering.checkout.proof_reask")]);
    await u.send(photo("tg-photo-proof-1"));
    assert.deepEqual(texts(u), [id("ordering.checkout.proof_received", { orderCode: order.code })]);
    const waiting = await orderRecord(shop, order.code);
    assert.ok(waiting.payment?.proof?.submittedAt, "the proof is on the order");
    assert.equal((await ordering.openOrderProof(shop.store.tenantId, order.code, "payment"))?.fileRef, "tg-photo-proof-1");
    assert.equal(deliveriesOf(shop, order.code).length, 0, "nothing is delivered before the seller approves");

    const approved = await ordering.approvePayment(shop.store.tenantId, order.code, seller);
    assert.ok(approved.ok && approved.delivery === "delivered");
    const again = await ordering.approvePayment(shop.store.tenantId, order.code, seller);
    assert.equal(again.ok, false, "a second approval changes nothing");
    assert.equal(deliveriesOf(shop, order.code).length, 1, "delivered exactly once");
    const delivery = deliveriesOf(shop, order.code)[0];
    assert.equal(delivery.to.chatId, u.inbound.chatId);
    const secrets = String(delivery.message.text.params?.items).match(/SECRET-[\w-]+/g) ?? [];
    assert.equal(secrets.length, 2);
    const seeded = Array.from({ length: 5 }, (_, i) => payloadFor(shop.store.slug, "netflix", i));
    assert.ok(secrets.every((s) => seeded.includes(s)) && new Set(secrets).size === 2, "two distinct items of this store");
    assert.deepEqual(await stock(shop, "netflix"), { available: 3, reserved: 0, sold: 2 });

    // My orders: delivered, with the SNK window's choices.
    await u.say("/pesanansaya");
    assert.deepEqual(u.keys, ["ordering.my_orders.list"]);
    assert.deepEqual(u.choiceIds, [order.code, "find", "menu"]);
    assert.deepEqual(labels(u)[0], id("ordering.my_orders.choice", { code: order.code, items: "Netflix 1 Bulan ×2", total: "Rp50.000", status: id("ordering.status.delivered") }));
    await u.press(order.code);
    const delivered = await orderRecord(shop, order.code);
    assert.deepEqual(texts(u), [
      id("ordering.my_orders.detail", {
        code: order.code,
        status: id("ordering.status.delivered"),
        items: id("ordering.my_orders.item_line", { name: "Netflix 1 Bulan", quantity: 2, price: "Rp50.000" }),
        total: "Rp50.000",
        createdAt: formatWhen(delivered.createdAt, { locale: "id", timeZone: TZ }),
        state: id("ordering.my_orders.state.snk_open", { windowEnds: formatWhen(delivered.snk!.windowEndsAt!, { locale: "id", timeZone: TZ }) }),
      }),
      id("ordering.my_orders.what_next"),
    ]);
    assert.deepEqual(u.choiceIds, ["confirm", "claim", "list", "menu"], "confirm or claim; no pay or cancel once delivered");

    await u.press("confirm");
    assert.deepEqual(texts(u), [id("ordering.my_orders.confirmed", { code: order.code })]);
    const completed = await orderRecord(shop, order.code);
    assert.equal(completed.status, "completed");
    assert.equal(completed.snk?.state, "confirmed");
    assert.equal(deliveriesOf(shop, order.code).length, 1);
  });

  test("simulator: the pay link, then paying (double taps included) delivers once and places one order", async () => {
    const shop = await openShop([{ code: "spotify", name: "Spotify Premium", price: 15_000, stock: 3 }], { paymentMethods: ["simulator", "manual"] });
    const u = newCustomer(shop);
    await toQuantity(u, "spotify");
    await u.say("1");
    assert.deepEqual(u.keys, ["ordering.checkout.summary", "ordering.checkout.pick_method"], "no SNK step: the store has none");
    assert.deepEqual(u.choiceIds, ["simulator", "manual", "cancel"]);
    const methodPrompt = u.last.at(-1)!.prompt;

    await u.press("simulator");
    const [order] = await ordersOf(shop, u);
    const payUrl = order?.payment?.payUrl ?? "";
    assert.ok(payUrl.startsWith(`${base}/pay/sim/${shop.store.slug}/${order.code}?t=`), "a pay link to the simulator's page");
    assert.deepEqual(texts(u), [
      id("ordering.checkout.pay_link", { code: order.code, amount: "Rp15.000", deadline: formatWhen(order.expiresAt, { locale: "id", timeZone: TZ }), payUrl }),
      id("ordering.checkout.after_link"),
    ]);
    assert.deepEqual(u.choiceIds, ["simulate", "check", "cancelOrder", "menu"]);
    assert.deepEqual(await stock(shop, "spotify"), { available: 2, reserved: 1, sold: 0 });

    // The payment-method button pressed a second time (on the old message): no second order, no second payment.
    await u.press("simulator", methodPrompt);
    assert.deepEqual(u.keys, ["engine.stale_choice", "ordering.checkout.after_link"]);
    let mine = await ordersOf(shop, u);
    assert.equal(mine.length, 1, "one order");
    assert.equal(mine[0].payment?.reference, order.payment?.reference, "the same payment");
    assert.equal(mine[0].payment?.startedAt?.getTime(), order.payment?.startedAt?.getTime(), "not started again");

    await u.press("check");
    assert.deepEqual(texts(u), [id("ordering.checkout.not_paid_yet", { code: order.code, payUrl }), id("ordering.checkout.after_link")]);

    // "Pay now" tapped twice in quick succession.
    const payPrompt = u.last.at(-1)!.prompt;
    const tap: InboundMessage = { kind: "choice", choiceId: "simulate", ...(payPrompt && { prompt: payPrompt }) };
    const [first, second] = await Promise.all([engine.handle({ ...u.inbound, message: tap }), engine.handle({ ...u.inbound, message: tap })]);
    const keys = (replies: Outbound[]) => replies.map((o) => ("key" in o.text ? o.text.key : "inline"));
    assert.deepEqual(keys(first), ["ordering.checkout.paid_delivered"]);
    assert.deepEqual(keys(second), ["engine.stale_choice"], "the second tap finds the payment done");
    assert.equal(renderText(first[0].text, "id", i18nTexts), id("ordering.checkout.paid_delivered", { code: order.code }));
    assert.equal(simulatedPays.filter((p) => p.includes(order.code)).length, 1, "the pay page was used once");

    // The pay page pressed again (a browser reload of the POST) pays nothing twice either.
    assert.equal(await payOnPayPage({ tenantId: shop.store.tenantId, orderCode: order.code, payUrl }), true);
    assert.equal(deliveriesOf(shop, order.code).length, 1, "delivered exactly once");
    mine = await ordersOf(shop, u);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].status, "delivered");
    assert.equal(mine[0].payment?.method, "simulator");
    assert.deepEqual(await stock(shop, "spotify"), { available: 2, reserved: 0, sold: 1 });

    await u.say("/myorders");
    await u.press(order.code);
    assert.ok(texts(u)[0].includes(id("ordering.status.delivered")));
    assert.deepEqual(u.choiceIds, ["confirm", "claim", "list", "menu"]);
  });
});

describe("bad input while buying", () => {
  const products: ProductSpec[] = [{ code: "game", name: "Voucher Game", price: 10_000, stock: 5, perOrderMax: 3 }];

  test("a non-numeric, zero, over-stock or over-maximum quantity is answered, and nothing is reserved", async () => {
    const shop = await openShop(products);
    const u = newCustomer(shop);
    await toQuantity(u, "game");
    assert.deepEqual(texts(u), [id("ordering.checkout.ask_quantity", { product: { name: "Voucher Game" }, maxQuantity: 3 })], "the per-order maximum bounds the question");

    await u.say("dua");
    assert.deepEqual(texts(u), [id("engine.reask.integer")]);
    await u.say("0");
    assert.deepEqual(texts(u), [id("ordering.checkout.quantity_range", { max: 3 })]);
    await u.say("9");
    assert.deepEqual(texts(u), [id("ordering.checkout.quantity_over_stock", { available: 5, max: 3 })]);
    await u.say("4");
    assert.deepEqual(texts(u), [id("ordering.checkout.quantity_over_max", { max: 3 })]);
    assert.deepEqual(await stock(shop, "game"), { available: 5, reserved: 0, sold: 0 });
    assert.equal((await ordersOf(shop, u)).length, 0);

    // Still at the question: a good answer goes on, and cancelling at the method orders nothing.
    await u.say("3");
    assert.deepEqual(u.keys, ["ordering.checkout.summary", "ordering.checkout.pick_method"]);
    await u.press("cancel");
    assert.deepEqual(texts(u), [id("ordering.checkout.cancelled")]);
    assert.deepEqual(await stock(shop, "game"), { available: 5, reserved: 0, sold: 0 });
    assert.equal((await ordersOf(shop, u)).length, 0);
  });

  test("a 10,000-character message, emoji, non-Latin text and a photo at the quantity step get a clear answer", async () => {
    const shop = await openShop(products);
    const u = newCustomer(shop);
    await toQuantity(u, "game");
    for (const typed of ["x".repeat(10_000), "🎮🎮", "二つ"]) {
      await u.say(typed);
      assert.deepEqual(texts(u), [id("engine.reask.integer")], `answer to ${typed.slice(0, 10)}`);
    }
    await u.send(photo("tg-photo-not-a-number"));
    assert.deepEqual(texts(u), [id("engine.reask.integer")], "a photo where a number is expected");
    assert.deepEqual(await stock(shop, "game"), { available: 5, reserved: 0, sold: 0 });
    assert.equal((await ordersOf(shop, u)).length, 0);
    await u.say("2");
    assert.deepEqual(u.keys, ["ordering.checkout.summary", "ordering.checkout.pick_method"], "the question still stands");
  });

  test("declining the SNK orders nothing", async () => {
    const shop = await openShop(products, { snkText: SNK });
    const u = newCustomer(shop);
    await toQuantity(u, "game");
    await u.say("1");
    assert.deepEqual(u.keys, ["ordering.checkout.snk"]);
    await u.press("decline");
    assert.deepEqual(texts(u), [id("ordering.checkout.snk_declined")]);
    assert.equal((await ordersOf(shop, u)).length, 0);
    assert.deepEqual(await stock(shop, "game"), { available: 5, reserved: 0, sold: 0 });
    await u.press("accept");
    assert.deepEqual(u.keys, ["engine.stale_choice"], "accepting on the old message does not order either");
    assert.equal((await ordersOf(shop, u)).length, 0);
  });

  test("a product hidden after the customer saw it is refused at Buy, at the summary and at the payment method", async () => {
    const shop = await openShop(
      [
        { code: "h-buy", name: "Hilang Saat Beli", price: 5_000, stock: 2 },
        { code: "h-sum", name: "Hilang Saat Ringkasan", price: 5_000, stock: 2 },
        { code: "h-pay", name: "Hilang Saat Bayar", price: 5_000, stock: 2 },
      ],
      { snkText: SNK },
    );
    const hide = (code: string) => Product.updateOne({ tenantId: shop.store.tenant, code }, { $set: { status: "hidden" } }).exec();

    const a = newCustomer(shop);
    await a.say("/start");
    await a.press("catalog");
    await a.press("h-buy");
    assert.ok(a.choiceIds.includes("buy"));
    await hide("h-buy");
    await a.press("buy");
    assert.deepEqual(texts(a), [id("ordering.refused.product_unavailable", { name: "Hilang Saat Beli" })]);

    const b = newCustomer(shop);
    await toQuantity(b, "h-sum");
    await b.say("1");
    await hide("h-sum");
    await b.press("accept");
    assert.deepEqual(texts(b), [id("ordering.refused.product_unavailable", { name: "Hilang Saat Ringkasan" })]);

    const c = newCustomer(shop);
    await toMethod(c, "h-pay", 1);
    await hide("h-pay");
    await c.press("manual");
    assert.deepEqual(texts(c), [id("ordering.refused.product_unavailable", { name: "Hilang Saat Bayar" })]);

    for (const [u, code] of [[a, "h-buy"], [b, "h-sum"], [c, "h-pay"]] as const) {
      assert.equal((await ordersOf(shop, u)).length, 0, `no order for ${code}`);
      assert.deepEqual(await stock(shop, code), { available: 2, reserved: 0, sold: 0 }, `nothing of ${code} reserved`);
      await u.say("1");
      assert.ok(!u.keys.includes("ordering.checkout.pick_method"), "the conversation about it is over");
    }
  });

  test("a product sold out by another buyer mid-flow is refused; fewer left sends the customer back to the quantity", async () => {
    const shop = await openShop([
      { code: "last", name: "Stok Terakhir", price: 20_000, stock: 2 },
      { code: "few", name: "Tinggal Sedikit", price: 20_000, stock: 3 },
      { code: "gone", name: "Habis Duluan", price: 20_000, stock: 2 },
    ]);
    const other = (n: number) => ({ channel: "telegram", channelUserId: `rival-${n}`, chatId: `rival-${n}`, locale: "id" as const });

    // At the payment method, the last two go to someone else.
    const u = newCustomer(shop);
    await toMethod(u, "last", 2);
    const rival = await ordering.placeOrder({ tenantId: shop.store.tenantId, customer: other(1), items: [{ productCode: "last", quantity: 2 }] });
    assert.ok(rival.ok);
    await u.press("manual");
    assert.deepEqual(texts(u), [id("ordering.refused.sold_out", { name: "Stok Terakhir" })]);
    assert.equal((await ordersOf(shop, u)).length, 0);
    const held = await StockItem.find({ tenantId: shop.store.tenant, productId: shop.store.products.last, status: "reserved" }).lean().exec();
    assert.equal(held.length, 2);
    assert.ok(held.every((item) => String(item.orderId) === rival.order.id), "only the other buyer holds items");

    // Two of three go elsewhere: the customer is told how many are left and asked again.
    const v = newCustomer(shop);
    await toMethod(v, "few", 3);
    assert.ok((await ordering.placeOrder({ tenantId: shop.store.tenantId, customer: other(2), items: [{ productCode: "few", quantity: 2 }] })).ok);
    await v.press("manual");
    assert.deepEqual(texts(v), [
      id("ordering.refused.not_enough_stock", { name: "Tinggal Sedikit", available: 1 }),
      id("ordering.checkout.ask_quantity", { product: { name: "Tinggal Sedikit" }, maxQuantity: 1 }),
    ]);
    assert.equal((await ordersOf(shop, v)).length, 0);
    assert.deepEqual(await stock(shop, "few"), { available: 1, reserved: 2, sold: 0 });

    // Sold out while the customer was typing the quantity.
    const w = newCustomer(shop);
    await toQuantity(w, "gone");
    assert.ok((await ordering.placeOrder({ tenantId: shop.store.tenantId, customer: other(3), items: [{ productCode: "gone", quantity: 2 }] })).ok);
    await w.say("1");
    assert.deepEqual(texts(w), [id("ordering.checkout.sold_out_now", { name: "Habis Duluan" })]);
    assert.equal((await ordersOf(shop, w)).length, 0);
  });
});

describe("the store's terms", () => {
  test("accepted once in a checkout are not asked again when the customer has to pick a smaller quantity", async () => {
    const shop = await openShop([{ code: "bundle", name: "Paket Bundling", price: 30_000, stock: 3 }], { snkText: SNK });
    const u = newCustomer(shop);
    await toMethod(u, "bundle", 3);
    const rival = { channel: "telegram", channelUserId: "rival-snk", chatId: "rival-snk", locale: "id" as const };
    assert.ok((await ordering.placeOrder({ tenantId: shop.store.tenantId, customer: rival, items: [{ productCode: "bundle", quantity: 2 }] })).ok);
    await u.press("manual");
    assert.deepEqual(u.keys, ["ordering.refused.not_enough_stock", "ordering.checkout.ask_quantity"]);
    await u.say("1");
    assert.deepEqual(u.keys, ["ordering.checkout.summary", "ordering.checkout.pick_method"], "straight to the summary: the same terms were accepted");
    await u.press("manual");
    const [order] = await ordersOf(shop, u);
    assert.equal(order?.items[0].quantity, 1);
    assert.ok(order.snk?.acceptedAt, "the acceptance is recorded on the order");
    assert.deepEqual(u.keys, ["ordering.checkout.transfer", "ordering.checkout.ask_proof"]);
  });

  test("changed while the customer was choosing are asked again", async () => {
    const shop = await openShop([{ code: "bundle", name: "Paket Bundling", price: 30_000, stock: 3 }], { snkText: SNK });
    const u = newCustomer(shop);
    await toMethod(u, "bundle", 3);
    const rival = { channel: "telegram", channelUserId: "rival-snk2", chatId: "rival-snk2", locale: "id" as const };
    assert.ok((await ordering.placeOrder({ tenantId: shop.store.tenantId, customer: rival, items: [{ productCode: "bundle", quantity: 2 }] })).ok);
    const newTerms = `${SNK} Tidak ada refund.`;
    await Tenant.updateOne({ _id: shop.store.tenant }, { $set: { "settings.ordering.snkText": newTerms } }).exec();
    await u.press("manual");
    await u.say("1");
    assert.deepEqual(texts(u), [id("ordering.checkout.snk", { store: shop.name, snkText: newTerms })]);
    await u.press("accept");
    assert.deepEqual(u.keys, ["ordering.checkout.summary", "ordering.checkout.pick_method"]);
  });
});

describe("a quantity of one", () => {
  test("is not asked for, and the customer is told why: the store's limit, or the last item", async () => {
    const shop = await openShop([
      { code: "satu", name: "Lisensi Tunggal", price: 50_000, stock: 3, perOrderMax: 1 },
      { code: "sisa", name: "Stok Sisa", price: 50_000, stock: 1 },
    ]);
    const u = newCustomer(shop);
    await toQuantity(u, "satu");
    assert.deepEqual(texts(u).slice(0, 1), [id("ordering.checkout.only_one", { name: "Lisensi Tunggal" })]);
    assert.deepEqual(u.keys.slice(1), ["ordering.checkout.summary", "ordering.checkout.pick_method"]);
    assert.ok(texts(u)[1].includes("Lisensi Tunggal × 1"));

    const v = newCustomer(shop);
    await toQuantity(v, "sisa");
    assert.deepEqual(texts(v).slice(0, 1), [id("ordering.checkout.only_one_left", { name: "Stok Sisa" })]);
    assert.ok(!texts(v)[0].includes("per pesanan"), "not blamed on a per-order limit the store does not have");
    assert.deepEqual(v.keys.slice(1), ["ordering.checkout.summary", "ordering.checkout.pick_method"]);
    await v.press("manual");
    assert.deepEqual(v.keys, ["ordering.checkout.transfer", "ordering.checkout.ask_proof"]);
    assert.deepEqual(await stock(shop, "sisa"), { available: 0, reserved: 1, sold: 0 });
  });
});

describe("my orders", () => {
  test("another customer's order code gets exactly the answer a made-up code gets", async () => {
    const shop = await openShop([{ code: "vpn", name: "VPN Premium", price: 12_000, stock: 5 }]);
    const owner = newCustomer(shop);
    const nosy = newCustomer(shop);
    const placed = await ordering.placeOrder({ tenantId: shop.store.tenantId, customer: refOf(owner), items: [{ productCode: "vpn", quantity: 1 }] });
    assert.ok(placed.ok);
    const theirs = placed.order.code;
    const madeUp = "INV-999999";

    const answerTo = async (code: string) => {
      await nosy.say(`/pesanansaya ${code}`);
      return { keys: nosy.keys, said: texts(nosy) };
    };
    const forTheirs = await answerTo(theirs);
    const forMadeUp = await answerTo(madeUp);
    assert.deepEqual(forTheirs.said, [id("ordering.my_orders.not_found", { code: theirs })]);
    assert.deepEqual(forMadeUp.said, [id("ordering.my_orders.not_found", { code: madeUp })]);
    assert.deepEqual(forTheirs.said[0].replace(theirs, "#"), forMadeUp.said[0].replace(madeUp, "#"));
    assert.ok(!forTheirs.said.join("\n").includes("VPN Premium"));

    // Through the list's "find by code" as well, once the nosy customer has an order of their own.
    const own = await ordering.placeOrder({ tenantId: shop.store.tenantId, customer: refOf(nosy), items: [{ productCode: "vpn", quantity: 1 }] });
    assert.ok(own.ok);
    await nosy.say("/pesanansaya");
    assert.deepEqual(nosy.choiceIds, [own.order.code, "find", "menu"], "only their own order is listed");
    await nosy.press("find");
    assert.deepEqual(texts(nosy), [id("ordering.my_orders.ask_code")]);
    await nosy.say(theirs.toLowerCase());
    assert.deepEqual(texts(nosy), [id("ordering.my_orders.not_found", { code: theirs })]);
    await nosy.press(theirs);
    assert.deepEqual(nosy.keys, ["engine.stale_choice"], "a forged button for it shows nothing either");

    await owner.say(`/pesanansaya ${theirs}`);
    assert.deepEqual(owner.keys, ["ordering.my_orders.detail", "ordering.my_orders.what_next"], "its owner sees it");
  });

  test("cancelling an unpaid order releases its stock", async () => {
    const shop = await openShop([{ code: "yt", name: "YouTube Premium", price: 18_000, stock: 3 }]);
    const u = newCustomer(shop);
    await toMethod(u, "yt", 2);
    await u.press("manual");
    assert.deepEqual(u.keys, ["ordering.checkout.transfer", "ordering.checkout.ask_proof"]);
    await u.say("/cancel");
    assert.deepEqual(u.keys, ["engine.cancelled"]);
    const [order] = await ordersOf(shop, u);
    assert.equal(order.status, "pending_payment", "/cancel leaves the placed order open");
    assert.deepEqual(await stock(shop, "yt"), { available: 1, reserved: 2, sold: 0 });

    await u.say("/pesanansaya");
    await u.press(order.code);
    assert.ok(texts(u)[0].includes(id("ordering.my_orders.state.pay_before", { deadline: formatWhen(order.expiresAt, { locale: "id", timeZone: TZ }) })));
    assert.deepEqual(u.choiceIds, ["pay", "cancel", "list", "menu"]);
    await u.press("cancel");
    assert.deepEqual(texts(u), [id("ordering.my_orders.cancel_confirm", { viewCode: order.code })]);
    await u.press("yes");
    assert.deepEqual(texts(u), [id("ordering.my_orders.cancelled", { code: order.code })]);
    assert.equal((await orderRecord(shop, order.code)).status, "cancelled");
    assert.deepEqual(await stock(shop, "yt"), { available: 3, reserved: 0, sold: 0 });
    assert.equal(deliveriesOf(shop, order.code).length, 0);
  });

  test("paying an open order from my orders reuses the order", async () => {
    const shop = await openShop([{ code: "disney", name: "Disney+ Hotstar", price: 22_000, stock: 2 }]);
    const u = newCustomer(shop);
    await toMethod(u, "disney", 1);
    await u.press("simulator");
    await u.say("/cancel");
    const [order] = await ordersOf(shop, u);
    await u.say(`/pesanansaya ${order.code}`);
    await u.press("pay");
    assert.deepEqual(u.keys, ["ordering.checkout.pick_method"]);
    await u.press("simulator");
    assert.deepEqual(u.keys, ["ordering.checkout.pay_link", "ordering.checkout.after_link"]);
    await u.press("simulate");
    assert.deepEqual(texts(u), [id("ordering.checkout.paid_delivered", { code: order.code })]);
    assert.equal((await ordersOf(shop, u)).length, 1);
    assert.equal(deliveriesOf(shop, order.code).length, 1);
    assert.deepEqual(await stock(shop, "disney"), { available: 1, reserved: 0, sold: 1 });
  });

  test("a claim with a screenshot during the SNK window is recorded; text instead of the screenshot is asked again", async () => {
    const shop = await openShop([{ code: "akun", name: "Akun Premium", price: 40_000, stock: 2 }], { snkText: SNK });
    const u = newCustomer(shop);
    const placed = await ordering.placeOrder({ tenantId: shop.store.tenantId, customer: refOf(u), items: [{ productCode: "akun", quantity: 1 }], snkAccepted: true });
    assert.ok(placed.ok);
    const code = placed.order.code;
    const approved = await ordering.approvePayment(shop.store.tenantId, code, seller);
    assert.ok(approved.ok && approved.delivery === "delivered");

    await u.say("/pesanansaya");
    await u.press(code);
    assert.deepEqual(u.choiceIds, ["confirm", "claim", "list", "menu"]);
    await u.press("claim");
    assert.deepEqual(texts(u), [id("ordering.claim.ask_text")]);
    await u.send(photo("tg-too-early"));
    assert.deepEqual(texts(u), [id("engine.reask.text")], "a photo where the description is expected");
    await u.say("Akun tidak bisa login 🙏 パスワード違う");
    assert.deepEqual(texts(u), [id("ordering.claim.ask_screenshot")]);
    await u.say("ini screenshotnya");
    assert.deepEqual(texts(u), [id("ordering.claim.screenshot_reask")]);
    assert.equal((await ordering.listClaims(shop.store.tenantId)).length, 0, "no claim before the screenshot");
    await u.send(photo("tg-claim-shot"));
    assert.deepEqual(texts(u), [id("ordering.claim.sent", { code })]);

    const claims = await ordering.listClaims(shop.store.tenantId);
    assert.equal(claims.length, 1);
    assert.equal(claims[0].code, code);
    assert.equal(claims[0].snk.state, "claimed");
    assert.equal(claims[0].snk.claim?.text, "Akun tidak bisa login 🙏 パスワード違う");
    assert.equal(claims[0].snk.claim?.hasProof, true);
    assert.equal((await ordering.openOrderProof(shop.store.tenantId, code, "claim"))?.fileRef, "tg-claim-shot");

    await u.say(`/pesanansaya ${code}`);
    assert.ok(texts(u)[0].includes(id("ordering.my_orders.state.claimed")));
    assert.deepEqual(u.choiceIds, ["list", "menu"], "no second answer offered");
  });
});

describe("the customer's language", () => {
  test("choosing English is saved on the Customer record and the replies and goods come in English", async () => {
    const shop = await openShop([{ code: "netflix", name: "Netflix 1 Month", price: 25_000, stock: 2 }]);
    const u = newCustomer(shop, { locale: "id" });
    await toMethod(u, "netflix", 1);
    await u.press("manual");
    const [order] = await ordersOf(shop, u);
    assert.equal(order.customer.locale, "id");

    await u.say("/start");
    await u.press("language");
    assert.deepEqual(texts(u), [id("catalog.language.pick")]);
    assert.deepEqual(u.choiceIds, ["id", "en"]);
    await u.press("en");
    assert.deepEqual(texts(u), [t("en", "catalog.language.saved")]);
    assert.ok(texts(u)[0].startsWith("Done!"), "said in English already");

    const record = await Customer.findOne({ tenantId: shop.store.tenant, channel: "telegram", channelUserId: u.inbound.user.id }).lean().exec();
    assert.equal(record?.locale, "en");
    assert.equal((await orderRecord(shop, order.code)).customer.locale, "en", "the open order follows");

    // The channel adapter reads the chosen language from the Customer record for every later message.
    const english = newCustomer(shop, { locale: record!.locale as Locale, as: u });
    await english.say("/start");
    assert.deepEqual(texts(english), [t("en", "catalog.welcome", { store: shop.name })]);
    await english.press("catalog");
    assert.deepEqual(labels(english)[0], t("en", "catalog.product_choice", { name: "Netflix 1 Month", price: "Rp25,000" }));

    const approved = await ordering.approvePayment(shop.store.tenantId, order.code, seller);
    assert.ok(approved.ok);
    const [delivery] = deliveriesOf(shop, order.code);
    assert.equal(delivery.locale, "en");
    assert.match(renderText(delivery.message.text, delivery.locale!, i18nTexts), /^✅ Payment for order/);
    assert.equal(formatPrice(25_000, "IDR", "en"), "Rp25,000");
  });
});
