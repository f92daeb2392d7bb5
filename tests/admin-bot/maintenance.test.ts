// Maintenance mode (`/maintenance on [text]` in the owner bot) as the platform's engine wires
// it: customers get the text instead of a turn and cannot start an order; sellers keep
// working — approving a paid order — and the goods still go out.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { logger } from "../../bots/logger.ts";
import { createPlatformEngine } from "../../bots/platform-engine.ts";
import type { Engine } from "../../flows/engine/index.ts";
import { MongoSessionStore } from "../../flows/engine/index.ts";
import { createOrdering, type Ordering } from "../../flows/ordering/ordering.ts";
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import { Order } from "../../flows/ordering/order.ts";
import { createPlatformFlows } from "../../flows/platform.ts";
import { t } from "../../locales/i18n.ts";
import { createCoordination, type Coordination } from "../../storage/coordination.ts";
import { MaintenanceSwitch } from "../../storage/maintenance.ts";
import { Tenant } from "../../storage/models/index.ts";
import { ChatUser } from "../engine/chat-harness.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { oid, seedShop } from "../tenant-admin/admin-fixture.ts";

let db: TestDatabase;
let coordination: Coordination;
let ordering: Ordering;
let engine: Engine;
const outbox = new RecordingOutbox();
const maintenance = new MaintenanceSwitch({ cacheMs: 0 });

before(async () => {
  db = await openTestDatabase("maintenance");
  await MongoSessionStore.ensureIndexes();
  coordination = createCoordination({ log: logger });
  ordering = createOrdering({ outbox, gateways: gatewayMap(manualGateway()) });
  const flows = createPlatformFlows({ ordering, admin: { adminRateLimit: { limit: 1000, windowMs: 60_000 } } });
  engine = createPlatformEngine({ flows, config: { ownerChatIds: [] }, coordination, maintenance });
});
after(async () => {
  await maintenance.set({ on: false }, "test");
  await coordination.close();
  await db.close();
});

describe("maintenance mode", () => {
  test("customers get the maintenance text and cannot order; a seller approves a paid order and the goods go out", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" }, products: [{ code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, stock: ["NF-SECRET-aaa1", "NF-SECRET-aaa2"] }] });
    await Tenant.updateOne({ _id: oid(shop.id) }, { $set: { "settings.ordering.paymentMethods": ["manual"], "settings.ordering.paymentInstructions": "BCA 123" } }).exec();
    const buyer = { channel: "console", channelUserId: "buyer-1", chatId: "chat-buyer-1", locale: "id" as const, name: "Pembeli" };
    const placed = await ordering.placeOrder({ tenantId: shop.id, customer: buyer, items: [{ productCode: "netflix-1m", quantity: 1 }], snkAccepted: true });
    assert.ok(placed.ok);
    assert.ok((await ordering.submitPaymentProof(shop.id, buyer, placed.order.code, { fileRef: "proof-1" })).ok);

    const customer = new ChatUser(engine, { tenant: shop, channel: "console", userId: "buyer-2", chatId: "chat-buyer-2" });
    const seller = new ChatUser(engine, { tenant: shop, channel: "console", userId: "owner-1", chatId: "chat-owner-1" });
    const welcome = await customer.say("/start");
    assert.notDeepEqual(welcome, ["Toko tutup sebentar"], "before maintenance the customer is served");

    await maintenance.set({ on: true, text: "Toko tutup sebentar" }, "owner:42");
    for (const typed of ["/start", "/katalog", "netflix", "/help"]) assert.deepEqual(await customer.say(typed), ["Toko tutup sebentar"], typed);
    assert.equal(await Order.countDocuments({ tenantId: oid(shop.id), "customer.channelUserId": "buyer-2" }).exec(), 0, "no order was started");

    const approved = await seller.say(`/setujui ${placed.order.code}`);
    assert.ok(!approved.includes("Toko tutup sebentar"), "the seller is not paused");
    assert.ok(seller.keys.includes("admin.orders.approved_delivered"), approved.join("\n"));
    assert.equal(outbox.deliveries(placed.order.code).length, 1, "the paid order was delivered");
    assert.equal(outbox.deliveries(placed.order.code)[0]!.to.chatId, "chat-buyer-1");

    await maintenance.set({ on: true }, "owner:42");
    assert.deepEqual(await customer.say("/start"), [t("id", "ownerbot.maintenance.customer_default")], "without a text: the default one");

    await maintenance.set({ on: false }, "owner:42");
    assert.deepEqual(await customer.say("/start"), welcome, "served again once it is off");
  });
});
