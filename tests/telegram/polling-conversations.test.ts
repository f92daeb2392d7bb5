// A customer talks to a store bot running on long polling: real grammY and the runner
// against the Bot API emulator, the engine with small flows, sessions and customers in
// MongoDB.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { t } from "../../locales/i18n.ts";
import { Customer } from "../../storage/models/index.ts";
import { TelegramFileError } from "../../adapters/telegram/file-download.ts";
import { samplePng } from "../support/telegram-emulator.ts";
import { buttonData, buttonLabels, LONG_TERMS, startStores, words, type Store, type Stores } from "./store-fixture.ts";
import { eventually } from "../support/eventually.ts";

describe("a store bot on long polling", () => {
  let stores: Stores;
  let store: Store;

  before(async () => {
    stores = await startStores();
    store = await stores.createStore({ name: "Toko Sinar" });
    await stores.bots.start(store.id);
  });
  after(() => stores.close());

  const after_ = (id: number) => (m: { message_id: number }) => m.message_id > id;

  it("greets by the store's name, offers buttons, and follows a press", async () => {
    const { tg } = stores;
    const sari = stores.user();
    const sent = await tg.sendCommand(store.token, sari, "/start", "promo-7");
    const menu = await tg.waitForSent(store.token, sari, (m) => m.message_id > sent.message_id && (m.reply_markup?.inline_keyboard.length ?? 0) > 0);
    assert.equal(words(menu), "Selamat datang di Toko Sinar! Mau apa?");
    assert.deepEqual(buttonLabels(menu), [["Belanja"], ["Tulis catatan"]]);
    for (const data of menu.reply_markup!.inline_keyboard.flat().map((b) => ("callback_data" in b ? b.callback_data! : ""))) {
      assert.ok(Buffer.byteLength(data) <= 64, `callback data of ${Buffer.byteLength(data)} bytes`);
    }

    await tg.pressButton(store.token, sari, menu, { text: "Tulis catatan" });
    await tg.waitForSent(store.token, sari, (m) => words(m) === "Tulis catatanmu.");
    const pressed = tg.sent(store.token, sari).find((m) => m.message_id === menu.message_id)!;
    assert.equal(pressed.reply_markup, undefined, "the pressed message keeps no buttons");
    assert.equal(words(pressed), "Selamat datang di Toko Sinar! Mau apa?\n\nPilihanmu: Tulis catatan");
    assert.equal(tg.callbackAnswers(store.token).at(-1)?.text, undefined, "a good press is answered without a notice");
  });

  it("runs a purchase: paged product list, quantity, photo proof fetched with getFile", async () => {
    const { tg } = stores;
    const budi = stores.user({ first_name: "Budi" });
    await tg.sendCommand(store.token, budi, "/shop");
    const list = await tg.waitForSent(store.token, budi, (m) => words(m) === "Pilih produk:");
    assert.deepEqual(buttonLabels(list), [["Voucher 10K"], ["Voucher 20K"], ["Voucher 30K"], [t("id", "engine.page.next")]]);

    await tg.pressButton(store.token, budi, list, { text: t("id", "engine.page.next") });
    const page2 = await tg.waitForSent(store.token, budi, (m) => m.message_id === list.message_id && buttonLabels(m).flat().includes("Voucher 40K"));
    assert.deepEqual(buttonLabels(page2), [["Voucher 40K"], ["Voucher 50K"], ["Voucher 60K"], [t("id", "engine.page.previous"), t("id", "engine.page.next")]]);
    assert.equal(tg.sent(store.token, budi).length, 1, "a page turn edits the list in place");

    await tg.pressButton(store.token, budi, page2, { text: "Voucher 50K" });
    const qty = await tg.waitForSent(store.token, budi, (m) => words(m) === "Berapa banyak?");

    const photo = await tg.sendPhoto(store.token, budi, samplePng());
    const reask = await tg.waitForSent(store.token, budi, after_(photo.message_id));
    assert.equal(words(reask), t("id", "engine.reask.integer"), "a photo where a number is expected gets the flow's answer");

    const typed = await tg.sendText(store.token, budi, "2");
    await tg.waitForSent(store.token, budi, (m) => m.message_id > typed.message_id && words(m) === "Kirim foto bukti transfer.");

    const text = await tg.sendText(store.token, budi, "sudah saya transfer");
    const photoAsk = await tg.waitForSent(store.token, budi, after_(text.message_id));
    assert.equal(words(photoAsk), t("id", "engine.reask.photo"), "text where a photo is expected gets the flow's answer");

    const pdf = await tg.sendDocument(store.token, budi, Buffer.from("%PDF-1.4 bukti"), "bukti.pdf");
    const docAsk = await tg.waitForSent(store.token, budi, after_(pdf.message_id));
    assert.equal(words(docAsk), t("id", "engine.reask.photo"), "a document that is no image is not a photo");

    const proof = samplePng();
    const sentProof = await tg.sendPhoto(store.token, budi, proof, "bukti");
    const done = await tg.waitForSent(store.token, budi, (m) => m.message_id > sentProof.message_id && words(m).startsWith("Terima kasih"));
    assert.equal(words(done), `Terima kasih! 2 × p5, bukti ${proof.length} byte.`);
    const echoed = tg.sent(store.token, budi).find((m) => m.message_id > sentProof.message_id && m.photo);
    assert.equal(echoed?.photo?.at(-1)?.file_unique_id, sentProof.photo.at(-1)?.file_unique_id, "a photo goes back out by its file_id");
    assert.equal(words(echoed!), "Bukti diterima.");
    assert.ok(tg.calls(store.token, "getFile").length >= 1);
    const fileRef = sentProof.photo.at(-1)!.file_id;
    assert.deepEqual(await stores.bots.downloadFile(store.id, fileRef), proof);
    await assert.rejects(stores.bots.downloadFile(store.id, fileRef, { maxBytes: 10 }), (error: unknown) => error instanceof TelegramFileError && error.reason === "too-large");
    void qty;
  });

  it("recognises a button from an old message as stale, and refuses forged or copied button data without reaching the flow", async () => {
    const { tg } = stores;
    const dewi = stores.user({ first_name: "Dewi" });
    await tg.sendCommand(store.token, dewi, "/shop");
    const list = await tg.waitForSent(store.token, dewi, (m) => words(m) === "Pilih produk:");
    const old = buttonData(list, "Voucher 20K");
    await tg.pressButton(store.token, dewi, list, old);
    const qty = await tg.waitForSent(store.token, dewi, (m) => words(m) === "Berapa banyak?");

    // The keyboard is gone, but a client that cached it can still send the old data.
    await tg.pressButton(store.token, dewi, list.message_id, old, { forged: true });
    const stale = await tg.waitForSent(store.token, dewi, (m) => m.message_id > qty.message_id);
    assert.equal(words(stale), t("id", "engine.stale_choice"));
    const again = await tg.waitForSent(store.token, dewi, (m) => m.message_id > stale.message_id);
    assert.equal(words(again), "Berapa banyak?", "the current question is asked again");

    const sentBefore = tg.sent(store.token, dewi).length;
    const forged = [`p7|${old.split("|")[1]}|AAAAAAAAAAAA`, "p7", "x".repeat(64), old.replace(/^p2/, "p7")];
    for (const data of forged) {
      const query = await tg.pressButton(store.token, dewi, again, data, { forged: true });
      const answer = await tg.waitForCall(store.token, "answerCallbackQuery", (c) => c.params.callback_query_id === query.id);
      assert.equal(answer.params.text, t("id", "telegram.button_invalid"), `refused: ${data}`);
    }
    const typed = await tg.sendText(store.token, dewi, "1");
    await tg.waitForSent(store.token, dewi, (m) => m.message_id > typed.message_id && words(m) === "Kirim foto bukti transfer.");
    assert.equal(tg.sent(store.token, dewi).length, sentBefore + 1, "the forged presses sent nothing and changed no step");
  });

  it("refuses button data signed for another chat", async () => {
    const { tg } = stores;
    const fajar = stores.user({ first_name: "Fajar" });
    const gita = stores.user({ first_name: "Gita" });
    await tg.sendCommand(store.token, fajar, "/shop");
    const fajarList = await tg.waitForSent(store.token, fajar, (m) => words(m) === "Pilih produk:");
    await tg.sendCommand(store.token, gita, "/shop");
    const gitaList = await tg.waitForSent(store.token, gita, (m) => words(m) === "Pilih produk:");
    const query = await tg.pressButton(store.token, gita, gitaList, buttonData(fajarList, "Voucher 10K"), { forged: true });
    const answer = await tg.waitForCall(store.token, "answerCallbackQuery", (c) => c.params.callback_query_id === query.id);
    assert.equal(answer.params.text, t("id", "telegram.button_invalid"));
    assert.equal(tg.sent(store.token, gita).length, 1);
  });

  it("carries a 10,000-character message, emoji and non-Latin text through unharmed, splitting long replies under 4096", async () => {
    const { tg } = stores;
    const hana = stores.user({ first_name: "Hana" });
    await tg.sendCommand(store.token, hana, "/note");
    const asked = await tg.waitForSent(store.token, hana, (m) => words(m) === "Tulis catatanmu.");
    const mixed = "Halo 👋🏽 Привет мир こんにちは 世界 مرحبا بالعالم ";
    const long = mixed.repeat(Math.ceil(10_000 / mixed.length)).slice(0, 10_000);
    const last = await tg.sendText(store.token, hana, long);
    // Telegram's client sends it as three messages (4096 + 4096 + the rest, emoji kept whole):
    // the note takes the first, each of the others gets the engine's polite answer.
    const firstPart = long.slice(0, /[\uD800-\uDBFF]/.test(long[4095]) ? 4095 : 4096);
    const replies = await eventually(() => {
      const after = tg.sent(store.token, hana).filter((m) => m.message_id > asked.message_id);
      return after.length >= 4 && after;
    }, "four replies");
    for (const m of replies) assert.ok(words(m).length <= 4096, `a reply of ${words(m).length} characters`);
    assert.equal(`${words(replies[0])} ${words(replies[1])}`, `Catatan: ${firstPart.trim()}`, "the first part came back intact, emoji and scripts included");
    assert.equal(words(replies[2]), t("id", "engine.unknown_input"));
    assert.equal(words(replies[3]), t("id", "engine.unknown_input"));
    assert.equal(replies.length, 4);

    await tg.sendCommand(store.token, hana, "/note");
    const ask = await tg.waitForSent(store.token, hana, (m) => m.message_id > last.message_id && words(m) === "Tulis catatanmu.");
    const short = await tg.sendText(store.token, hana, "Pesanan untuk Ibu 👩‍👧 — «Ünïcødé» 中文 ✓ _no_ *markdown* Rp25.000");
    const echo = await tg.waitForSent(store.token, hana, (m) => m.message_id > short.message_id);
    assert.equal(words(echo), "Catatan: Pesanan untuk Ibu 👩‍👧 — «Ünïcødé» 中文 ✓ _no_ *markdown* Rp25.000");
    assert.equal(tg.calls(store.token, "sendMessage").some((c) => c.params.parse_mode !== undefined), false, "plain text, never a parse mode");
    void ask;
  });

  it("splits a long text from the store on paragraph boundaries", async () => {
    const { tg } = stores;
    const indra = stores.user({ first_name: "Indra" });
    const asked = await tg.sendCommand(store.token, indra, "/terms");
    await eventually(() => tg.sent(store.token, indra).filter((m) => m.message_id > asked.message_id).map(words).join("\n\n").length >= LONG_TERMS.length, "the whole terms");
    const parts = tg.sent(store.token, indra).filter((m) => m.message_id > asked.message_id).map(words);
    assert.ok(parts.length >= 3);
    for (const part of parts) assert.ok(part.length <= 4096);
    assert.equal(parts.join("\n\n"), LONG_TERMS);
  });

  it("sends photos and documents by URL, and takes a shared contact", async () => {
    const { tg } = stores;
    const joko = stores.user({ first_name: "Joko" });
    const asked = await tg.sendCommand(store.token, joko, "/brochure");
    const doc = await tg.waitForSent(store.token, joko, (m) => m.message_id > asked.message_id && m.document !== undefined);
    const photo = tg.sent(store.token, joko).find((m) => m.photo !== undefined)!;
    assert.equal(words(photo), "Brosur kami");
    assert.equal(words(doc), "Daftar harga");
    assert.equal(doc.document?.file_name, "harga.pdf");

    await tg.sendCommand(store.token, joko, "/phone");
    await tg.waitForSent(store.token, joko, (m) => words(m) === "Bagikan kontakmu.");
    const shared = await tg.sendContact(store.token, joko, { phone_number: "0812-3456-7890" });
    const done = await tg.waitForSent(store.token, joko, (m) => m.message_id > shared.message_id);
    assert.equal(words(done), "Nomor: +6281234567890");
  });

  it("answers in the customer's language: Telegram's until they choose one, then theirs", async () => {
    const { tg } = stores;
    const kate = stores.user({ first_name: "Kate", language_code: "en-GB" });
    const first = await tg.sendCommand(store.token, kate, "/start");
    const menu = await tg.waitForSent(store.token, kate, (m) => m.message_id > first.message_id);
    assert.equal(words(menu), "Welcome to Toko Sinar! What would you like?");
    const customer = await eventually(() => Customer.findOne({ tenantId: store.id, channel: "telegram", channelUserId: String(kate.id) }).lean().exec(), "the customer record");
    assert.equal(customer?.displayName, "Kate");
    assert.ok(customer?.lastSeenAt instanceof Date);

    await Customer.updateOne({ tenantId: store.id, channel: "telegram", channelUserId: String(kate.id) }, { $set: { locale: "id" } }).exec();
    const again = await tg.sendCommand(store.token, kate, "/start");
    const menuId = await tg.waitForSent(store.token, kate, (m) => m.message_id > again.message_id);
    assert.equal(words(menuId), "Selamat datang di Toko Sinar! Mau apa?");
  });

  it("registers the customer commands in Indonesian (default) and English", async () => {
    const { tg } = stores;
    await tg.waitForCall(store.token, "setMyCommands", (c) => c.params.language_code === "en");
    const id = tg.commandsFor(store.token, { languageCode: "id" });
    const en = tg.commandsFor(store.token, { languageCode: "en" });
    assert.deepEqual(id.map((c) => c.command), ["start", "shop", "note", "help", "cancel"]);
    assert.deepEqual(en.map((c) => c.command), ["start", "shop", "note", "help", "cancel"]);
    assert.equal(id.find((c) => c.command === "shop")?.description, "Belanja voucher");
    assert.equal(en.find((c) => c.command === "shop")?.description, "Shop for vouchers");
    assert.equal(en.find((c) => c.command === "cancel")?.description, t("en", "telegram.commands.cancel"));
  });

  it("answers a failure outside the flow with an apology and an error id, logged with the store's slug", async () => {
    const { tg, log } = stores;
    const lina = stores.user({ first_name: "Lina" });
    const asked = await tg.sendCommand(store.token, lina, "/broken");
    const apology = await tg.waitForSent(store.token, lina, (m) => m.message_id > asked.message_id);
    const errorId = /([0-9A-F]{8})/.exec(words(apology))?.[1];
    assert.ok(errorId, words(apology));
    assert.equal(words(apology), t("id", "common.error_apology", { errorId }));
    const line = log.find((l) => l.level === "error" && l.meta.errorId === errorId);
    assert.equal(line?.meta.tenant, store.slug);
  });
});
