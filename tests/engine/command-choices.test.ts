// Buttons under notices sent outside any conversation (a store's answer to a ticket, the
// rating question): their choice id names a command (`commandChoiceId`), and pressing one —
// or typing its number where the channel has no buttons — runs that command as if typed,
// with the presser's own audience, whatever the chat was doing.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { commandChoiceId, commandOfChoice } from "../../flows/engine/command-choice.ts";
import { defineFlow } from "../../flows/engine/flow-schema.ts";
import { FlowValidationError } from "../../flows/engine/flow-validation.ts";
import { typedReply } from "../../flows/engine/typed-reply.ts";
import { asSeller, ChatUser, newTenant, testEngine } from "./chat-harness.ts";

const rate = defineFlow({
  id: "rate",
  triggers: { commands: ["nilai"] },
  steps: { done: { kind: "end", text: { id: "Nilai: {{commandArgs}}" } } },
});

const shop = defineFlow({
  id: "shop",
  triggers: { commands: ["start"] },
  steps: {
    pick: { kind: "choose", text: { id: "Pilih" }, choices: [{ id: "a", label: { id: "A" } }], next: "bye" },
    bye: { kind: "end", text: { id: "Dadah" } },
  },
});

const desk = defineFlow({
  id: "desk",
  audience: "seller",
  triggers: { commands: ["tiket"] },
  steps: { done: { kind: "end", text: { id: "Meja tiket {{commandArgs}}" } } },
});

describe("a command choice", () => {
  test("pressed with no conversation runs its command with its arguments", async () => {
    const user = new ChatUser(testEngine({ flows: [rate, shop] }), { tenant: newTenant() });
    assert.deepEqual(await user.press(commandChoiceId("nilai", 12, 4), undefined), ["Nilai: 12 4"]);
  });

  test("pressed in the middle of another conversation replaces it, as typing the command would", async () => {
    const user = new ChatUser(testEngine({ flows: [rate, shop] }), { tenant: newTenant() });
    await user.say("/start");
    assert.deepEqual(await user.press(commandChoiceId("nilai", 3), { flow: "shop", step: "pick" }), ["Nilai: 3"]);
    // The shop's question is gone: "A" is no answer any more.
    assert.notDeepEqual(await user.say("A"), ["Dadah"]);
  });

  test("runs with the presser's audience: a customer pressing a seller's command hears it does not exist", async () => {
    const engine = testEngine({ flows: [rate, desk], audienceOf: asSeller(new Set(["penjual"])) });
    const tenant = newTenant();
    assert.deepEqual(await new ChatUser(engine, { tenant, userId: "penjual" }).press(commandChoiceId("tiket", 7), undefined), ["Meja tiket 7"]);
    const customer = await new ChatUser(engine, { tenant, userId: "pembeli" }).press(commandChoiceId("tiket", 7), undefined);
    assert.equal(customer.length, 1);
    assert.match(customer[0]!, /\/tiket/);
    assert.doesNotMatch(customer[0]!, /Meja/);
  });

  test("typed as its number on a channel without buttons, it runs the command too", async () => {
    const user = new ChatUser(testEngine({ flows: [rate] }), { tenant: newTenant() });
    const notice = { text: { inline: { id: "Sudah selesai. Nilai?" } }, choices: [1, 2, 3].map((n) => ({ id: commandChoiceId("nilai", 9, n), label: { inline: { id: `${n}` } } })) };
    assert.deepEqual(await user.send(typedReply("2", notice, "id")!), ["Nilai: 9 2"]);
  });

  test("its id fits every channel's buttons, and only well-formed ones count", () => {
    const id = commandChoiceId("balas", "ORD-7K2P");
    assert.match(id, /^[A-Za-z0-9_.:-]{1,40}$/);
    assert.deepEqual(commandOfChoice(id), { command: "balas", args: "ORD-7K2P" });
    assert.equal(commandOfChoice("shop"), undefined);
    assert.equal(commandOfChoice("cmd:"), undefined);
    assert.equal(commandOfChoice("cmd:Balas:1"), undefined);
    assert.throws(() => commandChoiceId("balas", "two words"));
    assert.throws(() => commandChoiceId("x".repeat(32), "1".repeat(10)));
  });

  test("a flow cannot declare a choice id that would be taken for a command", () => {
    const bad = defineFlow({
      id: "bad",
      triggers: { commands: ["bad"] },
      steps: { pick: { kind: "choose", text: { id: "?" }, choices: [{ id: "cmd:nilai:1", label: { id: "x" } }] } },
    });
    assert.throws(() => testEngine({ flows: [bad] }), FlowValidationError);
  });
});
