import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { action, type ActionRegistry } from "../../flows/engine/actions.ts";
import { defineFlow } from "../../flows/engine/flow-schema.ts";
import { ChatUser, newTenant, testEngine } from "./chat-harness.ts";

const signup = defineFlow({
  id: "signup",
  triggers: { commands: ["daftar"], keywords: { id: ["daftar"], en: ["sign up"] } },
  help: { id: "Daftar jadi member", en: "Become a member" },
  steps: {
    hello: { kind: "say", text: { id: "Halo dari {{store}}!", en: "Hello from {{store}}!" }, next: "name" },
    name: { kind: "ask", text: { id: "Siapa namamu?", en: "What's your name?" }, expect: "text", max: 20, saveAs: "name", next: "age" },
    age: {
      kind: "ask",
      text: { id: "Umurmu?", en: "Your age?" },
      expect: "integer",
      min: 17,
      max: 99,
      saveAs: "age",
      next: "plan",
      maxAttempts: 2,
      onMaxAttempts: "askLater",
    },
    plan: {
      kind: "choose",
      text: { id: "Pilih paket, {{name}}:" },
      choices: [
        { id: "basic", label: { id: "Dasar", en: "Basic" } },
        { id: "pro", label: { id: "Pro" } },
      ],
      saveAs: "plan",
      next: "register",
    },
    register: { kind: "action", action: "members.register", next: "bySenior", outcomes: { full: "full" } },
    bySenior: { kind: "branch", cases: [{ when: { field: "age", gte: 60 }, next: "senior" }], otherwise: "done" },
    senior: { kind: "say", text: { id: "Ada diskon lansia untukmu." }, next: "done" },
    done: { kind: "end", text: { id: "Terima kasih {{name}}: paket {{plan}}, nomor {{memberNo}}." } },
    full: { kind: "end", text: { id: "Maaf, kuota member penuh." } },
    askLater: { kind: "end", text: { id: "Nanti kita coba lagi ya." } },
  },
});

function registerActions(opts: { full?: boolean } = {}): ActionRegistry & { calls: number } {
  const registry = {
    calls: 0,
    "members.register": action({ outcomes: ["full"] }, (ctx) => {
      registry.calls++;
      if (opts.full) return { outcome: "full" };
      return { data: { memberNo: `M-${String(ctx.data.name).toUpperCase()}` } };
    }),
  };
  return registry as unknown as ActionRegistry & { calls: number };
}

describe("a flow's steps", () => {
  test("a customer walks through say, ask, choose, action, branch and end", async () => {
    const tenant = newTenant("Toko Sinar");
    const user = new ChatUser(testEngine({ flows: [signup], actions: registerActions() }), { tenant });

    assert.deepEqual(await user.say("/daftar"), ["Halo dari Toko Sinar!", "Siapa namamu?"]);
    assert.deepEqual(await user.say("Sari"), ["Umurmu?"]);
    const plan = await user.say("25");
    assert.equal(plan.length, 1);
    assert.match(plan[0], /^Pilih paket, Sari:/);
    assert.deepEqual(user.choiceIds, ["basic", "pro"]);
    assert.deepEqual(user.last[0].prompt, { flow: "signup", step: "plan" });
    assert.deepEqual(await user.press("pro"), ["Terima kasih Sari: paket pro, nomor M-SARI."]);
    // The flow has ended: the next text is not taken as an answer.
    await user.say("halo");
    assert.deepEqual(user.keys, ["engine.unknown_input"]);
  });

  test("a branch follows the session data", async () => {
    const user = new ChatUser(testEngine({ flows: [signup], actions: registerActions() }), { tenant: newTenant() });
    await user.say("/daftar");
    await user.say("Budi");
    await user.say("65");
    assert.deepEqual(await user.press("basic"), ["Ada diskon lansia untukmu.", "Terima kasih Budi: paket basic, nomor M-BUDI."]);
  });

  test("an action's outcome picks the next step", async () => {
    const actions = registerActions({ full: true });
    const user = new ChatUser(testEngine({ flows: [signup], actions }), { tenant: newTenant() });
    await user.say("/daftar");
    await user.say("Sari");
    await user.say("30");
    assert.deepEqual(await user.press("basic"), ["Maaf, kuota member penuh."]);
    assert.equal(actions.calls, 1);
  });

  test("a keyword starts a flow in the user's language, whatever its case", async () => {
    const engine = testEngine({ flows: [signup], actions: registerActions() });
    const id = new ChatUser(engine, { tenant: newTenant() });
    assert.deepEqual(await id.say("  DAFTAR "), ["Halo dari Toko Uji!", "Siapa namamu?"]);
    const en = new ChatUser(engine, { tenant: newTenant("Sunny Shop"), locale: "en" });
    assert.deepEqual(await en.say("Sign up"), ["Hello from Sunny Shop!", "What's your name?"]);
    // An English keyword means nothing to an Indonesian-speaking user.
    const other = new ChatUser(engine, { tenant: newTenant() });
    await other.say("sign up");
    assert.deepEqual(other.keys, ["engine.unknown_input"]);
  });
});

describe("a command", () => {
  test("passes what follows it (a deep link's payload) to the flow it starts, whatever its case", async () => {
    const promo = defineFlow({
      id: "promo",
      triggers: { commands: ["start"] },
      steps: {
        check: { kind: "branch", cases: [{ when: { field: "commandArgs", exists: true }, next: "withCode" }], otherwise: "plain" },
        withCode: { kind: "end", text: { id: "Kode promo: {{commandArgs}}" } },
        plain: { kind: "end", text: { id: "Selamat datang." } },
      },
    });
    const user = new ChatUser(testEngine({ flows: [promo] }), { tenant: newTenant() });
    assert.deepEqual(await user.send({ kind: "command", command: "START", args: " HEMAT10 " }), ["Kode promo: HEMAT10"]);
    assert.deepEqual(await user.say("/start"), ["Selamat datang."]);
  });
});

describe("answers that do not fit", () => {
  test("a refused answer is asked again with the reason, and the limit leads to onMaxAttempts", async () => {
    const user = new ChatUser(testEngine({ flows: [signup], actions: registerActions() }), { tenant: newTenant() });
    await user.say("/daftar");
    await user.say("Sari");
    assert.deepEqual(await user.say("dua puluh"), ["Mohon balas dengan bilangan bulat, misalnya 1, 2 atau 3."]);
    assert.deepEqual(user.keys, ["engine.reask.integer"]);
    assert.deepEqual(await user.say("12"), ["Nanti kita coba lagi ya."]);
  });

  test("a valid answer resets the count of refused ones", async () => {
    const user = new ChatUser(testEngine({ flows: [signup], actions: registerActions() }), { tenant: newTenant() });
    await user.say("/daftar");
    await user.say("Sari");
    await user.say("12");
    assert.deepEqual(user.keys, ["engine.reask.number_between"]);
    assert.match((await user.say("25"))[0], /Pilih paket/);
  });

  test("text that is too long is refused with its length", async () => {
    const user = new ChatUser(testEngine({ flows: [signup], actions: registerActions() }), { tenant: newTenant() });
    await user.say("/daftar");
    const [reply] = await user.say("x".repeat(10_000));
    assert.equal(reply, "Jawabannya harus 1–20 karakter (yang kamu kirim 10000). Coba lagi ya.");
  });

  test("without onMaxAttempts the flow ends politely after the last attempt", async () => {
    const flow = defineFlow({
      id: "qty",
      triggers: { commands: ["qty"] },
      steps: {
        qty: { kind: "ask", text: { id: "Berapa?" }, expect: "number", saveAs: "qty", next: "ok", maxAttempts: 3 },
        ok: { kind: "end" },
      },
    });
    const user = new ChatUser(testEngine({ flows: [flow] }), { tenant: newTenant() });
    await user.say("/qty");
    await user.say("a");
    await user.say("b");
    await user.say("c");
    assert.deepEqual(user.keys, ["engine.too_many_attempts"]);
    await user.say("5");
    assert.deepEqual(user.keys, ["engine.unknown_input"]);
  });

  test("a choice is picked by button, by its number or by its label; anything else re-shows the choices", async () => {
    const engine = testEngine({ flows: [signup], actions: registerActions() });
    const start = async () => {
      const user = new ChatUser(engine, { tenant: newTenant() });
      await user.say("/daftar");
      await user.say("Sari");
      await user.say("30");
      return user;
    };
    const byNumber = await start();
    assert.match((await byNumber.say("2"))[0], /paket pro/);
    const byLabel = await start();
    assert.match((await byLabel.say("  dasar "))[0], /paket basic/);
    const wrong = await start();
    const [reply] = await wrong.say("premium");
    assert.deepEqual(wrong.keys, ["engine.reask.choice"]);
    assert.match(reply, /1\. Dasar \[basic\]\n {2}2\. Pro \[pro\]$/);
    assert.match((await wrong.say("1"))[0], /paket basic/);
  });

  test("a step's own reask text replaces the engine's", async () => {
    const flow = defineFlow({
      id: "code",
      triggers: { commands: ["kode"] },
      steps: {
        code: { kind: "ask", text: { id: "Kode voucher?" }, expect: "text", pattern: "[A-Z]{4}-\\d{4}", reask: { id: "Kode seperti ABCD-1234 ya." }, saveAs: "code", next: "ok" },
        ok: { kind: "end", text: { id: "Kode {{code}} diterima." } },
      },
    });
    const user = new ChatUser(testEngine({ flows: [flow] }), { tenant: newTenant() });
    await user.say("/kode");
    assert.deepEqual(await user.say("abcd"), ["Kode seperti ABCD-1234 ya."]);
    assert.deepEqual(await user.say("HEMAT-1234"), ["Kode seperti ABCD-1234 ya."]);
    assert.deepEqual(await user.say("HEMA-1234"), ["Kode HEMA-1234 diterima."]);
  });

  test("a named validator can refuse an answer and normalise the one it accepts", async () => {
    const flow = defineFlow({
      id: "order-code",
      triggers: { commands: ["cek"] },
      steps: {
        code: { kind: "ask", text: { id: "Nomor pesanan?" }, expect: "text", validator: "orders.known", saveAs: "order", next: "ok" },
        ok: { kind: "end", text: { id: "Pesanan {{order}} ditemukan." } },
      },
    });
    const validators = {
      "orders.known": (value: unknown) =>
        String(value).toUpperCase() === "INV-7" ? { ok: true as const, value: "INV-7" } : { ok: false as const, reask: { inline: { id: "Pesanan tidak ditemukan." } } },
    };
    const user = new ChatUser(testEngine({ flows: [flow], validators }), { tenant: newTenant() });
    await user.say("/cek");
    assert.deepEqual(await user.say("INV-8"), ["Pesanan tidak ditemukan."]);
    assert.deepEqual(await user.say("inv-7"), ["Pesanan INV-7 ditemukan."]);
  });
});

describe("answers of every kind", () => {
  const contactFlow = defineFlow({
    id: "profile",
    triggers: { commands: ["profil"] },
    steps: {
      email: { kind: "ask", text: { id: "Email?" }, expect: "email", saveAs: "email", next: "phone" },
      phone: { kind: "ask", text: { id: "Nomor HP?" }, expect: "phone", saveAs: "phone", next: "proof" },
      proof: { kind: "ask", text: { id: "Kirim foto bukti." }, expect: "photo", saveAs: "proof", next: "contact" },
      contact: { kind: "ask", text: { id: "Bagikan kontak admin." }, expect: "contact", saveAs: "admin", next: "budget" },
      budget: { kind: "ask", text: { id: "Budget?" }, expect: "number", min: 10_000, saveAs: "budget", next: "file" },
      file: { kind: "ask", text: { id: "Kirim KTP (file)." }, expect: "document", saveAs: "idCard", next: "done" },
      done: { kind: "action", action: "profile.capture", next: "end" },
      end: { kind: "end", text: { id: "Tersimpan." } },
    },
  });

  test("email, phone, photo, contact, number and document answers are checked and saved as values", async () => {
    let saved: Record<string, unknown> = {};
    const user = new ChatUser(
      testEngine({ flows: [contactFlow], actions: { "profile.capture": (ctx) => void (saved = { ...ctx.data }) } }),
      { tenant: newTenant() },
    );
    await user.say("/profil");
    await user.say("bukan email");
    assert.deepEqual(user.keys, ["engine.reask.email"]);
    await user.say(" Sari@Contoh.COM ");
    await user.say("12ab");
    assert.deepEqual(user.keys, ["engine.reask.phone"]);
    await user.say("0812-3456-7890");
    assert.deepEqual(await user.say("ini fotonya"), ["Mohon kirim sebuah foto."]);
    await user.send({ kind: "media", media: { type: "document", fileRef: "doc-1", mimeType: "application/pdf" } });
    assert.deepEqual(user.keys, ["engine.reask.photo"]);
    // A photo sent as a file (uncompressed) is still a photo.
    await user.send({ kind: "media", media: { type: "document", fileRef: "img-1", mimeType: "image/jpeg" } });
    await user.say("+62811");
    assert.deepEqual(user.keys, ["engine.reask.contact"]);
    await user.send({ kind: "contact", contact: { phone: "0811 2222 333", name: "Admin" } });
    await user.say("5.000");
    assert.deepEqual(user.keys, ["engine.reask.number_at_least"]);
    await user.say("Rp 25.000");
    await user.send({ kind: "media", media: { type: "photo", fileRef: "ph-1" } });
    assert.deepEqual(user.keys, ["engine.reask.document"]);
    assert.deepEqual(await user.send({ kind: "media", media: { type: "document", fileRef: "ktp-1", fileName: "ktp.pdf" } }), ["Tersimpan."]);
    assert.deepEqual(saved, {
      email: "sari@contoh.com",
      phone: "+6281234567890",
      proof: { type: "document", fileRef: "img-1", mimeType: "image/jpeg" },
      admin: { phone: "+628112222333", name: "Admin" },
      budget: 25_000,
      idCard: { type: "document", fileRef: "ktp-1", fileName: "ktp.pdf" },
    });
  });

  test("English numbers use English separators", async () => {
    const user = new ChatUser(testEngine({ flows: [contactFlow], actions: { "profile.capture": () => undefined } }), { tenant: newTenant(), locale: "en" });
    await user.say("/profil");
    await user.say("a@b.co");
    await user.say("+44 20 7946 0958");
    await user.send({ kind: "media", media: { type: "photo", fileRef: "p" } });
    await user.send({ kind: "contact", contact: { phone: "+6281" + "12345678" } });
    // The store wrote this question only in Indonesian; English users see it rather than nothing.
    assert.deepEqual(await user.say("25,000.50"), ["Kirim KTP (file)."]);
  });
});
