// The simulator's pay page in a real browser on a phone-sized screen: a customer opens the
// pay link of a real order, reads what they pay and by when, presses Pay, and gets the
// goods once; a mistyped address shows a page too, not JSON.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { formatWhen } from "../../locales/format-when.ts";
import { Order } from "../../flows/ordering/order.ts";
import { t } from "../../locales/i18n.ts";
import { Tenant } from "../../storage/models/index.ts";
import { launchPhoneBrowser, PHONE, type PhoneBrowser } from "../support/browser.ts";
import { customer, seedOrderingStore, servePayments, type PaymentsServer } from "./ordering-fixture.ts";
import { type SeededStore } from "../support/stores.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";

const TIMEZONE = "Asia/Makassar";
/** 80 characters, the longest a product name may be, and not one space to break at. */
const LONG_NAME = "AkunPremiumStreamingKeluarga4KUltraHDSatuTahunPenuhGaransiFullTanpaIklan-ABCDEFG";

let db: TestDatabase;
let payments: PaymentsServer;
let store: SeededStore;
let browser: PhoneBrowser;

before(async () => {
  db = await openTestDatabase("ordering_pay_page_browser");
  payments = await servePayments(db);
  store = await seedOrderingStore({ name: "Toko Streaming", products: [{ code: "akun", name: LONG_NAME, price: 25_000, stock: 5 }] });
  await Tenant.updateOne({ _id: store.tenant }, { $set: { timezone: TIMEZONE } }).exec();
  browser = await launchPhoneBrowser();
});
after(async () => {
  await browser?.close();
  await payments.http.close();
  await db.close();
});

test("on a phone, the pay page shows the deadline and the unit price, keeps the prices on screen, and pays once", async () => {
  const buyer = customer("phone");
  const placed = await payments.ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "akun", quantity: 2 }] });
  assert.ok(placed.ok, "order placed");
  const started = await payments.ordering.startPayment(store.tenantId, buyer, placed.order.code, "simulator");
  assert.ok(started.ok && started.payment.payUrl, "pay link handed out");
  const { order } = placed;

  const page = await browser.context.newPage();
  const opened = await page.goto(started.payment.payUrl);
  assert.equal(opened?.status(), 200);
  const text = await page.locator("body").innerText();
  // The same words and time as the chat's "pay before …", in the store's time zone.
  const deadline = t("id", "ordering.paypage.deadline", { deadline: formatWhen(order.expiresAt, { locale: "id", timeZone: TIMEZONE }) });
  assert.ok(text.includes(deadline), `"${deadline}" on the page:\n${text}`);
  assert.ok(text.includes("2 × Rp25.000"), `the unit price on the page:\n${text}`);
  assert.ok(text.includes("Rp50.000"));

  const layout = await page.evaluate<{ scrollWidth: number; innerWidth: number }>("({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })");
  assert.equal(layout.innerWidth, PHONE.width);
  assert.ok(layout.scrollWidth <= layout.innerWidth, `the page scrolls sideways: ${layout.scrollWidth} > ${layout.innerWidth}`);
  const prices = await page.locator("td.n").all();
  assert.ok(prices.length >= 2, "a price cell per line and the total");
  for (const cell of prices) {
    const box = await cell.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= layout.innerWidth, `a price cell off the screen: ${JSON.stringify(box)}`);
  }

  await page.getByRole("button", { name: t("id", "ordering.paypage.pay_button", { amount: "Rp50.000" }) }).click();
  await page.waitForURL(/[?&]r=paid/);
  assert.ok((await page.locator("body").innerText()).includes(t("id", "ordering.paypage.paid")));
  assert.equal(await page.getByRole("button").count(), 0, "no Pay button once paid");
  await page.reload();
  assert.equal((await Order.findOne({ tenantId: store.tenant, code: order.code }).lean().exec())?.status, "delivered");
  assert.equal(payments.outbox.deliveries(order.code).length, 1, "the goods arrive once");
  await page.close();
});

test("an unknown address in the browser shows a page in the customer's language, not JSON", async () => {
  const page = await browser.context.newPage();
  const opened = await page.goto(`${payments.base}/pay/sim/salah-ketik`);
  assert.equal(opened?.status(), 404);
  assert.match((await opened?.headerValue("content-type")) ?? "", /^text\/html/);
  assert.equal(await page.locator("h1").innerText(), t("id", "web.not_found.title"));
  await page.close();
});
