// A store's own JSON flows, kept in MongoDB.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FlowValidationError } from "../../flows/engine/flow-validation.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { MongoStoreFlows, saveStoreFlow, StoreFlow } from "../../flows/engine/store-flows.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { ChatUser, newTenant, testEngine } from "./chat-harness.ts";

let db: TestDatabase;
before(async () => {
  db = await openTestDatabase("engine_store_flows", { indexes: false });
  await Promise.all([MongoSessionStore.ensureIndexes(), StoreFlow.createIndexes()]);
});
after(() => db.close());

const menu = { id: "menu", triggers: { commands: ["start"] }, steps: { hi: { kind: "end", text: { id: "Menu utama." } } } };
const hours = {
  id: "jam-buka",
  triggers: { commands: ["jam"], keywords: { id: ["jam buka"] } },
  help: { id: "Jam buka toko" },
  steps: {
    answer: { kind: "say", text: { id: "Buka 08.00–22.00 WIB." }, next: "back" },
    back: { kind: "goto", flow: "menu" },
  },
};

describe("a store's JSON flow in MongoDB", () => {
  test("is saved after validation and answers that store's customers only", async () => {
    const storeA = newTenant("Toko A");
    const storeB = newTenant("Toko B");
    const engine = testEngine({ flows: [menu], sessions: new MongoSessionStore(), storeFlows: new MongoStoreFlows() });
    await saveStoreFlow(engine, storeA, hours, "owner-1");
    const customerA = new ChatUser(engine, { tenant: storeA });
    assert.deepEqual(await customerA.say("jam buka"), ["Buka 08.00–22.00 WIB.", "Menu utama."]);
    const customerB = new ChatUser(engine, { tenant: storeB });
    await customerB.say("/jam");
    assert.deepEqual(customerB.keys, ["engine.unknown_command"]);
    const stored = await StoreFlow.findOne({ tenantId: storeA.id, flowId: "jam-buka" }).lean().exec();
    assert.equal(stored?.updatedBy, "owner-1");
  });

  test("an edit replaces the flow; the new text is used at once", async () => {
    const store = newTenant();
    const engine = testEngine({ flows: [menu], sessions: new MongoSessionStore(), storeFlows: new MongoStoreFlows() });
    await saveStoreFlow(engine, store, hours);
    await saveStoreFlow(engine, store, { ...hours, steps: { ...hours.steps, answer: { kind: "say", text: { id: "Buka 24 jam." }, next: "back" } } });
    assert.equal(await StoreFlow.countDocuments({ tenantId: store.id }), 1);
    assert.deepEqual(await new ChatUser(engine, { tenant: store }).say("/jam"), ["Buka 24 jam.", "Menu utama."]);
  });

  test("an invalid flow is refused with the store, flow and step named, and nothing is written", async () => {
    const store = newTenant();
    const engine = testEngine({ flows: [menu], sessions: new MongoSessionStore(), storeFlows: new MongoStoreFlows() });
    const broken = { ...hours, steps: { ...hours.steps, answer: { kind: "say", text: { id: "Buka." }, next: "kembali" } } };
    await assert.rejects(saveStoreFlow(engine, { id: store.id, slug: "toko-rusak" }, broken), (err: unknown) => {
      assert.ok(err instanceof FlowValidationError);
      assert.match(err.message, /store "toko-rusak", flow "jam-buka", step "answer": next: unknown step "kembali"/);
      return true;
    });
    await assert.rejects(saveStoreFlow(engine, store, { id: "Bad Id", steps: {} }), FlowValidationError);
    assert.equal(await StoreFlow.countDocuments({ tenantId: store.id }), 0);
  });

  test("two flows of one store may not claim the same keyword", async () => {
    const store = newTenant();
    const engine = testEngine({ flows: [menu], sessions: new MongoSessionStore(), storeFlows: new MongoStoreFlows() });
    await saveStoreFlow(engine, store, hours);
    const clash = { id: "jam-lain", triggers: { keywords: { id: ["Jam Buka"] } }, steps: { a: { kind: "end" } } };
    await assert.rejects(saveStoreFlow(engine, store, clash), /keyword "jam buka" \(id\) already starts flow "jam-buka"/);
  });
});
