// Two instances sending for one bot: each has its own OutgoingPacer, and together they stay
// within Telegram's 30 messages a second because the budget is shared through a real Redis
// (storage/shared-pace.ts). Without the shared budget the same traffic is refused by the
// emulator's flood limits — the control that shows the test can fail.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Api } from "grammy";
import { Redis } from "ioredis";
import { OutgoingPacer, sendingProactively } from "../../adapters/telegram/outgoing-pacer.ts";
import { createRedisPace, REDIS_PACE_PREFIX } from "../../storage/shared-pace.ts";
import type { SharedPace } from "../../storage/shared-pace.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";

let tg: TelegramEmulator;
let server: TestRedis;
let redis: Redis;

before(async () => {
  tg = await startTelegramEmulator();
  tg.enforceFloodLimits({ perBotPerSecond: 30 });
  server = await startRedis();
  redis = new Redis(server.url);
});
after(async () => {
  redis.disconnect();
  await server.stop();
  await tg.stop();
});

/** One instance's view of the bot: its own Api and pacer, on the shared budget when given. */
function instance(token: string, pace?: SharedPace, key = "bot") {
  const pacer = new OutgoingPacer(pace ? { shared: { pace, key } } : {});
  const api = new Api(token, { apiRoot: tg.apiRoot });
  api.config.use(pacer.transformer());
  return { api, pacer };
}

/** Each instance sends one proactive message to each of its own customers, all at once. */
async function burst(token: string, instances: Array<ReturnType<typeof instance>>, perInstance: number): Promise<void> {
  const sends = instances.flatMap(({ api }, i) =>
    Array.from({ length: perInstance }, (_, n) => {
      const user = tg.user({ first_name: `Pembeli ${i}-${n}` });
      tg.openChat(token, user);
      return sendingProactively(() => api.sendMessage(user.id, `Promo ${i}-${n}`)).then(
        () => "sent",
        (error: unknown) => String(error),
      );
    }),
  );
  const outcomes = await Promise.all(sends);
  assert.ok(outcomes.length > 0);
}

describe("two instances sending for one bot", () => {
  it("without a shared budget, together they go over the bot's limit and Telegram refuses some (the control)", async () => {
    const { token } = tg.bot();
    const both = [instance(token), instance(token)];
    await burst(token, both, 25);
    assert.ok(tg.floodRefusals(token).length > 0, "two pacers of 30/s each exceed 30/s together");
    for (const { pacer } of both) pacer.close();
  });

  it("with the budget shared through Redis, Telegram refuses none of 50 messages sent at once", async () => {
    const { token } = tg.bot();
    const key = `bot-${token.split(":")[0]}`;
    const both = [instance(token, createRedisPace(redis), key), instance(token, createRedisPace(redis), key)];
    await burst(token, both, 25);
    assert.equal(tg.calls(token, "sendMessage").filter((c) => !c.floodRefused).length, 50);
    assert.deepEqual(tg.floodRefusals(token), []);
    for (const { pacer } of both) pacer.close();
  });

  it("a flood wait one instance was given holds the bot on every instance", async () => {
    const { token } = tg.bot();
    const key = `bot-${token.split(":")[0]}`;
    const pace = createRedisPace(redis);
    const a = instance(token, pace, key);
    const user = tg.user();
    tg.openChat(token, user);
    tg.failNext(token, "sendMessage", { status: 429, retryAfter: 3 });
    await a.api.sendMessage(user.id, "satu").catch(() => undefined);
    const held = await redis.pttl(`${REDIS_PACE_PREFIX}hold:${key}`);
    assert.ok(held > 0 && held <= 3000, `the hold lasts what Telegram asked (${held} ms)`);
    const other = createRedisPace(redis);
    const { waitMs } = await other.take(key, 30, 1000);
    assert.ok(waitMs > 0, "another instance is told to wait");
    a.pacer.close();
  });

  it("a Redis that does not answer never holds a message back: the local pacing goes on alone", async () => {
    const { token } = tg.bot();
    const unreachable = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    unreachable.on("error", () => undefined);
    const a = instance(token, createRedisPace(unreachable, { timeoutMs: 100 }), "gone");
    const user = tg.user();
    tg.openChat(token, user);
    await sendingProactively(() => a.api.sendMessage(user.id, "tetap terkirim"));
    assert.equal(tg.sent(token, user).length, 1);
    a.pacer.close();
    unreachable.disconnect();
  });
});
