// A store bot on long polling (grammY's built-in `bot.start()`) against the emulator.
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { Api, Bot, GrammyError, InlineKeyboard } from "grammy";
import { samplePng, startTelegramEmulator } from "../support/telegram-emulator.ts";
import type { TelegramEmulator } from "../support/telegram-emulator.ts";

async function emulator(t: TestContext): Promise<TelegramEmulator> {
  const tg = await startTelegramEmulator();
  t.after(() => tg.stop());
  return tg;
}

/** Starts polling; the returned function stops it and waits until the loop has ended. */
function poll(bot: Bot): () => Promise<void> {
  const running = bot.start();
  return async () => {
    await bot.stop();
    await running;
  };
}

test("a polling bot receives a command, text, a photo and a button press in order, and its replies arrive", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user({ first_name: "Sari", language_code: "id" });
  const bot = new Bot(token, { client: { apiRoot: tg.apiRoot } });
  const seen: string[] = [];
  bot.command("start", async (ctx) => {
    seen.push(`start:${ctx.match}`);
    await ctx.reply("Menu", { reply_markup: new InlineKeyboard().text("Katalog", "catalog") });
  });
  bot.on("message:photo", async (ctx) => {
    seen.push(`photo:${ctx.message.caption}`);
    await ctx.reply("Foto diterima");
  });
  bot.on("message:text", async (ctx) => {
    seen.push(`text:${ctx.message.text}`);
    await ctx.reply(`Kamu bilang: ${ctx.message.text}`);
  });
  bot.callbackQuery("catalog", async (ctx) => {
    seen.push(`button:${ctx.callbackQuery.data}`);
    await ctx.answerCallbackQuery({ text: "Membuka katalog" });
    await ctx.editMessageText("Katalog: Voucher 25K");
  });
  const stop = poll(bot);

  await tg.sendCommand(token, sari, "/start", "ref42");
  const menu = await tg.waitForSent(token, sari, (m) => m.text === "Menu");
  assert.deepEqual(menu.reply_markup, { inline_keyboard: [[{ text: "Katalog", callback_data: "catalog" }]] });
  await tg.sendText(token, sari, "halo");
  await tg.sendPhoto(token, sari, samplePng(), "bukti transfer");
  await tg.pressButton(token, sari, menu, { text: "Katalog" });
  await tg.waitForSent(token, sari, (m) => m.message_id === menu.message_id && m.text === "Katalog: Voucher 25K");
  await stop();

  assert.deepEqual(seen, ["start:ref42", "text:halo", "photo:bukti transfer", "button:catalog"]);
  assert.deepEqual(tg.sent(token, sari).map((m) => m.text), ["Katalog: Voucher 25K", "Kamu bilang: halo", "Foto diterima"]);
  const edited = tg.sent(token, sari)[0];
  assert.equal(edited.reply_markup, undefined, "an edit without reply_markup removes the keyboard, as on Telegram");
  assert.equal(typeof edited.edit_date, "number");
  assert.deepEqual(tg.callbackAnswers(token).map(({ data, text, user_id }) => ({ data, text, user_id })), [
    { data: "catalog", text: "Membuka katalog", user_id: sari.id },
  ]);
});

test("messages carry Telegram's shapes: chat, from, dates, and message ids shared by both sides of a chat", async (t) => {
  const tg = await emulator(t);
  const store = tg.bot("5550001:AAexampleexampleexampleexampleexamp", { username: "toko_demo_bot", firstName: "Toko Demo" });
  const sari = tg.user({ id: 4242, first_name: "Sari", username: "sari_id", language_code: "id" });
  const bot = new Bot(store.token, { client: { apiRoot: tg.apiRoot } });
  let received: unknown;
  bot.on("message:text", async (ctx) => {
    received = ctx.message;
    await ctx.reply("ok");
  });
  const stop = poll(bot);
  const asked = await tg.sendCommand(store.token, sari, "help");
  const answer = await tg.waitForSent(store.token, sari);
  await stop();

  assert.equal(bot.botInfo.id, 5550001);
  assert.equal(bot.botInfo.username, "toko_demo_bot");
  assert.deepEqual(received, asked);
  assert.deepEqual(asked.entities, [{ type: "bot_command", offset: 0, length: 5 }]);
  assert.deepEqual(asked.chat, { id: 4242, type: "private", first_name: "Sari", username: "sari_id" });
  assert.deepEqual(answer.from, { id: 5550001, is_bot: true, first_name: "Toko Demo", username: "toko_demo_bot" });
  assert.equal(answer.message_id, asked.message_id + 1);
  assert.ok(Math.abs(answer.date - Date.now() / 1000) < 60);
});

test("after polling restarts, updates the bot already handled are not delivered again", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  const first = new Bot(token, { client: { apiRoot: tg.apiRoot } });
  const handledByFirst: string[] = [];
  first.on("message:text", async (ctx) => {
    handledByFirst.push(ctx.message.text);
    await ctx.reply(`ok ${ctx.message.text}`);
  });
  const stopFirst = poll(first);
  await tg.sendText(token, sari, "satu");
  await tg.sendText(token, sari, "dua");
  await tg.waitForSent(token, sari, (m) => m.text === "ok dua");
  await stopFirst();
  assert.deepEqual(tg.pendingUpdates(token), [], "bot.stop() confirmed the offset");

  await tg.sendText(token, sari, "tiga"); // arrives while nobody polls
  const second = new Bot(token, { client: { apiRoot: tg.apiRoot } });
  const handledBySecond: string[] = [];
  second.on("message:text", async (ctx) => {
    handledBySecond.push(ctx.message.text);
    await ctx.reply(`ok ${ctx.message.text}`);
  });
  const stopSecond = poll(second);
  await tg.waitForSent(token, sari, (m) => m.text === "ok tiga");
  await stopSecond();

  assert.deepEqual(handledByFirst, ["satu", "dua"]);
  assert.deepEqual(handledBySecond, ["tiga"]);
});

test("an update fetched but never confirmed is delivered again, and an offset confirms it", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const api = new Api(token, { apiRoot: tg.apiRoot });
  const sari = tg.user();
  await tg.sendText(token, sari, "a");
  await tg.sendText(token, sari, "b");

  const fetched = await api.getUpdates();
  assert.deepEqual(fetched.map((u) => u.message?.text), ["a", "b"]);
  assert.equal(fetched[1].update_id, fetched[0].update_id + 1);
  assert.deepEqual((await api.getUpdates({ limit: 1 })).map((u) => u.message?.text), ["a"], "a crash before confirming means a redelivery");
  assert.deepEqual((await api.getUpdates({ offset: fetched[0].update_id + 1 })).map((u) => u.message?.text), ["b"]);
  assert.deepEqual(await api.getUpdates({ offset: fetched[1].update_id + 1 }), []);
  assert.deepEqual(tg.pendingUpdates(token), []);
});

test("a long poll is held until an update arrives, and answers empty when its timeout passes", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const api = new Api(token, { apiRoot: tg.apiRoot });
  const sari = tg.user();

  const held = api.getUpdates({ timeout: 30 });
  await tg.waitForPoll(token);
  assert.equal(tg.calls(token, "getUpdates")[0].response, undefined, "the request is still held");
  await tg.sendText(token, sari, "ada orang?");
  assert.deepEqual((await held).map((u) => u.message?.text), ["ada orang?"]);

  const quiet = await api.getUpdates({ offset: -1, timeout: 0 });
  assert.equal(quiet.length, 1, "a negative offset returns the last update");
  assert.deepEqual(await api.getUpdates({ offset: quiet[0].update_id + 1, timeout: 1 }), []);
});

test("allowed_updates filters what the bot receives, and the setting sticks for later calls", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const api = new Api(token, { apiRoot: tg.apiRoot });
  const sari = tg.user();
  tg.openChat(token, sari);
  const menu = await api.sendMessage(sari.id, "Menu", { reply_markup: new InlineKeyboard().text("Katalog", "catalog") });
  await tg.sendText(token, sari, "teks yang tidak diminta");
  await tg.pressButton(token, sari, menu, "catalog");

  const updates = await api.getUpdates({ allowed_updates: ["callback_query"] });
  assert.deepEqual(updates.map((u) => Object.keys(u).filter((k) => k !== "update_id")), [["callback_query"]]);
  await tg.sendText(token, sari, "lagi");
  assert.deepEqual(await api.getUpdates({ offset: updates[0].update_id + 1 }), [], "still only callback queries");
});

test("two instances polling one token: the earlier one is told Conflict (409) and stops", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const older = new Bot(token, { client: { apiRoot: tg.apiRootFor("older") } });
  older.on("message", () => undefined);
  const olderRunning = older.start();
  await tg.waitForPoll(token);

  const newer = new Bot(token, { client: { apiRoot: tg.apiRootFor("newer") } });
  newer.on("message", () => undefined);
  const stopNewer = poll(newer);
  await assert.rejects(olderRunning, (error: unknown) =>
    error instanceof GrammyError && error.error_code === 409 &&
    error.description === "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
  await stopNewer();
  // Which client polled, and which poll was refused: what tests of several instances count.
  assert.deepEqual([tg.conflicts(token)[0].method, tg.conflicts(token)[0].client], ["getUpdates", "older"]);
  assert.deepEqual([...new Set(tg.calls(token, "getUpdates").map((c) => c.client))], ["older", "newer"]);
});

test("a 10,000-character message from a customer arrives as three messages, as Telegram clients split it", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const api = new Api(token, { apiRoot: tg.apiRoot });
  const sari = tg.user();
  const last = await tg.sendText(token, sari, `${"a".repeat(4095)}😀${"b".repeat(5903)}`);
  const updates = await api.getUpdates();
  assert.deepEqual(updates.map((u) => u.message?.text?.length), [4095, 4096, 1809], "the emoji is not cut in half");
  assert.equal(updates[2].message?.message_id, last.message_id);
  await assert.rejects(api.sendMessage("@sari", "halo"), (e: unknown) => e instanceof GrammyError && e.description === "Bad Request: chat not found");
});
