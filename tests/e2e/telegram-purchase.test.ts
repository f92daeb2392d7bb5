// The whole purchase as customers and a seller live it, against the real `niaga start`
// child process: two stores (one long-polling, one behind a webhook) on the Telegram Bot
// API emulator, an embedded MongoDB, customers pressing the bots' real inline buttons,
// the simulator's pay page opened like a browser, a transfer proof approved by the seller
// in chat, a double tap on "pay", a forged webhook, and a `kill -9` between payment and
// delivery.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import type { Types } from "mongoose";
import type { Message, User } from "grammy/types";
import { formatPrice } from "../../flows/ordering/catalog.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { DELIVERY_LEASE_MS } from "../../flows/ordering/delivery.ts";
import { Order, type OrderRecord } from "../../flows/ordering/order.ts";
import { SIMULATOR_SIGNATURE_HEADER, simulatorSecretFrom } from "../../flows/ordering/payments/simulator.ts";
import { Product } from "../../flows/ordering/product.ts";
import { ProofFile, proofContext } from "../../flows/ordering/proof-store.ts";
import { addStockItems, StockItem, stockPayloadContext } from "../../flows/ordering/stock-item.ts";
import { initI18n, t, type Locale } from "../../locales/i18n.ts";
import { decryptSecret } from "../../storage/crypto.ts";
import { Member, sealTenantSecret, Tenant } from "../../storage/models/index.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { killIfRunning, type Niaga, startNiagaProcess } from "../support/niaga-process.ts";
import { samplePng, startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { eventually } from "../support/eventually.ts";
import { freePort } from "../support/free-port.ts";

const key = randomBytes(32);
const TIMEZONE = "Asia/Jakarta";
/** Replies through a child process on a busy machine: generous, never a sleep. */
const REPLY_MS = 15_000;

interface StoreSpec {
  slug: string;
  name: string;
  locale: Locale;
  mode: "polling" | "webhook";
  product: { code: string; name: string; price: number; description: string; lowStockThreshold: number };
  snkText: string;
  instructions: string;
  /** The language the store's customers write in (their Telegram language). */
  customerLocale: Locale;
  /** The seller's approve command: the Indonesian and the English name both work. */
  approve: string;
}

interface Store extends StoreSpec {
  id: Types.ObjectId;
  token: string;
  productId: Types.ObjectId;
}

const SPECS: StoreSpec[] = [
  {
    slug: "toko-polling",
    name: "Toko Polling",
    locale: "id",
    mode: "polling",
    product: { code: "voucher-game", name: "Voucher Game 50K", price: 50_000, description: "Kode voucher game senilai 50 ribu.", lowStockThreshold: 0 },
    snkText: "1. Kode yang sudah dikirim tidak bisa ditukar.\n2. Klaim paling lambat 24 jam.",
    instructions: "Transfer ke BCA 1234567890 a.n. Toko Polling.",
    customerLocale: "id",
    approve: "setujui",
  },
  {
    slug: "toko-webhook",
    name: "Webhook Store",
    locale: "en",
    mode: "webhook",
    // 12 in stock: the third order in this store takes it down to the threshold.
    product: { code: "stream-1m", name: "Streaming 1 Month", price: 35_000, description: "", lowStockThreshold: 9 },
    snkText: "",
    instructions: "Transfer to Mandiri 9876543210 (Webhook Store).",
    customerLocale: "en",
    approve: "approve",
  },
];

let db: TestDatabase;
let tg: TelegramEmulator;
let env: Record<string, string>;
let publicUrl: string;
let seller: User;
const stores: Store[] = [];


before(async () => {
  await initI18n();
  db = await openTestDatabase("niaga_purchase", { indexes: false, encryptionKey: key });
  tg = await startTelegramEmulator();
  seller = tg.user({ first_name: "Pemilik", language_code: "id" });

  for (const spec of SPECS) {
    const { token } = tg.bot();
    const tenant = new Tenant({ slug: spec.slug, name: spec.name, locale: spec.locale });
    tenant.set("channels.telegram.token", sealTenantSecret(tenant, "channels.telegram.token", token));
    tenant.set("channels.telegram.mode", spec.mode);
    tenant.set("settings.ordering.paymentMethods", ["manual", "simulator"]);
    tenant.set("settings.ordering.paymentInstructions", spec.instructions);
    tenant.set("settings.ordering.snkText", spec.snkText);
    await tenant.save();
    const product = await Product.create({ tenantId: tenant._id, ...spec.product });
    await addStockItems(tenant._id, product._id, Array.from({ length: 12 }, (_, i) => `${spec.slug.toUpperCase()}-CODE-${String(i + 1).padStart(3, "0")}-${randomBytes(3).toString("hex")}`));
    await Member.create({ tenantId: tenant._id, channel: "telegram", channelUserId: String(seller.id), role: "owner", displayName: "Pemilik" } as never);
    // The seller has talked to the bot before (bots cannot open a chat with someone).
    tg.openChat(token, seller);
    stores.push({ ...spec, id: tenant._id, token, productId: product._id });
  }

  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  env = {
    MONGODB_URI: db.uri,
    ENCRYPTION_KEY: key.toString("base64"),
    TELEGRAM_API_ROOT: tg.apiRoot,
    HTTP_PORT: String(port),
    PUBLIC_URL: publicUrl,
    RECONCILE_INTERVAL_MS: "1000",
    // A restart after kill -9 waits for the dead instance's polling lease to lapse: keep that short here.
    POLL_LEASE_MS: "3000",
    LOG_LEVEL: "info",
    NODE_ENV: "test",
  };
});

after(async () => {
  await tg.stop();
  await db.close();
});

// ---------------------------------------------------------------- reading the chats

function words(message: Message): string {
  return message.text ?? message.caption ?? "";
}

function labels(message: Message): string[] {
  return (message.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.text);
}

function callbackData(message: Message, label: string): string {
  const button = (message.reply_markup?.inline_keyboard ?? []).flat().find((b) => b.text === label);
  if (!button || !("callback_data" in button) || !button.callback_data) throw new Error(`no button "${label}" on message ${message.message_id}: ${labels(message).join(" | ")}`);
  return button.callback_data;
}

/** The bot's message in the chat whose text is exactly `text` (sent or edited to it). */
function reply(store: Store, user: User, text: string, timeoutMs = REPLY_MS): Promise<Message> {
  return tg.waitForSent(store.token, user, (m) => words(m) === text, timeoutMs);
}

/** How many of the bot's messages in the chat contain `fragment`. */
function countContaining(store: Store, user: User, fragment: string): number {
  return tg.sent(store.token, user).filter((m) => words(m).includes(fragment)).length;
}

/**
 * Lets whatever the child would still send arrive, then proves a round trip through the
 * same chat: a `/start` answered means every earlier update of the chat was handled.
 */
async function settle(store: Store, user: User): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 750));
  const before = tg.sent(store.token, user).length;
  const asked = await tg.sendCommand(store.token, user, "/start");
  await tg.waitForSent(store.token, user, (m) => m.message_id > asked.message_id && words(m) === t(store.customerLocale, "catalog.welcome", { store: store.name }), REPLY_MS);
  assert.ok(tg.sent(store.token, user).length > before);
}

// ---------------------------------------------------------------- the store's data

async function ordersOf(store: Store, user: User): Promise<OrderRecord[]> {
  return Order.find({ tenantId: store.id, "customer.channel": "telegram", "customer.channelUserId": String(user.id) }).sort({ createdAt: 1 }).lean<OrderRecord[]>().exec();
}

/** The order as it is now in MongoDB. */
async function reload(store: Store, order: OrderRecord): Promise<OrderRecord | null> {
  return Order.findOne({ tenantId: store.id, _id: order._id }).lean<OrderRecord>().exec();
}

async function onlyOrderOf(store: Store, user: User): Promise<OrderRecord> {
  const orders = await ordersOf(store, user);
  assert.equal(orders.length, 1, `orders of ${user.first_name}: ${orders.map((o) => o.code).join(", ")}`);
  return orders[0];
}

/** The stock payloads held for (or sold to) an order, opened. */
async function payloadsOf(store: Store, order: OrderRecord): Promise<string[]> {
  const items = await StockItem.find({ tenantId: store.id, orderId: order._id }).lean().exec();
  return items.map((item) => decryptSecret(item.payload, stockPayloadContext(store.id)));
}

/** The bytes of the transfer proof stored for an order (fetched from Telegram with getFile), if any. */
async function storedProof(store: Store, order: OrderRecord): Promise<Buffer | undefined> {
  const file = await ProofFile.findOne({ tenantId: store.id, orderId: order._id, kind: "payment" }).lean().exec();
  return file?.sealedData ? Buffer.from(decryptSecret(file.sealedData, proofContext(store.id, file._id)), "base64") : undefined;
}

async function availableStock(store: Store): Promise<number> {
  return StockItem.countDocuments({ tenantId: store.id, productId: store.productId, status: "available" }).exec();
}

function price(store: Store, amount: number, locale: Locale = store.customerLocale): string {
  return formatPrice(amount, "IDR", locale);
}

/** The goods message for a delivered order, as the customer must read it. */
async function expectedGoods(store: Store, order: OrderRecord): Promise<string> {
  const delivered = await reload(store, order);
  assert.ok(delivered?.snk?.windowEndsAt, "a delivered order has its SNK window");
  const locale = store.customerLocale;
  const payloads = await payloadsOf(store, order);
  const items = `${t(locale, "ordering.delivery_item", { name: store.product.name, count: payloads.length })}\n${payloads.join("\n")}`;
  return t(locale, "ordering.delivery", { code: order.code, store: store.name, items, windowEnds: formatWhen(delivered.snk.windowEndsAt, { locale, timeZone: TIMEZONE }) });
}

// ---------------------------------------------------------------- a customer's way to "pay"

/** /start → catalog → product → Buy → quantity 1 → (SNK) → the payment-method question. */
async function toPaymentMethods(store: Store, customer: User): Promise<Message> {
  const locale = store.customerLocale;
  await tg.sendCommand(store.token, customer, "/start");
  const menu = await reply(store, customer, t(locale, "catalog.welcome", { store: store.name }));
  assert.deepEqual(labels(menu), ["catalog.menu.catalog", "catalog.menu.orders", "catalog.menu.help", "catalog.menu.language"].map((k) => t(locale, k)));

  await tg.pressButton(store.token, customer, menu, { text: t(locale, "catalog.menu.catalog") });
  const list = await reply(store, customer, t(locale, "catalog.pick_product"));
  const available = await availableStock(store);
  await tg.pressButton(store.token, customer, list, { text: t(locale, "catalog.product_choice", { name: store.product.name, price: price(store, store.product.price) }) });

  const detail = await reply(store, customer, t(locale, "catalog.product_detail", {
    product: {
      name: store.product.name,
      price: price(store, store.product.price),
      stock: t(locale, "catalog.in_stock", { count: available }),
      about: store.product.description ? `\n\n${store.product.description}` : "",
    },
  }));
  await tg.pressButton(store.token, customer, detail, { text: t(locale, "catalog.buy") });

  await reply(store, customer, t(locale, "ordering.checkout.ask_quantity", { product: { name: store.product.name }, maxQuantity: Math.min(available, 10) }));
  await tg.sendText(store.token, customer, "1");

  if (store.snkText) {
    const terms = await reply(store, customer, t(locale, "ordering.checkout.snk", { store: store.name, snkText: store.snkText }));
    await tg.pressButton(store.token, customer, terms, { text: t(locale, "ordering.checkout.snk_accept") });
  }
  const amount = price(store, store.product.price);
  await reply(store, customer, t(locale, "ordering.checkout.summary", { name: store.product.name, quantity: 1, price: amount, subtotal: amount, total: amount }));
  const methods = await reply(store, customer, t(locale, "ordering.checkout.pick_method"));
  assert.deepEqual(labels(methods), [t(locale, "ordering.method.manual"), t(locale, "ordering.method.simulator"), t(locale, "ordering.checkout.cancel")]);
  assert.equal((await ordersOf(store, customer)).length, 0, "nothing is ordered before a payment method is picked");
  return methods;
}

/** Presses "pay online" and reads the pay link the bot sent, checked against the order. */
async function payOnline(store: Store, customer: User, methods: Message): Promise<{ order: OrderRecord; payUrl: string }> {
  await tg.pressButton(store.token, customer, methods, { text: t(store.customerLocale, "ordering.method.simulator") });
  return payLink(store, customer);
}

/** The pay link the bot sent, checked against the order. */
async function payLink(store: Store, customer: User): Promise<{ order: OrderRecord; payUrl: string }> {
  const locale = store.customerLocale;
  const order = await eventually(async () => (await ordersOf(store, customer)).find((o) => o.payment?.payUrl), "the order with its pay link");
  const payUrl = order.payment!.payUrl!;
  assert.ok(payUrl.startsWith(`${publicUrl}/pay/sim/${store.slug}/${order.code}?t=`), payUrl);
  await reply(store, customer, t(locale, "ordering.checkout.pay_link", {
    code: order.code,
    amount: price(store, order.total),
    deadline: formatWhen(order.expiresAt, { locale, timeZone: TIMEZONE }),
    payUrl,
  }));
  return { order, payUrl };
}

/** What a browser does with the pay link: opens the page, then submits its form. */
async function payInBrowser(payUrl: string): Promise<Response> {
  const page = await fetch(payUrl);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  const html = await page.text();
  assert.match(html, /<form method="post"/);
  return fetch(payUrl, { method: "POST", redirect: "manual" });
}

function paidRedirect(answer: Response): void {
  assert.equal(answer.status, 303);
  const location = new URL(answer.headers.get("location") ?? "", publicUrl);
  assert.equal(location.searchParams.get("r"), "paid", location.href);
}

// ---------------------------------------------------------------- the tests

describe("buying through Telegram from a running `niaga start`", () => {
  let platform: Niaga | undefined;

  before(async () => {
    ({ platform } = await startNiagaProcess(env));
    const webhookStore = stores.find((s) => s.mode === "webhook")!;
    const hook = await tg.waitForCall(webhookStore.token, "setWebhook", () => true, REPLY_MS);
    assert.equal(hook.params.url, `${publicUrl}/telegram/${webhookStore.slug}`);
  });
  after(async () => {
    if (platform && platform.child.exitCode === null && platform.child.signalCode === null) {
      platform.child.kill("SIGTERM");
      const exited = await Promise.race([platform.exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (!exited) killIfRunning(platform);
    }
  });

  for (const spec of SPECS) {
    const store = () => stores.find((s) => s.slug === spec.slug)!;

    it(`${spec.mode}: pays online on the simulator's pay page and gets the goods exactly once, then sees the order delivered`, async () => {
      const s = store();
      const locale = s.customerLocale;
      const customer = tg.user({ first_name: "Sari", language_code: locale });
      const methods = await toPaymentMethods(s, customer);
      const { order, payUrl } = await payOnline(s, customer, methods);
      const [payload] = await payloadsOf(s, order);
      assert.ok(payload, "the order holds a stock item");
      assert.equal(countContaining(s, customer, payload), 0, "no goods before the payment");

      paidRedirect(await payInBrowser(payUrl));
      const goods = await reply(s, customer, await expectedGoods(s, order));
      assert.ok(words(goods).includes(payload));

      // The customer presses Pay again (a reload, a back button): nothing more.
      paidRedirect(await fetch(payUrl, { method: "POST", redirect: "manual" }));
      const page = await (await fetch(payUrl)).text();
      assert.ok(page.includes(t(s.locale, "ordering.paypage.paid")), "the page says the order is paid");
      assert.ok(!page.includes("<form"), "and offers no Pay button");
      // Where the page lands when its call to the webhook timed out (Telegram slow to take
      // the goods), though the payment was recorded: it must not ask to pay again.
      const afterTimeout = await (await fetch(`${payUrl}&r=failed`)).text();
      assert.ok(afterTimeout.includes(t(s.locale, "ordering.paypage.paid")));
      assert.ok(!afterTimeout.includes(t(s.locale, "ordering.paypage.failed")), "a paid order's page never says the payment was not recorded");
      await settle(s, customer);
      assert.equal(countContaining(s, customer, payload), 1, "the goods came exactly once");
      const saved = await reload(s, order);
      assert.equal(saved?.status, "delivered");
      assert.equal(await StockItem.countDocuments({ tenantId: s.id, orderId: order._id, status: "sold" }).exec(), 1);

      const asked = await tg.sendCommand(s.token, customer, "/pesanansaya");
      const list = await tg.waitForSent(s.token, customer, (m) => m.message_id > asked.message_id && words(m) === t(locale, "ordering.my_orders.list"), REPLY_MS);
      const line = labels(list).find((label) => label.startsWith(`${order.code} · `));
      assert.ok(line, `my orders: ${labels(list).join(" | ")}`);
      assert.ok(line.endsWith(` · ${t(locale, "ordering.status.delivered")}`), line);
      if (s.mode === "webhook") {
        assert.equal(tg.calls(s.token, "getUpdates").length, 0, "a webhook store never polls");
        await eventually(() => tg.pendingUpdates(s.token).length === 0, "every update acknowledged by the webhook");
      }
    });

    it(`${spec.mode}: pays by manual transfer, the seller is alerted and approves in chat, the goods come exactly once`, async () => {
      const s = store();
      const locale = s.customerLocale;
      const customer = tg.user({ first_name: "Budi", language_code: locale });
      const methods = await toPaymentMethods(s, customer);
      await tg.pressButton(s.token, customer, methods, { text: t(locale, "ordering.method.manual") });
      const order = await eventually(async () => (await ordersOf(s, customer)).find((o) => o.payment?.method === "manual"), "the manual order");
      await reply(s, customer, t(locale, "ordering.checkout.transfer", {
        code: order.code,
        amount: price(s, order.total),
        deadline: formatWhen(order.expiresAt, { locale, timeZone: TIMEZONE }),
        instructions: s.instructions,
      }));
      const askProof = await reply(s, customer, t(locale, "ordering.checkout.ask_proof"));

      const typed = await tg.sendText(s.token, customer, "sudah saya transfer ya");
      await tg.waitForSent(s.token, customer, (m) => m.message_id > typed.message_id && words(m) === t(locale, "ordering.checkout.proof_reask"), REPLY_MS);
      assert.ok(typed.message_id > askProof.message_id);

      const photo = await tg.sendPhoto(s.token, customer, samplePng());
      await tg.waitForSent(s.token, customer, (m) => m.message_id > photo.message_id && words(m) === t(locale, "ordering.checkout.proof_received", { orderCode: order.code }), REPLY_MS);
      const alert = t(s.locale, "admin.order_alert.proof_submitted", { code: order.code, store: s.name });
      await reply(s, seller, alert);
      const [payload] = await payloadsOf(s, order);
      assert.equal(countContaining(s, customer, payload), 0, "no goods before the approval");
      const waiting = await reload(s, order);
      assert.equal(waiting?.status, "pending_payment");
      assert.ok(waiting?.payment?.proof?.fileId, "the proof is recorded on the order");
      assert.ok((await storedProof(s, order))?.equals(samplePng()), "the photo itself was downloaded from Telegram and stored");

      const approve = await tg.sendCommand(s.token, seller, `/${s.approve}`, order.code);
      await tg.waitForSent(s.token, seller, (m) => m.message_id > approve.message_id && words(m) === t(seller.language_code, "admin.orders.approved_delivered", { code: order.code }), REPLY_MS);
      await reply(s, customer, await expectedGoods(s, order));

      const again = await tg.sendCommand(s.token, seller, `/${s.approve}`, order.code);
      const sellerLocale = seller.language_code;
      await tg.waitForSent(s.token, seller, (m) => m.message_id > again.message_id && words(m) === t(sellerLocale, "admin.orders.already_paid", { code: order.code, state: t(sellerLocale, "admin.orders.status.delivered") }), REPLY_MS);
      await settle(s, customer);
      assert.equal(countContaining(s, customer, payload), 1, "the goods came exactly once");
      assert.equal(tg.sent(s.token, seller).filter((m) => words(m) === alert).length, 1, "one alert for the seller");
      const saved = await reload(s, order);
      assert.equal(saved?.status, "delivered");
      assert.equal(saved?.payment?.approvedBy?.userId, String(seller.id));
    });
  }

  it("a double tap on the payment method places one order and starts one payment", async () => {
    const s = stores.find((x) => x.mode === "polling")!;
    const locale = s.customerLocale;
    const customer = tg.user({ first_name: "Dodi", language_code: locale });
    const methods = await toPaymentMethods(s, customer);
    const ordersBefore = await Order.countDocuments({ tenantId: s.id }).exec();
    const online = callbackData(methods, t(locale, "ordering.method.simulator"));
    // Two presses before the bot answers the first, then one more on the same old message
    // once the pay link is there. (`forged`: the bot edits the keyboard away after the first
    // press; a client that has not received that edit yet still sends the button.)
    const first = tg.pressButton(s.token, customer, methods, { text: t(locale, "ordering.method.simulator") });
    const second = tg.pressButton(s.token, customer, methods.message_id, online, { forged: true });
    await Promise.all([first, second]);
    const { order } = await payLink(s, customer);
    await tg.pressButton(s.token, customer, methods.message_id, online, { forged: true });
    await settle(s, customer);

    assert.equal(await Order.countDocuments({ tenantId: s.id }).exec(), ordersBefore + 1, "one order");
    const only = await onlyOrderOf(s, customer);
    assert.equal(only.code, order.code);
    assert.equal(countContaining(s, customer, only.payment!.payUrl!), 1, "one pay link");
    assert.equal(await StockItem.countDocuments({ tenantId: s.id, orderId: only._id }).exec(), 1, "one item held");
    assert.equal(tg.sent(s.token, customer).filter((m) => words(m) === t(locale, "engine.stale_choice")).length, 2, "each late press is told the button is old");
  });

  it("refuses a payment webhook with a bad signature (401, nothing changes) and applies a replayed good one once", async () => {
    const s = stores.find((x) => x.mode === "webhook")!;
    const locale = s.customerLocale;
    const customer = tg.user({ first_name: "Eka", language_code: locale });
    const { order } = await payOnline(s, customer, await toPaymentMethods(s, customer));
    const [payload] = await payloadsOf(s, order);
    const body = JSON.stringify({ id: `evt_${randomBytes(6).toString("hex")}`, type: "payment.succeeded", store: String(s.id), orderCode: order.code, amount: order.total, currency: order.currency });
    const post = (signature: string | undefined) =>
      fetch(`${publicUrl}/payments/simulator/${s.slug}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(signature !== undefined && { [SIMULATOR_SIGNATURE_HEADER]: signature }) },
        body,
      });
    const sign = (secret: Buffer) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

    for (const bad of [undefined, "", sign(randomBytes(32)), sign(simulatorSecretFrom(randomBytes(32)))]) {
      const answer = await post(bad);
      assert.equal(answer.status, 401, `signature ${JSON.stringify(bad)}`);
      await answer.body?.cancel();
    }
    await settle(s, customer);
    const untouched = await reload(s, order);
    assert.equal(untouched?.status, "pending_payment");
    assert.deepEqual(untouched?.payment?.gatewayEventIds ?? [], []);
    assert.equal(countContaining(s, customer, payload), 0);

    const good = sign(simulatorSecretFrom(key));
    const paid = await post(good);
    assert.equal(paid.status, 200);
    assert.deepEqual(await paid.json(), { status: "paid", delivery: "delivered" });
    await reply(s, customer, await expectedGoods(s, order));
    const replayed = await post(good);
    assert.equal(replayed.status, 200);
    assert.equal(((await replayed.json()) as { status: string }).status, "duplicate_event");
    await settle(s, customer);
    assert.equal(countContaining(s, customer, payload), 1, "the goods came exactly once");
  });

  it("the seller hears once that stock is low, when an order takes it down to the threshold", async () => {
    const s = stores.find((x) => x.product.lowStockThreshold > 0)!;
    assert.equal(await availableStock(s), s.product.lowStockThreshold, "the orders above took the stock down to the threshold");
    const alert = t(s.locale, "admin.low_stock.alert", { store: s.name, name: s.product.name, sku: s.product.code, count: s.product.lowStockThreshold, threshold: s.product.lowStockThreshold });
    await reply(s, seller, alert);
    await new Promise((resolve) => setTimeout(resolve, 750));
    const lowStock = t(s.locale, "admin.low_stock.alert", { store: s.name, name: s.product.name, sku: s.product.code, count: "", threshold: "" }).split("(")[0];
    assert.deepEqual(tg.sent(s.token, seller).map(words).filter((w) => w.startsWith(lowStock)), [alert], "one alert, at the crossing");
  });

  it("a kill -9 between payment and delivery: after the restart the goods arrive exactly once, and what waited is handled", async () => {
    const s = stores.find((x) => x.mode === "polling")!;
    const locale = s.customerLocale;
    const customer = tg.user({ first_name: "Fajar", language_code: locale });
    const { order, payUrl } = await payOnline(s, customer, await toPaymentMethods(s, customer));
    const [payload] = await payloadsOf(s, order);
    // Another customer is about to send a transfer proof when the process dies.
    const late = tg.user({ first_name: "Gita", language_code: locale });
    await tg.pressButton(s.token, late, await toPaymentMethods(s, late), { text: t(locale, "ordering.method.manual") });
    await reply(s, late, t(locale, "ordering.checkout.ask_proof"));
    const lateOrder = await onlyOrderOf(s, late);

    // Telegram takes the goods message and never answers: the process dies mid-delivery.
    tg.failNext(s.token, "sendMessage", { delayMs: 10 * 60_000, dropConnection: true });
    const paying = fetch(payUrl, { method: "POST", redirect: "manual" }).catch((error: unknown) => error);
    await eventually(() => tg.calls(s.token, "sendMessage").some((c) => c.params.chat_id === customer.id && c.response === undefined), "the goods being sent");
    const paid = await reload(s, order);
    assert.equal(paid?.status, "paid");
    assert.ok(paid?.delivery?.claimToken, "a delivery is under way");

    const dying = platform!;
    dying.child.kill("SIGKILL");
    assert.equal((await dying.exited).signal, "SIGKILL");
    await paying;
    assert.equal(countContaining(s, customer, payload), 0, "the goods did not go out");
    const orphaned = await reload(s, order);
    assert.equal(orphaned?.status, "paid");
    await tg.sendPhoto(s.token, late, samplePng());

    // The dead process's claim is a lease (DELIVERY_LEASE_MS, two minutes) that nobody
    // renews. Rather than wait it out, the test moves its end to now, as two minutes would.
    assert.ok(orphaned.delivery!.nextAttemptAt!.getTime() - orphaned.delivery!.claimedAt!.getTime() >= DELIVERY_LEASE_MS);
    await Order.updateOne({ tenantId: s.id, _id: order._id }, { $set: { "delivery.nextAttemptAt": new Date(Date.now() - 1000) } }).exec();

    // One store's Telegram is slow to answer at the start; the other store's bot takes its
    // waiting updates meanwhile, before the start has finished.
    const slow = stores.find((x) => x.mode === "webhook")!;
    tg.failNext(slow.token, "setWebhook", { delayMs: 3000 });
    ({ platform } = await startNiagaProcess(env));
    const restarted = platform;
    await eventually(async () => (await reload(s, order))?.status === "delivered", "the order delivered after the restart", { timeoutMs: 30_000 });
    await reply(s, customer, await expectedGoods(s, order));
    const recovered = await reload(s, order);
    assert.equal(recovered?.delivery?.attempts, 2, "one attempt died with the process, the next one delivered");
    assert.ok(restarted.lines.some((l) => l.message === "order delivered" && l.orderCode === order.code), "the restarted process delivered it");

    // The proof sent while the platform was down is taken, downloaded and shown to the seller once.
    await reply(s, late, t(locale, "ordering.checkout.proof_received", { orderCode: lateOrder.code }));
    await reply(s, seller, t(s.locale, "admin.order_alert.proof_submitted", { code: lateOrder.code, store: s.name }));
    assert.ok((await storedProof(s, lateOrder))?.equals(samplePng()), "the photo itself was downloaded from Telegram and stored");

    await settle(s, customer);
    assert.equal(countContaining(s, customer, payload), 1, "the goods came exactly once");
    assert.equal(tg.sent(s.token, seller).filter((m) => words(m).startsWith(t(s.locale, "admin.order_alert.proof_submitted", { code: lateOrder.code, store: s.name }))).length, 1);
  });
});
