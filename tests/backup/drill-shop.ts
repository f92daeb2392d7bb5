// The store of the backup drill and its customers, as they live it: a Telegram bot on the
// emulator talking to a real `niaga start`, a customer pressing the bot's buttons up to the
// simulator's pay link, and the pay page's form submitted like a browser would.
import assert from "node:assert/strict";
import type { Types } from "mongoose";
import type { Message, User } from "grammy/types";
import { formatPrice } from "../../flows/ordering/catalog.ts";
import { Order, type OrderRecord } from "../../flows/ordering/order.ts";
import { StockItem, stockPayloadContext } from "../../flows/ordering/stock-item.ts";
import { t } from "../../locales/i18n.ts";
import { decryptSecret } from "../../storage/crypto.ts";
import { eventually } from "../support/eventually.ts";
import { seedStore } from "../support/stores.ts";
import type { TelegramEmulator } from "../support/telegram-emulator.ts";

/** Replies through a child process on a busy machine: generous, never a sleep. */
export const REPLY_MS = 15_000;
const LOCALE = "id";

export interface DrillShop {
  tenant: Types.ObjectId;
  token: string;
  name: string;
  productId: Types.ObjectId;
  product: { code: string; name: string; price: number };
  snkText: string;
}

/** A store selling one voucher (stock 6), paid on the simulator, with terms (SNK) to accept. */
export async function seedDrillShop(tg: TelegramEmulator, seller: User): Promise<DrillShop> {
  const { token } = tg.bot();
  const product = { code: "voucher-game", name: "Voucher Game 50K", price: 50_000 };
  const snkText = "Klaim paling lambat 24 jam dengan tangkapan layar.";
  const store = await seedStore({
    name: "Toko Drill",
    telegram: { token, mode: "polling" },
    settings: { ordering: { paymentMethods: ["manual", "simulator"], snkText, snkWindowHours: 24, paymentTimeoutMinutes: 60 } },
    products: [{ ...product, stock: 6 }],
    members: { [String(seller.id)]: "owner" },
    memberChannel: "telegram",
  });
  tg.openChat(token, seller);
  return { tenant: store.tenant, token, name: store.name, productId: store.products[product.code], product, snkText };
}

export function words(message: Message): string {
  return message.text ?? message.caption ?? "";
}

/** How many of the bot's messages to `user` contain `fragment`. */
export function countContaining(tg: TelegramEmulator, shop: DrillShop, user: User, fragment: string): number {
  return tg.sent(shop.token, user).filter((m) => words(m).includes(fragment)).length;
}

function reply(tg: TelegramEmulator, shop: DrillShop, user: User, text: string): Promise<Message> {
  return tg.waitForSent(shop.token, user, (m) => words(m) === text, REPLY_MS);
}

/**
 * Lets whatever the platform would still send arrive, then proves a round trip through the
 * chat: a `/start` answered means every earlier update of the chat was handled.
 */
export async function settle(tg: TelegramEmulator, shop: DrillShop, user: User): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 750));
  const asked = await tg.sendCommand(shop.token, user, "/start");
  await tg.waitForSent(shop.token, user, (m) => m.message_id > asked.message_id && words(m) === t(LOCALE, "catalog.welcome", { store: shop.name }), REPLY_MS);
}

export async function availableStock(shop: DrillShop): Promise<number> {
  return StockItem.countDocuments({ tenantId: shop.tenant, productId: shop.productId, status: "available" }).exec();
}

export async function orderOf(shop: DrillShop, user: User): Promise<OrderRecord | null> {
  return Order.findOne({ tenantId: shop.tenant, "customer.channel": "telegram", "customer.channelUserId": String(user.id) }).sort({ createdAt: -1 }).lean<OrderRecord>().exec();
}

/** The stock payloads held for (or sold to) an order, opened. */
export async function payloadsOf(shop: DrillShop, order: OrderRecord): Promise<string[]> {
  const items = await StockItem.find({ tenantId: shop.tenant, orderId: order._id }).lean().exec();
  return items.map((item) => decryptSecret(item.payload, stockPayloadContext(shop.tenant)));
}

/**
 * /start → catalogue → product → Buy → quantity 1 → accept the SNK → "pay online": the order
 * placed, its stock held, and the simulator's pay link in the chat.
 */
export async function orderThroughBot(tg: TelegramEmulator, shop: DrillShop, customer: User): Promise<{ order: OrderRecord; payUrl: string; payload: string }> {
  const price = formatPrice(shop.product.price, "IDR", LOCALE);
  const asked = await tg.sendCommand(shop.token, customer, "/start");
  const menu = await tg.waitForSent(shop.token, customer, (m) => m.message_id > asked.message_id && words(m) === t(LOCALE, "catalog.welcome", { store: shop.name }), REPLY_MS);
  await tg.pressButton(shop.token, customer, menu, { text: t(LOCALE, "catalog.menu.catalog") });
  const list = await reply(tg, shop, customer, t(LOCALE, "catalog.pick_product"));
  await tg.pressButton(shop.token, customer, list, { text: t(LOCALE, "catalog.product_choice", { name: shop.product.name, price }) });
  const detail = await tg.waitForSent(shop.token, customer, (m) => m.message_id > list.message_id && words(m).startsWith(shop.product.name), REPLY_MS);
  await tg.pressButton(shop.token, customer, detail, { text: t(LOCALE, "catalog.buy") });
  await tg.waitForSent(shop.token, customer, (m) => m.message_id > detail.message_id && words(m).includes(shop.product.name), REPLY_MS);
  await tg.sendText(shop.token, customer, "1");
  const terms = await reply(tg, shop, customer, t(LOCALE, "ordering.checkout.snk", { store: shop.name, snkText: shop.snkText }));
  await tg.pressButton(shop.token, customer, terms, { text: t(LOCALE, "ordering.checkout.snk_accept") });
  const methods = await reply(tg, shop, customer, t(LOCALE, "ordering.checkout.pick_method"));
  await tg.pressButton(shop.token, customer, methods, { text: t(LOCALE, "ordering.method.simulator") });
  const order = await eventually(async () => {
    const o = await orderOf(shop, customer);
    return o?.payment?.payUrl && o.createdAt > new Date(asked.date * 1000 - 1000) ? o : undefined;
  }, "the order with its pay link", { timeoutMs: REPLY_MS });
  const payUrl = order.payment!.payUrl!;
  await tg.waitForSent(shop.token, customer, (m) => words(m).includes(payUrl), REPLY_MS);
  const [payload] = await payloadsOf(shop, order);
  assert.ok(payload, "the order holds a stock item");
  return { order, payUrl, payload };
}

/** What a browser does with the pay link: opens the page, then submits its form; the answer must say paid. */
export async function payInBrowser(payUrl: string): Promise<void> {
  const page = await fetch(payUrl);
  assert.equal(page.status, 200);
  await page.text();
  const answer = await fetch(payUrl, { method: "POST", redirect: "manual" });
  assert.equal(answer.status, 303);
  assert.equal(new URL(answer.headers.get("location") ?? "", payUrl).searchParams.get("r"), "paid");
}

/** Waits for the goods message holding `payload` in the customer's chat. */
export function goodsArrive(tg: TelegramEmulator, shop: DrillShop, customer: User, payload: string): Promise<Message> {
  return tg.waitForSent(shop.token, customer, (m) => words(m).includes(payload), REPLY_MS);
}
