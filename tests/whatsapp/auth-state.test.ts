// A store's WhatsApp session in MongoDB, as Baileys uses it: creds and every signal key
// round-trip sealed, Baileys' batched key writes apply whole and idempotently and fail loudly,
// every creds update is kept, a stale owner writes nothing, and a real Signal conversation
// survives reopening the store from the database.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import {
  addTransactionCapability,
  BufferJSON,
  Curve,
  DEFAULT_CONNECTION_CONFIG,
  generateSignalPubKey,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  proto,
  type AuthenticationCreds,
  type SignalDataSet,
  type SignalKeyStore,
} from "baileys";
import mongoose, { Types } from "mongoose";
import { useTestDatabase } from "../support/mongo.ts";
import { configureEncryption, DecryptionError, keyIdOfCiphertext } from "../../storage/crypto.ts";
import { rotateSecrets } from "../../storage/secret-fields.ts";
import { TenantScopeError } from "../../storage/tenant-scope.ts";
import { WhatsAppAuthRecord, WhatsAppSessionRecord } from "../../storage/whatsapp/auth-records.ts";
import { WhatsAppContactRecord } from "../../storage/whatsapp/identities.ts";
import { WhatsAppInboundRecord, WhatsAppSentRecord } from "../../storage/whatsapp/message-records.ts";
import { createMongoLeases } from "../../storage/leases.ts";
import { acquireSessionFence, createMongoWhatsAppSessionStore } from "../../storage/whatsapp/auth-state.ts";
import { StaleSessionOwner, type SessionFence } from "../../storage/whatsapp/types.ts";

const db = useTestDatabase("whatsapp_auth_state");
const sessions = createMongoWhatsAppSessionStore();

function newStore(): string {
  return new Types.ObjectId().toHexString();
}

const authRecords = () => mongoose.connection.collection<{ _id: string; value: string; epoch: number }>("whatsapp_auth");

/** One value of every key type Baileys stores, as Baileys hands them over. */
function everyKeyType(): SignalDataSet {
  return {
    "pre-key": { "1": { public: randomBytes(32), private: randomBytes(32) } },
    session: { "6281234567890.0": randomBytes(120) },
    "sender-key": { "1203@g.us::6281234567890::0": randomBytes(64) },
    "sender-key-memory": { "1203@g.us": { "6281234567890:3@s.whatsapp.net": true } },
    "app-state-sync-key": {
      AAAAAJxU: { keyData: randomBytes(32), fingerprint: { rawId: 7, currentIndex: 2, deviceIndexes: [0, 1] }, timestamp: 1_700_000_000_000 },
    },
    "app-state-sync-version": { critical_block: { version: 4, hash: randomBytes(128), indexValueMap: { abc: { valueMac: randomBytes(32) } } } },
    "lid-mapping": { "6281234567890": "123456789012345", "123456789012345_reverse": "6281234567890" },
    "device-list": { "6281234567890": ["0", "3"] },
    tctoken: { "6281234567890@s.whatsapp.net": { token: randomBytes(16), timestamp: "1700000000" } },
    "identity-key": { "6281234567890.0": randomBytes(33) },
  };
}

async function readAll(keys: { get(type: any, ids: string[]): any }, data: SignalDataSet): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [type, values] of Object.entries(data)) out[type] = await keys.get(type, Object.keys(values ?? {}));
  return out;
}

/** What a value is once it has gone through JSON with Buffers kept (Uint8Arrays come back as Buffers). */
function asStored(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, BufferJSON.replacer), BufferJSON.reviver);
}

describe("a store's WhatsApp session in MongoDB", () => {
  it("gives fresh creds to a new link, and after saving, the same creds and every key type back from a new instance", async () => {
    const tenantId = newStore();
    const fence = { tenantId, epoch: 1 };
    const first = await sessions.open(fence);
    assert.equal(first.state.creds.registered, false);
    assert.equal(await sessions.isRegistered(tenantId), false);

    const data = everyKeyType();
    await first.state.keys.set(data);
    first.state.creds.me = { id: "6281234567890:3@s.whatsapp.net", lid: "123456789012345:3@lid", name: "Toko" };
    first.state.creds.nextPreKeyId = 31;
    await first.saveCreds();
    assert.equal(await sessions.isRegistered(tenantId), false, "a `me` without `registered` is not a linked device");
    first.state.creds.registered = true;
    await first.saveCreds();
    assert.equal(await sessions.isRegistered(tenantId), true);

    const again = await createMongoWhatsAppSessionStore().open(fence);
    assert.deepEqual(asStored(again.state.creds), asStored(first.state.creds));
    assert.ok(Buffer.isBuffer(again.state.creds.noiseKey.private));
    const read = await readAll(again.state.keys, data);
    const { "app-state-sync-key": syncKeys, ...plain } = read;
    const { "app-state-sync-key": sentSyncKeys, ...sentPlain } = data;
    assert.deepEqual(plain, asStored(sentPlain));
    const syncKey = syncKeys!.AAAAAJxU as proto.Message.AppStateSyncKeyData;
    assert.ok(syncKey instanceof proto.Message.AppStateSyncKeyData, "app-state-sync-key values come back as protobuf objects");
    assert.deepEqual(
      Buffer.from(proto.Message.AppStateSyncKeyData.encode(syncKey).finish()),
      Buffer.from(proto.Message.AppStateSyncKeyData.encode(proto.Message.AppStateSyncKeyData.fromObject(sentSyncKeys!.AAAAAJxU!)).finish()),
    );
    assert.deepEqual(await again.state.keys.get("session", ["never-seen"]), {});
  });

  it("stores every value sealed (the record ids, which name contacts, stay readable)", async () => {
    const tenantId = newStore();
    const state = await sessions.open({ tenantId, epoch: 1 });
    await state.state.keys.set({ "lid-mapping": { "6281111111111": "999888777666555" } });
    await state.saveCreds();
    const rows = await authRecords().find({ _id: { $regex: `^${tenantId}:` } }).toArray();
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.match(row.value, /^v1\./);
      assert.doesNotMatch(JSON.stringify({ ...row, _id: undefined }), /999888777666555|noiseKey|6281111111111/);
    }
  });

  it("applies one batch of several types with writes and deletes together, and applying it again changes nothing", async () => {
    const tenantId = newStore();
    const { state } = await sessions.open({ tenantId, epoch: 1 });
    await state.keys.set({
      "pre-key": { "1": { public: randomBytes(32), private: randomBytes(32) }, "2": { public: randomBytes(32), private: randomBytes(32) } },
      session: { "a.0": randomBytes(40) },
    });
    const batch: SignalDataSet = {
      "pre-key": { "1": null, "3": { public: randomBytes(32), private: randomBytes(32) } },
      session: { "a.0": randomBytes(50), "b.0": randomBytes(60) },
      "identity-key": { "b.0": randomBytes(33) },
      "device-list": { "628": ["0"] },
    };
    await state.keys.set(batch);
    const expected = {
      "pre-key": asStored({ "2": (await state.keys.get("pre-key", ["2"]))["2"], "3": batch["pre-key"]!["3"] }),
      session: asStored(batch.session),
      "identity-key": asStored(batch["identity-key"]),
      "device-list": batch["device-list"],
    };
    const readBack = async () => ({
      "pre-key": await state.keys.get("pre-key", ["1", "2", "3"]),
      session: await state.keys.get("session", ["a.0", "b.0"]),
      "identity-key": await state.keys.get("identity-key", ["b.0"]),
      "device-list": await state.keys.get("device-list", ["628"]),
    });
    assert.deepEqual(await readBack(), expected);
    const count = await authRecords().countDocuments({ _id: { $regex: `^${tenantId}:` } });

    await state.keys.set(batch);
    await state.keys.set(batch);
    assert.deepEqual(await readBack(), expected);
    assert.equal(await authRecords().countDocuments({ _id: { $regex: `^${tenantId}:` } }), count);
  });

  it("keeps the last of 50 rapid creds updates, whatever order the writes finish in", async () => {
    const tenantId = newStore();
    const opened = await sessions.open({ tenantId, epoch: 1 });
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 50; i++) {
      opened.state.creds.nextPreKeyId = i;
      opened.state.creds.firstUnuploadedPreKeyId = i;
      opened.state.creds.routingInfo = Buffer.from(`route-${i}`);
      saves.push(opened.saveCreds());
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(saves);
    await opened.settled();
    const stored = (await sessions.open({ tenantId, epoch: 1 })).state.creds;
    assert.equal(stored.nextPreKeyId, 50);
    assert.equal(stored.firstUnuploadedPreKeyId, 50);
    assert.deepEqual(stored.routingInfo, Buffer.from("route-50"));
  });

  it("works behind Baileys' makeCacheableSignalKeyStore: reads through the cache see what was written", async () => {
    const tenantId = newStore();
    const { state } = await sessions.open({ tenantId, epoch: 1 });
    const cached = makeCacheableSignalKeyStore(state.keys);
    const session = randomBytes(90);
    await cached.set({ session: { "x.0": session }, "lid-mapping": { "628": "555" } });
    assert.deepEqual(await cached.get("session", ["x.0"]), { "x.0": session });
    const fresh = makeCacheableSignalKeyStore((await createMongoWhatsAppSessionStore().open({ tenantId, epoch: 1 })).state.keys);
    assert.deepEqual(await fresh.get("session", ["x.0"]), { "x.0": session });
    assert.deepEqual(await fresh.get("lid-mapping", ["628"]), { "628": "555" });
    await cached.set({ session: { "x.0": null } });
    const afterDelete = makeCacheableSignalKeyStore((await sessions.open({ tenantId, epoch: 1 })).state.keys);
    assert.deepEqual(await afterDelete.get("session", ["x.0"]), {});
  });

  it("does not open a value copied to another record or to another store's session", async () => {
    const storeA = newStore();
    const storeB = newStore();
    const a = await sessions.open({ tenantId: storeA, epoch: 1 });
    const b = await sessions.open({ tenantId: storeB, epoch: 1 });
    await a.state.keys.set({ session: { "victim.0": randomBytes(40) } });
    await b.state.keys.set({ session: { "victim.0": randomBytes(40), "other.0": randomBytes(40) } });
    const sealed = (await authRecords().findOne({ _id: `${storeA}:session:victim.0` }))!.value;

    await authRecords().updateOne({ _id: `${storeB}:session:victim.0` }, { $set: { value: sealed } });
    await assert.rejects(async () => b.state.keys.get("session", ["victim.0"]), DecryptionError);
    await authRecords().updateOne({ _id: `${storeA}:session:other.0` }, { $set: { value: sealed } }, { upsert: true });
    await authRecords().updateOne({ _id: `${storeA}:session:other.0` }, { $set: { tenantId: new Types.ObjectId(storeA), type: "session", epoch: 1 } });
    await assert.rejects(async () => a.state.keys.get("session", ["other.0"]), DecryptionError);
    // Tampered records would stop key rotation (rightly) in a later test.
    await authRecords().deleteMany({ _id: { $in: [`${storeB}:session:victim.0`, `${storeA}:session:other.0`] } });
  });

  it("wipes a store's creds and keys and leaves other stores alone", async () => {
    const storeA = newStore();
    const storeB = newStore();
    const a = await sessions.open({ tenantId: storeA, epoch: 1 });
    const b = await sessions.open({ tenantId: storeB, epoch: 1 });
    a.state.creds.registered = true;
    b.state.creds.registered = true;
    await Promise.all([a.saveCreds(), b.saveCreds(), a.state.keys.set(everyKeyType()), b.state.keys.set(everyKeyType())]);
    await sessions.wipe({ tenantId: storeA, epoch: 1 });
    assert.equal(await sessions.isRegistered(storeA), false);
    assert.equal(await authRecords().countDocuments({ _id: { $regex: `^${storeA}:` } }), 0);
    assert.equal(await sessions.isRegistered(storeB), true);
    assert.equal((await sessions.open({ tenantId: storeA, epoch: 1 })).state.creds.registered, false);
  });
});

describe("a stale owner of a session", () => {
  it("takes a fence only while no other instance holds the session lease, each new holder with a higher epoch", async () => {
    const tenantId = newStore();
    const one = createMongoLeases();
    const two = createMongoLeases();
    const first = await acquireSessionFence(one, tenantId, 60_000);
    assert.ok(first);
    assert.equal(await acquireSessionFence(two, tenantId, 60_000), undefined);
    await one.release([`whatsapp-session:${tenantId}`]);
    const second = await acquireSessionFence(two, tenantId, 60_000);
    assert.ok(second && second.epoch > first.epoch);
  });

  it("is refused every write once a newer owner opened the session, and the newer owner's data stays as it wrote it", async () => {
    const tenantId = newStore();
    const old: SessionFence = { tenantId, epoch: 4 };
    const stale = await sessions.open(old);
    stale.state.creds.registered = true;
    await stale.saveCreds();
    await stale.state.keys.set({ session: { "c.0": randomBytes(30) }, "pre-key": { "9": { public: randomBytes(32), private: randomBytes(32) } } });

    const newer = await sessions.open({ tenantId, epoch: 5 });
    const newSession = randomBytes(30);
    await newer.state.keys.set({ session: { "c.0": newSession } });
    newer.state.creds.nextPreKeyId = 77;
    await newer.saveCreds();
    const before = await authRecords().find({ _id: { $regex: `^${tenantId}:` } }).sort({ _id: 1 }).toArray();

    const isStale = (error: unknown) => error instanceof StaleSessionOwner && error.epoch === 4;
    stale.state.creds.nextPreKeyId = 3;
    await assert.rejects(stale.saveCreds(), isStale);
    await assert.rejects(async () => stale.state.keys.set({ session: { "c.0": randomBytes(30), "d.0": randomBytes(30) }, "pre-key": { "9": null } }), isStale);
    await assert.rejects(sessions.wipe(old), isStale);
    await assert.rejects(sessions.open(old), isStale);

    assert.deepEqual(await authRecords().find({ _id: { $regex: `^${tenantId}:` } }).sort({ _id: 1 }).toArray(), before);
    const reopened = await sessions.open({ tenantId, epoch: 5 });
    assert.equal(reopened.state.creds.nextPreKeyId, 77);
    assert.deepEqual(await reopened.state.keys.get("session", ["c.0"]), { "c.0": newSession });
  });

  it("cannot overwrite or delete a newer owner's records even when its epoch check passed before the newer owner took over", async () => {
    const tenantId = newStore();
    const stale = await sessions.open({ tenantId, epoch: 1 });
    await stale.state.keys.set({ session: { "c.0": randomBytes(30) }, "pre-key": { "9": { public: randomBytes(32), private: randomBytes(32) } } });
    const newer = await sessions.open({ tenantId, epoch: 2 });
    const kept = randomBytes(30);
    await newer.state.keys.set({ session: { "c.0": kept } });
    // The stale owner's check raced the takeover: as if it had read the session document before the newer owner raised its epoch.
    await mongoose.connection.collection("whatsapp_sessions").updateOne({ _id: new Types.ObjectId(tenantId) }, { $set: { epoch: 1 } });

    await assert.rejects(async () => stale.state.keys.set({ session: { "c.0": randomBytes(30) } }), StaleSessionOwner);
    // Its delete matches nothing: the record carries the newer epoch.
    await stale.state.keys.set({ "pre-key": { "9": null } });
    assert.deepEqual(await newer.state.keys.get("session", ["c.0"]), { "c.0": kept });
    assert.equal(Object.keys(await newer.state.keys.get("pre-key", ["9"])).length, 1, "the claimed pre-key is not deleted by the stale owner");
  });
});

const silent = { level: "silent", child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** A Signal party the way the socket builds one: Baileys' repository over a cached, transactional key store. */
function signalParty(creds: AuthenticationCreds, keys: SignalKeyStore) {
  const transactional = addTransactionCapability(makeCacheableSignalKeyStore(keys, silent), silent, { maxCommitRetries: 3, delayBetweenTriesMs: 10 });
  return DEFAULT_CONNECTION_CONFIG.makeSignalRepository({ creds, keys: transactional }, silent);
}

/** The customer's side, kept in memory. */
function memoryKeys(): SignalKeyStore {
  const values = new Map<string, unknown>();
  return {
    get: (type, ids) => Object.fromEntries(ids.flatMap((id) => (values.has(`${type}/${id}`) ? [[id, values.get(`${type}/${id}`)]] : []))) as any,
    set: (data) => {
      for (const [type, byId] of Object.entries(data)) {
        for (const [id, value] of Object.entries(byId ?? {})) {
          if (value) values.set(`${type}/${id}`, value);
          else values.delete(`${type}/${id}`);
        }
      }
    },
  };
}

describe("a real Signal conversation through the stored keys", () => {
  it("decrypts and answers a customer's messages, and after reopening the store from MongoDB goes on where it stopped", async () => {
    const tenantId = newStore();
    const store = "6281100000001@s.whatsapp.net";
    const customer = "6281200000002@s.whatsapp.net";
    const fence = { tenantId, epoch: 1 };

    const opened = await sessions.open(fence);
    const preKey = Curve.generateKeyPair();
    await opened.state.keys.set({ "pre-key": { "11": preKey } });
    await opened.saveCreds();
    let seller = signalParty(opened.state.creds, opened.state.keys);

    const customerCreds = initAuthCreds();
    const buyer = signalParty(customerCreds, memoryKeys());
    const { creds } = opened.state;
    await buyer.injectE2ESession({
      jid: store,
      session: {
        registrationId: creds.registrationId,
        identityKey: generateSignalPubKey(creds.signedIdentityKey.public),
        signedPreKey: { keyId: creds.signedPreKey.keyId, publicKey: generateSignalPubKey(creds.signedPreKey.keyPair.public), signature: creds.signedPreKey.signature },
        preKey: { keyId: 11, publicKey: generateSignalPubKey(preKey.public) },
      },
    });

    const exchange = async (round: string) => {
      for (let i = 0; i < 3; i++) {
        const text = `${round} pesan ${i}`;
        const sent = await buyer.encryptMessage({ jid: store, data: Buffer.from(text) });
        assert.equal(Buffer.from(await seller.decryptMessage({ jid: customer, type: sent.type, ciphertext: sent.ciphertext })).toString(), text);
        const reply = await seller.encryptMessage({ jid: customer, data: Buffer.from(`balasan ${text}`) });
        assert.equal(Buffer.from(await buyer.decryptMessage({ jid: store, type: reply.type, ciphertext: reply.ciphertext })).toString(), `balasan ${text}`);
      }
    };
    await exchange("pertama");
    assert.deepEqual(await opened.state.keys.get("pre-key", ["11"]), {}, "the one-time pre-key is used up");
    await opened.settled();

    // Another process: nothing in memory, everything from MongoDB.
    const reopened = await createMongoWhatsAppSessionStore().open({ tenantId, epoch: 2 });
    seller = signalParty(reopened.state.creds, reopened.state.keys);
    await exchange("kedua");
    await reopened.settled();
    const again = await createMongoWhatsAppSessionStore().open({ tenantId, epoch: 3 });
    seller = signalParty(again.state.creds, again.state.keys);
    await exchange("ketiga");
  });
});

describe("rotating the data key", () => {
  it("re-seals every session record under the new key, and the session still opens", async () => {
    const tenantId = newStore();
    const fence = { tenantId, epoch: 1 };
    const opened = await sessions.open(fence);
    const data = everyKeyType();
    await opened.state.keys.set(data);
    opened.state.creds.registered = true;
    await opened.saveCreds();

    const newKey = randomBytes(32);
    const keyring = configureEncryption(newKey, [db().encryptionKey]);
    const report = (await rotateSecrets(keyring)).find((r) => r.model === "WhatsAppAuth");
    assert.ok(report && report.resealed >= 11, JSON.stringify(report));
    for (const row of await authRecords().find({ _id: { $regex: `^${tenantId}:` } }).toArray()) assert.equal(keyIdOfCiphertext(row.value), keyring.currentId);

    // The old key is gone: what opens now was sealed under the new one.
    configureEncryption(newKey);
    const reopened = await sessions.open(fence);
    assert.equal(reopened.state.creds.registered, true);
    assert.deepEqual(await reopened.state.keys.get("session", Object.keys(data.session!)), asStored(data.session));
  });
});

describe("the WhatsApp collections", () => {
  it("each refuse a query that names no store (the tenant wall)", async () => {
    for (const model of [WhatsAppAuthRecord, WhatsAppSessionRecord, WhatsAppContactRecord, WhatsAppInboundRecord, WhatsAppSentRecord] as const) {
      await assert.rejects(async () => (model as typeof WhatsAppAuthRecord).find({}).exec(), TenantScopeError, model.modelName);
    }
  });
});
