// Deep links: `/start <payload>` (Telegram's t.me/<bot>?start=<payload>) goes to the flow
// that claims the payload's prefix (`triggers.startPayloads`), with the payload as its
// `commandArgs`; any other payload, or none, starts the /start flow as usual.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEngine } from "../../flows/engine/engine.ts";
import { defineFlow } from "../../flows/engine/flow-schema.ts";
import { FlowValidationError, type FlowProblem } from "../../flows/engine/flow-validation.ts";
import { MemorySessionStore } from "../../flows/engine/session.ts";
import { asSeller, ChatUser, newTenant, testEngine } from "./chat-harness.ts";

const welcome = defineFlow({
  id: "welcome",
  triggers: { commands: ["start"] },
  steps: {
    hello: { kind: "say", text: { id: "Halo! Kode: {{commandArgs}}" }, next: "menu" },
    menu: { kind: "choose", text: { id: "Mau apa?" }, choices: [{ id: "shop", label: { id: "Belanja" } }], next: "bye" },
    bye: { kind: "end" },
  },
});

const join = defineFlow({
  id: "join",
  triggers: { commands: ["gabung"], startPayloads: ["inv_"] },
  steps: { join: { kind: "action", action: "redeem", next: "done" }, done: { kind: "end" } },
});

const sellerLink = defineFlow({
  id: "seller-link",
  audience: "seller",
  triggers: { startPayloads: ["adm-"] },
  steps: { done: { kind: "end", text: { id: "Tautan penjual: {{commandArgs}}" } } },
});

const actions = { redeem: (ctx: { data: Readonly<Record<string, unknown>> }) => ({ say: [{ text: { inline: { id: `Gabung dengan ${String(ctx.data.commandArgs)}` } } }] }) };

describe("a /start payload a flow claims", () => {
  test("starts that flow with the payload as commandArgs, also in the middle of another conversation", async () => {
    const user = new ChatUser(testEngine({ flows: [welcome, join], actions }), { tenant: newTenant() });
    assert.deepEqual(await user.say("/start inv_AbC-123"), ["Gabung dengan inv_AbC-123"]);
    await user.say("/start");
    assert.deepEqual(user.choiceIds, ["shop"]);
    assert.deepEqual(await user.say("/start inv_Zz"), ["Gabung dengan inv_Zz"]);
    assert.deepEqual(await user.say("/gabung inv_typed"), ["Gabung dengan inv_typed"]);
  });

  test("any other payload, or a prefix in another case, greets as /start does, the payload kept for the flow", async () => {
    const user = new ChatUser(testEngine({ flows: [welcome, join], actions }), { tenant: newTenant() });
    assert.deepEqual(await user.say("/start promo-7"), ["Halo! Kode: promo-7", "Mau apa?\n  1. Belanja [shop]"]);
    assert.deepEqual((await user.say("/start INV_abc"))[0], "Halo! Kode: INV_abc");
    assert.deepEqual((await user.say("/start inv"))[0], "Halo! Kode: inv");
    // Only /start carries deep links: another command's argument is that command's.
    assert.deepEqual(await user.say("/gabung promo-7"), ["Gabung dengan promo-7"]);
  });

  test("a seller-only flow's payload is the /start greeting for a customer", async () => {
    const engine = testEngine({ flows: [welcome, join, sellerLink], actions, audienceOf: asSeller(new Set(["penjual"])) });
    const tenant = newTenant();
    assert.deepEqual(await new ChatUser(engine, { tenant, userId: "penjual" }).say("/start adm-42"), ["Tautan penjual: adm-42"]);
    assert.deepEqual((await new ChatUser(engine, { tenant, userId: "pembeli" }).say("/start adm-42"))[0], "Halo! Kode: adm-42");
  });
});

describe("start payload prefixes are validated", () => {
  const problemsOf = (flows: unknown[]): FlowProblem[] => {
    try {
      createEngine({ flows, actions, sessions: new MemorySessionStore(), audienceOf: () => "customer" });
    } catch (err) {
      assert.ok(err instanceof FlowValidationError, String(err));
      return err.problems;
    }
    assert.fail("the engine started with invalid flows");
  };
  const end = { done: { kind: "end" } };

  test("two flows claiming overlapping prefixes", () => {
    assert.deepEqual(problemsOf([join, { id: "promo", triggers: { startPayloads: ["inv"] }, steps: end }]), [
      { flow: "promo", message: 'start payload prefix "inv" overlaps "inv_" of flow "join"' },
    ]);
  });

  test("a prefix Telegram could not carry in a deep link", () => {
    assert.deepEqual(problemsOf([{ id: "promo", triggers: { startPayloads: ["promo 7"] }, steps: end }]), [
      { flow: "promo", message: "triggers.startPayloads.0: a start payload prefix is 1–32 letters, digits, _ or -" },
    ]);
  });

  test("a store's JSON flow may not take over a platform flow's prefix", () => {
    const engine = testEngine({ flows: [welcome, join], actions });
    assert.throws(
      () => engine.checkStoreFlows("toko-a", [{ id: "faq", triggers: { startPayloads: ["inv_x"] }, steps: end }]),
      (err: unknown) => err instanceof FlowValidationError && err.problems[0].message === 'start payload prefix "inv_x" overlaps "inv_" of flow "join"',
    );
  });
});
