// A store's WhatsApp session against the local WhatsApp Web with the real Baileys socket:
// it opens, and each way the server closes it leads to the lifecycle's action.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createEngine, MemorySessionStore } from "../../flows/engine/index.ts";
import type { Engine } from "../../flows/engine/index.ts";
import { initI18n } from "../../locales/i18n.ts";
import { Tenant } from "../../storage/models/index.ts";
import { createMongoWhatsAppSessionStore } from "../../storage/whatsapp/auth-state.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase } from "../support/mongo.ts";
import type { TestDatabase } from "../support/mongo.ts";
import { LocalWhatsAppWeb } from "../support/whatsapp-web/index.ts";
import { newPhone, openChannel, seedLinkedStore, socketOf } from "./harness.ts";
import type { ChannelSetup } from "./harness.ts";

let db: TestDatabase;
let wa: LocalWhatsAppWeb;
let engine: Engine;

before(async () => {
  await initI18n();
  db = await openTestDatabase("whatsapp_sessions");
  wa = await LocalWhatsAppWeb.start();
  engine = createEngine({ flows: [], actions: {}, sessions: new MemorySessionStore(), audienceOf: () => "customer" });
});
after(async () => {
  await wa.close();
  await db.close();
});

const connected = (phone: string) => wa.sessions().filter((s) => s.phone === phone).length;
const statusOf = async (tenantId: string) => (await Tenant.findById(tenantId).lean().exec())?.channels?.whatsapp;

async function running(overrides: Parameters<typeof openChannel>[2] = {}): Promise<ChannelSetup & { phone: string; tenantId: string; slug: string }> {
  const phone = newPhone();
  const store = await seedLinkedStore(wa, phone);
  const setup = openChannel(wa, engine, overrides);
  const report = await setup.channel.start();
  assert.ok(report.started.includes(store.slug), `started: ${JSON.stringify(report)}`);
  await eventually(() => socketOf(setup.channel, store.id) !== undefined && connected(phone) === 1, "the store's socket open", { timeoutMs: 30_000 });
  return { ...setup, phone, tenantId: store.id, slug: store.slug };
}

describe("a linked store's session", () => {
  test("opens at start, and after 515 reconnects at once with the same creds", async () => {
    const s = await running();
    try {
      const logins = wa.stats().logins;
      await wa.restartRequired(s.phone);
      await eventually(() => wa.stats().logins > logins && connected(s.phone) === 1 && socketOf(s.channel, s.tenantId) !== undefined, "logged in again");
      assert.equal((await statusOf(s.tenantId))?.status, "linked");
    } finally {
      await s.channel.stop(1000);
    }
  });

  test("401: stops, wipes the session, marks the store logged out and tells the platform", async () => {
    const s = await running();
    try {
      await wa.logOut(s.phone);
      await eventually(() => s.events.seen.includes(`logged-out:${s.slug}`), "the logged-out event");
      const saved = await statusOf(s.tenantId);
      assert.equal(saved?.status, "logged-out");
      assert.ok(saved?.statusAt instanceof Date);
      assert.match(saved?.statusReason ?? "", /401/);
      assert.equal(await createMongoWhatsAppSessionStore().isRegistered(s.tenantId), false, "the session is wiped");
      assert.equal(connected(s.phone), 0);
      assert.equal(s.channel.sessions.running(s.tenantId), undefined, "nothing reconnects");
    } finally {
      await s.channel.stop(1000);
    }
  });

  for (const code of [403, 419] as const) {
    test(`${code}: stops, keeps the session, marks the store restricted and tells the platform`, async () => {
      const s = await running();
      try {
        await wa.fail(s.phone, code);
        await eventually(() => s.events.seen.includes(`restricted:${s.slug}:${code}`), "the restricted event");
        assert.equal((await statusOf(s.tenantId))?.status, "restricted");
        assert.equal(await createMongoWhatsAppSessionStore().isRegistered(s.tenantId), true, "the session is kept");
        assert.equal(s.channel.sessions.running(s.tenantId), undefined, "nothing reconnects");
      } finally {
        wa.restore(s.phone);
        await s.channel.stop(1000);
      }
    });
  }

  test("440 while holding the lease: one retry, and a second 440 stops it with an alert instead of a loop", async () => {
    const s = await running();
    try {
      const logins = wa.stats().logins;
      await wa.replace(s.phone);
      await eventually(() => wa.stats().logins === logins + 1 && connected(s.phone) === 1, "retried once");
      await wa.replace(s.phone);
      await eventually(() => s.events.seen.includes(`restricted:${s.slug}:440`), "stopped with an alert");
      assert.equal(wa.stats().logins, logins + 1, "no further login");
      assert.equal(s.channel.sessions.running(s.tenantId), undefined);
    } finally {
      await s.channel.stop(1000);
    }
  });

  test("a socket stuck connecting (upgrade refused) is ended by the watchdog and tried again later, within the budget", async () => {
    const s = await running();
    try {
      wa.refuseUpgrade(true);
      wa.drop(s.phone);
      await eventually(() => wa.stats().refusedUpgrades >= 2, "a second attempt after the watchdog ended the first", { timeoutMs: 20_000 });
      wa.refuseUpgrade(false);
      await eventually(() => connected(s.phone) === 1 && socketOf(s.channel, s.tenantId) !== undefined, "open again once upgrades pass", { timeoutMs: 30_000 });
      await eventually(() => s.events.seen.includes(`reconnected:${s.slug}`) || !s.events.seen.includes(`unreachable:${s.slug}`), "reconnected told after unreachable");
    } finally {
      wa.refuseUpgrade(false);
      await s.channel.stop(1000);
    }
  });

  test("no reconnect storm: a server that drops every connection sees no more attempts than the budget allows", async () => {
    const budget = { burst: 2, perMinute: 30 };
    const phone = newPhone();
    await seedLinkedStore(wa, phone);
    const settings = { webSocketUrl: wa.url, connectTimeoutMs: 5000, watchdogMs: 3000, lifecycle: { baseMs: 1, maxMs: 1 }, budget };
    const stormy = openChannel(wa, engine, { socket: settings });
    const before = wa.stats().connections;
    const started = Date.now();
    await stormy.channel.start();
    // Every login is cut at once, for 6 seconds.
    const cutter = setInterval(() => {
      if (connected(phone) > 0) wa.drop(phone);
    }, 5);
    try {
      await new Promise((resolve) => setTimeout(resolve, 6000));
    } finally {
      clearInterval(cutter);
    }
    const attempts = wa.stats().connections - before;
    const seconds = (Date.now() - started) / 1000;
    const allowed = budget.burst + Math.ceil((budget.perMinute * seconds) / 60) + 1;
    assert.ok(attempts >= 2, `it did try to reconnect (${attempts})`);
    assert.ok(attempts <= allowed, `${attempts} connections in ${seconds.toFixed(1)} s, at most ${allowed} allowed`);
    await stormy.channel.stop(1000);
  });
});
