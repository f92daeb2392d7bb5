// When MongoDB does not take a write of a store's WhatsApp session, the write says so (Baileys
// retries a failed key batch; a swallowed failure is a silently lost Signal key), and applying
// the same batch again gives the whole of it. MongoDB is reached through a proxy the test
// breaks: connections refused, or an answer lost after the server did the work.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { SignalDataSet } from "baileys";
import { Types } from "mongoose";
import { openTestDatabase, withDatabase, type TestDatabase } from "../support/mongo.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { connectMongo, disconnectMongo, syncAllIndexes } from "../../storage/connection.ts";
import { createMongoWhatsAppSessionStore } from "../../storage/whatsapp/auth-state.ts";

const sessions = createMongoWhatsAppSessionStore();

describe("a store's WhatsApp session while MongoDB fails", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;

  before(async () => {
    db = await openTestDatabase("whatsapp_auth_outage", { connect: false });
    const [, host, port, name] = /^mongodb:\/\/([^:/,]+):(\d+)[^/]*\/([^?]+)/.exec(db.uri) ?? [];
    proxy = await startTcpProxy({ host: host!, port: Number(port) });
    await connectMongo(withDatabase(`mongodb://${proxy.address}/?directConnection=true`, name!), { attempts: 1, serverSelectionTimeoutMS: 1500 });
    await syncAllIndexes();
  });
  after(async () => {
    await disconnectMongo();
    await proxy.close();
    await db.close();
  });

  const batch = (): SignalDataSet => ({
    session: { "a.0": randomBytes(50), "b.0": randomBytes(60) },
    "pre-key": { "1": null, "2": { public: randomBytes(32), private: randomBytes(32) } },
    "identity-key": { "b.0": randomBytes(33) },
  });

  async function readBatch(keys: { get: (type: any, ids: string[]) => any }) {
    return {
      session: await keys.get("session", ["a.0", "b.0"]),
      "pre-key": await keys.get("pre-key", ["1", "2"]),
      "identity-key": await keys.get("identity-key", ["b.0"]),
    };
  }

  it("rejects a key batch and a creds save while MongoDB refuses connections, and stores both once retried", async () => {
    const tenantId = new Types.ObjectId().toHexString();
    const { state, saveCreds, settled } = await sessions.open({ tenantId, epoch: 1 });
    await state.keys.set({ "pre-key": { "1": { public: randomBytes(32), private: randomBytes(32) } } });
    const data = batch();
    state.creds.nextPreKeyId = 42;

    proxy.cut();
    try {
      await assert.rejects(async () => state.keys.set(data));
      await assert.rejects(saveCreds());
      await assert.rejects(settled());
    } finally {
      proxy.restore();
    }

    await assert.rejects(settled(), "the creds are still not stored");
    await state.keys.set(data);
    await saveCreds();
    await settled();
    const reopened = await createMongoWhatsAppSessionStore().open({ tenantId, epoch: 1 });
    assert.equal(reopened.state.creds.nextPreKeyId, 42);
    const stored = await readBatch(reopened.state.keys);
    assert.deepEqual(stored.session, data.session);
    assert.deepEqual(stored["pre-key"], { "2": data["pre-key"]!["2"] });
    assert.deepEqual(stored["identity-key"], data["identity-key"]);
  });

  it("rejects a batch whose answer was lost after MongoDB applied part of it, and applying it again gives the whole batch", async () => {
    const tenantId = new Types.ObjectId().toHexString();
    const { state } = await sessions.open({ tenantId, epoch: 1 });
    await state.keys.set({ "pre-key": { "1": { public: randomBytes(32), private: randomBytes(32) } } });
    const data = batch();

    // The batch's upserts reach the server; their answer, and so the deletes sent after them, do not come through.
    proxy.loseAnswerTo((request) => request.includes("update\0") && request.includes("whatsapp_auth\0"));
    await assert.rejects(async () => state.keys.set(data));
    const halfway = await readBatch(state.keys);
    assert.deepEqual(halfway.session, data.session, "the upserts were applied although the batch was reported as failed");
    assert.ok(halfway["pre-key"]["1"], "the delete was not");

    await state.keys.set(data);
    const stored = await readBatch(state.keys);
    assert.deepEqual(stored.session, data.session);
    assert.deepEqual(stored["pre-key"], { "2": data["pre-key"]!["2"] });
    assert.deepEqual(stored["identity-key"], data["identity-key"]);
  });
});
