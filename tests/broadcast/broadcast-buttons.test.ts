// A broadcast's buttons in a customer's chat: pressed outside any conversation, "see the
// product" opens that product's page and "see the catalog" the list, through the engine and
// the storefront flows as they run.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createBroadcasting } from "../../flows/broadcast/index.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { i18nTexts, renderText } from "../../flows/engine/texts.ts";
import type { Engine } from "../../flows/engine/index.ts";
import { createOrderingFlows } from "../../flows/ordering/catalog-flows.ts";
import { ChatUser, testEngine } from "../engine/chat-harness.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { seedOrderingStore, testOrdering } from "../ordering/ordering-fixture.ts";

let db: TestDatabase;
let engine: Engine;
before(async () => {
  db = await openTestDatabase("broadcast_buttons");
  await MongoSessionStore.ensureIndexes();
  const { ordering } = testOrdering();
  engine = testEngine({ ...createOrderingFlows({ ordering }), sessions: new MongoSessionStore() });
});
after(async () => {
  await db.close();
});

describe("a broadcast's buttons", () => {
  test("the product button opens that product's page; the catalog button the list; a hidden product's code shows the list", async () => {
    const store = await seedOrderingStore({
      products: [
        { code: "canva", name: "Canva Pro", price: 30_000, stock: 4, description: "Akun Canva Pro 30 hari.", sortOrder: 1 },
        { code: "rahasia", name: "Produk Rahasia", price: 1, stock: 1, status: "hidden", sortOrder: 2 },
      ],
    });
    const { outbox } = recordingOutbox();
    const broadcasting = createBroadcasting({ outbox });
    const seller = { channel: "telegram", userId: "owner-1" };
    const saved = await broadcasting.saveDraft(store.tenantId, seller, {
      content: { text: "Canva Pro diskon!", buttons: [{ kind: "product", productCode: "canva" }, { kind: "catalog" }, { kind: "product", productCode: "rahasia" }] },
      audience: { kind: "all" },
    });
    assert.ok(saved.ok);
    const message = await broadcasting.messageFor(store.tenantId, saved.broadcast.number, "telegram", "id");
    const [product, catalog, hidden, stop] = message!.choices!.map((c) => c.id);
    assert.equal(stop, "cmd:berhenti");

    const u = new ChatUser(engine, { tenant: { id: store.tenantId, slug: store.slug, name: store.name }, channel: "telegram", chatId: "chat-1", userId: "user-1", locale: "id" });
    await u.press(product);
    assert.deepEqual(u.keys, ["catalog.product_detail"]);
    assert.match(renderText(u.last[0].text, "id", i18nTexts), /^Canva Pro\nHarga: Rp30\.000/);
    assert.deepEqual(u.choiceIds, ["buy", "back", "menu"]);

    await u.press(catalog);
    assert.deepEqual(u.keys, ["catalog.pick_product"]);
    assert.deepEqual(u.choiceIds, ["canva", "menu"]);

    await u.press(hidden);
    assert.deepEqual(u.keys, ["catalog.pick_product"], "a product no longer on sale: the list, nothing of it");
  });
});
