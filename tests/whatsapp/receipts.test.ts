// What the store sends on WhatsApp carries an id fixed before sending, the id the customer's
// phone receives, and the phone's receipts are recorded against it: delivered, then read
// (goods delivered can be shown as reached). A customer the store never met is unreachable.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createEngine, MemorySessionStore } from "../../flows/engine/index.ts";
import { initI18n } from "../../locales/i18n.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { LocalWhatsAppWeb } from "../support/whatsapp-web/index.ts";
import { newPhone, openChannel, seedLinkedStore } from "./harness.ts";

let db: TestDatabase;
let wa: LocalWhatsAppWeb;

before(async () => {
  await initI18n();
  db = await openTestDatabase("whatsapp_receipts");
  wa = await LocalWhatsAppWeb.start({ receipts: "read" });
});
after(async () => {
  await wa.close();
  await db.close();
});

test("a sent message's id is the one the phone got, and its delivered and read receipts are recorded", async () => {
  // No flows: the customer's first message gets the engine's answer for what it does not know.
  const engine = createEngine({ flows: [], actions: {}, sessions: new MemorySessionStore(), audienceOf: () => "customer" });
  const phone = newPhone();
  const store = await seedLinkedStore(wa, phone);
  const { channel, messages, identities } = openChannel(wa, engine);
  try {
    await channel.start();
    await eventually(() => channel.sessions.running(store.id)?.socket !== undefined, "the number connected", { timeoutMs: 60_000 });
    const person = wa.customer({ phone: "6285700001111", pushName: "Budi" });
    await person.sendText(phone, "halo");
    await eventually(() => person.received().length > 0, "the store's answer", { timeoutMs: 60_000 });
    const chatId = await identities.resolve(store.id, { pn: person.jid }, person.jid);

    const report = await channel.send({ tenantId: store.id, channel: "whatsapp", chatId }, [{ text: { inline: { id: "Voucher: ABCD-1234" } } }]);
    assert.equal(report.ok, true, JSON.stringify(report));
    const [id] = report.messages[0].messageIds;
    assert.ok(id, "the send reports its message id");
    const got = await eventually(() => person.received().find((m) => m.text === "Voucher: ABCD-1234"), "the voucher on the phone");
    assert.equal(got.id, id, "the phone received the message under the id fixed before sending");
    const receipts = await eventually(async () => {
      const r = await messages.receipts(store.id, id);
      return r?.readAt ? r : undefined;
    }, "the read receipt recorded", { timeoutMs: 30_000 });
    assert.ok(receipts.deliveredAt instanceof Date, "read implies delivered");
    assert.ok(await messages.sentMessage(store.id, id), "kept for resend requests");

    const stranger = await channel.send({ tenantId: store.id, channel: "whatsapp", chatId: "wa:nobody-known-here" }, [{ text: { inline: { id: "x" } } }]);
    assert.equal(stranger.ok, false);
    assert.equal(stranger.reason, "unreachable");
  } finally {
    await channel.stop(2000);
  }
});
