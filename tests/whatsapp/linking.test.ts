// Linking a store's number for real, as `niaga whatsapp link` does it: a channel without an
// engine (openWhatsAppLinking) shows QR codes from the local WhatsApp Web, the "phone" scans
// one, and the store is saved linked with registered creds; the CLI's process then lets the
// session go, and a serving channel (niaga start) opens it. An expired QR session ends once,
// without looping, and a store already linked is refused.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openWhatsAppLinking } from "../../bots/channels.ts";
import type { Config } from "../../bots/config.ts";
import type { LinkEvent } from "../../adapters/whatsapp/contract.ts";
import { createEngine, MemorySessionStore } from "../../flows/engine/index.ts";
import { initI18n } from "../../locales/i18n.ts";
import { Tenant } from "../../storage/models/index.ts";
import { createMongoWhatsAppSessionStore } from "../../storage/whatsapp/auth-state.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { seedStore } from "../support/stores.ts";
import { LocalWhatsAppWeb } from "../support/whatsapp-web/index.ts";
import { newPhone, openChannel, quiet } from "./harness.ts";

let db: TestDatabase;
let wa: LocalWhatsAppWeb;

before(async () => {
  await initI18n();
  db = await openTestDatabase("whatsapp_linking");
  wa = await LocalWhatsAppWeb.start({ qrRefs: 2 });
});
after(async () => {
  await wa.close();
  await db.close();
});

const config = () => ({ whatsappWebUrl: wa.url, whatsappSessionLeaseMs: 15_000 }) as unknown as Config;

describe("linking a number outside niaga start", () => {
  test("a scanned QR code links the store; once the linking process lets go, a serving channel opens the session", async () => {
    const store = await seedStore();
    const phone = newPhone();
    const handle = await openWhatsAppLinking(config(), quiet);
    const events: LinkEvent[] = [];
    let end: Awaited<ReturnType<typeof handle.linking.link>>;
    try {
      const linking = handle.linking.link(store.id, {
        onEvent: (event) => {
          events.push(event);
          if (event.type === "qr" && event.n === 1) void wa.scanQr(event.qr, phone);
        },
      });
      end = await linking;
    } finally {
      await handle.close();
    }
    assert.equal(end.type, "linked", JSON.stringify(end));
    assert.deepEqual(events.map((e) => e.type).filter((t) => t !== "qr"), ["linked"]);
    const saved = (await Tenant.findById(store.id).lean().exec())?.channels?.whatsapp;
    assert.equal(saved?.status, "linked");
    assert.equal(saved?.phone, phone);
    assert.ok(saved?.linkedAt instanceof Date);
    assert.equal(await createMongoWhatsAppSessionStore().isRegistered(store.id), true, "the creds are saved as a linked device");

    const engine = createEngine({ flows: [], actions: {}, sessions: new MemorySessionStore(), audienceOf: () => "customer" });
    const serving = openChannel(wa, engine);
    try {
      const report = await serving.channel.start();
      assert.ok(report.started.includes(store.slug), `started: ${JSON.stringify(report)}`);
      await eventually(async () => (await serving.channel.view(store.id)).connection === "open", "the linked session open in the serving channel");
    } finally {
      await serving.channel.stop(5_000);
    }
  });

  test("QR codes nobody scans end the attempt once, as expired, with no further connection", async () => {
    const store = await seedStore();
    // Each code lives 1 s here (WhatsApp's own live about 20 s) and the server offers two.
    const handle = await openWhatsAppLinking(config(), quiet, { qrTimeoutMs: 1000 });
    const qrs: number[] = [];
    try {
      const end = await handle.linking.link(store.id, { onEvent: (event) => void (event.type === "qr" && qrs.push(event.n)) });
      assert.equal(end.type, "ended");
      assert.equal(end.type === "ended" && end.reason, "expired");
    } finally {
      await handle.close();
    }
    assert.ok(qrs.length >= 1, "at least one QR code was shown");
    assert.deepEqual(qrs, qrs.map((_, i) => i + 1), "codes counted from 1");
    const connections = wa.stats().connections;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(wa.stats().connections, connections, "no reconnect after the attempt ended");
    assert.notEqual((await Tenant.findById(store.id).lean().exec())?.channels?.whatsapp?.status, "linked");
  });
});
