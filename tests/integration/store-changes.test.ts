// Following store changes cheaply: with fifty stores' bots running, a store changed by
// `niaga tenant …` in another process is picked up at the next sweep, which reads that
// store only; the store change feed (a "changed since" query on this standalone server)
// says which stores changed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { User } from "grammy/types";
import { QUIET, Tenant } from "../../storage/models/index.ts";
import { ChangedSinceFeed, openStoreChangeFeed, type StoreChangeFeed, type StoreChangeSet } from "../../storage/store-changes.ts";
import { runNiaga } from "../support/niaga-process.ts";
import { startStores, words, type Store, type Stores } from "../telegram/store-fixture.ts";

const FLEET = 50;

function idsOf(changes: StoreChangeSet): readonly string[] {
  assert.ok(!changes.all, "a change set, not a full sweep");
  return changes.ids;
}

describe("following store changes", () => {
  let stores: Stores;
  let fleet: Store[];
  let feed: StoreChangeFeed;
  const niaga = async (...args: string[]) => {
    const run = await runNiaga(args, { MONGODB_URI: stores.database.uri, ENCRYPTION_KEY: stores.database.encryptionKey.toString("base64"), PUBLIC_URL: stores.publicUrl });
    assert.equal(run.code, 0, `niaga ${args.join(" ")} failed: ${run.stderr}`);
  };
  const greeted = async (store: Store, user: User) => {
    const sent = await stores.tg.sendCommand(store.token, user, "/start");
    await stores.tg.waitForSent(store.token, user, (m) => m.message_id > sent.message_id && words(m).includes(store.name));
  };

  before(async () => {
    stores = await startStores({ startTimeoutMs: 5000 });
    fleet = [];
    for (let i = 0; i < FLEET; i++) fleet.push(await stores.createStore({ name: `Toko ${String(i).padStart(2, "0")}`, mode: "webhook" }));
    // As if the fleet had been made an hour ago (a raw write: no fresh stamp).
    await Tenant.collection.updateMany({}, { $set: { changedAt: new Date(Date.now() - 3_600_000) } });
    const started = await stores.bots.startAll();
    assert.equal(started.started.length, FLEET, JSON.stringify(started.failed));
    feed = await openStoreChangeFeed();
  });
  after(async () => {
    await feed?.close();
    await stores?.close();
  });

  it("on a standalone server the feed asks 'changed since', and its first answer is every store", async () => {
    assert.equal(feed.kind, "changed-since", "the embedded server names no replica set");
    const first = await feed.changes();
    assert.deepEqual(first, { all: true });
    const full = await stores.bots.reconcileChanged(first);
    assert.equal(full.checked, FLEET, "the first sweep reads every store");
    assert.equal(full.reconciled, 0, "nothing changed since the start");
  });

  it("a store suspended by `niaga tenant suspend` in another process is stopped at the next sweep, which reads that store only", async () => {
    const [target, other] = [fleet[7], fleet[8]];
    await niaga("tenant", "suspend", target.slug, "--reason", "tagihan");
    const changes = await feed.changes();
    assert.deepEqual(idsOf(changes), [target.id]);
    const sweep = await stores.bots.reconcileChanged(changes);
    assert.equal(sweep.checked, 1, `one store read, not ${FLEET}`);
    assert.deepEqual(sweep.stopped, [target.slug]);
    assert.equal(sweep.reconciled, 1);
    assert.equal(stores.bots.status(target.id), undefined);
    assert.equal(stores.bots.running().length, FLEET - 1);
    await greeted(other, stores.user({ first_name: "Gita" }));
  });

  it("a store re-moded by `niaga tenant set` in another process moves at the next sweep; a store seen again within the overlap costs a read and nothing else", async () => {
    const target = fleet[12];
    const narrow = new ChangedSinceFeed({ overlapMs: 0 });
    assert.deepEqual(await narrow.changes(), { all: true });
    await niaga("tenant", "set", target.slug, "--telegram-mode", "polling");
    const changes = await narrow.changes();
    assert.deepEqual(idsOf(changes), [target.id], "only the store written since the last question");
    const sweep = await stores.bots.reconcileChanged(changes);
    assert.deepEqual([sweep.checked, sweep.reconciled], [1, 1]);
    assert.equal(stores.bots.status(target.id)?.mode, "polling");
    await greeted(target, stores.user({ first_name: "Hadi" }));

    // The process-wide feed sees the write, then (it looks back a minute) names the store
    // once more at the next question: read again, harmlessly.
    const seen = await feed.changes();
    assert.ok(idsOf(seen).includes(target.id));
    await stores.bots.reconcileChanged(seen);
    const again = await feed.changes();
    assert.ok(idsOf(again).includes(target.id), "within the overlap, though not written since the last question");
    const reread = await stores.bots.reconcileChanged(again);
    assert.equal(reread.reconciled, 0, "an unchanged store is not touched");
    assert.deepEqual([reread.started, reread.stopped, reread.failed], [[], [], []]);
    assert.equal(stores.bots.status(target.id)?.mode, "polling");
  });

  it("a write marked QUIET (the bots' own bookkeeping) is not a change; any other write is", async () => {
    const target = fleet[20];
    const narrow = new ChangedSinceFeed({ overlapMs: 0 });
    await narrow.changes();
    await Tenant.updateOne({ _id: target.id }, { $set: { "channels.telegram.botUsername": "cached_name_bot" } }, QUIET).exec();
    const doc = await Tenant.findById(target.id).exec();
    doc!.set("channels.telegram.botUsername", "cached_again_bot");
    await doc!.save(QUIET);
    assert.deepEqual(idsOf(await narrow.changes()), []);
    const sweep = await stores.bots.reconcileChanged({ ids: [] });
    assert.equal(sweep.checked, 0, "nothing changed, nothing read");

    await Tenant.updateOne({ _id: target.id }, { $set: { name: "Toko Dua Puluh" } }).exec();
    assert.deepEqual(idsOf(await narrow.changes()), [target.id]);
  });

  it("a deleted store leaves no stamp: the cheap sweep misses it, the full one stops its bot", async () => {
    const target = fleet[30];
    await Tenant.deleteOne({ _id: target.id }).exec();
    const cheap = await stores.bots.reconcileChanged({ ids: [] });
    assert.equal(cheap.stopped.length, 0);
    assert.ok(stores.bots.status(target.id), "still running until a full sweep");
    const full = await stores.bots.reconcileChanged({ all: true });
    assert.deepEqual(full.stopped, [target.slug]);
    assert.equal(stores.bots.status(target.id), undefined);
  });

  it("the feed answers every store again once its full-sweep period has passed", async () => {
    let now = Date.now();
    const timed = new ChangedSinceFeed({ fullSweepMs: 600_000, now: () => now });
    assert.deepEqual(await timed.changes(), { all: true });
    now += 599_000;
    assert.equal((await timed.changes()).all, undefined);
    now += 1_000;
    assert.deepEqual(await timed.changes(), { all: true });
  });
});
