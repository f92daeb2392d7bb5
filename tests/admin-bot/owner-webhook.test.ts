// The owner bot on a webhook (OWNER_BOT_MODE=webhook): Telegram posts to /telegram-owner with
// the secret derived from the encryption key; the owner is answered, anyone without the
// secret gets 401, and a stopping bot 503 so Telegram keeps the update.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createPlatformHttp, type PlatformHttp } from "../../bots/http-server.ts";
import { logger } from "../../bots/logger.ts";
import { ownerWebhookSecret } from "../../bots/owner-control.ts";
import { startOwnerBotWorld, type OwnerBotWorld } from "./owner-bot-fixture.ts";

let world: OwnerBotWorld;
let http: PlatformHttp;
before(async () => {
  world = await startOwnerBotWorld();
  await world.bot.stop(2_000);
  http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
});
after(async () => {
  await http?.close();
  await world?.close();
});

describe("the owner bot on a webhook", () => {
  test("Telegram's posts with the secret are answered; without it 401; while stopping 503", async () => {
    const secret = ownerWebhookSecret(randomBytes(32));
    const port = await http.open(0, "127.0.0.1");
    const url = `http://127.0.0.1:${port}/telegram-owner`;
    const bot = world.ownerBot({ webhook: { url, secret } });
    http.register(bot.routes!);
    await http.serve();
    await bot.start();
    const hook = await world.stores.tg.waitForCall(world.ownerToken, "setWebhook");
    assert.equal((hook.params as { url?: string }).url, url);

    const [status] = await world.ask(world.owner, "/status");
    assert.match(status!, /^Niaga/);
    assert.equal(bot.polling, false, "nothing polls");
    assert.equal(world.stores.tg.calls(world.ownerToken, "getUpdates").filter((c) => c.client === undefined && c.receivedAt > hook.receivedAt).length, 0);

    const update = { update_id: 1, message: { message_id: 1, date: 0, chat: { id: world.owner.id, type: "private" }, from: world.owner, text: "/status" } };
    const post = (headers: Record<string, string>) => fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(update) });
    assert.equal((await post({})).status, 401);
    assert.equal((await post({ "x-telegram-bot-api-secret-token": "not-the-secret" })).status, 401);
    await bot.stop(2_000);
    assert.equal((await post({ "x-telegram-bot-api-secret-token": secret })).status, 503);
  });
});
