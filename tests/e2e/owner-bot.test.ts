// The owner bot in `niaga start`: two instances on one MongoDB with OWNER_BOT_TOKEN, the
// Telegram emulator for Telegram. One polls it, the owner's /status names the store, a
// stranger's attempt reaches the owner as an alert, and after `kill -9` of the instance that
// polls it, the other answers within the lease period — with no 409 on the way.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { User } from "grammy/types";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { killIfRunning, type Niaga, startNiagaProcess } from "../support/niaga-process.ts";
import { seedStore } from "../support/stores.ts";
import { startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";

const key = randomBytes(32);
const LEASE_MS = 3_000;
const POLLS_HERE = "owner bot: this instance polls it now";

let db: TestDatabase;
let tg: TelegramEmulator;
let ownerToken: string;
let owner: User;
let env: Record<string, string>;
const running: Niaga[] = [];

before(async () => {
  db = await openTestDatabase("niaga_owner_bot", { indexes: false, encryptionKey: key });
  tg = await startTelegramEmulator();
  const { token } = tg.bot();
  ({ token: ownerToken } = tg.bot());
  owner = tg.user({ first_name: "Pemilik", language_code: "id" });
  await seedStore({ slug: "toko-pusat", name: "Toko Pusat", locale: "id", telegram: { token } });
  env = {
    MONGODB_URI: db.uri,
    ENCRYPTION_KEY: key.toString("base64"),
    TELEGRAM_API_ROOT: tg.apiRoot,
    OWNER_BOT_TOKEN: ownerToken,
    OWNER_CHAT_IDS: String(owner.id),
    POLL_LEASE_MS: String(LEASE_MS),
    HTTP_PORT: "0",
    LOG_LEVEL: "info",
    NODE_ENV: "test",
    DEFAULT_LOCALE: "id",
  };
});
after(async () => {
  for (const platform of running) killIfRunning(platform);
  await tg.stop();
  await db.close();
});

async function ask(user: User, text: string, matches: RegExp): Promise<string> {
  const before = tg.sent(ownerToken, user).length;
  await tg.sendText(ownerToken, user, text);
  const reply = await tg.waitForSent(ownerToken, user, (m) => !tg.sent(ownerToken, user).slice(0, before).some((s) => s.message_id === m.message_id) && matches.test(m.text ?? ""), 20_000);
  return reply.text ?? "";
}

describe("the owner bot in niaga start, on two instances", () => {
  it("one instance polls it; the owner's /status names the store; a stranger is refused and the owner told; after kill -9 the other answers", async () => {
    const [{ platform: a }, { platform: b }] = await Promise.all([startNiagaProcess(env), startNiagaProcess(env)]);
    running.push(a, b);
    await tg.waitForPoll(ownerToken, 20_000);
    const holder = a.lines.some((l) => l.message === POLLS_HERE) ? a : b;
    const other = holder === a ? b : a;
    assert.ok(!other.lines.some((l) => l.message === POLLS_HERE), "only one instance polls the owner bot");

    const status = await ask(owner, "/status", /^Niaga/);
    assert.match(status, /toko-pusat — Toko Pusat: aktif/);

    const stranger = tg.user({ first_name: "Orang", language_code: "id" });
    assert.equal(await ask(stranger, "/status", /./), "Maaf, bot ini tidak melayani umum.");
    const alert = await tg.waitForSent(ownerToken, owner, (m) => /Akses bot owner ditolak/.test(m.text ?? ""), 20_000);
    assert.match(alert.text ?? "", new RegExp(String(stranger.id)));

    holder.child.kill("SIGKILL");
    await holder.exited;
    await other.waitForLog((l) => l.message === POLLS_HERE, "taking the owner bot over", LEASE_MS * 4);
    assert.match(await ask(owner, "/help", /Bot owner Niaga/), /\/status/);
    assert.equal(tg.conflicts(ownerToken).length, 0, "never two pollers at once");
    other.child.kill("SIGTERM");
    assert.equal((await other.exited).code, 0);
  });
});
