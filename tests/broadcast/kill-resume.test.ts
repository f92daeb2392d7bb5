// A broadcast to 2,000 Telegram customers survives `kill -9` of the process sending it:
// half-way through, the `niaga start` running the broadcast runner is killed, started again
// as a supervisor would, and goes on by itself. No chat receives the broadcast twice and
// every chat receives it — counted at the emulator, where a crash cannot make anything up —
// and the ledger says the same. The one exception is named: a recipient marked "sending"
// when the process died (in doubt: the message was on its way to the wire) is recorded
// sent and never sent again, so its chat may lack it if the kill came before the request
// left.
//
// The runner's pace is set far above Telegram's (150/s) with the emulator's flood limits
// above that, so the bot's own pacer (30/s per bot) sets the speed; Telegram's figures are
// the benchmark's (`npm run bench:broadcast`).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Message, User } from "grammy/types";
import { initI18n } from "../../locales/i18n.ts";
import { broadcastPlatformEnv, openBroadcasts, recipientsOf, type BroadcastHandle } from "../support/broadcast-runs.ts";
import { openChats, seedTelegramCustomers, tallyDeliveries } from "../support/broadcast-chats.ts";
import { eventually } from "../support/eventually.ts";
import { freePort } from "../support/free-port.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { killIfRunning, startNiagaProcess, type Niaga } from "../support/niaga-process.ts";
import { seedStore, type SeededStore } from "../support/stores.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";

const RECIPIENTS = 2000;
const RATE = 150;
const MARKER = `Promo kilat ${randomBytes(3).toString("hex")}`;
const key = randomBytes(32);

let db: TestDatabase;
let tg: TelegramEmulator;
let token: string;
let store: SeededStore;
let audience: User[];
let env: Record<string, string>;
let platform: Niaga | undefined;

const isBroadcast = (m: Message) => (m.text ?? m.caption ?? "").includes(MARKER);
const received = () => tg.sent(token).filter(isBroadcast).length;

before(async () => {
  await initI18n();
  db = await openTestDatabase("niaga_broadcast_kill", { indexes: false, encryptionKey: key });
  // Above the runner's pace, so this test proves exactly-once, not pacing (a 429 would only slow it).
  tg = await startTelegramEmulator({ floodLimits: { perChatPerSecond: 1, perBotPerSecond: RATE * 4 } });
  ({ token } = tg.bot());
  store = await seedStore({ name: "Toko Siaran", telegram: { token, mode: "webhook" } });
  audience = openChats(tg, token, RECIPIENTS);
  await seedTelegramCustomers(store.tenant, audience);
  env = broadcastPlatformEnv({ uri: db.uri, key, apiRoot: tg.apiRoot, rate: RATE, port: await freePort() });
});

after(async () => {
  killIfRunning(platform);
  await platform?.exited;
  await tg?.stop();
  await db?.close();
});

describe("a broadcast killed half-way (kill -9) and started again", () => {
  let broadcast: BroadcastHandle;

  it("none of 2,000 chats receives it twice, every one not in doubt receives it, and the ledger agrees", { timeout: 300_000 }, async (t) => {
    ({ platform } = await startNiagaProcess(env));
    const first = platform;
    const broadcasts = openBroadcasts();
    broadcast = await broadcasts.sendNow(store.tenantId, MARKER);

    await eventually(() => received() >= RECIPIENTS / 2, "half of the broadcast at the emulator", { timeoutMs: 120_000, everyMs: 50 });
    first.child.kill("SIGKILL");
    assert.equal((await first.exited).signal, "SIGKILL");
    const atKill = received();
    const killedAt = Date.now();
    t.diagnostic(`killed with ${atKill} of ${RECIPIENTS} received`);
    assert.ok(atKill < RECIPIENTS, `the broadcast was still going when killed (${atKill} received)`);
    assert.notEqual((await broadcasts.get(broadcast)).status, "done");

    // Nothing but the restart: the runner finds the broadcast and its ledger by itself.
    ({ platform } = await startNiagaProcess(env));
    await eventually(async () => (await broadcasts.get(broadcast)).status === "done", "the broadcast to be done after the restart", { timeoutMs: 180_000, everyMs: 200 });
    t.diagnostic(`done ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`);

    const ledger = await recipientsOf(broadcast);
    assert.equal(ledger.length, RECIPIENTS, "one ledger entry per recipient");
    assert.deepEqual(ledger.filter((r) => r.state !== "sent").map((r) => `${r.chatId}: ${r.state}`), []);
    const inDoubt = new Set(ledger.filter((r) => r.inDoubt).map((r) => Number(r.chatId)));
    const counts = (await broadcasts.get(broadcast)).counts!;
    assert.deepEqual(
      { total: counts.total, sent: counts.sent, failed: counts.failed, skipped: counts.skipped, queued: counts.queued, inDoubt: counts.inDoubt },
      { total: RECIPIENTS, sent: RECIPIENTS, failed: 0, skipped: 0, queued: 0, inDoubt: inDoubt.size },
    );

    const tally = tallyDeliveries(tg.sent(token), audience, isBroadcast);
    assert.deepEqual(tally.duplicated, [], "no chat received it twice");
    assert.deepEqual(tally.strangers, [], "nobody outside the audience received it");
    // A recipient marked "sending" when the process died is recorded sent and never sent
    // again: the kill may have landed after the mark and before the request left, so such a
    // chat may lack it. Every other chat has it exactly once.
    assert.deepEqual(tally.missing.filter((chat) => !inDoubt.has(chat)), [], "no chat was left out");
    t.diagnostic(`${inDoubt.size} recipient(s) in doubt after the kill, ${[...inDoubt].filter((chat) => tally.missing.includes(chat)).length} of them without the message`);
    assert.ok(tally.messages > atKill, "the restarted process sent the rest");
  });
});
