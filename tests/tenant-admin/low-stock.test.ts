// Low-stock alerts reach the store's owners and admins once per fall below the threshold,
// not on every order, and again only after stock has been topped up and falls again.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Product } from "../../flows/ordering/product.ts";
import { StockItem } from "../../flows/ordering/stock-item.ts";
import { notSent } from "../../flows/engine/index.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { checkLowStock } from "../../flows/tenant-admin/low-stock.ts";
import { adminEngine, oid, person, seedShop } from "./admin-fixture.ts";
import { useTestDatabase } from "../support/mongo.ts";

useTestDatabase("tenant_admin_low_stock");

async function productId(tenantId: string, code: string): Promise<string> {
  return (await Product.findOne({ tenantId: oid(tenantId), code }).lean().exec())!._id.toString();
}

/** Sells one available item of the product, as an order would. */
async function sellOne(tenantId: string, product: string): Promise<void> {
  await StockItem.findOneAndUpdate({ tenantId: oid(tenantId), productId: oid(product), status: "available" }, { $set: { status: "sold" } }).exec();
}

describe("low-stock alerts", () => {
  test("once per crossing: not while stock is above, once at the threshold, not again until topped up", async () => {
    const shop = await seedShop({ name: "Toko Awas", members: { "owner-1": "owner", "admin-1": "admin", "staf-1": "staff" } });
    const netflix = await productId(shop.id, "netflix-1m");
    const outbox = new RecordingOutbox();
    assert.equal(await checkLowStock(shop.id, netflix, outbox), "enough");
    await sellOne(shop.id, netflix);
    assert.equal(await checkLowStock(shop.id, netflix, outbox), "alerted");
    assert.deepEqual(
      outbox.sent.map((s) => `${s.to.channel}:${s.to.chatId}`).sort(),
      ["console:admin-1", "console:owner-1"],
      "owners and admins hear it, staff do not",
    );
    assert.deepEqual(outbox.sent[0].message.text, {
      key: "admin.low_stock.alert",
      params: { sku: "netflix-1m", name: "Netflix 1 Bulan", count: 2, threshold: 2, store: "Toko Awas" },
    });
    assert.equal(await checkLowStock(shop.id, netflix, outbox), "already-alerted");
    await sellOne(shop.id, netflix);
    assert.equal(await checkLowStock(shop.id, netflix, outbox), "already-alerted");
    assert.equal(outbox.sent.length, 2);

    // The seller tops up through the chat: the alert re-arms.
    const { engine } = adminEngine({ outbox });
    const owner = person(engine, shop, "owner-1");
    await owner.say("/tambahstok netflix-1m\nNF-X\nNF-Y");
    await owner.say("selesai");
    assert.equal(outbox.sent.length, 2);
    await sellOne(shop.id, netflix);
    assert.equal(await checkLowStock(shop.id, netflix, outbox), "alerted");
    assert.equal(outbox.sent.length, 4);
  });

  test("many checks at once alert exactly once", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const spotify = await productId(shop.id, "spotify-1m");
    await Product.updateOne({ tenantId: oid(shop.id), _id: oid(spotify) }, { $set: { lowStockThreshold: 1 } }).exec();
    const outbox = new RecordingOutbox();
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => checkLowStock(shop.id, spotify, outbox)));
    assert.equal(outcomes.filter((o) => o === "alerted").length, 1);
    assert.equal(outbox.sent.length, 1);
  });

  test("a sold-out product says so; a product without a threshold never alerts", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const spotify = await productId(shop.id, "spotify-1m");
    const outbox = new RecordingOutbox();
    await sellOne(shop.id, spotify);
    assert.equal(await checkLowStock(shop.id, spotify, outbox), "no-threshold");
    await Product.updateOne({ tenantId: oid(shop.id), _id: oid(spotify) }, { $set: { lowStockThreshold: 3 } }).exec();
    assert.equal(await checkLowStock(shop.id, spotify, outbox), "alerted");
    assert.equal((outbox.sent[0].message.text as { key: string }).key, "admin.low_stock.sold_out_alert");
  });

  test("one member's unreachable chat does not keep the others from hearing it", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner", "owner-2": "owner" } });
    const netflix = await productId(shop.id, "netflix-1m");
    const reached: string[] = [];
    const flaky = {
      async send(to: { chatId: string }, messages: readonly unknown[]) {
        if (to.chatId === "owner-1") return notSent(messages.length, "blocked", "403: bot was blocked by the user");
        reached.push(to.chatId);
        return { ok: true, sent: messages.length, messages: messages.map(() => ({ status: "sent" as const, messageIds: [] })) };
      },
    };
    await sellOne(shop.id, netflix);
    assert.equal(await checkLowStock(shop.id, netflix, flaky), "alerted");
    assert.deepEqual(reached, ["owner-2"]);
  });

  test("another store's product id is not this store's business", async () => {
    const shopA = await seedShop({ members: { "owner-a": "owner" } });
    const shopB = await seedShop({ members: { "owner-b": "owner" } });
    const netflixB = await productId(shopB.id, "netflix-1m");
    await sellOne(shopB.id, netflixB);
    const outbox = new RecordingOutbox();
    assert.equal(await checkLowStock(shopA.id, netflixB, outbox), "no-product");
    assert.equal(await checkLowStock(shopA.id, "bukan-id", outbox), "no-product");
    assert.equal(outbox.sent.length, 0);
  });
});
