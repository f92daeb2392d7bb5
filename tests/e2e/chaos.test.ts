// Chaos drill (seed 004 §7): `niaga start` is killed with SIGKILL under customer traffic —
// one payment is in the middle of its delivery, another customer is half-way through
// checkout — and started again as a supervisor would. Afterwards every paid order has its
// goods exactly once, and every scheduled job (payment deadlines, SNK reminders, SNK
// windows) has run exactly once: those due before the kill, those that fell due while the
// platform was down, and those still ahead (still scheduled, once).
//
// Hours-long deadlines are brought forward by writing the order's time and its job's
// `nextRunAt` into the past, as the passing of time would; the real scheduler of the
// running process runs them.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import mongoose, { type Types } from "mongoose";
import type { Message, User } from "grammy/types";
import { Order, type OrderRecord } from "../../flows/ordering/order.ts";
import { ORDER_JOBS } from "../../flows/ordering/order-jobs.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { JOBS_COLLECTION } from "../../bots/scheduler.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { killIfRunning, startNiagaProcess, type Niaga } from "../support/niaga-process.ts";
import { seedStore } from "../support/stores.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";
import { freePort } from "../support/free-port.ts";

const key = randomBytes(32);
const STORE = "Toko Kacau";
const REPLY_MS = 20_000;

let db: TestDatabase;
let tg: TelegramEmulator;
let token: string;
let tenantId: Types.ObjectId;
let env: Record<string, string>;
let platform: Niaga | undefined;

const words = (m: Message) => m.text ?? m.caption ?? "";
const labels = (m: Message) => (m.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.text);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


/** The bot's next message in the chat (after `after`) that matches. */
function next(customer: User, after: number, matches: (m: Message) => boolean): Promise<Message> {
  return tg.waitForSent(token, customer, (m) => m.message_id > after && matches(m), REPLY_MS);
}

/** /start → catalog → the product → Buy → 1 → accept the SNK: the customer is asked how to pay. */
async function toPaymentMethods(customer: User): Promise<Message> {
  const start = await tg.sendCommand(token, customer, "/start");
  const menu = await next(customer, start.message_id, (m) => labels(m).includes(t("id", "catalog.menu.catalog")));
  await tg.pressButton(token, customer, menu, { text: t("id", "catalog.menu.catalog") });
  const list = await next(customer, menu.message_id, (m) => words(m) === t("id", "catalog.pick_product"));
  await tg.pressButton(token, customer, list, { text: labels(list)[0]! });
  const detail = await next(customer, list.message_id, (m) => labels(m).includes(t("id", "catalog.buy")));
  await tg.pressButton(token, customer, detail, { text: t("id", "catalog.buy") });
  const quantity = await next(customer, detail.message_id, (m) => words(m).startsWith("Mau beli berapa"));
  await tg.sendText(token, customer, "1");
  const terms = await next(customer, quantity.message_id, (m) => labels(m).includes(t("id", "ordering.checkout.snk_accept")));
  await tg.pressButton(token, customer, terms, { text: t("id", "ordering.checkout.snk_accept") });
  return next(customer, terms.message_id, (m) => words(m) === t("id", "ordering.checkout.pick_method"));
}

/** Presses "pay online" and returns the order once its pay link is out. */
async function placeOrder(customer: User, methods: Message): Promise<OrderRecord> {
  await tg.pressButton(token, customer, methods, { text: t("id", "ordering.method.simulator") });
  const order = await eventually(async () => (await ordersOf(customer)).find((o) => o.payment?.payUrl), `${customer.first_name}'s pay link`, { timeoutMs: REPLY_MS });
  const link = await next(customer, methods.message_id, (m) => words(m).includes(order.payment!.payUrl!));
  // The checkout's last word: nothing more comes until the payment does.
  await next(customer, link.message_id, (m) => words(m) === t("id", AFTER_LINK));
  return order;
}

/** What the simulator's pay page does when the customer confirms. */
function pay(order: OrderRecord): Promise<Response | unknown> {
  return fetch(order.payment!.payUrl!, { method: "POST", redirect: "manual", signal: AbortSignal.timeout(30_000) }).catch((error: unknown) => error);
}

async function ordersOf(customer: User): Promise<OrderRecord[]> {
  return Order.find({ tenantId, "customer.channel": "telegram", "customer.channelUserId": String(customer.id) }).lean<OrderRecord[]>().exec();
}

async function reload(order: OrderRecord): Promise<OrderRecord> {
  return (await Order.findOne({ tenantId, _id: order._id }).lean<OrderRecord>().exec())!;
}

const jobs = () => mongoose.connection.db!.collection(JOBS_COLLECTION);
const jobsOf = (name: string, order: OrderRecord) => jobs().find({ name, "data.orderId": String(order._id) }).toArray();

/** Brings one of an order's deadlines to a second ago, in the order and in its job. */
async function dueNow(order: OrderRecord, job: string, fields: string[]): Promise<void> {
  const past = new Date(Date.now() - 1_000);
  await Order.updateOne({ tenantId, _id: order._id }, { $set: Object.fromEntries(fields.map((f) => [f, past])) }).exec();
  const moved = await jobs().updateOne({ name: job, "data.orderId": String(order._id) }, { $set: { nextRunAt: past } });
  assert.equal(moved.matchedCount, 1, `${order.code} has its ${job} job`);
}

/** How many of the bot's messages to `customer` are about `code` and contain `fragment`. */
function told(customer: User, code: string, fragment: string): number {
  return tg.sent(token, customer).filter((m) => words(m).includes(code) && words(m).includes(fragment)).length;
}

const AFTER_LINK = "ordering.checkout.after_link";
const GOODS = "sudah diterima. Ini pesananmu";
const EXPIRED = "kedaluwarsa";
const REMINDER = "Pengingat: waktu konfirmasi";
const CLOSED = "sudah berakhir; pesanan dianggap selesai";

before(async () => {
  await initI18n();
  db = await openTestDatabase("niaga_chaos", { indexes: false, encryptionKey: key });
  tg = await startTelegramEmulator();
  ({ token } = tg.bot());
  const store = await seedStore({
    slug: "toko-kacau",
    name: STORE,
    locale: "id",
    telegram: { token, mode: "polling" },
    settings: { ordering: { paymentMethods: ["manual", "simulator"], snkText: "Klaim paling lambat 24 jam." } },
    products: [{ code: "voucher-10k", name: "Voucher 10K", price: 10_000, stock: 20 }],
  });
  tenantId = store.tenant;
  const port = await freePort();
  env = {
    MONGODB_URI: db.uri,
    ENCRYPTION_KEY: key.toString("base64"),
    TELEGRAM_API_ROOT: tg.apiRoot,
    HTTP_PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    RECONCILE_INTERVAL_MS: "1000",
    // The restart waits for the killed instance's polling lease to lapse: keep it short.
    POLL_LEASE_MS: "3000",
    ALERT_JOB_CHECK_MS: "2000",
    ALERT_JOB_OVERDUE_MS: "60000",
    LOG_LEVEL: "info",
    NODE_ENV: "test",
  };
});

after(async () => {
  killIfRunning(platform);
  await platform?.exited;
  await tg?.stop();
  await db?.close();
});

describe("kill -9 under customer traffic, then a restart", () => {
  it("every paid order is delivered exactly once and every scheduled job runs exactly once", { timeout: 300_000 }, async () => {
    ({ platform } = await startNiagaProcess(env));
    const first = platform;
    const customer = (name: string) => tg.user({ first_name: name, language_code: "id" });
    const [ani, budi, cici, dedi, eka, fina, gita, hadi] = ["Ani", "Budi", "Cici", "Dedi", "Eka", "Fina", "Gita", "Hadi"].map(customer);

    // Three customers buy and receive their goods.
    const delivered: OrderRecord[] = [];
    for (const buyer of [ani!, budi!, cici!]) {
      const order = await placeOrder(buyer, await toPaymentMethods(buyer));
      await pay(order);
      await next(buyer, 0, (m) => words(m).includes(order.code) && words(m).includes(GOODS));
      delivered.push(await reload(order));
    }
    const [aniOrder, budiOrder, ciciOrder] = delivered as [OrderRecord, OrderRecord, OrderRecord];
    // Two customers order and never pay.
    const dediOrder = await placeOrder(dedi!, await toPaymentMethods(dedi!));
    const ekaOrder = await placeOrder(eka!, await toPaymentMethods(eka!));
    for (const order of delivered) {
      assert.equal((await jobsOf(ORDER_JOBS.snkReminder, order)).length, 1);
      assert.equal((await jobsOf(ORDER_JOBS.snkClose, order)).length, 1);
    }
    assert.equal((await jobsOf(ORDER_JOBS.expireUnpaidOrder, dediOrder)).length, 1);

    // Cici's reminder falls due while the first process runs: it sends it.
    await dueNow(ciciOrder, ORDER_JOBS.snkReminder, ["snk.remindAt"]);
    await next(cici!, 0, (m) => words(m).includes(ciciOrder.code) && words(m).includes(REMINDER));

    // Gita is half-way through checkout when the process dies.
    const gitaMethods = await toPaymentMethods(gita!);
    // Fina pays; Telegram takes her goods message and never answers: the process dies mid-delivery.
    const finaOrder = await placeOrder(fina!, await toPaymentMethods(fina!));
    tg.failNext(token, "sendMessage", { delayMs: 10 * 60_000, dropConnection: true });
    const paying = pay(finaOrder);
    await eventually(() => tg.calls(token, "sendMessage").some((c) => c.params.chat_id === fina!.id && c.response === undefined), "Fina's goods being sent", { timeoutMs: REPLY_MS });
    first.child.kill("SIGKILL");
    assert.equal((await first.exited).signal, "SIGKILL");
    await paying;
    const orphaned = await reload(finaOrder);
    assert.equal(orphaned.status, "paid", `paid, not delivered; ${JSON.stringify(tg.calls(token, "sendMessage").filter((c) => c.params.chat_id === fina!.id).map((c) => [c.params.text, c.response === undefined]))}`);
    assert.equal(told(fina!, finaOrder.code, GOODS), 0);

    // While the platform is down: time passes for some deadlines, and Hadi writes.
    await dueNow(dediOrder, ORDER_JOBS.expireUnpaidOrder, ["expiresAt"]);
    await dueNow(aniOrder, ORDER_JOBS.snkReminder, ["snk.remindAt"]);
    await dueNow(budiOrder, ORDER_JOBS.snkClose, ["snk.windowEndsAt", "snk.remindAt"]);
    await dueNow(budiOrder, ORDER_JOBS.snkReminder, ["snk.windowEndsAt", "snk.remindAt"]);
    // Fina's delivery claim is a lease of the dead process; its end comes as two minutes would.
    await Order.updateOne({ tenantId, _id: finaOrder._id }, { $set: { "delivery.nextAttemptAt": new Date(Date.now() - 1_000) } }).exec();
    const hadiAsked = await tg.sendCommand(token, hadi!, "/start");

    // The supervisor starts it again.
    ({ platform } = await startNiagaProcess(env));
    const second = platform;
    await next(hadi!, hadiAsked.message_id, (m) => words(m).includes(STORE));
    await next(fina!, 0, (m) => words(m).includes(finaOrder.code) && words(m).includes(GOODS));
    await next(dedi!, 0, (m) => words(m).includes(dediOrder.code) && words(m).includes(EXPIRED));
    await next(ani!, 0, (m) => words(m).includes(aniOrder.code) && words(m).includes(REMINDER));
    await next(budi!, 0, (m) => words(m).includes(budiOrder.code) && words(m).includes(CLOSED));
    // Gita goes on where she was, pays, and gets her goods.
    const gitaOrder = await placeOrder(gita!, gitaMethods);
    await pay(gitaOrder);
    await next(gita!, 0, (m) => words(m).includes(gitaOrder.code) && words(m).includes(GOODS));

    // The jobs that ran are gone, once; give the scheduler a few more rounds to do anything twice.
    await eventually(async () => (await jobs().countDocuments({ nextRunAt: { $lt: new Date() }, name: { $in: [ORDER_JOBS.expireUnpaidOrder, ORDER_JOBS.snkReminder, ORDER_JOBS.snkClose] } })) === 0, "the due jobs to have run", { timeoutMs: 30_000 });
    await sleep(12_000);

    const paid = [aniOrder, budiOrder, ciciOrder, finaOrder, gitaOrder];
    const buyers = [ani!, budi!, cici!, fina!, gita!];
    for (const [i, order] of paid.entries()) {
      assert.equal(told(buyers[i]!, order.code, GOODS), 1, `${order.code}: the goods exactly once`);
      assert.ok(["delivered", "completed"].includes((await reload(order)).status), `${order.code} delivered`);
    }
    assert.equal((await reload(finaOrder)).delivery?.attempts, 2, "one attempt died with the process, the next delivered");
    // Payment deadlines: Dedi's ran once; Eka's is still ahead, scheduled once.
    assert.equal(told(dedi!, dediOrder.code, EXPIRED), 1);
    assert.equal((await reload(dediOrder)).status, "expired");
    assert.equal((await jobsOf(ORDER_JOBS.expireUnpaidOrder, dediOrder)).length, 0);
    assert.equal((await reload(ekaOrder)).status, "pending_payment");
    assert.equal(told(eka!, ekaOrder.code, EXPIRED), 0);
    assert.equal((await jobsOf(ORDER_JOBS.expireUnpaidOrder, ekaOrder)).length, 1);
    // SNK reminders: Cici's before the kill, Ani's after it, each once; Budi's window ended first, so none.
    assert.equal(told(cici!, ciciOrder.code, REMINDER), 1);
    assert.equal(told(ani!, aniOrder.code, REMINDER), 1);
    assert.equal(told(budi!, budiOrder.code, REMINDER), 0);
    // SNK windows: Budi's closed once; the others are open, each with one reminder and one close ahead.
    assert.equal(told(budi!, budiOrder.code, CLOSED), 1);
    assert.equal((await reload(budiOrder)).status, "completed");
    for (const order of [aniOrder, ciciOrder, finaOrder, gitaOrder]) {
      assert.equal((await jobsOf(ORDER_JOBS.snkClose, order)).length, 1, `${order.code}: one SNK close ahead`);
    }
    for (const order of [finaOrder, gitaOrder]) assert.equal((await jobsOf(ORDER_JOBS.snkReminder, order)).length, 1, `${order.code}: one reminder ahead`);
    // The owner heard of no failing, overdue or unhandled trouble.
    const trouble = second.lines.filter((l) => ["job-failing", "job-overdue", "unhandled-error"].includes(String(l.alert)));
    assert.deepEqual(trouble.map((l) => l.message), []);
  });
});
