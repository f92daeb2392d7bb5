// Two members editing the same product, price or SNK at once (seed 004 §8): the second save
// overwrites nothing — that seller sees who changed it and the value now — and the platform
// owner hears of it, naming the store, the product or SNK and both members.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { Product } from "../../flows/ordering/product.ts";
import type { ConcurrentEdit } from "../../flows/tenant-admin/concurrent-edits.ts";
import { Tenant } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { useTestDatabase } from "../support/mongo.ts";
import { adminEngine, ChatUser, oid, seedShop } from "./admin-fixture.ts";

useTestDatabase("tenant_admin_concurrent_edits");

const edits: ConcurrentEdit[] = [];
beforeEach(() => {
  edits.length = 0;
});

async function twoSellers() {
  const shop = await seedShop({ name: "Toko Melati", members: { "owner-1": "owner", "admin-2": "admin" } });
  const { engine } = adminEngine({ onConcurrentEdit: (edit) => void edits.push(edit) });
  const rina = new ChatUser(engine, { tenant: shop, userId: "owner-1", chatId: "chat-owner-1", name: "Rina", channel: "console" });
  const budi = new ChatUser(engine, { tenant: shop, userId: "admin-2", chatId: "chat-admin-2", name: "Budi", channel: "console" });
  return { shop, rina, budi };
}

const productOf = (tenantId: string, code: string) => Product.findOne({ tenantId: oid(tenantId), code }).lean().exec();

describe("two sellers editing the same thing at once", () => {
  test("a product's name: the second save is refused with the name now and who changed it; the owner hears of both", async () => {
    const { shop, rina, budi } = await twoSellers();
    for (const seller of [rina, budi]) {
      await seller.say("/ubahproduk netflix-1m");
      await seller.press("name");
    }
    await rina.say("Netflix Premium");
    const refused = await budi.say("Netflix Hemat");
    assert.deepEqual(budi.keys, ["admin.product.conflict"]);
    assert.match(refused[0]!, /Rina/);
    assert.match(refused[0]!, /Netflix Premium/);
    assert.equal((await productOf(shop.id, "netflix-1m"))?.name, "Netflix Premium", "nothing overwritten");
    const edit = await eventually(() => edits[0], "the owner's alert");
    assert.deepEqual(edit, { tenantId: shop.id, target: { type: "product", id: "netflix-1m", label: "netflix-1m (Netflix Premium)" }, first: "Rina", second: "Budi" });

    // Started again, from what is there now, it saves.
    await budi.say("/ubahproduk netflix-1m");
    await budi.press("name");
    await budi.say("Netflix Hemat");
    assert.deepEqual(budi.keys, ["admin.product.changed"]);
  });

  test("a price: /harga waiting for the amount is refused after someone else set the price", async () => {
    const { shop, rina, budi } = await twoSellers();
    await budi.say("/harga spotify-1m");
    await rina.say("/harga spotify-1m 27000");
    assert.deepEqual(rina.keys, ["admin.product.changed"]);
    const refused = await budi.say("26000");
    assert.deepEqual(budi.keys, ["admin.product.conflict"]);
    assert.match(refused[0]!, /Rp27\.000/);
    assert.equal((await productOf(shop.id, "spotify-1m"))?.price, 27_000);
    assert.equal((await eventually(() => edits[0], "the owner's alert")).second, "Budi");
  });

  test("the SNK: the second seller sees the terms now, whole, and nothing is overwritten", async () => {
    const { shop, rina, budi } = await twoSellers();
    for (const seller of [rina, budi]) {
      await seller.say("/pengaturan");
      await seller.press("snk");
    }
    const rinasTerms = `Garansi 7 hari. ${"Baca dulu sebelum membeli. ".repeat(12)}Akhir.`;
    await rina.say(rinasTerms);
    assert.deepEqual(rina.keys, ["admin.settings.saved"]);
    const refused = await budi.say("Tanpa garansi.");
    assert.deepEqual(budi.keys, ["admin.settings.conflict"]);
    assert.ok(refused[0]!.includes(rinasTerms), "the terms now, not cut short");
    assert.match(refused[0]!, /Rina/);
    const tenant = await Tenant.findById(shop.id).lean().exec();
    assert.equal((tenant?.settings as { ordering?: { snkText?: string } })?.ordering?.snkText, rinasTerms);
    assert.deepEqual(await eventually(() => edits[0], "the owner's alert"), { tenantId: shop.id, target: { type: "setting", id: "snk", label: "SNK" }, first: "Rina", second: "Budi" });
  });

  test("one seller alone, or two editing different products, never conflict", async () => {
    const { rina, budi } = await twoSellers();
    await rina.say("/ubahproduk netflix-1m");
    await rina.press("category");
    await budi.say("/harga spotify-1m 30000");
    await rina.say("Streaming");
    assert.deepEqual(rina.keys, ["admin.product.changed"]);
    await rina.say("/pengaturan");
    await rina.press("snk");
    await rina.say("Garansi 1 hari.");
    assert.deepEqual(rina.keys, ["admin.settings.saved"]);
    assert.equal(edits.length, 0);
  });
});
