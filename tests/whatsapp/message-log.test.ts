// What a store's WhatsApp number received and sent: each incoming message is claimed once,
// also by two instances at once; sent messages come back for resend requests, sealed at rest;
// receipts only move forward; everything expires after the keep period.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { proto } from "baileys";
import mongoose, { Types, type Connection } from "mongoose";
import { eventually } from "../support/eventually.ts";
import { useTestDatabase } from "../support/mongo.ts";
import { createMongoWhatsAppMessageLog } from "../../storage/whatsapp/message-log.ts";

const db = useTestDatabase("whatsapp_message_log");
const log = createMongoWhatsAppMessageLog();
const newStore = () => new Types.ObjectId().toHexString();
const messageId = () => `3EB0${randomBytes(8).toString("hex").toUpperCase()}`;

describe("incoming WhatsApp messages", () => {
  let otherInstance: Connection;
  before(async () => {
    otherInstance = await mongoose.createConnection(db().uri).asPromise();
  });
  after(() => otherInstance.close());

  it("are claimed once: the first claim wins, every later one (also another instance's) does not", async () => {
    const tenantId = newStore();
    const id = messageId();
    const other = createMongoWhatsAppMessageLog({ connection: otherInstance });
    assert.equal(await log.claimInbound(tenantId, id), true);
    assert.equal(await log.claimInbound(tenantId, id), false);
    assert.equal(await other.claimInbound(tenantId, id), false);
    assert.equal(await other.claimInbound(newStore(), id), true, "another store's message with the same id is its own");
  });

  it("claimed twice at the same moment by two instances: exactly one claim wins", async () => {
    const other = createMongoWhatsAppMessageLog({ connection: otherInstance });
    for (let round = 0; round < 20; round++) {
      const tenantId = newStore();
      const id = messageId();
      const claims = await Promise.all([log.claimInbound(tenantId, id), other.claimInbound(tenantId, id), log.claimInbound(tenantId, id)]);
      assert.equal(claims.filter(Boolean).length, 1, `round ${round}: ${claims.join(",")}`);
    }
  });

  it("are forgotten after the keep period, through the TTL index", { timeout: 120_000 }, async () => {
    const tenantId = newStore();
    const id = messageId();
    const eightDaysAgo = createMongoWhatsAppMessageLog({ now: () => Date.now() - 8 * 24 * 3600_000 });
    assert.equal(await eightDaysAgo.claimInbound(tenantId, id), true);
    // A real mongod's TTL monitor runs once a minute.
    await eventually(async () => (await mongoose.connection.collection("whatsapp_inbound").countDocuments({ messageId: id })) === 0, "the expired claim to be removed", { timeoutMs: 90_000, everyMs: 200 });
    assert.equal(await log.claimInbound(tenantId, id), true);
  });
});

describe("sent WhatsApp messages", () => {
  it("come back as the same message for a resend request, sealed in the database", async () => {
    const tenantId = newStore();
    const id = messageId();
    const content = { extendedTextMessage: { text: "Pesanan #12: kode voucher ABCD-1234" } };
    await log.rememberSent(tenantId, id, "6281200000002@s.whatsapp.net", content);
    const back = (await log.sentMessage(tenantId, id)) as proto.Message;
    assert.ok(back instanceof proto.Message);
    assert.equal(back.extendedTextMessage?.text, "Pesanan #12: kode voucher ABCD-1234");
    const row = await mongoose.connection.collection("whatsapp_sent").findOne({ messageId: id });
    assert.doesNotMatch(JSON.stringify(row), /ABCD-1234/);
    assert.equal(await log.sentMessage(tenantId, messageId()), undefined);
    assert.equal(await log.sentMessage(newStore(), id), undefined, "another store does not see it");
  });

  it("keeps media keys byte for byte, and remembering the same id again keeps one record", async () => {
    const tenantId = newStore();
    const id = messageId();
    const mediaKey = randomBytes(32);
    const image = { imageMessage: { url: "https://mmg.whatsapp.net/x", mediaKey, fileLength: 12345, caption: "bukti", mimetype: "image/jpeg" } };
    await log.rememberSent(tenantId, id, "123456789012345@lid", image);
    await log.rememberSent(tenantId, id, "123456789012345@lid", image);
    const back = (await log.sentMessage(tenantId, id)) as proto.Message;
    assert.deepEqual(Buffer.from(back.imageMessage!.mediaKey!), mediaKey);
    assert.equal(Number(back.imageMessage!.fileLength), 12345);
    assert.equal(await mongoose.connection.collection("whatsapp_sent").countDocuments({ messageId: id }), 1);
  });

  it("record receipts moving forward only: read implies delivered, a late or repeated receipt changes nothing", async () => {
    const tenantId = newStore();
    const id = messageId();
    await log.rememberSent(tenantId, id, "6281200000002@s.whatsapp.net", { conversation: "halo" });
    assert.deepEqual(await log.receipts(tenantId, id), {});
    const t1 = new Date("2026-12-01T10:00:00Z");
    const t2 = new Date("2026-12-01T10:05:00Z");
    const t3 = new Date("2026-12-01T10:09:00Z");
    await log.recordReceipt(tenantId, id, "delivered", t1);
    assert.deepEqual(await log.receipts(tenantId, id), { deliveredAt: t1 });
    await log.recordReceipt(tenantId, id, "read", t2);
    await log.recordReceipt(tenantId, id, "delivered", t3);
    await log.recordReceipt(tenantId, id, "read", t3);
    assert.deepEqual(await log.receipts(tenantId, id), { deliveredAt: t1, readAt: t2 });

    const readFirst = messageId();
    await log.rememberSent(tenantId, readFirst, "6281200000002@s.whatsapp.net", { conversation: "halo lagi" });
    await log.recordReceipt(tenantId, readFirst, "read", t2);
    assert.deepEqual(await log.receipts(tenantId, readFirst), { deliveredAt: t2, readAt: t2 });
    assert.equal(await log.receipts(tenantId, messageId()), undefined);
  });
});
