// A store bot in webhook mode: the emulator POSTs updates to a local HTTP server that
// runs grammY's `webhookCallback(bot, "http", { secretToken })`.
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Api, Bot, GrammyError, webhookCallback } from "grammy";
import { startTelegramEmulator } from "../support/telegram-emulator.ts";
import type { TelegramEmulator } from "../support/telegram-emulator.ts";

const SECRET = "toko-demo_webhook_secret";

async function emulator(t: TestContext): Promise<TelegramEmulator> {
  const tg = await startTelegramEmulator({ webhookRetryDelayMs: 5 });
  t.after(() => tg.stop());
  return tg;
}

/** A local HTTP server standing in for the platform's `/telegram/<tenant>` endpoint. */
async function webhookServer(t: TestContext, handle: (req: IncomingMessage, res: ServerResponse) => Promise<unknown>): Promise<string> {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/telegram/toko-demo`;
}

function echoBot(tg: TelegramEmulator, token: string, seen: string[]): Bot {
  const bot = new Bot(token, { client: { apiRoot: tg.apiRoot } });
  bot.on("message:text", async (ctx) => {
    seen.push(ctx.message.text);
    await ctx.reply(`Kamu bilang: ${ctx.message.text}`);
  });
  return bot;
}

test("with a webhook set, updates are POSTed with the secret header and the bot's replies arrive", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  const seen: string[] = [];
  const secrets: Array<string | undefined> = [];
  const bot = echoBot(tg, token, seen);
  const handle = webhookCallback(bot, "http", { secretToken: SECRET });
  const url = await webhookServer(t, (req, res) => {
    secrets.push(req.headers["x-telegram-bot-api-secret-token"] as string | undefined);
    return handle(req, res);
  });
  await bot.api.setWebhook(url, { secret_token: SECRET });

  await tg.sendText(token, sari, "halo");
  await tg.sendText(token, sari, "apa kabar");
  await tg.waitForSent(token, sari, (m) => m.text === "Kamu bilang: apa kabar");

  assert.deepEqual(seen, ["halo", "apa kabar"]);
  assert.deepEqual(secrets, [SECRET, SECRET]);
  const info = await bot.api.getWebhookInfo();
  assert.equal(info.url, url);
  assert.equal(info.pending_update_count, 0);
  assert.equal(info.last_error_message, undefined);
});

test("a request with the wrong secret header gets 401 and is not processed", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  const seen: string[] = [];
  const bot = echoBot(tg, token, seen);
  const url = await webhookServer(t, webhookCallback(bot, "http", { secretToken: SECRET }));
  await bot.api.setWebhook(url, { secret_token: SECRET });
  await tg.sendText(token, sari, "asli");
  await tg.waitForSent(token, sari, (m) => m.text === "Kamu bilang: asli");

  const forged = { update_id: 999, message: { message_id: 99, date: 0, chat: { id: sari.id, type: "private", first_name: "x" }, from: sari, text: "palsu" } };
  const wrongOrMissing: Array<Record<string, string>> = [{ "x-telegram-bot-api-secret-token": "wrong-secret" }, {}];
  for (const header of wrongOrMissing) {
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...header }, body: JSON.stringify(forged) });
    assert.equal(response.status, 401);
    assert.equal(await response.text(), "secret token is wrong");
  }
  assert.deepEqual(seen, ["asli"]);
  assert.equal(tg.calls(token, "sendMessage").length, 1);
});

test("a webhook that fails is retried until it answers 2xx, and getWebhookInfo reports the last error", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  const seen: string[] = [];
  const bot = echoBot(tg, token, seen);
  const handle = webhookCallback(bot, "http", { secretToken: SECRET });
  let attempts = 0;
  const url = await webhookServer(t, async (req, res) => {
    attempts += 1;
    if (attempts <= 2) {
      req.resume();
      res.writeHead(503).end();
      return;
    }
    await handle(req, res);
  });
  await bot.api.setWebhook(url, { secret_token: SECRET });
  await tg.sendText(token, sari, "tetap sampai");
  await tg.waitForSent(token, sari, (m) => m.text === "Kamu bilang: tetap sampai");

  assert.equal(attempts, 3);
  assert.deepEqual(seen, ["tetap sampai"], "delivered once it succeeded, not once per attempt");
  const info = await bot.api.getWebhookInfo();
  assert.equal(info.last_error_message, "Wrong response from the webhook: 503 Service Unavailable");
  assert.equal(typeof info.last_error_date, "number");
  assert.equal(info.pending_update_count, 0);
});

test("a reply made in the webhook response (grammY's webhook reply) is carried out", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  const bot = new Bot(token, { client: { apiRoot: tg.apiRoot, canUseWebhookReply: (method) => method === "sendMessage" } });
  bot.on("message:text", (ctx) => ctx.reply("dibalas lewat webhook"));
  const url = await webhookServer(t, webhookCallback(bot, "http", { secretToken: SECRET }));
  await bot.api.setWebhook(url, { secret_token: SECRET });
  await tg.sendText(token, sari, "halo");

  await tg.waitForSent(token, sari, (m) => m.text === "dibalas lewat webhook");
  const [call] = tg.calls(token, "sendMessage");
  assert.equal(call.viaWebhookReply, true);
});

test("while a webhook is set getUpdates answers 409; deleting it with drop_pending_updates empties the queue", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const api = new Api(token, { apiRoot: tg.apiRoot });
  const sari = tg.user();
  // Nothing listens on this port: updates stay queued and getWebhookInfo says why.
  await api.setWebhook("http://127.0.0.1:9/telegram/down", { secret_token: SECRET });
  await assert.rejects(api.getUpdates(), (error: unknown) =>
    error instanceof GrammyError && error.error_code === 409 &&
    error.description === "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");

  await tg.sendText(token, sari, "tertunda");
  assert.equal((await api.getWebhookInfo()).pending_update_count, 1);
  await api.deleteWebhook({ drop_pending_updates: true });
  assert.deepEqual(await api.getWebhookInfo(), { url: "", has_custom_certificate: false, pending_update_count: 0 });
  assert.deepEqual(await api.getUpdates(), []);
});

test("setting a webhook ends a running long poll with 409, so a switch to webhooks must stop polling first", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const polling = new Bot(token, { client: { apiRoot: tg.apiRoot } });
  polling.on("message", () => undefined);
  const running = polling.start();
  await tg.waitForPoll(token);
  await new Api(token, { apiRoot: tg.apiRoot }).setWebhook("http://127.0.0.1:9/telegram/x");
  await assert.rejects(running, (error: unknown) =>
    error instanceof GrammyError && error.description === "Conflict: terminated by setWebhook request");
});

test("setWebhook refuses a secret token with characters Telegram does not allow", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const api = new Api(token, { apiRoot: tg.apiRoot });
  await assert.rejects(api.setWebhook("http://127.0.0.1:9/x", { secret_token: "has spaces!" }), (error: unknown) =>
    error instanceof GrammyError && error.error_code === 400);
});
