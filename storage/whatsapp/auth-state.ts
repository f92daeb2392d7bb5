/**
 * A store's Baileys auth state in MongoDB, sealed with the data key and fenced by the
 * session lease's epoch.
 *
 * ```ts
 * const sessions = createMongoWhatsAppSessionStore();
 * const fence = await acquireSessionFence(leases, tenantId, 30_000);   // undefined: another instance owns it
 * if (fence) {
 *   const { state, saveCreds } = await sessions.open(fence);
 *   const sock = makeWASocket({ auth: { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, logger) }, … });
 *   sock.ev.on("creds.update", () => void saveCreds().catch(…));
 * }
 * ```
 *
 * What is stored: one `whatsapp_auth` document for the creds and one per (key type, key id),
 * each value `JSON.stringify`'d with Baileys' `BufferJSON` replacer and sealed with
 * `encryptSecret`, bound to the record's `_id` (store, type, id). `keys.set` applies Baileys'
 * whole batch as one `bulkWrite` of full-value upserts and deletes, so applying it again gives
 * the same state, and it throws when MongoDB did not take it (Baileys retries the batch).
 *
 * Fencing. `whatsapp_sessions` holds, per store, the newest owner's epoch. `open` raises it
 * to the opener's epoch (`$max`) and claims every record of the session for that epoch.
 * Every later write checks the epoch first, writes each record with the filter
 * `epoch <= mine` (an upsert that misses a newer owner's record fails on `_id`, a delete
 * matches nothing), and checks the epoch again after. A stale owner therefore gets
 * `StaleSessionOwner` and cannot overwrite or delete anything the newer owner has opened or
 * written. The race that remains without transactions: a stale write that passed its first
 * check just before the newer owner's `open` can still *create* a key record that did not
 * exist (e.g. a Signal session with a new contact) after the claim; the stale owner then
 * hears `StaleSessionOwner` from the second check, and the newer owner sees that record as
 * if it had been written before it took over. Owners keep that window small by stopping
 * before their lease lapses.
 */
import { BufferJSON, initAuthCreds, proto, type AuthenticationCreds, type SignalDataSet, type SignalDataTypeMap, type SignalKeyStore } from "baileys";
import { Types, type AnyBulkWriteOperation } from "mongoose";
import { decryptSecret, encryptSecret } from "../crypto.ts";
import type { Leases } from "../leases.ts";
import { StaleSessionOwner, type SessionFence, type StoredAuthState, type WhatsAppSessionStore } from "./types.ts";
import { authRecordContext, credsRecordId, keyRecordId, WhatsAppAuthRecord, WhatsAppSessionRecord } from "./auth-records.ts";

/** The lease that owns a store's WhatsApp session. */
export function sessionLeaseKey(tenantId: string): string {
  return `whatsapp-session:${tenantId}`;
}

/** Takes (or takes again) the store's session lease; the fence for its writes, or undefined when another instance holds it. */
export async function acquireSessionFence(leases: Leases, tenantId: string, ttlMs: number): Promise<SessionFence | undefined> {
  const grant = await leases.acquire(sessionLeaseKey(tenantId), ttlMs);
  return grant ? { tenantId, epoch: grant.epoch } : undefined;
}

export function createMongoWhatsAppSessionStore(): WhatsAppSessionStore {
  return {
    async isRegistered(tenantId) {
      const creds = await WhatsAppAuthRecord.findOne({ _id: credsRecordId(tenantId), tenantId: storeId(tenantId) }, { registered: 1 })
        .lean<{ registered?: boolean }>()
        .exec();
      return creds?.registered === true;
    },

    async open(fence) {
      await raiseEpoch(fence);
      await WhatsAppAuthRecord.updateMany({ tenantId: storeId(fence.tenantId), epoch: { $lt: fence.epoch } }, { $set: { epoch: fence.epoch } }).exec();
      const saved = await WhatsAppAuthRecord.findOne({ _id: credsRecordId(fence.tenantId), tenantId: storeId(fence.tenantId) }, { value: 1 })
        .lean<{ _id: string; value: string }>()
        .exec();
      const creds: AuthenticationCreds = saved ? unseal(saved._id, saved.value) : initAuthCreds();
      return openedState(fence, creds);
    },

    async wipe(fence) {
      await raiseEpoch(fence);
      await WhatsAppAuthRecord.deleteMany({ tenantId: storeId(fence.tenantId), epoch: { $lte: fence.epoch } }).exec();
      await assertNewest(fence);
    },
  };
}

function openedState(fence: SessionFence, creds: AuthenticationCreds): StoredAuthState {
  const inflight = new Set<Promise<unknown>>();
  const track = <T>(write: Promise<T>): Promise<T> => {
    inflight.add(write);
    const done = () => inflight.delete(write);
    write.then(done, done);
    return write;
  };
  // The creds are saved whole, so a failed save is made good by any later one that succeeds; until then `settled()` says they are not stored.
  let credsUnsaved: unknown;
  const credsWrites = new CoalescedWrite(() =>
    writeRecords(fence, credsOperations(fence, creds)).then(
      () => {
        credsUnsaved = undefined;
      },
      (error: unknown) => {
        credsUnsaved = error;
        throw error;
      },
    ),
  );
  const keys: SignalKeyStore = {
    get: (type, ids) => readKeys(fence.tenantId, type, ids),
    set: (data) => track(writeRecords(fence, keyOperations(fence, data))),
  };
  return {
    state: { creds, keys },
    saveCreds: () => track(credsWrites.call()),
    settled: async () => {
      await Promise.all([...inflight]);
      if (credsUnsaved !== undefined) throw credsUnsaved;
    },
  };
}

// ---------------------------------------------------------------- reading

async function readKeys<T extends keyof SignalDataTypeMap>(tenantId: string, type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
  const found: { [id: string]: SignalDataTypeMap[T] } = {};
  if (ids.length === 0) return found;
  const recordIds = ids.map((id) => keyRecordId(tenantId, type, id));
  const rows = await WhatsAppAuthRecord.find({ tenantId: storeId(tenantId), _id: { $in: recordIds } }, { value: 1 })
    .lean<Array<{ _id: string; value: string }>>()
    .exec();
  const sealed = new Map(rows.map((row) => [row._id, row.value]));
  ids.forEach((id, i) => {
    const value = sealed.get(recordIds[i]!);
    if (value === undefined) return;
    const plain = unseal(recordIds[i]!, value);
    found[id] = (type === "app-state-sync-key" ? proto.Message.AppStateSyncKeyData.fromObject(plain) : plain) as SignalDataTypeMap[T];
  });
  return found;
}

function seal(recordId: string, value: unknown): string {
  return encryptSecret(JSON.stringify(value, BufferJSON.replacer), authRecordContext(recordId));
}

function unseal(recordId: string, sealed: string): any {
  return JSON.parse(decryptSecret(sealed, authRecordContext(recordId)), BufferJSON.reviver);
}

// ---------------------------------------------------------------- writing

type AuthOperation = AnyBulkWriteOperation<any>;

function credsOperations(fence: SessionFence, creds: AuthenticationCreds): () => AuthOperation[] {
  // Sealed when the write starts, not when it was asked for: `creds` is mutated in place, and the newest state is the one to keep.
  return () => {
    const _id = credsRecordId(fence.tenantId);
    return [upsert(fence, _id, { type: "creds", value: seal(_id, creds), registered: creds.registered === true })];
  };
}

function keyOperations(fence: SessionFence, data: SignalDataSet): () => AuthOperation[] {
  return () => {
    const operations: AuthOperation[] = [];
    for (const [type, values] of Object.entries(data)) {
      for (const [id, value] of Object.entries(values ?? {})) {
        const _id = keyRecordId(fence.tenantId, type, id);
        operations.push(value === null || value === undefined ? { deleteOne: { filter: ownedFilter(fence, _id) } } : upsert(fence, _id, { type, value: seal(_id, value) }));
      }
    }
    return operations;
  };
}

function upsert(fence: SessionFence, _id: string, fields: Record<string, unknown>): AuthOperation {
  return { updateOne: { filter: ownedFilter(fence, _id), update: { $set: { ...fields, epoch: fence.epoch } }, upsert: true } };
}

/** Matches the record only while no newer owner has written or claimed it. */
function ownedFilter(fence: SessionFence, _id: string): Record<string, unknown> {
  return { _id, tenantId: storeId(fence.tenantId), epoch: { $lte: fence.epoch } };
}

/** Upserts that race on one new `_id` (two batches of this owner) collide once; the second try then updates. */
const DUPLICATE_TRIES = 3;

/**
 * Applies the operations `build` gives in one `bulkWrite` between two epoch checks. Throws
 * `StaleSessionOwner` when a newer owner has the session, and MongoDB's error when the batch
 * was not (or not wholly) applied; applying the same batch again is harmless.
 */
async function writeRecords(fence: SessionFence, build: () => AuthOperation[]): Promise<void> {
  await assertNewest(fence);
  for (let attempt = 1; ; attempt++) {
    const operations = build();
    if (operations.length === 0) return;
    try {
      await WhatsAppAuthRecord.bulkWrite(operations, { ordered: false });
      break;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // A record held by a newer owner makes its upsert miss and collide on `_id`.
      await assertNewest(fence);
      const ids = operations.flatMap((op) => ("updateOne" in op ? [String((op.updateOne.filter as { _id: string })._id)] : []));
      const newer = await WhatsAppAuthRecord.exists({ tenantId: storeId(fence.tenantId), _id: { $in: ids }, epoch: { $gt: fence.epoch } }).exec();
      if (newer) throw new StaleSessionOwner(fence.tenantId, fence.epoch);
      if (attempt >= DUPLICATE_TRIES) throw error;
    }
  }
  await assertNewest(fence);
}

async function raiseEpoch(fence: SessionFence): Promise<void> {
  const id = storeId(fence.tenantId);
  for (let attempt = 1; ; attempt++) {
    try {
      const session = await WhatsAppSessionRecord.findOneAndUpdate({ _id: id, tenantId: id }, { $max: { epoch: fence.epoch } }, { upsert: true, returnDocument: "after", projection: { epoch: 1 } })
        .lean<{ epoch: number }>()
        .exec();
      if (session && session.epoch > fence.epoch) throw new StaleSessionOwner(fence.tenantId, fence.epoch);
      return;
    } catch (error) {
      // Two first-ever opens upserting at once: the loser finds the document on its second try.
      if (!isDuplicateKey(error) || attempt >= 2) throw error;
    }
  }
}

async function assertNewest(fence: SessionFence): Promise<void> {
  const id = storeId(fence.tenantId);
  const session = await WhatsAppSessionRecord.findOne({ _id: id, tenantId: id }, { epoch: 1 }).lean<{ epoch: number }>().exec();
  if (session && session.epoch > fence.epoch) throw new StaleSessionOwner(fence.tenantId, fence.epoch);
}

function isDuplicateKey(error: unknown): boolean {
  const e = error as { code?: number; writeErrors?: Array<{ code?: number }> };
  if (e?.code === 11000) return true;
  return Array.isArray(e?.writeErrors) && e.writeErrors.length > 0 && e.writeErrors.every((w) => w.code === 11000);
}

function storeId(tenantId: string): Types.ObjectId {
  return new Types.ObjectId(tenantId);
}

/**
 * One write at a time; calls made while one runs share the next, which starts after it and
 * so stores the state as it is then. No call is dropped: the last caller's state is always
 * written by a write that started after its call.
 */
class CoalescedWrite {
  private running?: Promise<void>;
  private queued?: Promise<void>;

  constructor(private readonly write: () => Promise<void>) {}

  call(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const ignore = () => undefined;
    this.queued = this.running.then(ignore, ignore).then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  private start(): Promise<void> {
    const write = this.write();
    this.running = write;
    const done = () => {
      if (this.running === write) this.running = undefined;
    };
    write.then(done, done);
    return write;
  }
}
