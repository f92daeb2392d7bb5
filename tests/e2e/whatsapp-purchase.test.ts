// Buying and selling over WhatsApp against the real `niaga start` child process: the store's
// number linked at a local WhatsApp Web (the real Baileys socket in the child talks to it
// through WHATSAPP_WEB_URL), customers writing real encrypted messages from their phones,
// a transfer proof sent as a photo, the simulator's pay page, a seller running admin
// commands from WhatsApp (a stock file, the order list, an approval), and a message sent
// while the platform was down answered once it is back.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { User } from "grammy/types";
import { Order, type OrderRecord } from "../../flows/ordering/order.ts";
import { StockItem, stockPayloadContext } from "../../flows/ordering/stock-item.ts";
import { formatPrice } from "../../flows/ordering/catalog.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { decryptSecret } from "../../storage/crypto.ts";
import { Member } from "../../storage/models/index.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { killIfRunning, type Niaga, startNiagaProcess } from "../support/niaga-process.ts";
import { seedStore, type SeededStore } from "../support/stores.ts";
import { samplePng, startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { eventually } from "../support/eventually.ts";
import { freePort } from "../support/free-port.ts";
import { LocalWhatsAppWeb } from "../support/whatsapp-web/index.ts";
import { linkStoreNumber, shown, WHATSAPP_REPLY_MS, WhatsAppChat, whatsappEnv } from "../support/whatsapp-stores.ts";

const key = randomBytes(32);
const STORE_PHONE = "6281200000001";
const SELLER_PHONE = "6281399990000";
const PRODUCT = { code: "voucher-wa", name: "Voucher WA 25K", price: 25_000 };
const LOCALE = "id" as const;

let db: TestDatabase;
let tg: TelegramEmulator;
let wa: LocalWhatsAppWeb;
let env: Record<string, string>;
let store: SeededStore;
let storeName: string;
let telegramToken: string;
let telegramSeller: User;
let platform: Niaga | undefined;
const everyStart: Niaga[] = [];

const welcome = () => t(LOCALE, "catalog.welcome", { store: storeName });

before(async () => {
  await initI18n();
  db = await openTestDatabase("niaga_whatsapp_purchase", { indexes: false, encryptionKey: key });
  tg = await startTelegramEmulator();
  wa = await LocalWhatsAppWeb.start();
  telegramSeller = tg.user({ first_name: "Pemilik", language_code: "id" });
  ({ token: telegramToken } = tg.bot());
  storeName = "Toko WhatsApp";
  store = await seedStore({
    name: storeName,
    locale: LOCALE,
    settings: { ordering: { paymentMethods: ["manual", "simulator"], paymentInstructions: "Transfer ke BCA 1234567890.", snkText: "" } },
    products: [{ ...PRODUCT, stock: 10, description: "Voucher untuk diuji." }],
    members: { [String(telegramSeller.id)]: "owner" },
    memberChannel: "telegram",
    telegram: { token: telegramToken },
  });
  tg.openChat(telegramToken, telegramSeller);
  await linkStoreNumber(wa, store.tenant, STORE_PHONE);

  const port = await freePort();
  env = {
    MONGODB_URI: db.uri,
    ENCRYPTION_KEY: key.toString("base64"),
    TELEGRAM_API_ROOT: tg.apiRoot,
    HTTP_PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    RECONCILE_INTERVAL_MS: "1000",
    POLL_LEASE_MS: "3000",
    WHATSAPP_SESSION_LEASE_MS: "10000",
    LOG_LEVEL: process.env.NIAGA_E2E_LOG_LEVEL ?? "info",
    NODE_ENV: "test",
    ...whatsappEnv(wa),
  };
  ({ platform } = await startNiagaProcess(env));
  everyStart.push(platform);
});

after(async () => {
  if (process.env.NIAGA_E2E_LOG) (await import("node:fs")).writeFileSync(process.env.NIAGA_E2E_LOG, everyStart.map((p) => p.stderr).join("\n"));
  await stop(platform);
  await wa?.close();
  await tg?.stop();
  await db?.close();
});

async function stop(niaga: Niaga | undefined): Promise<void> {
  if (!niaga || niaga.child.exitCode !== null || niaga.child.signalCode !== null) return;
  niaga.child.kill("SIGTERM");
  const exited = await Promise.race([niaga.exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
  if (!exited) killIfRunning(niaga);
}

// ---------------------------------------------------------------- the store's data

/** The store's WhatsApp orders placed since `since` (the tests run one after another). */
async function ordersSince(since: Date): Promise<OrderRecord[]> {
  return Order.find({ tenantId: store.tenant, "customer.channel": "whatsapp", createdAt: { $gte: since } }).sort({ createdAt: 1 }).lean<OrderRecord[]>().exec();
}

async function payloadsOf(order: OrderRecord): Promise<string[]> {
  const items = await StockItem.find({ tenantId: store.tenant, orderId: order._id }).lean().exec();
  return items.map((item) => decryptSecret(item.payload, stockPayloadContext(store.tenant)));
}

async function reload(order: OrderRecord): Promise<OrderRecord | null> {
  return Order.findOne({ tenantId: store.tenant, _id: order._id }).lean<OrderRecord>().exec();
}

// ---------------------------------------------------------------- a customer's way to "pay"

/** /start → catalog → the product → Buy → 1 → the payment methods, answered with `method`. */
async function orderOne(chat: WhatsAppChat, method: "manual" | "simulator"): Promise<OrderRecord> {
  const since = new Date();
  await chat.say("/start");
  await chat.expect(welcome());
  await chat.choose(t(LOCALE, "catalog.menu.catalog"));
  await chat.expect(t(LOCALE, "catalog.pick_product"));
  await chat.choose(t(LOCALE, "catalog.product_choice", { name: PRODUCT.name, price: formatPrice(PRODUCT.price, "IDR", LOCALE) }));
  await chat.choose(t(LOCALE, "catalog.buy"));
  await chat.expect(t(LOCALE, "ordering.checkout.ask_quantity", { product: { name: PRODUCT.name }, maxQuantity: 10 }).split("(")[0]);
  await chat.say("1");
  await chat.choose(t(LOCALE, `ordering.method.${method}`));
  const order = await eventually(async () => (await ordersSince(since)).find((o) => o.payment?.method === method), `the ${method} order`, { timeoutMs: WHATSAPP_REPLY_MS });
  assert.equal((await ordersSince(since)).length, 1, "one order");
  assert.equal(order.status, "pending_payment");
  return order;
}

/** A manual order waiting for the seller, its proof sent as a photo. */
async function orderWithProof(chat: WhatsAppChat): Promise<OrderRecord> {
  const order = await orderOne(chat, "manual");
  await chat.expect(t(LOCALE, "ordering.checkout.ask_proof"));
  await chat.sendImage(samplePng());
  await chat.expect(t(LOCALE, "ordering.checkout.proof_received", { orderCode: order.code }));
  const waiting = await reload(order);
  assert.equal(waiting?.status, "pending_payment");
  assert.ok(waiting?.payment?.proof?.fileId, "the proof is recorded on the order");
  return order;
}

/** The goods reach the customer exactly once (nothing more after a round trip). */
async function goodsOnce(chat: WhatsAppChat, order: OrderRecord): Promise<void> {
  const [payload] = await payloadsOf(order);
  assert.ok(payload, "the order holds a stock item");
  await chat.expect((m) => shown(m).includes(payload));
  await eventually(async () => (await reload(order))?.status === "delivered", "the order delivered", { timeoutMs: WHATSAPP_REPLY_MS });
  await chat.settle(welcome());
  assert.equal(chat.count(payload), 1, "the goods came exactly once");
}

// ---------------------------------------------------------------- the tests

describe("WhatsApp through a running `niaga start` against a local WhatsApp Web", () => {
  it("the store's number is connected once, by the linked device", async () => {
    await eventually(() => wa.sessions().some((s) => s.phone === STORE_PHONE), "the store's socket logged in", { timeoutMs: WHATSAPP_REPLY_MS });
    assert.equal(wa.sessions().filter((s) => s.phone === STORE_PHONE).length, 1);
  });

  it("a customer pays by manual transfer with a photo of the proof; the seller approves from Telegram; the goods come exactly once", async () => {
    const chat = new WhatsAppChat(wa.customer({ phone: "6281311110001", pushName: "Sari" }), STORE_PHONE);
    const order = await orderWithProof(chat);
    const alert = t(LOCALE, "admin.order_alert.proof_submitted", { code: order.code, store: storeName });
    await tg.waitForSent(telegramToken, telegramSeller, (m) => m.text === alert, WHATSAPP_REPLY_MS);
    const [payload] = await payloadsOf(order);
    assert.equal(chat.count(payload), 0, "no goods before the approval");

    const approve = await tg.sendCommand(telegramToken, telegramSeller, "/setujui", order.code);
    await tg.waitForSent(telegramToken, telegramSeller, (m) => m.message_id > approve.message_id && m.text === t("id", "admin.orders.approved_delivered", { code: order.code }), WHATSAPP_REPLY_MS);
    await goodsOnce(chat, order);
  });

  it("a customer pays online on the simulator's pay page; the goods come exactly once", async () => {
    const chat = new WhatsAppChat(wa.customer({ phone: "6281311110002", lid: "120000000000002", pushName: "Budi" }), STORE_PHONE);
    const order = await orderOne(chat, "simulator");
    const payUrl = await eventually(async () => (await reload(order))?.payment?.payUrl, "the pay link");
    await chat.expect((m) => shown(m).includes(payUrl));
    const paid = await fetch(payUrl, { method: "POST", redirect: "manual" });
    assert.equal(paid.status, 303);
    // Pressed again (a reload): nothing more.
    await (await fetch(payUrl, { method: "POST", redirect: "manual" })).body?.cancel();
    await goodsOnce(chat, order);
  });

  it("a seller joins from WhatsApp with an invite, then adds stock by a file, lists orders and approves a transfer there", async () => {
    // A WhatsApp customer's id is random (`wa:…`), never the phone number: a seller on
    // WhatsApp joins with an invite from an owner, typed in the store's WhatsApp chat.
    const invite = await tg.sendCommand(telegramToken, telegramSeller, "/undang", "admin");
    const invited = await tg.waitForSent(telegramToken, telegramSeller, (m) => m.message_id > invite.message_id && (m.text ?? "").includes("/gabung "), WHATSAPP_REPLY_MS);
    const token = /\/gabung (\S+)/.exec(invited.text ?? "")![1];
    // The seller's phone writes LID-addressed (as WhatsApp does more and more), its number alongside.
    const seller = new WhatsAppChat(wa.customer({ phone: SELLER_PHONE, lid: "120000000000999", pushName: "Penjual" }), STORE_PHONE);
    await seller.say(`/gabung ${token}`);
    await seller.expect(t(LOCALE, "admin.staff.joined", { role: t(LOCALE, "admin.roles.admin") }));
    const member = await eventually(() => Member.findOne({ tenantId: store.tenant, channel: "whatsapp" }).lean().exec(), "the seller's membership");
    assert.equal(member.role, "admin");
    assert.ok(!member.channelUserId.includes(SELLER_PHONE), "the member's id does not spread the phone number");
    // The engine remembers who is a seller for 10 s (flows/engine/audience.ts), and the /gabung
    // message itself was read as a customer's: seller commands work once that has lapsed.
    await new Promise((resolve) => setTimeout(resolve, 10_500));

    const before = await StockItem.countDocuments({ tenantId: store.tenant, status: "available" }).exec();
    await seller.say(`/tambahstok ${PRODUCT.code}`);
    await seller.choose(t(LOCALE, "admin.stock.method_file"));
    await seller.expect(t(LOCALE, "admin.stock.ask_file"));
    const items = Array.from({ length: 3 }, (_, i) => `WA-FILE-${i + 1}-${randomBytes(4).toString("hex")}`);
    await seller.sendDocument(Buffer.from(`${items.join("\n")}\n`), "stok.txt", "text/plain");
    await seller.expect(t(LOCALE, "admin.stock.imported", { sku: PRODUCT.code, name: PRODUCT.name, added: 3, skipped: 0, skippedLines: "", rejected: 0, available: before + 3 }));
    assert.equal(await StockItem.countDocuments({ tenantId: store.tenant, status: "available" }).exec(), before + 3);
    assert.equal(seller.count(items[0]), 0, "the stock itself is never echoed back");

    const customer = new WhatsAppChat(wa.customer({ phone: "6281311110003", pushName: "Citra" }), STORE_PHONE);
    const order = await orderWithProof(customer);
    // The alert reaches the seller on WhatsApp too (everyone who may approve, on their channel).
    await seller.expect(t(LOCALE, "admin.order_alert.proof_submitted", { code: order.code, store: storeName }));

    await seller.say("/pesanan");
    await seller.expect((m) => shown(m).includes(order.code));

    await seller.say(`/setujui ${order.code}`);
    await seller.expect(t(LOCALE, "admin.orders.approved_delivered", { code: order.code }));
    await goodsOnce(customer, order);
    assert.equal((await reload(order))?.payment?.approvedBy?.userId, member.channelUserId);
  });

  it("a message sent while the platform was down is answered once it starts again (offline append)", async () => {
    const chat = new WhatsAppChat(wa.customer({ phone: "6281311110004", pushName: "Dewi" }), STORE_PHONE);
    await chat.say("/start");
    await chat.expect(welcome());

    await stop(platform);
    assert.equal((await platform!.exited).code, 0, platform!.stderr.slice(-2000));
    await eventually(() => !wa.sessions().some((s) => s.phone === STORE_PHONE), "the store's socket gone");
    const loginsBefore = wa.stats().logins;
    await chat.say("/start");

    ({ platform } = await startNiagaProcess(env));
    everyStart.push(platform);
    await chat.expect(welcome(), 60_000);
    assert.ok(wa.stats().logins > loginsBefore, "answered after logging in again");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(chat.count(welcome()), 2, "each /start answered once");
  });
});
