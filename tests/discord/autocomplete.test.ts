// What an autocomplete offers while someone types a command's argument on Discord: the
// store's product codes (customers only what is on sale) and order codes (a customer only
// their own, newest first; sellers all), never another store's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { discordServices } from "../../bots/discord.ts";
import { createOrdering } from "../../flows/ordering/ordering.ts";
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import { Tenant } from "../../storage/models/index.ts";
import { useTestDatabase } from "../support/mongo.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { seedStore } from "../support/stores.ts";

useTestDatabase("discord_autocomplete");
const { autocomplete } = discordServices();

const PRODUCTS = [
  { code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, stock: 5 },
  { code: "netflix-3m", name: "Netflix 3 Bulan", price: 95_000, stock: 5 },
  { code: "spotify-1m", name: "Spotify 1 Bulan", price: 25_000, stock: 5 },
  { code: "netflix-draf", name: "Paket Draf", price: 1, status: "hidden" as const },
];

async function storeWithOrders() {
  const shop = await seedStore({ products: PRODUCTS });
  await Tenant.updateOne({ _id: shop.tenant }, { $set: { "settings.ordering.paymentMethods": ["manual"] } }).exec();
  const ordering = createOrdering({ outbox: new RecordingOutbox(), gateways: gatewayMap(manualGateway()) });
  const order = async (userId: string) => {
    const placed = await ordering.placeOrder({ tenantId: shop.id, customer: { channel: "discord", channelUserId: userId, chatId: userId, locale: "id" }, items: [{ productCode: "netflix-1m", quantity: 1 }], snkAccepted: true });
    assert.ok(placed.ok, JSON.stringify(placed));
    return placed.order.code;
  };
  return { shop, order };
}

describe("Discord autocomplete", () => {
  it("offers a customer the products on sale matching what they typed, a seller the hidden ones too", async () => {
    const { shop } = await storeWithOrders();
    const customer = await autocomplete!({ tenantId: shop.id, userId: "801", source: "product", query: "Netf", audience: "customer" });
    assert.deepEqual(customer, [
      { name: "netflix-1m — Netflix 1 Bulan", value: "netflix-1m" },
      { name: "netflix-3m — Netflix 3 Bulan", value: "netflix-3m" },
    ]);
    const seller = await autocomplete!({ tenantId: shop.id, userId: "802", source: "product", query: "netflix", audience: "seller" });
    assert.deepEqual(seller.map((c) => c.value), ["netflix-1m", "netflix-3m", "netflix-draf"]);
    assert.deepEqual(await autocomplete!({ tenantId: shop.id, userId: "801", source: "product", query: "net.*", audience: "seller" }), [], "what is typed is text, not a pattern");
  });

  it("offers a customer only their own orders, a seller every order of the store, and nothing of another store", async () => {
    const { shop, order } = await storeWithOrders();
    const mine = [await order("801"), await order("801")];
    const theirs = await order("802");
    const other = await storeWithOrders();
    await other.order("801");
    const customer = await autocomplete!({ tenantId: shop.id, userId: "801", source: "order", query: "", audience: "customer" });
    assert.deepEqual(customer.map((c) => c.value), [...mine].reverse(), "newest first");
    const seller = await autocomplete!({ tenantId: shop.id, userId: "900", source: "order", query: "", audience: "seller" });
    assert.deepEqual(new Set(seller.map((c) => c.value)), new Set([...mine, theirs]));
    const typed = await autocomplete!({ tenantId: shop.id, userId: "801", source: "order", query: mine[0]!.slice(-3).toLowerCase(), audience: "customer" });
    assert.ok(typed.some((c) => c.value === mine[0]), JSON.stringify(typed));
  });
});
