import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ChoiceView } from "../../flows/engine/message.ts";
import { defineFlow } from "../../flows/engine/flow-schema.ts";
import { ChatUser, newTenant, testEngine } from "./chat-harness.ts";

const products: ChoiceView[] = Array.from({ length: 15 }, (_, i) => ({
  id: `p${i + 1}`,
  label: { inline: { id: `Voucher ${i + 1}` } },
}));

const catalog = defineFlow({
  id: "catalog",
  triggers: { commands: ["katalog"] },
  steps: {
    pick: {
      kind: "choose",
      text: { id: "Pilih produk (hal. {{page}}/{{pages}}):" },
      source: "catalog.products",
      choices: [{ id: "menu", label: { id: "Menu utama" }, next: "menu" }],
      pageSize: 6,
      saveAs: "productId",
      next: "picked",
    },
    picked: { kind: "end", text: { id: "Kamu memilih {{productId}}." } },
    menu: { kind: "end", text: { id: "Kembali ke menu." } },
  },
});

describe("long choice lists", () => {
  const engine = testEngine({ flows: [catalog], actions: { "catalog.products": () => ({ choices: products }) } });

  test("are shown a page at a time with next and previous, keeping the fixed choices on every page", async () => {
    const user = new ChatUser(engine, { tenant: newTenant() });
    const [first] = await user.say("/katalog");
    assert.match(first, /^Pilih produk \(hal\. 1\/3\):/);
    assert.deepEqual(user.choiceIds, ["p1", "p2", "p3", "p4", "p5", "p6", "page:next", "menu"]);
    await user.press("page:next");
    assert.deepEqual(user.choiceIds, ["p7", "p8", "p9", "p10", "p11", "p12", "page:prev", "page:next", "menu"]);
    assert.match((await user.press("page:next"))[0], /^Pilih produk \(hal\. 3\/3\):/);
    assert.deepEqual(user.choiceIds, ["p13", "p14", "p15", "page:prev", "menu"]);
    // Going past the last page stays on it.
    await user.press("page:next");
    assert.deepEqual(user.choiceIds, ["p13", "p14", "p15", "page:prev", "menu"]);
    await user.say("‹ Sebelumnya");
    assert.deepEqual(user.choiceIds.slice(0, 2), ["p7", "p8"]);
  });

  test("a number picks from the page on screen; a label picks from any page", async () => {
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/katalog");
    await user.press("page:next");
    assert.deepEqual(await user.say("2"), ["Kamu memilih p8."]);
    const other = new ChatUser(engine, { tenant: newTenant() });
    await other.say("/katalog");
    assert.deepEqual(await other.say("voucher 14"), ["Kamu memilih p14."]);
  });

  test("the unambiguous start of a label picks it; an ambiguous one is asked again", async () => {
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/katalog");
    await user.say("vouch");
    assert.deepEqual(user.keys, ["engine.reask.choice"], "every product starts so");
    assert.deepEqual(await user.say("Menu ut"), ["Kembali ke menu."]);
  });

  test("a fixed choice leads to its own step", async () => {
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/katalog");
    assert.deepEqual(await user.press("menu"), ["Kembali ke menu."]);
  });

  test("a button from an older message is recognised as stale and the current question is asked again", async () => {
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/katalog");
    const [reply, prompt] = await user.press("p1", { flow: "catalog", step: "old-step" });
    assert.equal(reply, "Tombol itu sudah tidak berlaku. Silakan pilih dari pesan terbaru.");
    assert.match(prompt, /^Pilih produk/);
    // An id that is not on offer any more (a product since removed) is stale too.
    await user.press("p99");
    assert.deepEqual(user.keys, ["engine.stale_choice", "inline"]);
  });

  test("a choice pressed when no flow runs gets a clear answer", async () => {
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.press("p1");
    assert.deepEqual(user.keys, ["engine.stale_choice"]);
  });
});

describe("goto and return", () => {
  const address = defineFlow({
    id: "address",
    steps: {
      street: { kind: "ask", text: { id: "Alamat?" }, expect: "text", saveAs: "street", next: "thanks" },
      thanks: { kind: "end", text: { id: "Alamat dicatat." } },
    },
  });
  const checkout = defineFlow({
    id: "checkout",
    triggers: { commands: ["checkout"] },
    steps: {
      item: { kind: "ask", text: { id: "Barang?" }, expect: "text", saveAs: "item", next: "needAddress" },
      needAddress: { kind: "goto", flow: "address", then: "confirm" },
      confirm: { kind: "end", text: { id: "{{item}} dikirim ke {{street}}." } },
    },
  });
  const handover = defineFlow({
    id: "handover",
    triggers: { commands: ["alamat"] },
    steps: {
      intro: { kind: "say", text: { id: "Kita ke form alamat." }, next: "go" },
      go: { kind: "goto", flow: "address", step: "street" },
    },
  });

  test("a flow calls another and continues at its return point with the data gathered there", async () => {
    const user = new ChatUser(testEngine({ flows: [address, checkout, handover] }), { tenant: newTenant() });
    await user.say("/checkout");
    assert.deepEqual(await user.say("Voucher"), ["Alamat?"]);
    assert.deepEqual(await user.say("Jl. Melati 5"), ["Alamat dicatat.", "Voucher dikirim ke Jl. Melati 5."]);
  });

  test("a goto without a return point hands the conversation over", async () => {
    const user = new ChatUser(testEngine({ flows: [address, checkout, handover] }), { tenant: newTenant() });
    assert.deepEqual(await user.say("/alamat"), ["Kita ke form alamat.", "Alamat?"]);
    assert.deepEqual(user.last.at(-1)?.prompt, { flow: "address", step: "street" });
    assert.deepEqual(await user.say("Jl. Mawar"), ["Alamat dicatat."]);
  });

  test("/cancel inside a called flow leaves the caller too", async () => {
    const user = new ChatUser(testEngine({ flows: [address, checkout, handover] }), { tenant: newTenant() });
    await user.say("/checkout");
    await user.say("Voucher");
    await user.say("/cancel");
    assert.deepEqual(user.keys, ["engine.cancelled"]);
    await user.say("Jl. Melati");
    assert.deepEqual(user.keys, ["engine.unknown_input"]);
  });

  test("a flow that calls itself forever is stopped with an apology", async () => {
    const recursive = defineFlow({
      id: "recursive",
      triggers: { commands: ["loop"] },
      steps: {
        again: { kind: "goto", flow: "recursive", then: "done" },
        done: { kind: "end" },
      },
    });
    const user = new ChatUser(testEngine({ flows: [recursive] }), { tenant: newTenant() });
    const [apology] = await user.say("/loop");
    assert.deepEqual(user.keys, ["engine.action_failed"]);
    assert.match(apology, /kode error [0-9A-F]{8}\./);
  });
});
