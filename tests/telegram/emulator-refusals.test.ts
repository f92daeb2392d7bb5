// What Telegram refuses, the emulator refuses with the same status and wording, so the
// platform's error handling is exercised by the answers it will really get.
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { Api, GrammyError, InlineKeyboard } from "grammy";
import { startTelegramEmulator } from "../support/telegram-emulator.ts";
import type { TelegramEmulator } from "../support/telegram-emulator.ts";

async function emulator(t: TestContext): Promise<TelegramEmulator> {
  const tg = await startTelegramEmulator();
  t.after(() => tg.stop());
  return tg;
}

/** Asserts the call fails with exactly this Bot API error. */
async function refused(call: Promise<unknown>, errorCode: number, description: string | RegExp): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof GrammyError, `expected a GrammyError, got ${String(error)}`);
    assert.equal(error.error_code, errorCode);
    if (typeof description === "string") assert.equal(error.description, description);
    else assert.match(error.description, description);
    return true;
  });
}

async function storeWithCustomer(t: TestContext) {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user({ first_name: "Sari" });
  tg.openChat(token, sari);
  return { tg, token, sari, api: new Api(token, { apiRoot: tg.apiRoot }) };
}

test("a text over 4096 characters is refused with 400 'message is too long'; 4096 is fine", async (t) => {
  const { api, sari } = await storeWithCustomer(t);
  await refused(api.sendMessage(sari.id, "x".repeat(4097)), 400, "Bad Request: message is too long");
  assert.equal((await api.sendMessage(sari.id, "x".repeat(4096))).text?.length, 4096);
  await refused(api.sendMessage(sari.id, ""), 400, "Bad Request: message text is empty");
});

test("callback data over 64 bytes is refused with BUTTON_DATA_INVALID, counting bytes, not characters", async (t) => {
  const { api, sari } = await storeWithCustomer(t);
  await refused(api.sendMessage(sari.id, "Pilih", { reply_markup: new InlineKeyboard().text("Beli", "b".repeat(65)) }), 400, "Bad Request: BUTTON_DATA_INVALID");
  await refused(api.sendMessage(sari.id, "Pilih", { reply_markup: new InlineKeyboard().text("Beli", "é".repeat(33)) }), 400, "Bad Request: BUTTON_DATA_INVALID");
  const ok = await api.sendMessage(sari.id, "Pilih", { reply_markup: new InlineKeyboard().text("Beli", "é".repeat(32)) });
  assert.equal(ok.reply_markup?.inline_keyboard[0][0].text, "Beli");
});

test("editing a message that does not exist, or to the same content, is refused with 400", async (t) => {
  const { api, sari, tg, token } = await storeWithCustomer(t);
  await refused(api.editMessageText(sari.id, 999, "baru"), 400, "Bad Request: message to edit not found");
  const keyboard = new InlineKeyboard().text("Bayar", "pay:1042");
  const sent = await api.sendMessage(sari.id, "Total: Rp25.000", { reply_markup: keyboard });
  await refused(api.editMessageText(sari.id, sent.message_id, "Total: Rp25.000", { reply_markup: keyboard }), 400,
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message");
  await refused(api.editMessageReplyMarkup(sari.id, sent.message_id, { reply_markup: keyboard }), 400, /^Bad Request: message is not modified/);
  await refused(api.editMessageReplyMarkup(sari.id, 999), 400, "Bad Request: message to edit not found");

  const cleared = await api.editMessageReplyMarkup(sari.id, sent.message_id);
  assert.equal(typeof cleared === "object" && cleared.reply_markup, undefined);
  assert.deepEqual(tg.sent(token, sari).map((m) => [m.text, m.reply_markup]), [["Total: Rp25.000", undefined]]);
  const customerMessage = await tg.sendText(token, sari, "halo");
  await refused(api.editMessageText(sari.id, customerMessage.message_id, "diubah"), 400, "Bad Request: message can't be edited");
});

test("a deleted message is gone from the chat and cannot be deleted or edited again", async (t) => {
  const { api, sari, tg, token } = await storeWithCustomer(t);
  const sent = await api.sendMessage(sari.id, "sementara");
  assert.equal(await api.deleteMessage(sari.id, sent.message_id), true);
  assert.deepEqual(tg.sent(token, sari), []);
  await refused(api.deleteMessage(sari.id, sent.message_id), 400, "Bad Request: message to delete not found");
  await refused(api.editMessageText(sari.id, sent.message_id, "x"), 400, "Bad Request: message to edit not found");
});

test("an unknown token gets 401 Unauthorized, an unknown method 404 Not Found, both as HTTP statuses too", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  await refused(new Api("123456:not-a-registered-token", { apiRoot: tg.apiRoot }).getMe(), 401, "Unauthorized");
  const raw = new Api(token, { apiRoot: tg.apiRoot }).raw as unknown as Record<string, () => Promise<unknown>>;
  await refused(raw.sendCarrierPigeon(), 404, "Not Found");

  const unauthorized = await fetch(`${tg.apiRoot}/bot123456:nope/getMe`);
  assert.equal(unauthorized.status, 401);
  assert.deepEqual(await unauthorized.json(), { ok: false, error_code: 401, description: "Unauthorized" });
  const missing = await fetch(`${tg.apiRoot}/bot${token}/sendCarrierPigeon`, { method: "POST" });
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { ok: false, error_code: 404, description: "Not Found" });
  const caseInsensitive = await fetch(`${tg.apiRoot}/bot${token}/GETME`);
  assert.equal(caseInsensitive.status, 200, "Telegram's method names are case-insensitive");
});

test("a revoked token gets 401 for everything, a held long poll included; the new token carries on with the same bot", async (t) => {
  const tg = await emulator(t);
  const { token, id } = tg.bot();
  const sari = tg.user();
  tg.openChat(token, sari);
  const old = new Api(token, { apiRoot: tg.apiRoot });
  const held = old.getUpdates({ timeout: 30 });
  await tg.waitForPoll(token);

  const renewed = tg.revoke(token);
  await refused(held, 401, "Unauthorized");
  await refused(old.getMe(), 401, "Unauthorized");
  await refused(old.sendMessage(sari.id, "halo"), 401, "Unauthorized");
  const fresh = new Api(renewed, { apiRoot: tg.apiRoot });
  assert.equal((await fresh.getMe()).id, id);
  assert.equal((await fresh.sendMessage(sari.id, "masih di sini")).chat.id, sari.id);
  assert.deepEqual(tg.calls(token, "sendMessage").map((c) => c.response?.error_code ?? "ok"), [401, "ok"]);
});

test("sending to a customer who blocked the bot, deleted their account or never started it is refused with 403", async (t) => {
  const { api, sari, tg, token } = await storeWithCustomer(t);
  const budi = tg.user({ first_name: "Budi" });
  tg.openChat(token, budi);
  const stranger = tg.user({ first_name: "Asing" });

  tg.blockBy(token, sari);
  await refused(api.sendMessage(sari.id, "promo"), 403, "Forbidden: bot was blocked by the user");
  await refused(api.sendChatAction(sari.id, "typing"), 403, "Forbidden: bot was blocked by the user");
  tg.deactivateUser(budi);
  await refused(api.sendMessage(budi.id, "promo"), 403, "Forbidden: user is deactivated");
  await refused(api.sendMessage(stranger.id, "promo"), 403, "Forbidden: bot can't initiate conversation with a user");
  await refused(api.sendMessage(987654321, "promo"), 400, "Bad Request: chat not found");

  const [blocked] = (await api.getUpdates()).filter((u) => u.my_chat_member);
  assert.equal(blocked.my_chat_member?.new_chat_member.status, "kicked", "blocking shows up as a my_chat_member update");
  await tg.sendText(token, sari, "aku kembali");
  assert.equal((await api.sendMessage(sari.id, "selamat datang kembali")).text, "selamat datang kembali", "writing to the bot unblocks it");
});

test("parse_mode is applied like Telegram does, and a MarkdownV2 mistake is refused", async (t) => {
  const { api, sari } = await storeWithCustomer(t);
  const html = await api.sendMessage(sari.id, "<b>Voucher</b> &amp; <a href=\"https://toko.example/p/1\">detail</a>", { parse_mode: "HTML" });
  assert.equal(html.text, "Voucher & detail");
  assert.deepEqual(html.entities, [
    { type: "bold", offset: 0, length: 7 },
    { type: "text_link", offset: 10, length: 6, url: "https://toko.example/p/1" },
  ]);
  const markdown = await api.sendMessage(sari.id, "*Total:* Rp25\\.000 \\(1 item\\)", { parse_mode: "MarkdownV2" });
  assert.equal(markdown.text, "Total: Rp25.000 (1 item)");
  assert.deepEqual(markdown.entities, [{ type: "bold", offset: 0, length: 6 }]);

  await refused(api.sendMessage(sari.id, "Total: Rp25.000", { parse_mode: "MarkdownV2" }), 400,
    "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'");
  await refused(api.sendMessage(sari.id, "<blink>x</blink>", { parse_mode: "HTML" }), 400, /^Bad Request: can't parse entities: Unsupported start tag "blink"/);
  await refused(api.sendMessage(sari.id, "*tebal", { parse_mode: "MarkdownV2" }), 400, /^Bad Request: can't parse entities: Can't find end of Bold entity/);
});

test("a button press is answered once; a second answer is refused", async (t) => {
  const { api, sari, tg, token } = await storeWithCustomer(t);
  const menu = await api.sendMessage(sari.id, "Menu", { reply_markup: new InlineKeyboard().text("Katalog", "catalog") });
  const query = await tg.pressButton(token, sari, menu, "catalog");
  assert.equal(await api.answerCallbackQuery(query.id, { text: "OK" }), true);
  await refused(api.answerCallbackQuery(query.id), 400, "Bad Request: query is too old and response timeout expired or query ID is invalid");
  await assert.rejects(tg.pressButton(token, sari, menu, "forged:data"), /has no button with callback_data "forged:data"/);
  const forged = await tg.pressButton(token, sari, menu, "forged:data", { forged: true });
  assert.equal(forged.data, "forged:data");
});

test("commands are kept per scope and language, and a client sees the narrowest set in its language", async (t) => {
  const { api, sari, tg, token } = await storeWithCustomer(t);
  await api.setMyCommands([{ command: "start", description: "Mulai" }, { command: "katalog", description: "Lihat produk" }]);
  await api.setMyCommands([{ command: "start", description: "Start" }, { command: "catalog", description: "Browse products" }], { language_code: "en" });
  await api.setMyCommands([{ command: "admin", description: "Menu penjual" }], { scope: { type: "chat", chat_id: sari.id } });

  assert.deepEqual((await api.getMyCommands({ language_code: "en" })).map((c) => c.command), ["start", "catalog"]);
  assert.deepEqual((await api.getMyCommands()).map((c) => c.command), ["start", "katalog"]);
  assert.deepEqual(await api.getMyCommands({ scope: { type: "all_private_chats" } }), []);
  assert.equal(tg.commands(token).length, 3);
  assert.deepEqual(tg.commandsFor(token, { languageCode: "en" }).map((c) => c.command), ["start", "catalog"]);
  assert.deepEqual(tg.commandsFor(token, { languageCode: "de" }).map((c) => c.command), ["start", "katalog"]);
  assert.deepEqual(tg.commandsFor(token, { chat: sari, languageCode: "en" }).map((c) => c.command), ["admin"]);
  await refused(api.setMyCommands([{ command: "Bad-Command", description: "x" }]), 400, "Bad Request: BOT_COMMAND_INVALID");
  const call = tg.calls(token, "setMyCommands")[1];
  assert.equal(call.params.language_code, "en");
});

test("a chat's own commands need a chat the bot knows; deleting them shows the bot-wide menu again", async (t) => {
  const { api, sari, tg, token } = await storeWithCustomer(t);
  const stranger = tg.user({ first_name: "Asing" });
  await api.setMyCommands([{ command: "start", description: "Mulai" }]);
  await refused(api.setMyCommands([{ command: "admin", description: "Menu penjual" }], { scope: { type: "chat", chat_id: stranger.id } }), 400, "Bad Request: chat not found");
  await refused(api.deleteMyCommands({ scope: { type: "chat", chat_id: stranger.id } }), 400, "Bad Request: chat not found");
  await refused(api.getMyCommands({ scope: { type: "chat", chat_id: "@sari" } }), 400, "Bad Request: chat not found");

  const scope = { type: "chat", chat_id: sari.id } as const;
  await api.setMyCommands([{ command: "admin", description: "Menu penjual" }], { scope });
  await api.setMyCommands([{ command: "admin", description: "Seller menu" }], { scope, language_code: "en" });
  assert.deepEqual(await api.getMyCommands({ scope, language_code: "en" }), [{ command: "admin", description: "Seller menu" }]);
  assert.deepEqual(tg.commandsFor(token, { chat: sari, languageCode: "id" }).map((c) => c.command), ["admin"]);
  assert.equal(await api.deleteMyCommands({ scope }), true);
  assert.equal(await api.deleteMyCommands({ scope, language_code: "en" }), true);
  assert.deepEqual(tg.commandsFor(token, { chat: sari, languageCode: "en" }).map((c) => c.command), ["start"]);
  assert.equal(tg.commands(token).length, 1);
});

test("a chat action is accepted only with a known action", async (t) => {
  const { api, sari } = await storeWithCustomer(t);
  assert.equal(await api.sendChatAction(sari.id, "typing"), true);
  await refused(api.sendChatAction(sari.id, "dancing" as "typing"), 400, "Bad Request: wrong parameter action in request");
});

test("injected faults answer like Telegram under stress: 429 with retry_after, 500, a slow answer, a dropped connection", async (t) => {
  const { api, sari, tg, token } = await storeWithCustomer(t);
  tg.failNext(token, "sendMessage", { status: 429, retryAfter: 7 });
  tg.failNext(token, "sendMessage", { status: 500 });
  tg.failNext(token, "sendMessage", { delayMs: 20 });
  tg.failNext(token, "getMe", { dropConnection: true });
  await assert.rejects(api.sendMessage(sari.id, "1"), (e: unknown) =>
    e instanceof GrammyError && e.error_code === 429 && e.parameters.retry_after === 7 && e.description === "Too Many Requests: retry after 7");
  await refused(api.sendMessage(sari.id, "2"), 500, "Internal Server Error");
  assert.equal((await api.sendMessage(sari.id, "3")).text, "3");
  await assert.rejects(api.getMe(), (e: unknown) => e instanceof Error && e.name === "HttpError");
  assert.equal((await api.getMe()).id, tg.bot(token).id, "faults are used up");
});
