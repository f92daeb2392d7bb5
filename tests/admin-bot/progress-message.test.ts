// A progress message through the Bot API emulator: updates in a burst make at most one edit
// per pause (Telegram limits edits), the latest text wins, the final text always goes out,
// and nothing is edited after it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Bot } from "grammy";
import type { User } from "grammy/types";
import { ProgressMessage } from "../../admin-bot/progress-message.ts";
import { eventually } from "../support/eventually.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";

let tg: TelegramEmulator;
let token: string;
let owner: User;
let bot: Bot;
const warnings: string[] = [];
const log = { warn: (message: string) => void warnings.push(message) };

before(async () => {
  tg = await startTelegramEmulator();
  token = tg.bot().token;
  owner = tg.user({ first_name: "Pemilik" });
  tg.openChat(token, owner);
  bot = new Bot(token, { client: { apiRoot: tg.apiRoot } });
});
after(async () => {
  await tg?.stop();
});

const edits = (messageId: number) => tg.calls(token, "editMessageText").filter((c) => Number(c.params.message_id) === messageId);
const shown = (messageId: number) => tg.sent(token, owner).find((m) => m.message_id === messageId)?.text;

describe("a progress message", () => {
  test("a burst of updates is one edit, with the latest text, once the pause is over; the final text follows", async () => {
    const progress = await ProgressMessage.open(bot.api, owner.id, "Mulai", { everyMs: 500, log });
    const id = tg.sent(token, owner).at(-1)!.message_id;
    for (let i = 1; i <= 100; i++) progress.update(`Langkah ${i}`);
    await eventually(() => edits(id).length === 1, "the one edit of the burst");
    assert.equal(shown(id), "Langkah 100", "the latest text wins");
    for (let i = 101; i <= 200; i++) progress.update(`Langkah ${i}`);
    await progress.finish("Selesai");
    assert.deepEqual(edits(id).map((c) => c.params.text), ["Langkah 100", "Selesai"], "the burst after the first edit was overtaken by the final text");
    progress.update("Terlambat");
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(shown(id), "Selesai", "nothing is edited after the final text");
    assert.deepEqual(warnings, []);
  });

  test("a final text whose edit Telegram refuses goes out as a new message", async () => {
    const progress = await ProgressMessage.open(bot.api, owner.id, "Mulai", { everyMs: 0, log });
    const id = tg.sent(token, owner).at(-1)!.message_id;
    tg.failNext(token, "editMessageText", { status: 400, description: "Bad Request: message to edit not found" });
    await progress.finish("Hasil akhir");
    assert.equal(shown(id), "Mulai");
    assert.equal(tg.sent(token, owner).at(-1)!.text, "Hasil akhir");
    assert.equal(warnings.length, 1);
  });
});
