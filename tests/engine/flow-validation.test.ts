import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEngine } from "../../flows/engine/engine.ts";
import { FlowValidationError, type FlowProblem } from "../../flows/engine/flow-validation.ts";
import { MemorySessionStore } from "../../flows/engine/session.ts";
import { ChatUser, newTenant, testEngine } from "./chat-harness.ts";

/** The problems creating an engine with these flows reports (it must refuse to start). */
function problemsOf(flows: unknown[], actions: Record<string, () => void> = {}): FlowProblem[] {
  try {
    createEngine({ flows, actions, sessions: new MemorySessionStore(), audienceOf: () => "customer" });
  } catch (err) {
    assert.ok(err instanceof FlowValidationError, String(err));
    return err.problems;
  }
  assert.fail("the engine started with invalid flows");
}

const say = (next: string) => ({ kind: "say", text: { id: "Halo" }, next });

describe("start-up validation stops the start and names the flow and the step", () => {
  test("an unknown step", () => {
    const problems = problemsOf([
      { id: "greet", steps: { hello: say("menuu"), menu: { kind: "end" } } },
    ]);
    assert.deepEqual(problems[0], { flow: "greet", step: "hello", message: 'next: unknown step "menuu"' });
  });

  test("an unreachable step", () => {
    const problems = problemsOf([{ id: "greet", steps: { hello: say("bye"), bye: { kind: "end" }, orphan: { kind: "end" } } }]);
    assert.deepEqual(problems, [{ flow: "greet", step: "orphan", message: 'unreachable: no step leads here from the start step "hello"' }]);
  });

  test("a missing action, also as a choice source", () => {
    const problems = problemsOf([
      {
        id: "shop",
        steps: {
          reserve: { kind: "action", action: "stock.reserve", next: "pick" },
          pick: { kind: "choose", text: { id: "Pilih" }, source: "catalog.list", next: "bye" },
          bye: { kind: "end" },
        },
      },
    ]);
    assert.deepEqual(problems, [
      { flow: "shop", step: "reserve", message: 'action: missing action "stock.reserve"' },
      { flow: "shop", step: "pick", message: 'source: missing action "catalog.list"' },
    ]);
  });

  test("a missing i18n key", () => {
    const problems = problemsOf([
      { id: "greet", help: "greeting.help_missing", steps: { hello: { kind: "say", text: "greeting.hello_missing", next: "bye" }, bye: { kind: "end", text: "engine.cancelled" } } },
    ]);
    assert.deepEqual(problems, [
      { flow: "greet", message: 'help: missing i18n key "greeting.help_missing" (add it to locales/id and locales/en)' },
      { flow: "greet", step: "hello", message: 'text: missing i18n key "greeting.hello_missing" (add it to locales/id and locales/en)' },
    ]);
  });

  test("a missing validator, a goto to an unknown flow or step, a choice that leads nowhere", () => {
    const problems = problemsOf([
      { id: "target", steps: { only: { kind: "end" } } },
      {
        id: "broken",
        steps: {
          code: { kind: "ask", text: { id: "Kode?" }, expect: "text", validator: "orders.known", saveAs: "code", next: "away" },
          away: { kind: "goto", flow: "nowhere", then: "elsewhere" },
          elsewhere: { kind: "goto", flow: "target", step: "missing", then: "menu" },
          menu: { kind: "choose", text: { id: "Pilih" }, choices: [{ id: "a", label: { id: "A" } }] },
        },
      },
    ]);
    assert.deepEqual(
      problems.map((p) => `${p.flow}/${p.step}: ${p.message}`),
      [
        'broken/code: validator: missing validator "orders.known"',
        'broken/away: flow: unknown flow "nowhere"',
        'broken/elsewhere: step: flow "target" has no step "missing"',
        'broken/menu: choices.0.next: choice "a" leads nowhere (give it next, or the step a next)',
      ],
    );
  });

  test("schema errors name the step and the field", () => {
    const problems = problemsOf([
      {
        id: "bad",
        steps: {
          qty: { kind: "ask", text: { id: "Berapa?" }, expect: "amount", saveAs: "qty", next: "end" },
          end: { kind: "finish" },
        },
      },
    ]);
    assert.equal(problems.length, 2);
    assert.equal(problems[0].flow, "bad");
    assert.equal(problems[0].step, "qty");
    assert.match(problems[0].message, /^expect: /);
    assert.equal(problems[1].step, "end");
  });

  test("a loop of steps that never asks anything", () => {
    const problems = problemsOf([
      {
        id: "spin",
        steps: {
          first: say("check"),
          check: { kind: "branch", cases: [{ when: { field: "done", exists: true }, next: "bye" }], otherwise: "first" },
          bye: { kind: "end" },
        },
      },
    ]);
    assert.deepEqual(
      problems.map((p) => p.step).sort(),
      ["check", "first"],
    );
  });

  test("commands claimed twice, or claiming /cancel and /help", () => {
    const problems = problemsOf([
      { id: "one", triggers: { commands: ["start", "help"] }, steps: { s: { kind: "end" } } },
      { id: "two", triggers: { commands: ["start"], keywords: { id: ["menu"] } }, steps: { s: { kind: "end" } } },
      { id: "three", triggers: { keywords: { id: ["Menu"] } }, steps: { s: { kind: "end" } } },
    ]);
    assert.deepEqual(
      problems.map((p) => `${p.flow}: ${p.message}`),
      [
        "one: /help is answered by the engine in every flow and cannot start a flow",
        'two: /start already starts flow "one"',
        'three: keyword "menu" (id) already starts flow "two"',
      ],
    );
  });

  test("the error message lists every problem on its own line", () => {
    try {
      createEngine({
        flows: [{ id: "greet", steps: { hello: say("nope") } }],
        sessions: new MemorySessionStore(),
        audienceOf: () => "customer",
      });
      assert.fail("started");
    } catch (err) {
      assert.equal((err as Error).message, '1 problem in flow definitions:\n  - flow "greet", step "hello": next: unknown step "nope"');
    }
  });
});

describe("a store's own flows from JSON", () => {
  const platform = { id: "menu", triggers: { commands: ["start"] }, steps: { hi: { kind: "end", text: { id: "Selamat datang." } } } };
  const storeFaq = {
    id: "faq-toko",
    triggers: { commands: ["faq"], keywords: { id: ["jam buka"] } },
    help: { id: "Tanya jawab toko", en: "Store FAQ" },
    steps: {
      topic: {
        kind: "choose",
        text: { id: "Mau tanya apa?", en: "What would you like to know?" },
        choices: [
          { id: "hours", label: { id: "Jam buka", en: "Opening hours" }, next: "hours" },
          { id: "menu", label: { id: "Menu utama" }, next: "toMenu" },
        ],
      },
      hours: { kind: "end", text: { id: "Kami buka 24 jam, {{store}} selalu siap.", en: "We are open around the clock." } },
      toMenu: { kind: "goto", flow: "menu" },
    },
  };

  test("run through the same engine, next to the platform's flows, for that store only", async () => {
    const tenant = newTenant("Toko Melati");
    const engine = testEngine({ flows: [platform], storeFlows: { flowsOf: async (id) => (id === tenant.id ? [storeFaq] : []) } });
    const user = new ChatUser(engine, { tenant });
    await user.say("/faq");
    assert.deepEqual(user.choiceIds, ["hours", "menu"]);
    assert.deepEqual(await user.say("jam buka"), ["Kami buka 24 jam, Toko Melati selalu siap."]);
    assert.deepEqual(await user.say("Jam Buka"), ["Mau tanya apa?\n  1. Jam buka [hours]\n  2. Menu utama [menu]"]);
    assert.deepEqual(await user.press("menu"), ["Selamat datang."]);
    const [help] = await user.say("/help");
    assert.match(help, /\/faq — Tanya jawab toko/);

    const otherStore = new ChatUser(engine, { tenant: newTenant() });
    await otherStore.say("/faq");
    assert.deepEqual(otherStore.keys, ["engine.unknown_command"]);
  });

  test("go through the same validation, naming the store, flow and step", async () => {
    const tenant = newTenant();
    const broken = { ...storeFaq, steps: { ...storeFaq.steps, hours: { kind: "end", text: "faq.hours_missing" }, toMenu: { kind: "goto", flow: "menu", step: "gone" } } };
    const engine = testEngine({ flows: [platform], storeFlows: { flowsOf: async () => [broken, { id: "menu", steps: { a: { kind: "end" } } }] } });
    await assert.rejects(engine.loadStoreFlows({ id: tenant.id, slug: "toko-melati" }), (err: unknown) => {
      assert.ok(err instanceof FlowValidationError);
      assert.deepEqual(err.problems, [
        { tenant: "toko-melati", flow: "menu", message: "this flow id is already used by the platform" },
        { tenant: "toko-melati", flow: "faq-toko", step: "hours", message: 'text: missing i18n key "faq.hours_missing" (add it to locales/id and locales/en)' },
        { tenant: "toko-melati", flow: "faq-toko", step: "toMenu", message: 'step: flow "menu" has no step "gone"' },
      ]);
      return true;
    });
    // At run time a broken store flow does not take the store's bot down: the platform's flows still answer.
    const user = new ChatUser(engine, { tenant });
    assert.deepEqual(await user.say("/start"), ["Selamat datang."]);
  });

  test("may not take over a platform command", () => {
    const engine = testEngine({ flows: [platform] });
    assert.throws(
      () => engine.checkStoreFlows("toko-melati", [{ id: "my-start", triggers: { commands: ["start"] }, steps: { a: { kind: "end" } } }]),
      /store "toko-melati", flow "my-start": \/start already starts flow "menu"/,
    );
  });

  test("a conversation in a flow the store has since removed starts over politely", async () => {
    const tenant = newTenant();
    let flows: unknown[] = [storeFaq];
    const engine = testEngine({ flows: [platform], storeFlows: { flowsOf: async () => flows }, storeFlowsTtlMs: 0 });
    const user = new ChatUser(engine, { tenant });
    await user.say("/faq");
    flows = [];
    await user.say("1");
    assert.deepEqual(user.keys, ["engine.flow_changed", "engine.unknown_input"]);
  });
});
