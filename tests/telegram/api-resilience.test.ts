// resilientCalls (adapters/telegram/api-resilience.ts) installed on real grammY, against
// the emulator's injected faults. Waits are recorded by an injected sleep, so the tests
// assert what was asked for (which wait, how many attempts), never how long anything took.
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { Api, Bot, GrammyError, HttpError } from "grammy";
import { resilientCalls } from "../../adapters/telegram/api-resilience.ts";
import type { ResilientCallsOptions, UnreachableReason } from "../../adapters/telegram/api-resilience.ts";
import { startTelegramEmulator } from "../support/telegram-emulator.ts";

async function setup(t: TestContext, options: ResilientCallsOptions = {}) {
  const tg = await startTelegramEmulator();
  t.after(() => tg.stop());
  const { token } = tg.bot();
  const sari = tg.user({ first_name: "Sari" });
  tg.openChat(token, sari);
  const waits: number[] = [];
  const logged: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const unauthorized: number[] = [];
  const blocked: Array<[number, UnreachableReason]> = [];
  const api = new Api(token, { apiRoot: tg.apiRoot });
  api.config.use(resilientCalls({
    sleep: async (ms) => void waits.push(ms),
    random: () => 0.5,
    log: { warn: (message, fields) => void logged.push({ message, fields }) },
    onUnauthorized: () => void unauthorized.push(1),
    onBlocked: (chatId, reason) => void blocked.push([chatId, reason]),
    ...options,
  }));
  const outcomes = (method: string) => tg.calls(token, method).map((c) => c.response?.error_code ?? (c.response?.ok ? "ok" : "dropped"));
  return { tg, token, sari, api, waits, logged, unauthorized, blocked, outcomes };
}

const isApiError = (code: number) => (error: unknown) => error instanceof GrammyError && error.error_code === code;

test("a 429 is retried after exactly the retry_after Telegram asked for, then the message goes out", async (t) => {
  const { tg, token, sari, api, waits, outcomes } = await setup(t);
  tg.failNext(token, "sendMessage", { status: 429, retryAfter: 3 });
  const sent = await api.sendMessage(sari.id, "Pesanan #1042 dibayar");
  assert.equal(sent.text, "Pesanan #1042 dibayar");
  assert.deepEqual(outcomes("sendMessage"), [429, "ok"]);
  assert.deepEqual(waits, [3000]);
  assert.equal(tg.sent(token, sari).length, 1);
});

test("with the default sleep, a 429 with retry_after 1 really waits and then succeeds", async (t) => {
  const { tg, token, sari, outcomes } = await setup(t);
  const api = new Api(token, { apiRoot: tg.apiRoot });
  api.config.use(resilientCalls());
  tg.failNext(token, "sendMessage", { status: 429, retryAfter: 1 });
  assert.equal((await api.sendMessage(sari.id, "sabar")).text, "sabar");
  assert.deepEqual(outcomes("sendMessage"), [429, "ok"]);
});

test("server errors are retried with growing back-off until the call succeeds", async (t) => {
  const { tg, token, sari, api, waits, outcomes } = await setup(t, { baseDelayMs: 100 });
  tg.failNext(token, "sendMessage", { status: 500, times: 2 });
  assert.equal((await api.sendMessage(sari.id, "akhirnya")).text, "akhirnya");
  assert.deepEqual(outcomes("sendMessage"), [500, 500, "ok"]);
  // Equal jitter with random() = 0.5: three quarters of 100 ms, then of 200 ms.
  assert.deepEqual(waits, [75, 150]);
});

test("a dropped connection (HttpError) is retried, and the token never reaches the log", async (t) => {
  const { tg, token, sari, api, waits, logged, outcomes } = await setup(t);
  tg.failNext(token, "sendMessage", { dropConnection: true });
  assert.equal((await api.sendMessage(sari.id, "tersambung lagi")).text, "tersambung lagi");
  assert.deepEqual(outcomes("sendMessage"), ["dropped", "ok"]);
  assert.equal(waits.length, 1);
  assert.ok(logged.length > 0);
  assert.ok(!JSON.stringify(logged).includes(token.split(":")[1]), "the token's secret part is never logged");
});

test("a 400 is not retried: exactly one call, and the caller gets Telegram's error", async (t) => {
  const { token, sari, api, waits, tg } = await setup(t);
  await assert.rejects(api.sendMessage(sari.id, "x".repeat(5000)), isApiError(400));
  assert.equal(tg.calls(token, "sendMessage").length, 1);
  assert.deepEqual(waits, []);
});

test("a revoked token (401) reports onUnauthorized once across calls and is never retried", async (t) => {
  const { tg, token, sari, api, unauthorized, waits } = await setup(t);
  tg.revoke(token);
  await assert.rejects(api.sendMessage(sari.id, "halo"), isApiError(401));
  await assert.rejects(api.getMe(), isApiError(401));
  assert.deepEqual(unauthorized, [1]);
  assert.equal(tg.calls(token).length, 2);
  assert.deepEqual(waits, []);
});

test("a customer who blocked the bot or deleted their account is reported with the chat id, and not retried", async (t) => {
  const { tg, token, sari, api, blocked } = await setup(t);
  const budi = tg.user({ first_name: "Budi" });
  tg.openChat(token, budi);
  tg.blockBy(token, sari);
  tg.deactivateUser(budi);
  await assert.rejects(api.sendMessage(sari.id, "promo"), isApiError(403));
  await assert.rejects(api.sendPhoto(String(budi.id), "no-matter"), isApiError(403));
  assert.deepEqual(blocked, [[sari.id, "blocked"], [budi.id, "deactivated"]]);
  assert.equal(tg.calls(token).length, 2);
});

test("the retry budget is respected: after maxRetries the last error is what the caller gets", async (t) => {
  const { tg, token, sari, api, outcomes } = await setup(t, { maxRetries: 2 });
  tg.failNext(token, "sendMessage", { status: 502, times: 10 });
  await assert.rejects(api.sendMessage(sari.id, "tidak akan sampai"), isApiError(502));
  assert.deepEqual(outcomes("sendMessage"), [502, 502, 502]);

  tg.failNext(token, "getMe", { dropConnection: true, times: 10 });
  await assert.rejects(api.getMe(), (error: unknown) => error instanceof HttpError);
  assert.deepEqual(outcomes("getMe"), ["dropped", "dropped", "dropped"]);
});

test("a retry_after longer than the cap fails at once instead of freezing the conversation", async (t) => {
  const { tg, token, sari, api, waits, outcomes } = await setup(t, { maxRetryAfterSec: 30 });
  tg.failNext(token, "sendMessage", { status: 429, retryAfter: 120 });
  await assert.rejects(api.sendMessage(sari.id, "nanti"), (error: unknown) => isApiError(429)(error) && (error as GrammyError).parameters.retry_after === 120);
  assert.deepEqual(outcomes("sendMessage"), [429]);
  assert.deepEqual(waits, []);
});

test("an aborted call stops retrying and returns the last answer", async (t) => {
  const controller = new AbortController();
  const { tg, token, sari, api, outcomes } = await setup(t, { sleep: async () => controller.abort() });
  tg.failNext(token, "sendMessage", { status: 500, times: 5 });
  // grammY's Node typings name the abort-controller polyfill's AbortSignal; a native one works at run time.
  const signal = controller.signal as unknown as Parameters<Api["sendMessage"]>[3];
  await assert.rejects(api.sendMessage(sari.id, "batal", undefined, signal), isApiError(500));
  assert.deepEqual(outcomes("sendMessage"), [500]);
});

test("a callback that throws is logged, and the caller still gets Telegram's error", async (t) => {
  const { tg, token, sari, api, logged } = await setup(t, { onBlocked: () => { throw new Error("database down"); } });
  tg.blockBy(token, sari);
  await assert.rejects(api.sendMessage(sari.id, "promo"), isApiError(403));
  assert.ok(logged.some((l) => l.message === "telegram onBlocked handler failed" && String(l.fields?.error).includes("database down")));
});

test("installed on bot.api, it also covers replies made through ctx in a polling bot", async (t) => {
  const { tg, token, sari, outcomes, waits } = await setup(t);
  const bot = new Bot(token, { client: { apiRoot: tg.apiRoot } });
  bot.api.config.use(resilientCalls({ sleep: async (ms) => void waits.push(ms), random: () => 0 }));
  bot.on("message:text", (ctx) => ctx.reply("Stok tersedia: 12"));
  tg.failNext(token, "sendMessage", { status: 500 });
  const running = bot.start();
  await tg.sendText(token, sari, "stok?");
  await tg.waitForSent(token, sari, (m) => m.text === "Stok tersedia: 12");
  await bot.stop();
  await running;
  assert.deepEqual(outcomes("sendMessage"), [500, "ok"]);
  assert.deepEqual(waits, [250]);
});
