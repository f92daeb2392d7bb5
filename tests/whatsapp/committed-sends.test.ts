// A broadcast's sender has the last word before its message goes out on WhatsApp
// (`SendOptions.committing`): asked once per batch, only when the number's pacer lets the
// message go, and nothing reaches the customer's phone when it says no. Against the local
// WhatsApp Web, through the outbox as the platform sends.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Channels, createEngine, MemorySessionStore, NOT_COMMITTED, Outbox } from "../../flows/engine/index.ts";
import type { Outbound } from "../../flows/engine/index.ts";
import { initI18n } from "../../locales/i18n.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { LocalWhatsAppWeb } from "../support/whatsapp-web/index.ts";
import { newPhone, openChannel, seedLinkedStore } from "./harness.ts";

let db: TestDatabase;
let wa: LocalWhatsAppWeb;

before(async () => {
  await initI18n();
  db = await openTestDatabase("whatsapp_committed_sends");
  wa = await LocalWhatsAppWeb.start();
});
after(async () => {
  await wa.close();
  await db.close();
});

const say = (id: string): Outbound => ({ text: { inline: { id } } });

function sender(answer: boolean) {
  const asked = { count: 0 };
  return { asked, committing: () => Promise.resolve((asked.count++, answer)) };
}

test("a broadcast batch on WhatsApp: asked once when the number lets it go, nothing sent on a no, not asked while the number is held", async () => {
  const engine = createEngine({ flows: [], actions: {}, sessions: new MemorySessionStore(), audienceOf: () => "customer" });
  const phone = newPhone();
  const store = await seedLinkedStore(wa, phone);
  const { channel, identities } = openChannel(wa, engine);
  const outbox = new Outbox(new Channels([channel]));
  try {
    await channel.start();
    await eventually(() => channel.sessions.running(store.id)?.socket !== undefined, "the number connected", { timeoutMs: 60_000 });
    const person = wa.customer({ phone: "6285700002222", pushName: "Sari" });
    await person.sendText(phone, "halo");
    await eventually(() => person.received().length > 0, "the store's answer", { timeoutMs: 60_000 });
    const to = { tenantId: store.id, channel: "whatsapp", chatId: await identities.resolve(store.id, { pn: person.jid }, person.jid) };
    const texts = () => person.received().map((m) => m.text);

    const yes = sender(true);
    const sent = await outbox.send(to, [say("Promo 1"), say("Promo 2")], { bulk: true, committing: yes.committing });
    assert.deepEqual([sent.ok, sent.sent, yes.asked.count], [true, 2, 1], JSON.stringify(sent));
    await eventually(() => texts().includes("Promo 2"), "both messages on the phone");

    const no = sender(false);
    const refused = await outbox.send(to, [say("Jangan terkirim")], { bulk: true, committing: no.committing });
    assert.deepEqual([refused.ok, refused.sent, refused.reason, refused.detail, no.asked.count], [false, 0, "failed", NOT_COMMITTED, 1]);

    for (let i = 0; i < 6; i++) channel.pacer.watch.sign(store.id, "error 463 (test)");
    const held = sender(true);
    const whileHeld = await outbox.send(to, [say("Tertahan")], { bulk: true, committing: held.committing });
    assert.deepEqual([whileHeld.ok, whileHeld.reason, held.asked.count], [false, "store-unavailable", 0], "a message the number may not send is not committed");
    channel.pacer.watch.resume(store.id);

    assert.equal((await outbox.send(to, [say("Penanda")])).ok, true);
    await eventually(() => texts().includes("Penanda"), "the marker sent after them");
    assert.ok(!texts().includes("Jangan terkirim") && !texts().includes("Tertahan"), JSON.stringify(texts()));
  } finally {
    await channel.stop(2000);
  }
});
