import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineFailure, EngineOptions } from "../../flows/engine/engine.ts";
import { defineFlow } from "../../flows/engine/flow-schema.ts";
import { asSeller, capturingLog, ChatUser, newTenant, testEngine } from "./chat-harness.ts";

const order = defineFlow({
  id: "order",
  triggers: { commands: ["order"] },
  help: { id: "Pesan voucher", en: "Order a voucher" },
  idleTimeout: "10m",
  steps: {
    qty: { kind: "ask", text: { id: "Berapa voucher?", en: "How many vouchers?" }, expect: "integer", min: 1, max: 5, saveAs: "qty", next: "reserve" },
    reserve: { kind: "action", action: "stock.reserve", next: "done", onError: "sorry" },
    done: { kind: "end", text: { id: "{{qty}} voucher dipesan." } },
    sorry: { kind: "end", text: { id: "Stok sedang tidak bisa dicek." } },
  },
});

const faq = defineFlow({
  id: "faq",
  triggers: { commands: ["faq"], keywords: { id: ["tanya"], en: ["ask"] } },
  help: { id: "Pertanyaan umum", en: "Frequently asked questions" },
  steps: { answer: { kind: "end", text: { id: "Buka 24 jam." } } },
});

const restock = defineFlow({
  id: "restock",
  audience: "seller",
  triggers: { commands: ["restock"] },
  help: { id: "Tambah stok", en: "Add stock" },
  steps: {
    count: { kind: "ask", text: { id: "Tambah berapa?" }, expect: "integer", saveAs: "count", next: "report" },
    report: { kind: "action", action: "stock.add", next: "done" },
    done: { kind: "end", text: { id: "Stok ditambah." } },
  },
});

const hidden = defineFlow({
  id: "internal",
  steps: { only: { kind: "end" } },
});

function engineWith(opts: { now?: () => Date; failReserve?: boolean; sellers?: string[]; onFailure?: EngineOptions["onFailure"] } = {}) {
  const log = capturingLog();
  const engine = testEngine({
    flows: [order, faq, restock, hidden],
    actions: {
      "stock.reserve": () => {
        if (opts.failReserve) throw new Error("stock service unreachable");
      },
      "stock.add": () => {
        throw new TypeError("cannot read properties of undefined (reading 'count')");
      },
    },
    audienceOf: asSeller(new Set(opts.sellers ?? [])),
    logFor: log.logFor,
    ...(opts.now && { clock: opts.now }),
    ...(opts.onFailure && { onFailure: opts.onFailure }),
  });
  return { engine, log };
}

describe("/cancel", () => {
  test("leaves any flow, and says so when nothing runs", async () => {
    const { engine } = engineWith();
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/cancel");
    assert.deepEqual(user.keys, ["engine.nothing_to_cancel"]);
    await user.say("/order");
    assert.deepEqual(await user.say("/cancel"), ["Oke, dibatalkan. Ketik /start kapan saja untuk mulai lagi."]);
    await user.say("3");
    assert.deepEqual(user.keys, ["engine.unknown_input"]);
  });
});

describe("/help", () => {
  test("customers and sellers see different lists, built from the flows' triggers", async () => {
    const { engine } = engineWith({ sellers: ["owner-1"] });
    const tenant = newTenant("Toko Sinar");
    const [customerHelp] = await new ChatUser(engine, { tenant, userId: "cust-1" }).say("/help");
    const [sellerHelp] = await new ChatUser(engine, { tenant, userId: "owner-1" }).say("/help");
    assert.equal(
      customerHelp,
      "Yang bisa kamu lakukan di Toko Sinar:\n/order — Pesan voucher\n/faq — Pertanyaan umum\n/cancel — batalkan langkah yang sedang berjalan\n/help — tampilkan daftar ini",
    );
    assert.equal(
      sellerHelp,
      "Menu penjual Toko Sinar:\n/order — Pesan voucher\n/faq — Pertanyaan umum\n/restock — Tambah stok\n/cancel — batalkan langkah yang sedang berjalan\n/help — tampilkan daftar ini",
    );
  });

  test("is in the user's language", async () => {
    const { engine } = engineWith();
    const [help] = await new ChatUser(engine, { tenant: newTenant("Sunny"), locale: "en" }).say("/help");
    assert.match(help, /^What you can do at Sunny:\n\/order — Order a voucher\n\/faq — Frequently asked questions\n/);
  });

  test("in the middle of a flow, answers and then repeats the question", async () => {
    const { engine } = engineWith();
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/order");
    const replies = await user.say("/help");
    assert.equal(replies.length, 2);
    assert.equal(replies[1], "Berapa voucher?");
    assert.deepEqual(await user.say("2"), ["2 voucher dipesan."]);
  });

  test("a seller-only command is unknown to a customer", async () => {
    const { engine } = engineWith();
    const user = new ChatUser(engine, { tenant: newTenant() });
    assert.deepEqual(await user.say("/restock"), ["Perintah /restock tidak dikenal. Ketik /help untuk melihat daftar perintah."]);
  });
});

describe("unexpected input", () => {
  test("text that fits no flow gets a helpful reply", async () => {
    const { engine } = engineWith();
    const user = new ChatUser(engine, { tenant: newTenant() });
    assert.deepEqual(await user.say("halo kak"), ["Maaf, saya belum paham maksudnya. Ketik /start untuk mulai, atau /help untuk melihat daftar perintah."]);
    await user.send({ kind: "media", media: { type: "photo", fileRef: "x" } });
    assert.deepEqual(user.keys, ["engine.unknown_input"]);
    await user.send({ kind: "contact", contact: { phone: "0811111111" } });
    assert.deepEqual(user.keys, ["engine.unknown_input"]);
  });

  test("an unknown command mid-flow is named, and the question repeated", async () => {
    const { engine } = engineWith();
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/order");
    assert.deepEqual(await user.say("/diskon"), ["Perintah /diskon tidak dikenal. Ketik /help untuk melihat daftar perintah.", "Berapa voucher?"]);
  });

  test("another flow's command mid-flow switches to that flow", async () => {
    const { engine } = engineWith();
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/order");
    assert.deepEqual(await user.say("/faq"), ["Buka 24 jam."]);
    await user.say("3");
    assert.deepEqual(user.keys, ["engine.unknown_input"]);
  });

  test("a keyword mid-flow is an answer, not a trigger", async () => {
    const { engine } = engineWith();
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/order");
    await user.say("tanya");
    assert.deepEqual(user.keys, ["engine.reask.integer"]);
  });
});

describe("a failing action", () => {
  test("gets an apology with an error id, and the error is logged with store, flow and step", async () => {
    const { engine, log } = engineWith({ sellers: ["owner-1"] });
    const tenant = newTenant();
    const user = new ChatUser(engine, { tenant, userId: "owner-1" });
    await user.say("/restock");
    const [apology] = await user.say("10");
    const errorId = /kode error ([0-9A-F]{8})\./.exec(apology)?.[1];
    assert.ok(errorId, apology);
    const line = log.lines.find((l) => l.level === "error");
    assert.ok(line);
    assert.equal(line.message, "action stock.add failed");
    assert.equal(line.meta.tenant, tenant.slug);
    assert.equal(line.meta.flow, "restock");
    assert.equal(line.meta.step, "report");
    assert.equal(line.meta.errorId, errorId);
    assert.match(String(line.meta.error), /cannot read properties/);
    // Without onError the flow has ended; the user is not stuck in it.
    await user.say("5");
    assert.deepEqual(user.keys, ["engine.unknown_input"]);
  });

  test("continues at onError after the apology when the step has one", async () => {
    const { engine } = engineWith({ failReserve: true });
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/order");
    await user.say("2");
    assert.deepEqual(user.keys, ["engine.action_failed", "inline"]);
    assert.equal((await user.say("/cancel"))[0], "Tidak ada yang sedang berjalan untuk dibatalkan. Ketik /start untuk mulai.");
  });

  test("each failure the user got an error id for is heard once (for the owner), naming the store and carrying the same id", async () => {
    const heard: EngineFailure[] = [];
    const { engine } = engineWith({ failReserve: true, onFailure: (failure) => heard.push(failure) });
    const tenant = newTenant();
    const user = new ChatUser(engine, { tenant });
    await user.say("/order");
    const [apology] = await user.say("2");
    assert.equal(heard.length, 1);
    assert.deepEqual(heard[0]!.tenant, tenant);
    assert.equal(heard[0]!.what, "action stock.reserve");
    assert.equal((heard[0]!.error as Error).message, "stock service unreachable");
    assert.ok(apology.includes(heard[0]!.errorId), apology);
    await user.say("/faq");
    assert.equal(heard.length, 1, "a turn that went well is not a failure");
  });

  test("a failing listener does not change what the user hears", async () => {
    const { engine } = engineWith({ failReserve: true, onFailure: () => { throw new Error("owner bot down"); } });
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/order");
    await user.say("2");
    assert.deepEqual(user.keys, ["engine.action_failed", "inline"]);
  });

  test("a session store that fails still gets the user an apology", async () => {
    const log = capturingLog();
    const engine = testEngine({
      flows: [faq],
      sessions: { load: () => Promise.reject(new Error("connection refused")), save: () => Promise.resolve(true) },
      logFor: log.logFor,
    });
    const user = new ChatUser(engine, { tenant: newTenant() });
    const [reply] = await user.say("/faq");
    assert.match(reply, /^Maaf, sistem sedang bermasalah\. Silakan coba lagi sebentar lagi\. Kode error: [0-9A-F]{8}\.$/);
    assert.equal(log.lines[0].meta.error, "connection refused");
  });
});

describe("an idle conversation", () => {
  test("expires after the flow's idle timeout: the user hears why, and the message is handled afresh", async () => {
    const start = Date.now();
    const minutes = (m: number, s = 0) => new Date(start + m * 60_000 + s * 1000);
    let now = minutes(0);
    const { engine } = engineWith({ now: () => now });
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/order");
    now = minutes(9, 59);
    await user.say("abc");
    assert.deepEqual(user.keys, ["engine.reask.integer"], "still within 10 minutes");
    // Each message restarts the idle clock.
    now = minutes(19, 58);
    await user.say("xyz");
    assert.deepEqual(user.keys, ["engine.reask.integer"]);
    now = minutes(30);
    assert.deepEqual(await user.say("2"), [
      "Sesi sebelumnya sudah berakhir karena lama tidak ada balasan. Ketik /start untuk mulai lagi, atau /help untuk melihat apa saja yang bisa dilakukan.",
    ]);
    await user.say("2");
    assert.deepEqual(user.keys, ["engine.unknown_input"]);
  });

  test("an expired conversation does not stop a new command", async () => {
    let now = new Date();
    const { engine } = engineWith({ now: () => now });
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/order");
    now = new Date(now.getTime() + 3_600_000);
    assert.deepEqual(await user.say("/faq"), [
      "Sesi sebelumnya sudah berakhir karena lama tidak ada balasan. Ketik /start untuk mulai lagi, atau /help untuk melihat apa saja yang bisa dilakukan.",
      "Buka 24 jam.",
    ]);
  });
});

describe("chats are separate", () => {
  test("two chats of one store and the same chat id in two stores do not share a conversation", async () => {
    const { engine } = engineWith();
    const storeA = newTenant();
    const storeB = newTenant();
    const a1 = new ChatUser(engine, { tenant: storeA, chatId: "100" });
    const a2 = new ChatUser(engine, { tenant: storeA, chatId: "200" });
    const b1 = new ChatUser(engine, { tenant: storeB, chatId: "100" });
    await a1.say("/order");
    await a2.say("3");
    assert.deepEqual(a2.keys, ["engine.unknown_input"]);
    await b1.say("3");
    assert.deepEqual(b1.keys, ["engine.unknown_input"]);
    assert.deepEqual(await a1.say("3"), ["3 voucher dipesan."]);
  });
});
