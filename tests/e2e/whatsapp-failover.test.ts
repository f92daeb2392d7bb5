// Two `niaga start` processes on one database and one Redis, with one store whose WhatsApp
// number is linked: only one opens the store's session at the local WhatsApp Web; when that
// one is killed with kill -9, the other takes the session over within the lease period, and
// every customer message — sent before, during and after the takeover — is answered once.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { initI18n, t } from "../../locales/i18n.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { killIfRunning, type LogLine, type Niaga, startNiagaProcess } from "../support/niaga-process.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { seedStore } from "../support/stores.ts";
import { eventually } from "../support/eventually.ts";
import { LocalWhatsAppWeb } from "../support/whatsapp-web/index.ts";
import { linkStoreNumber, WHATSAPP_REPLY_MS, WhatsAppChat, whatsappEnv } from "../support/whatsapp-stores.ts";

const key = randomBytes(32);
/** Short, but not so short that a loaded machine's slow renewal loses it (then the owner reconnects itself). */
const LEASE_MS = 10_000;
const STORE_PHONE = "6281200000002";
const STORE_NAME = "Toko Cadangan";

let db: TestDatabase;
let redis: TestRedis;
let wa: LocalWhatsAppWeb;
const running: Niaga[] = [];
/** The most sockets of the store's number logged in at once, sampled all along. */
let mostAtOnce = 0;
let sampler: NodeJS.Timeout | undefined;

before(async () => {
  await initI18n();
  db = await openTestDatabase("niaga_whatsapp_failover", { indexes: false, encryptionKey: key });
  redis = await startRedis();
  wa = await LocalWhatsAppWeb.start();
  const store = await seedStore({ name: STORE_NAME, locale: "id", products: [{ code: "p1", price: 1000, stock: 1 }] });
  await linkStoreNumber(wa, store.tenant, STORE_PHONE);
  sampler = setInterval(() => {
    mostAtOnce = Math.max(mostAtOnce, wa.sessions().filter((s) => s.phone === STORE_PHONE).length);
  }, 10);
});

after(async () => {
  clearInterval(sampler);
  if (process.env.NIAGA_E2E_LOG) (await import("node:fs")).writeFileSync(process.env.NIAGA_E2E_LOG, running.map((p) => p.stderr).join("\n"));
  for (const platform of running) killIfRunning(platform);
  await Promise.all(running.map((p) => p.exited));
  await wa?.close();
  await redis?.stop();
  await db?.close();
});

async function niaga(): Promise<Niaga> {
  const { platform } = await startNiagaProcess({
    MONGODB_URI: db.uri,
    ENCRYPTION_KEY: key.toString("base64"),
    REDIS_URL: redis.url,
    HTTP_PORT: "0",
    RECONCILE_INTERVAL_MS: "1000",
    WHATSAPP_SESSION_LEASE_MS: String(LEASE_MS),
    LOG_LEVEL: "info",
    NODE_ENV: "test",
    ...whatsappEnv(wa),
  });
  running.push(platform);
  return platform;
}

const welcome = t("id", "catalog.welcome", { store: STORE_NAME });
const sessionTaken = (l: LogLine) => /^whatsapp session lease taken/.test(l.message ?? "");
const storeSockets = () => wa.sessions().filter((s) => s.phone === STORE_PHONE);

describe("two `niaga start` on one store's WhatsApp number (REDIS_URL)", () => {
  const chats: WhatsAppChat[] = [];
  let a: Niaga;
  let b: Niaga;

  before(() => {
    for (let i = 0; i < 3; i++) chats.push(new WhatsAppChat(wa.customer({ phone: `62813222200${i}`, pushName: `Pembeli ${i + 1}` }), STORE_PHONE));
  });

  /** How many `/start`s each customer sent: each must be greeted exactly that many times. */
  let asked = 0;
  async function everyoneAsks(): Promise<void> {
    asked += 1;
    await Promise.all(chats.map((chat) => chat.say("/start")));
  }
  async function everyoneGreeted(): Promise<void> {
    await Promise.all(chats.map((chat) => eventually(() => chat.count(welcome) >= asked, `${chat.customer.phone} greeted ${asked} times`, { timeoutMs: 60_000 })));
  }
  async function assertAnsweredOnce(): Promise<void> {
    // Lets any second answer arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (const chat of chats) assert.equal(chat.count(welcome), asked, `${chat.customer.phone} sent /start ${asked} times`);
  }

  it("only one instance opens the session; the other never connects", async () => {
    a = await niaga();
    await eventually(() => storeSockets().length === 1, "the store's socket logged in", { timeoutMs: WHATSAPP_REPLY_MS });
    b = await niaga();
    await everyoneAsks();
    await everyoneGreeted();
    // Several of b's lease attempts (one a third of the lease) pass while a holds it.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
    await everyoneAsks();
    await everyoneGreeted();
    assert.ok(a.lines.some(sessionTaken), "a runs the session");
    assert.ok(!b.lines.some(sessionTaken), "b never took the session");
    const stats = wa.stats();
    assert.equal(stats.connections, stats.logins, "every connection was a's login (b opened none)");
    assert.equal(mostAtOnce, 1);
    await assertAnsweredOnce();
  });

  it("kill -9 of the owner: the other takes the session over once the lease lapses; no message lost or answered twice", async (t) => {
    const killedAt = Date.now();
    a.child.kill("SIGKILL");
    assert.equal((await a.exited).signal, "SIGKILL");
    // During the takeover: the dead socket is gone, nobody has the session yet.
    await eventually(() => storeSockets().length === 0, "the killed instance's socket closed");
    await everyoneAsks();
    await b.waitForLog(sessionTaken, "b taking the store's session over", LEASE_MS * 4);
    t.diagnostic(`b took the session ${Date.now() - killedAt} ms after a was killed (lease ${LEASE_MS} ms)`);
    await eventually(() => storeSockets().length === 1, "b's socket logged in as the store", { timeoutMs: WHATSAPP_REPLY_MS });
    await everyoneGreeted();
    await everyoneAsks();
    await everyoneGreeted();
    await assertAnsweredOnce();
    assert.equal(mostAtOnce, 1, "never two sockets of the number at once");
    assert.equal(b.child.exitCode, null);
  });
});
