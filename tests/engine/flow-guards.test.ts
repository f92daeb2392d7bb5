import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { action, actionsFor, END, type Guard, type GuardRegistry } from "../../flows/engine/actions.ts";
import { createEngine } from "../../flows/engine/engine.ts";
import { defineFlow } from "../../flows/engine/flow-schema.ts";
import { FlowValidationError, type FlowProblem } from "../../flows/engine/flow-validation.ts";
import { MemorySessionStore } from "../../flows/engine/session.ts";
import { capturingLog, ChatUser, newTenant, testEngine } from "./chat-harness.ts";

const BOSS = "boss-1";

/** Lets in only the boss; `arg: "polite"` says why it refuses anyone else. */
const insiders: Guard = (ctx, arg) => {
  if (ctx.user.id === BOSS) return { allowed: true };
  return arg === "polite" ? { allowed: false, say: [{ text: { inline: { id: "Khusus pemilik toko." } } }] } : { allowed: false };
};
const guards: GuardRegistry = { insiders };

const vault = defineFlow({
  id: "vault",
  guard: { name: "insiders" },
  triggers: { commands: ["brankas"], keywords: { id: ["brankas"] } },
  steps: { open: { kind: "end", text: { id: "Isi brankas: 3 kunci." } } },
});

const office = defineFlow({
  id: "office",
  guard: { name: "insiders", arg: "polite" },
  triggers: { commands: ["kantor"] },
  steps: { open: { kind: "end", text: { id: "Selamat datang di kantor." } } },
});

describe("a flow-level guard", () => {
  test("a user the guard refuses gets exactly what an unknown command (or word) gets", async () => {
    const tenant = newTenant();
    const guarded = new ChatUser(testEngine({ flows: [vault], guards }), { tenant, userId: "stranger" });
    const without = new ChatUser(testEngine({ flows: [] }), { tenant, userId: "stranger" });

    const refused = await guarded.say("/brankas");
    assert.deepEqual(refused, await without.say("/brankas"));
    assert.deepEqual(guarded.keys, ["engine.unknown_command"]);
    assert.deepEqual(await guarded.say("brankas"), await without.say("brankas"));
    assert.deepEqual(guarded.keys, ["engine.unknown_input"]);

    const boss = new ChatUser(testEngine({ flows: [vault], guards }), { tenant, userId: BOSS });
    assert.deepEqual(await boss.say("/brankas"), ["Isi brankas: 3 kunci."]);
  });

  test("a guard with its own refusal says it, and the flow does not start", async () => {
    const user = new ChatUser(testEngine({ flows: [office], guards }), { tenant: newTenant(), userId: "stranger" });
    assert.deepEqual(await user.say("/kantor"), ["Khusus pemilik toko."]);
    await user.say("halo");
    assert.deepEqual(user.keys, ["engine.unknown_input"], "no conversation was left running");
  });
});

describe("choices that name a flow", () => {
  type MenuData = { picked?: string };
  const menuAction = actionsFor<MenuData>();
  const menu = defineFlow<MenuData>()({
    id: "menu",
    triggers: { commands: ["menu"] },
    steps: {
      pick: {
        kind: "choose",
        text: { id: "Mau ke mana?" },
        source: "menu.places",
        saveAs: "picked",
        choices: [{ id: "office", label: { id: "Kantor" }, flow: "office" }],
      },
    },
  });
  const actions = { "menu.places": menuAction({ flows: ["vault"] }, () => ({ choices: [{ id: "vault", label: { inline: { id: "Brankas" } }, flow: "vault" }] })) };

  test("a fixed or produced choice naming a flow starts it, past its guard", async () => {
    const tenant = newTenant();
    const boss = new ChatUser(testEngine({ flows: [menu, vault, office], actions, guards }), { tenant, userId: BOSS });
    await boss.say("/menu");
    assert.deepEqual(boss.choiceIds, ["vault", "office"]);
    assert.deepEqual(await boss.press("vault"), ["Isi brankas: 3 kunci."]);
    await boss.say("/menu");
    assert.deepEqual(await boss.press("office"), ["Selamat datang di kantor."]);

    const stranger = new ChatUser(testEngine({ flows: [menu, vault, office], actions, guards }), { tenant, userId: "stranger" });
    await stranger.say("/menu");
    assert.deepEqual(await stranger.press("office"), ["Khusus pemilik toko."]);
  });

  test("start-up validation names a choice's unknown flow, and one a source offers", () => {
    const problems = problemsOf([menu], actions);
    assert.deepEqual(
      problems.map((p) => `${p.flow}/${p.step}: ${p.message}`),
      ['menu/pick: source: action "menu.places" offers unknown flow "vault"', 'menu/pick: choices.0.flow: unknown flow "office"'],
    );
  });
});

describe("declared outcomes", () => {
  const simpleStock = defineFlow({
    id: "stock",
    triggers: { commands: ["stok"] },
    steps: {
      check: { kind: "action", action: "stock.check", next: "plenty" },
      plenty: { kind: "end", text: { id: "Masih ada." } },
    },
  });
  const stock = defineFlow({
    id: "stock",
    triggers: { commands: ["stok"] },
    steps: {
      check: { kind: "action", action: "stock.check", next: "plenty", outcomes: { soldOut: "soldOut", gone: "soldOut" } },
      plenty: { kind: "end", text: { id: "Masih ada." } },
      soldOut: { kind: "end", text: { id: "Habis." } },
    },
  });

  test("start-up validation names flow and step of an outcome routed but never returned, and one returned but not routed", () => {
    const problems = problemsOf([stock], { "stock.check": action({ outcomes: ["soldOut", "restocking"] }, () => ({ outcome: "soldOut" })) });
    assert.deepEqual(problems, [
      { flow: "stock", step: "check", message: 'outcomes.gone: action "stock.check" never returns outcome "gone"' },
      { flow: "stock", step: "check", message: 'outcomes: action "stock.check" may return outcome "restocking", which this step does not route' },
    ]);
  });

  test("an undeclared outcome at run time gets the apology with an error id, and a log line naming flow, step and outcome", async () => {
    const log = capturingLog();
    const tenant = newTenant();
    // A plain function declares no outcome; this one returns one anyway (as a store's code might).
    const surprising = (() => ({ outcome: "surprise" })) as never;
    const engine = testEngine({
      flows: [simpleStock],
      actions: { "stock.check": surprising },
      logFor: log.logFor,
    });
    const user = new ChatUser(engine, { tenant });
    const [apology] = await user.say("/stok");
    assert.deepEqual(user.keys, ["engine.action_failed"]);
    const errorId = /kode error ([0-9A-F]{8})\./.exec(apology)?.[1];
    assert.ok(errorId, apology);
    const line = log.lines.find((l) => l.level === "error");
    assert.ok(line, "an error is logged");
    assert.equal(line.message, "action stock.check failed");
    assert.deepEqual([line.meta.flow, line.meta.step, line.meta.outcome, line.meta.errorId], ["stock", "check", "surprise", errorId]);
    assert.match(String(line.meta.error), /undeclared outcome "surprise"/);
  });

  test("any action may end its flow with the built-in end outcome, after saying why", async () => {
    const engine = testEngine({
      flows: [simpleStock],
      actions: { "stock.check": () => ({ say: [{ text: { inline: { id: "Toko tutup hari ini." } } }], outcome: END }) },
    });
    const user = new ChatUser(engine, { tenant: newTenant() });
    assert.deepEqual(await user.say("/stok"), ["Toko tutup hari ini."]);
    await user.say("halo");
    assert.deepEqual(user.keys, ["engine.unknown_input"]);
  });
});

function problemsOf(flows: unknown[], actions: Parameters<typeof createEngine>[0]["actions"] = {}): FlowProblem[] {
  try {
    createEngine({ flows, actions, guards, sessions: new MemorySessionStore(), audienceOf: () => "customer" });
  } catch (err) {
    assert.ok(err instanceof FlowValidationError, String(err));
    return err.problems;
  }
  assert.fail("the engine started with invalid flows");
}
