// The emulator's flood control, on a bare grammY bot with nothing pacing it: what a bot
// that ignores Telegram's limits gets back.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Api, GrammyError } from "grammy";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";

describe("the emulator's flood limits", () => {
  let tg: TelegramEmulator;
  before(async () => {
    tg = await startTelegramEmulator({ floodLimits: { perChatPerSecond: 1, perBotPerSecond: 30 } });
  });
  after(() => tg.stop());

  it("refuse a second message in a chat within a second with 429 and retry_after", async () => {
    const { token } = tg.bot();
    const api = new Api(token, { apiRoot: tg.apiRoot });
    const sari = tg.user();
    tg.openChat(token, sari);
    await api.sendMessage(sari.id, "satu");
    const refused = await api.sendMessage(sari.id, "dua").catch((error: unknown) => error);
    assert.ok(refused instanceof GrammyError);
    assert.equal(refused.error_code, 429);
    assert.equal(refused.parameters.retry_after, 1);
    assert.match(refused.description, /^Too Many Requests: retry after 1$/);
    assert.equal(tg.floodRefusals(token).length, 1);
    await api.sendChatAction(sari.id, "typing");
    assert.deepEqual(tg.sent(token, sari).map((m) => m.text), ["satu"], "the refused message was not delivered; chat actions do not count");
  });

  it("refuse the bot's 31st message within a second, whatever the chat", async () => {
    const { token } = tg.bot();
    const api = new Api(token, { apiRoot: tg.apiRoot });
    const users = Array.from({ length: 40 }, () => tg.user());
    for (const user of users) tg.openChat(token, user);
    const outcomes = await Promise.all(users.map((user) => api.sendMessage(user.id, "promo").then(() => "sent", (error: unknown) => (error as GrammyError).error_code)));
    assert.equal(outcomes.filter((o) => o === "sent").length, 30);
    assert.equal(outcomes.filter((o) => o === 429).length, 10);
  });

  it("are off unless asked for", async () => {
    tg.enforceFloodLimits(undefined);
    try {
      const { token } = tg.bot();
      const api = new Api(token, { apiRoot: tg.apiRoot });
      const sari = tg.user();
      tg.openChat(token, sari);
      for (const text of ["satu", "dua", "tiga"]) await api.sendMessage(sari.id, text);
      assert.equal(tg.floodRefusals(token).length, 0);
    } finally {
      tg.enforceFloodLimits({ perChatPerSecond: 1, perBotPerSecond: 30 });
    }
  });
});
