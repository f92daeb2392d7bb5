// Two `niaga start` processes on one database and one Redis, as an operator runs them for
// availability, both running the broadcast runner: one broadcast to 1,000 Telegram
// customers is shared between them — each claims recipients atomically from the ledger —
// and every chat receives it exactly once. The emulator tags each process's Bot API calls
// (`apiRootFor`), so it can tell who sent what.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Message, User } from "grammy/types";
import { initI18n } from "../../locales/i18n.ts";
import { broadcastPlatformEnv, openBroadcasts, recipientsOf } from "../support/broadcast-runs.ts";
import { openChats, seedTelegramCustomers, tallyDeliveries } from "../support/broadcast-chats.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { killIfRunning, startNiagaProcess, type Niaga } from "../support/niaga-process.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { seedStore, type SeededStore } from "../support/stores.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";

const RECIPIENTS = 1000;
/** Slow enough that the second instance's runner finds the broadcast before the first has sent it all. */
const RATE = 40;
const MARKER = `Promo berdua ${randomBytes(3).toString("hex")}`;
const key = randomBytes(32);

let db: TestDatabase;
let redis: TestRedis;
let tg: TelegramEmulator;
let token: string;
let store: SeededStore;
let audience: User[];
const running: Niaga[] = [];

const isBroadcast = (m: Message) => (m.text ?? m.caption ?? "").includes(MARKER);

before(async () => {
  await initI18n();
  db = await openTestDatabase("niaga_broadcast_two", { indexes: false, encryptionKey: key });
  redis = await startRedis();
  tg = await startTelegramEmulator({ floodLimits: { perChatPerSecond: 1, perBotPerSecond: RATE * 4 } });
  ({ token } = tg.bot());
  store = await seedStore({ name: "Toko Dua Mesin", telegram: { token, mode: "polling" } });
  audience = openChats(tg, token, RECIPIENTS);
  await seedTelegramCustomers(store.tenant, audience);
});

after(async () => {
  for (const platform of running) killIfRunning(platform);
  await Promise.all(running.map((p) => p.exited));
  await redis?.stop();
  await tg?.stop();
  await db?.close();
});

/** `niaga start` whose Bot API calls the emulator tags with `client`. */
async function instance(client: string): Promise<Niaga> {
  const { platform } = await startNiagaProcess(broadcastPlatformEnv({ uri: db.uri, key, apiRoot: tg.apiRootFor(client), rate: RATE, more: { REDIS_URL: redis.url } }));
  running.push(platform);
  return platform;
}

describe("two instances sending one broadcast", () => {
  it("every one of 1,000 chats receives it exactly once, and both instances sent part of it", { timeout: 300_000 }, async (t) => {
    await Promise.all([instance("a"), instance("b")]);
    const broadcasts = openBroadcasts();
    const broadcast = await broadcasts.sendNow(store.tenantId, MARKER);
    await eventually(async () => (await broadcasts.get(broadcast)).status === "done", "the broadcast to be done", { timeoutMs: 240_000, everyMs: 200 });

    const tally = tallyDeliveries(tg.sent(token), audience, isBroadcast);
    assert.deepEqual(tally.duplicated, [], "no chat received it twice");
    assert.deepEqual(tally.missing, [], "no chat was left out");
    assert.equal(tally.messages, RECIPIENTS);

    const sentBy = new Map<string, number>();
    for (const call of tg.calls(token, "sendMessage")) {
      if (call.response?.ok === true && String(call.params.text ?? "").includes(MARKER)) sentBy.set(call.client ?? "?", (sentBy.get(call.client ?? "?") ?? 0) + 1);
    }
    t.diagnostic(`sent by a: ${sentBy.get("a") ?? 0}, by b: ${sentBy.get("b") ?? 0}`);
    assert.ok((sentBy.get("a") ?? 0) > 0 && (sentBy.get("b") ?? 0) > 0, `both instances sent some: ${JSON.stringify(Object.fromEntries(sentBy))}`);

    const counts = (await broadcasts.get(broadcast)).counts!;
    assert.deepEqual({ sent: counts.sent, failed: counts.failed, skipped: counts.skipped, inDoubt: counts.inDoubt }, { sent: RECIPIENTS, failed: 0, skipped: 0, inDoubt: 0 });
    const ledger = await recipientsOf(broadcast);
    assert.equal(ledger.length, RECIPIENTS);
  });
});
