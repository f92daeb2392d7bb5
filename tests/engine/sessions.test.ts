// Sessions on MongoDB (the embedded server, or the real one named by MONGODB_URI).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import mongoose from "mongoose";
import { defineFlow } from "../../flows/engine/flow-schema.ts";
import type { ChatKey } from "../../flows/engine/message.ts";
import { ConversationDraft } from "../../flows/engine/conversation-draft.ts";
import { ConversationSession, MongoSessionStore, sessionWriteSet } from "../../flows/engine/mongo-session-store.ts";
import { SESSION_RETENTION_MS, type SessionStore } from "../../flows/engine/session.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { ChatUser, capturingLog, newTenant, testEngine } from "./chat-harness.ts";

let db: TestDatabase;
before(async () => {
  db = await openTestDatabase("engine_sessions", { indexes: false });
  await MongoSessionStore.ensureIndexes();
});
after(() => db.close());

const survey = defineFlow({
  id: "survey",
  triggers: { commands: ["survey"] },
  idleTimeout: "5m",
  steps: {
    name: { kind: "ask", text: { id: "Nama?" }, expect: "text", saveAs: "name", next: "city" },
    city: { kind: "ask", text: { id: "Kota?" }, expect: "text", saveAs: "city", next: "save" },
    save: { kind: "action", action: "survey.save", next: "done" },
    done: { kind: "end", text: { id: "Terima kasih {{name}} dari {{city}}." } },
  },
});

const noop = { "survey.save": () => undefined };
const keyOf = (user: ChatUser): ChatKey => ({ tenantId: user.inbound.tenant.id, channel: user.inbound.channel, chatId: user.inbound.chatId });
const rawSession = (key: ChatKey) => ConversationSession.findOne({ tenantId: key.tenantId, channel: key.channel, chatId: key.chatId }).lean<Record<string, any>>().exec();
const setExpiry = (key: ChatKey, expiresAt: Date) => ConversationSession.updateOne({ tenantId: key.tenantId, channel: key.channel, chatId: key.chatId }, { $set: { expiresAt } }).exec();

describe("a session in MongoDB", () => {
  test("holds flow, step, data and a version — never the history — and ends idle", async () => {
    const saved: unknown[] = [];
    const engine = testEngine({ flows: [survey], sessions: new MongoSessionStore(), actions: { "survey.save": (ctx) => void saved.push(ctx.data) } });
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/survey");
    let doc = await rawSession(keyOf(user));
    assert.equal(doc?.version, 1);
    assert.deepEqual(doc?.conversation, { flowId: "survey", stepId: "name", data: {}, stack: [], attempts: 0, page: 0 });
    await user.say("Sari");
    doc = await rawSession(keyOf(user));
    assert.equal(doc?.version, 2);
    assert.deepEqual(doc?.conversation.data, { name: "Sari" });
    assert.equal(doc?.conversation.stepId, "city");
    const expiresIn = doc!.expiresAt.getTime() - Date.now();
    assert.ok(expiresIn > 4 * 60_000 && expiresIn <= 5 * 60_000, `expires in ${expiresIn} ms`);
    assert.deepEqual(await user.say("Bandung"), ["Terima kasih Sari dari Bandung."]);
    doc = await rawSession(keyOf(user));
    assert.equal(doc?.version, 3);
    assert.equal(doc?.conversation, null);
    assert.deepEqual(saved, [{ name: "Sari", city: "Bandung" }]);
  });

  test("a message with no flow running writes nothing", async () => {
    const engine = testEngine({ flows: [survey], sessions: new MongoSessionStore(), actions: noop });
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("halo");
    await user.say("/help");
    assert.equal(await rawSession(keyOf(user)), null);
  });

  test("a write names the version it read: a stale write is refused, and only one of two racing writes wins", async () => {
    const store = new MongoSessionStore();
    const key: ChatKey = { tenantId: newTenant().id, channel: "test", chatId: "race" };
    const conversation = { flowId: "survey", stepId: "name", data: {}, stack: [], attempts: 0, page: 0 };
    const later = new Date(Date.now() + 60_000);
    const creations = await Promise.all([store.save(key, null, { replace: conversation }, later), store.save(key, null, { replace: conversation }, later)]);
    assert.deepEqual(creations.sort(), [false, true]);
    const first = await store.load(key);
    const updates = await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.save(key, first, { update: { stepId: "city", data: { writer: i } } }, later)),
    );
    assert.equal(updates.filter(Boolean).length, 1);
    assert.equal(await store.save(key, first, { replace: null }, later), false);
    const stored = await store.load(key);
    assert.equal(stored?.version, 2);
    assert.equal(stored?.conversation?.stepId, "city");
    assert.equal(Object.keys(stored?.conversation?.data ?? {}).length, 1, "exactly one writer's data");
  });

  test("is keyed by its chat and purged by a TTL index", async () => {
    const engine = testEngine({ flows: [survey], sessions: new MongoSessionStore(), actions: noop });
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/survey");
    assert.equal((await rawSession(keyOf(user)))?._id, `chat:${user.inbound.tenant.id}:test:${user.inbound.chatId}`);
    const indexes = await ConversationSession.collection.indexes();
    // Kept a week past its expiry, so a user coming back is told the conversation expired.
    const ttl = indexes.find((ix) => JSON.stringify(ix.key) === JSON.stringify({ expiresAt: 1 }));
    assert.equal(ttl?.expireAfterSeconds, SESSION_RETENTION_MS / 1000);

    const tenantId = new mongoose.Types.ObjectId();
    await ConversationSession.create({ _id: `chat:${tenantId}:test:old`, tenantId, channel: "test", chatId: "old", version: 4, conversation: null, expiresAt: new Date(Date.now() - SESSION_RETENTION_MS - 1_000) });
    // The embedded server sweeps every 200 ms in tests; a real mongod's TTL monitor runs every 60 s.
    const deadline = Date.now() + 90_000;
    while ((await ConversationSession.countDocuments({ tenantId })) > 0) {
      assert.ok(Date.now() < deadline, "the TTL index never purged the session");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  test("an idle session found past its expiry gets the polite notice, even before the TTL purge", async () => {
    let now = new Date();
    const engine = testEngine({ flows: [survey], sessions: new MongoSessionStore(), actions: noop, clock: () => now });
    const user = new ChatUser(engine, { tenant: newTenant() });
    await user.say("/survey");
    now = new Date(now.getTime() + 5 * 60_000 + 1);
    await user.say("Sari");
    assert.deepEqual(user.keys, ["engine.session_expired"]);
    // A restarted process, knowing nothing but the database, says the same.
    const key = keyOf(user);
    await setExpiry(key, new Date(Date.now() - 1_000));
    const restarted = new ChatUser(testEngine({ flows: [survey], sessions: new MongoSessionStore(), actions: noop }), { tenant: user.inbound.tenant, chatId: key.chatId });
    await restarted.say("/survey");
    await setExpiry(key, new Date(Date.now() - 1_000));
    const again = new ChatUser(testEngine({ flows: [survey], sessions: new MongoSessionStore(), actions: noop }), { tenant: user.inbound.tenant, chatId: key.chatId });
    await again.say("Sari");
    assert.deepEqual(again.keys, ["engine.session_expired"]);
    assert.ok(await rawSession(key), "still stored: the TTL purge comes days later");
  });
});

/** A store that lets another "process" write the session right after this one read it. */
function racingStore(inner: SessionStore, interfere: (key: ChatKey) => Promise<void>): SessionStore & { conflicts: number } {
  let armed = true;
  const store = {
    conflicts: 0,
    load: (key: ChatKey) => inner.load(key),
    async save(...args: Parameters<SessionStore["save"]>) {
      if (armed) {
        armed = false;
        await interfere(args[0]);
      }
      const ok = await inner.save(...args);
      if (!ok) store.conflicts++;
      return ok;
    },
  };
  return store;
}

describe("a concurrent write from another process", () => {
  test("is detected; a turn without side effects is re-run on the fresh session", async () => {
    const mongoStore = new MongoSessionStore();
    const tenant = newTenant();
    const plain = testEngine({ flows: [survey], sessions: mongoStore, actions: noop });
    const user = new ChatUser(plain, { tenant, chatId: "c1" });
    await user.say("/survey");
    await user.say("Sari");
    // Meanwhile another instance (without the lock, say) records a different name.
    const store = racingStore(mongoStore, async (key) => {
      const current = await mongoStore.load(key);
      await mongoStore.save(key, current, { update: { stepId: "city", data: { name: "Sari Dewi" } } }, new Date(Date.now() + 60_000));
    });
    const log = capturingLog();
    const racing = new ChatUser(testEngine({ flows: [survey], sessions: store, logFor: log.logFor, actions: { "survey.save": () => undefined } }), { tenant, chatId: "c1" });
    await racing.say("/help");
    assert.equal(store.conflicts, 1);
    assert.equal(log.lines[0].message, "session changed by another process during a turn");
    assert.deepEqual(await racing.say("Bandung"), ["Terima kasih Sari Dewi dari Bandung."]);
  });

  test("after an action ran, the turn is not repeated: the user is asked to resend, nothing is applied twice", async () => {
    const mongoStore = new MongoSessionStore();
    const tenant = newTenant();
    const calls: unknown[] = [];
    const actions = { "survey.save": (ctx: { data: unknown }) => void calls.push(ctx.data) };
    const user = new ChatUser(testEngine({ flows: [survey], sessions: mongoStore, actions }), { tenant, chatId: "c2" });
    await user.say("/survey");
    await user.say("Sari");
    const store = racingStore(mongoStore, async (key) => {
      const current = await mongoStore.load(key);
      await mongoStore.save(key, current, { update: { data: {} } }, new Date(Date.now() + 60_000));
    });
    const racing = new ChatUser(testEngine({ flows: [survey], sessions: store, actions }), { tenant, chatId: "c2" });
    await racing.say("Bandung");
    assert.deepEqual(racing.keys, ["engine.busy"]);
    assert.equal(calls.length, 1);
    const doc = await rawSession({ tenantId: tenant.id, channel: "test", chatId: "c2" });
    assert.equal(doc?.conversation.stepId, "city", "the lost turn left the conversation where it was");
  });
});

describe("two processes taking turns on one chat", () => {
  test("each remembers its own last write, yet never answers or acts from a stale session", async () => {
    const tenant = newTenant();
    const saved: unknown[] = [];
    const actions = { "survey.save": (ctx: { data: unknown }) => void saved.push(ctx.data) };
    const a = new ChatUser(testEngine({ flows: [survey], sessions: new MongoSessionStore(), actions }), { tenant, chatId: "shared" });
    const b = new ChatUser(testEngine({ flows: [survey], sessions: new MongoSessionStore(), actions }), { tenant, chatId: "shared" });
    assert.deepEqual(await a.say("/survey"), ["Nama?"]);
    assert.deepEqual(await b.say("Sari"), ["Kota?"]);
    // A last saw the chat at "Nama?"; its write fails the version check and it re-runs on B's state.
    assert.deepEqual(await a.say("Medan"), ["Terima kasih Sari dari Medan."]);
    assert.deepEqual(saved, [{ name: "Sari", city: "Medan" }]);
    // B last saw "Kota?"; a reply that writes nothing is only given after a fresh read.
    await b.say("Medan");
    assert.deepEqual(b.keys, ["engine.unknown_input"]);
    assert.equal(saved.length, 1);
  });
});

describe("one step's cost", () => {
  test("a step writes only what it changed, and reads the rest without copying it", () => {
    const data: Record<string, unknown> = {};
    for (let i = 1; i <= 300; i++) data[`a${i}`] = `jawaban ${i}`;
    const stored = { flowId: "long", stepId: "q300", data, stack: [], attempts: 1, page: 0 };
    const draft = new ConversationDraft(stored);
    const turn = draft.conversation!;
    assert.equal(turn.data.a7, "jawaban 7");
    turn.data.a300 = "terakhir";
    turn.stepId = "done";
    turn.attempts = 0;
    assert.equal(stored.data.a300, "jawaban 300", "the stored conversation is untouched until the write succeeds");
    assert.deepEqual(sessionWriteSet(draft.write()), { "conversation.stepId": "done", "conversation.attempts": 0, "conversation.data.a300": "terakhir" });
    assert.equal(draft.committed(), stored);
    assert.equal(stored.data.a300, "terakhir");
    assert.equal(stored.stepId, "done");

    const ending = new ConversationDraft(stored);
    ending.replace(null);
    assert.deepEqual(sessionWriteSet(ending.write()), { conversation: null });
  });

  test("does not depend on how many steps came before: the session stays the same size", async () => {
    const steps: Record<string, unknown> = {};
    for (let i = 1; i <= 300; i++) steps[`q${i}`] = { kind: "ask", text: { id: `Q${i}` }, expect: "text", max: 20, saveAs: "last", next: i === 300 ? "done" : `q${i + 1}` };
    steps.done = { kind: "end" };
    const long = { id: "long", triggers: { commands: ["long"] }, steps };
    const user = new ChatUser(testEngine({ flows: [long], sessions: new MongoSessionStore() }), { tenant: newTenant() });
    await user.say("/long");
    const sizes: number[] = [];
    for (let i = 1; i < 300; i++) {
      await user.say(`jawaban ${randomBytes(2).toString("hex")}`);
      if (i === 3 || i === 299) sizes.push(JSON.stringify((await rawSession(keyOf(user)))?.conversation).length);
    }
    assert.equal(user.last[0].prompt?.step, "q300");
    // One digit more in the step id; nothing grows with the conversation.
    assert.ok(sizes[1] - sizes[0] <= 2, `session grew from ${sizes[0]} to ${sizes[1]} bytes`);
  });
});
