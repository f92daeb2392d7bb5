// Sending a broadcast through a real outbox: two runners on one ledger, what a crash leaves
// behind, a channel's 429 and restriction, customers who blocked the bot or opted out on
// the way, cancelling mid-way, stopping an instance, and a send that answers late.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { createBroadcasting, type BroadcastEvent, type Broadcasting, type BroadcastingOptions } from "../../flows/broadcast/index.ts";
import { Broadcast, BroadcastRecipient } from "../../flows/broadcast/broadcast-model.ts";
import { notSent, withTimeout, type OutboxMiddleware } from "../../flows/engine/index.ts";
import { Customer } from "../../storage/models/index.ts";
import { seedCustomers, type SeededCustomer } from "../support/broadcast-audience.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { recordingOutbox, type RecordingSetup } from "../support/recording-outbox.ts";
import { seedStore, type SeededStore, type SeedStoreOptions } from "../support/stores.ts";

let db: TestDatabase;
before(async () => {
  db = await openTestDatabase("broadcast_sending");
});
after(async () => {
  await db.close();
});

const seller = { channel: "telegram", userId: "owner-1" };
// Every runner works every store's broadcasts: each test's runners stop when it ends.
const running: Broadcasting[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.stop(0)));
});

interface Setup extends RecordingSetup {
  events: BroadcastEvent[];
  make(options?: Partial<BroadcastingOptions>): Broadcasting;
}

/** A recording telegram channel behind a real outbox; `make` adds an instance sharing it. */
function setup(middleware: OutboxMiddleware[] = []): Setup {
  const recording = recordingOutbox({ channel: "telegram" });
  recording.outbox.use(...middleware);
  const events: BroadcastEvent[] = [];
  let instances = 0;
  return {
    ...recording,
    events,
    make(options = {}) {
      const broadcasting = createBroadcasting({
        outbox: recording.outbox,
        onEvent: (e) => void events.push(e),
        pace: { telegram: 500 },
        pollMs: 50,
        instanceId: `test-${++instances}`,
        ...options,
      });
      running.push(broadcasting);
      return broadcasting;
    },
  };
}

/** A store with `count` telegram customers and a broadcast to all of them, its ledger fixed (sending). */
async function startedBroadcast(broadcasting: Broadcasting, count: number, storeOptions: SeedStoreOptions = {}): Promise<{ store: SeededStore; customers: SeededCustomer[]; number: number; id: string }> {
  const store = await seedStore(storeOptions);
  const customers = await seedCustomers(store, count);
  const saved = await broadcasting.saveDraft(store.tenantId, seller, { content: { text: "Promo!", buttons: [] }, audience: { kind: "all" } });
  assert.ok(saved.ok);
  const scheduled = await broadcasting.schedule(store.tenantId, saved.broadcast.number, seller, { at: new Date(Date.now() - 1000) });
  assert.ok(scheduled.ok, `scheduled: ${JSON.stringify(scheduled)}`);
  await eventually(async () => (await Broadcast.findOne({ tenantId: store.tenant, number: saved.broadcast.number }).lean().exec())?.status === "sending", "the ledger to be fixed");
  return { store, customers, number: saved.broadcast.number, id: saved.broadcast.id };
}

/** How many messages each chat received. */
function perChat(setup: RecordingSetup, tenantId: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { to } of setup.channel.delivered()) if (to.tenantId === tenantId) counts.set(to.chatId, (counts.get(to.chatId) ?? 0) + 1);
  return counts;
}

const statusOf = async (store: SeededStore, number: number) => (await Broadcast.findOne({ tenantId: store.tenant, number }).lean().exec())?.status;
const ledger = (store: SeededStore, id: string) => BroadcastRecipient.find({ tenantId: store.tenant, broadcastId: id }).lean().exec();

describe("exactly once", () => {
  test("two instances sending one broadcast of 300 recipients: every chat gets exactly one message, one `finished`, one `progress` per interval", async () => {
    const s = setup();
    const a = s.make({ progressEveryMs: 3_600_000 });
    const b = s.make({ progressEveryMs: 3_600_000 });
    const { store, customers, number, id } = await startedBroadcast(a, 300);
    a.start();
    b.start();
    await eventually(async () => (await statusOf(store, number)) === "done", "the broadcast to finish", { timeoutMs: 60_000 });
    const counts = perChat(s, store.tenantId);
    assert.equal(counts.size, 300);
    assert.deepEqual([...new Set(counts.values())], [1], "nobody twice");
    for (const c of customers) assert.equal(counts.get(c.channelUserId), 1);
    const rows = await ledger(store, id);
    assert.deepEqual([...new Set(rows.map((r) => r.state))], ["sent"]);
    assert.ok(rows.every((r) => r.messageIds && r.messageIds.length === 1 && !r.claimedBy));
    const mine = s.events.filter((e) => e.broadcast.id === id);
    assert.equal(mine.filter((e) => e.type === "finished").length, 1);
    assert.equal(mine.filter((e) => e.type === "progress").length, 1, "the second instance lost the election within the interval");
    const finished = mine.find((e) => e.type === "finished");
    assert.ok(finished?.type === "finished");
    assert.equal(finished.counts.sent, 300);
    assert.ok(s.channel.sends.every((send) => send.options.bulk === true), "sent as bulk, behind the store's other messages");
  });

  test("after a crash: a claim whose lease ran out is sent, a send in flight is recorded sent in doubt and not sent again, a live claim waits", async () => {
    const s = setup();
    const clock = { now: new Date() };
    const broadcasting = s.make({ clock: () => clock.now });
    const { store, customers, number, id } = await startedBroadcast(broadcasting, 4);
    const [expired, inFlight, live] = customers;
    const past = new Date(clock.now.getTime() - 1000);
    const set = (c: SeededCustomer, fields: Record<string, unknown>) => BroadcastRecipient.updateOne({ tenantId: store.tenant, broadcastId: id, chatId: c.channelUserId }, { $set: fields }).exec();
    await set(expired, { state: "claimed", claimedBy: "dead:1", claimedUntil: past });
    await set(inFlight, { state: "sending", claimedBy: "dead:1", claimedUntil: past });
    await set(live, { state: "claimed", claimedBy: "other:1", claimedUntil: new Date(clock.now.getTime() + 30_000) });
    await broadcasting.runOnce();
    let counts = perChat(s, store.tenantId);
    assert.equal(counts.get(expired.channelUserId), 1);
    assert.equal(counts.get(inFlight.channelUserId), undefined, "in doubt: never sent again");
    assert.equal(counts.get(live.channelUserId), undefined, "held by a live instance");
    assert.equal(counts.get(customers[3].channelUserId), 1);
    const doubt = await BroadcastRecipient.findOne({ tenantId: store.tenant, broadcastId: id, chatId: inFlight.channelUserId }).lean().exec();
    assert.equal(doubt?.state, "sent");
    assert.equal(doubt?.inDoubt, true);
    assert.equal(await statusOf(store, number), "sending", "not done while someone is held");
    clock.now = new Date(clock.now.getTime() + 31_000);
    await broadcasting.runOnce();
    counts = perChat(s, store.tenantId);
    assert.equal(counts.get(live.channelUserId), 1);
    assert.equal(await statusOf(store, number), "done");
    const view = await broadcasting.get(store.tenantId, number);
    assert.equal(view?.counts?.sent, 4);
    assert.equal(view?.counts?.inDoubt, 1);
  });

  test("an instance stopping lets its sends finish and gives back its claims; another finishes the broadcast, nobody twice", async () => {
    const s = setup();
    const first = s.make({ pace: { telegram: 4 } });
    const { store, number } = await startedBroadcast(first, 12);
    first.start();
    await eventually(() => s.channel.delivered().filter((d) => d.to.tenantId === store.tenantId).length >= 2, "a first send");
    await first.stop(5000);
    assert.equal(await BroadcastRecipient.countDocuments({ tenantId: store.tenant, state: { $in: ["claimed", "sending"] } }), 0, "no claim left behind");
    assert.equal(await statusOf(store, number), "sending");
    const second = s.make();
    second.start();
    await eventually(async () => (await statusOf(store, number)) === "done", "the broadcast to finish");
    const counts = perChat(s, store.tenantId);
    assert.equal(counts.size, 12);
    assert.deepEqual([...new Set(counts.values())], [1]);
  });

  test("a send the outbox timed out is recorded when the channel answers late: sent once, not failed, not resent", async () => {
    let slowChat = "";
    const slow: OutboxMiddleware = async (next, to, outbounds, options) => {
      if (to.chatId === slowChat) await new Promise((resolve) => setTimeout(resolve, 400));
      return next(to, outbounds, options);
    };
    // withTimeout added last runs first: it times out the slow send and hands back `late`.
    const s = setup([slow, withTimeout(50)]);
    const broadcasting = s.make();
    const { store, customers, number, id } = await startedBroadcast(broadcasting, 3);
    slowChat = customers[1].channelUserId;
    await broadcasting.runOnce();
    assert.equal(await statusOf(store, number), "done");
    const rows = await ledger(store, id);
    assert.deepEqual(rows.map((r) => r.state), ["sent", "sent", "sent"]);
    assert.equal(perChat(s, store.tenantId).get(slowChat), 1);
  });
});

describe("the message on the wire", () => {
  test("an image broadcast reaches every recipient with the image's bytes, the text in their language and the opt-out button", async () => {
    const s = setup();
    const broadcasting = s.make();
    const store = await seedStore();
    await seedCustomers(store, 1, { prefix: "id" });
    const [english] = await seedCustomers(store, 1, { prefix: "en", fields: { locale: "en" } });
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 7, 7, 7]);
    const saved = await broadcasting.saveDraft(store.tenantId, seller, { content: { text: "Lihat promo", image: { data: bytes, fileName: "promo.png", mime: "image/png" }, buttons: [] }, audience: { kind: "all" } });
    assert.ok(saved.ok);
    assert.ok((await broadcasting.schedule(store.tenantId, saved.broadcast.number, seller, {})).ok);
    await eventually(async () => (await statusOf(store, saved.broadcast.number)) === "sending", "the start");
    assert.equal((await broadcasting.get(store.tenantId, saved.broadcast.number))?.content.hasImage, true);
    await broadcasting.runOnce();
    const sent = s.channel.sends.filter((x) => x.to.tenantId === store.tenantId);
    assert.equal(sent.length, 2);
    for (const send of sent) {
      assert.deepEqual(Buffer.from(send.outbounds[0].media!.data!), bytes);
      assert.equal(send.outbounds[0].choices?.at(-1)?.id, "cmd:berhenti");
    }
    assert.equal(sent.find((x) => x.to.chatId === english.channelUserId)?.options.locale, "en");
    assert.equal(sent.find((x) => x.to.chatId !== english.channelUserId)?.options.locale, "id", "the store's language when the customer chose none");
  });
});

describe("what channels and customers answer", () => {
  test("a 429: the broadcast is held for retry_after and slowed, the recipients are queued again, nobody is lost", async () => {
    // The channel as Telegram behaves: after the 4th message, every send within the next 2 s is refused with what is left of the wait.
    let heldUntil = 0;
    let refused = 0;
    let passed = 0;
    const limiter: OutboxMiddleware = async (next, to, outbounds, options) => {
      const now = Date.now();
      if (passed === 4 && heldUntil === 0) heldUntil = now + 2000;
      if (now < heldUntil) {
        refused++;
        return notSent(outbounds.length, "rate-limited", "429: Too Many Requests", Math.ceil((heldUntil - now) / 1000));
      }
      passed++;
      return next(to, outbounds, options);
    };
    const s = setup([limiter]);
    const broadcasting = s.make({ pace: { telegram: 20 } });
    const { store, number, id } = await startedBroadcast(broadcasting, 30);
    broadcasting.start();
    await eventually(async () => (await Broadcast.findOne({ tenantId: store.tenant, number }).lean().exec())?.holdUntil, "the hold");
    const held = await Broadcast.findOne({ tenantId: store.tenant, number }).lean<{ holdUntil: Date; pace: Record<string, number> }>().exec();
    assert.equal(held?.pace.telegram, 14, "20/s slowed by 0.7");
    await eventually(async () => (await statusOf(store, number)) === "done", "the broadcast to finish");
    assert.ok(refused >= 1);
    // Only the sends already in flight when the first 429 came back hear one; a runner ignoring the hold would hear one every 70 ms.
    assert.ok(refused <= 10, `${refused} sends refused while held`);
    const counts = perChat(s, store.tenantId);
    assert.equal(counts.size, 30);
    assert.deepEqual([...new Set(counts.values())], [1]);
    assert.equal((await ledger(store, id)).filter((r) => r.state !== "sent").length, 0);
  });

  test("a restriction (a flood wait of 10 minutes): the broadcast pauses as restricted, one `restricted` event, nobody lost; resumed, it finishes", async () => {
    let restricted = true;
    const limiter: OutboxMiddleware = async (next, to, outbounds, options) =>
      restricted ? notSent(outbounds.length, "rate-limited", "429: Too Many Requests: retry after 600", 600) : next(to, outbounds, options);
    const s = setup([limiter]);
    const broadcasting = s.make({ pace: { telegram: 50 } });
    const { store, number, id } = await startedBroadcast(broadcasting, 8);
    broadcasting.start();
    await eventually(async () => (await statusOf(store, number)) === "paused", "the pause");
    await eventually(async () => (await BroadcastRecipient.countDocuments({ tenantId: store.tenant, broadcastId: id, state: "queued" })) === 8, "every recipient queued again");
    const view = await broadcasting.get(store.tenantId, number);
    assert.equal(view?.pausedReason, "restricted");
    const told = s.events.filter((e) => e.broadcast.id === id && e.type === "restricted");
    assert.equal(told.length, 1);
    assert.ok(told[0].type === "restricted" && told[0].channel === "telegram");
    restricted = false;
    assert.ok((await broadcasting.resume(store.tenantId, number, seller)).ok);
    await eventually(async () => (await statusOf(store, number)) === "done", "the broadcast to finish");
    assert.equal(perChat(s, store.tenantId).size, 8);
  });

  test("an instance that does not serve the store on the channel (another holds its session) steps aside: the other sends, nothing pauses", async () => {
    let refused = 0;
    const elsewhere: OutboxMiddleware = async (_next, _to, outbounds) => {
      refused++;
      return notSent(outbounds.length, "store-unavailable", "owned by instance-2");
    };
    const here = setup([elsewhere]);
    const there = setup();
    const a = here.make();
    const { store, number, id } = await startedBroadcast(a, 6, { telegram: { token: "12345:store-token" } });
    a.start();
    await eventually(() => refused > 0, "the first refusal");
    const b = there.make();
    b.start();
    await eventually(async () => (await statusOf(store, number)) === "done", "the broadcast to finish");
    assert.equal(perChat(there, store.tenantId).size, 6);
    assert.deepEqual([...new Set(perChat(there, store.tenantId).values())], [1]);
    assert.equal(here.events.filter((e) => e.broadcast.id === id && (e.type === "restricted" || e.type === "paused")).length, 0);
    assert.equal((await ledger(store, id)).filter((r) => r.state !== "sent").length, 0);
  });

  test("a store that is off the channel (no working bot) pauses the broadcast as restricted", async () => {
    const limiter: OutboxMiddleware = async (_next, _to, outbounds) => notSent(outbounds.length, "store-unavailable", "the bot's token was revoked");
    const s = setup([limiter]);
    const broadcasting = s.make();
    const { store, number } = await startedBroadcast(broadcasting, 3);
    await broadcasting.runOnce();
    assert.equal(await statusOf(store, number), "paused");
    assert.equal((await broadcasting.get(store.tenantId, number))?.pausedReason, "restricted");
  });

  test("a customer who blocked the bot: failed as blocked, marked unreachable, left out of the next broadcast", async () => {
    const s = setup();
    const broadcasting = s.make();
    const { store, customers, number, id } = await startedBroadcast(broadcasting, 3);
    const blocker = customers[0];
    s.channel.failFor({ tenantId: store.tenantId, chatId: blocker.channelUserId }, "blocked");
    await broadcasting.runOnce();
    assert.equal(await statusOf(store, number), "done");
    const row = (await ledger(store, id)).find((r) => r.chatId === blocker.channelUserId);
    assert.equal(row?.state, "failed");
    assert.equal(row?.reason, "blocked");
    const customer = await Customer.findOne({ tenantId: store.tenant, _id: blocker._id }).lean().exec();
    assert.equal(customer?.blocked, true);
    assert.equal(customer?.blockedReason, "blocked-bot", "as the Telegram adapter marks it, so writing again clears it");
    assert.equal((await broadcasting.counts(store.tenantId, number))?.failedBy.blocked, 1);
    assert.equal((await broadcasting.audienceSize(store.tenantId, { kind: "all" })).total, 2);
  });

  test("a customer who opts out after the start is skipped at their turn; one who was blocked since too", async () => {
    const s = setup();
    const broadcasting = s.make();
    const { store, customers, number } = await startedBroadcast(broadcasting, 4);
    await broadcasting.optOut(store.tenantId, { channel: "telegram", userId: customers[1].channelUserId });
    await Customer.updateOne({ tenantId: store.tenant, _id: customers[2]._id }, { $set: { blocked: true } }).exec();
    await broadcasting.runOnce();
    const counts = perChat(s, store.tenantId);
    assert.equal(counts.get(customers[1].channelUserId), undefined);
    assert.equal(counts.get(customers[2].channelUserId), undefined);
    assert.equal(counts.size, 2);
    const view = await broadcasting.get(store.tenantId, number);
    assert.equal(view?.status, "done");
    assert.deepEqual(view?.counts?.skippedBy, { "opted-out": 1, unreachable: 1 });
    assert.equal(view?.optedOutSince, 1);
  });

  test("cancelled mid-way: the rest are skipped as cancelled and nothing more goes to them", async () => {
    const s = setup();
    const broadcasting = s.make({ pace: { telegram: 5 } });
    const { store, number, id } = await startedBroadcast(broadcasting, 20);
    broadcasting.start();
    await eventually(() => s.channel.delivered().filter((d) => d.to.tenantId === store.tenantId).length >= 2, "the first sends");
    assert.ok((await broadcasting.cancel(store.tenantId, number, seller)).ok);
    await eventually(async () => (await BroadcastRecipient.countDocuments({ tenantId: store.tenant, broadcastId: id, state: { $in: ["claimed", "sending"] } })) === 0, "the runner to let go");
    await broadcasting.stop(1000);
    const rows = await ledger(store, id);
    const sentTo = new Set(rows.filter((r) => r.state === "sent").map((r) => r.chatId));
    const delivered = s.channel.delivered().filter((d) => d.to.tenantId === store.tenantId).map((d) => d.to.chatId);
    assert.deepEqual(new Set(delivered), sentTo, "a message went only to a recipient recorded sent");
    assert.ok(rows.filter((r) => r.state === "skipped" && r.reason === "cancelled").length >= 10);
    assert.equal(rows.filter((r) => r.state === "queued").length, 0);
    assert.equal(await statusOf(store, number), "cancelled");
  });
});
