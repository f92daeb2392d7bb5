// 100 chats × 10 steps at once, on MongoDB: no step lost, repeated or interleaved.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import type { Engine } from "../../flows/engine/engine.ts";
import type { Inbound, Outbound } from "../../flows/engine/message.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { createInProcessLock, createRedisLock } from "../../storage/locks.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { newTenant, render, testEngine } from "./chat-harness.ts";

const CHATS = 100;
const STEPS = 10;

let db: TestDatabase;
before(async () => {
  db = await openTestDatabase("engine_concurrency", { indexes: false });
  await MongoSessionStore.ensureIndexes();
});
after(() => db.close());

/** Each question quotes the previous answer, so a reply proves which state it was computed from. */
function quizFlow() {
  const steps: Record<string, unknown> = {};
  for (let i = 1; i <= STEPS; i++) {
    steps[`q${i}`] = {
      kind: "ask",
      text: { id: i === 1 ? "Q1" : `Q${i} setelah {{a${i - 1}}}` },
      expect: "text",
      saveAs: `a${i}`,
      next: i === STEPS ? "record" : `q${i + 1}`,
    };
  }
  steps.record = { kind: "action", action: "quiz.record", next: "done" };
  steps.done = { kind: "end", text: { id: `Selesai: ${Array.from({ length: STEPS }, (_, i) => `{{a${i + 1}}}`).join(" ")}` } };
  return { id: "quiz", triggers: { commands: ["quiz"] }, steps };
}

function quizEngine(recorded: Record<string, unknown>[], lock: Parameters<typeof testEngine>[0]["lock"]): Engine {
  return testEngine({
    flows: [quizFlow()],
    sessions: new MongoSessionStore(),
    lock,
    actions: { "quiz.record": (ctx) => void recorded.push({ chat: ctx.chatId, ...ctx.data }) },
  });
}

/** Fires every message of every chat at once; the `engines` take turns per message. */
async function runAllAtOnce(engines: Engine[]): Promise<Map<string, string[][]>> {
  const tenant = newTenant();
  const replies = new Map<string, string[][]>();
  const sends: Promise<void>[] = [];
  for (let c = 0; c < CHATS; c++) {
    const chatId = `chat-${c}`;
    const perChat: string[][] = [];
    replies.set(chatId, perChat);
    const base: Omit<Inbound, "message"> = { tenant, channel: "test", chatId, user: { id: chatId }, locale: "id" };
    for (let m = 0; m <= STEPS; m++) {
      const message: Inbound["message"] = m === 0 ? { kind: "command", command: "quiz", args: "" } : { kind: "text", text: `${chatId}/${m}` };
      // `deliver` runs inside the chat's turn, so the order it records is the order the user sees.
      const deliver = async (out: Outbound[]) => void perChat.push(out.map((o) => render(o)));
      sends.push(engines[m % engines.length].handle({ ...base, message }, deliver).then(() => undefined));
    }
  }
  await Promise.all(sends);
  return replies;
}

function assertEveryChatInOrder(replies: Map<string, string[][]>, recorded: Record<string, unknown>[]) {
  for (const [chatId, turns] of replies) {
    const expected = [["Q1"]];
    for (let m = 1; m < STEPS; m++) expected.push([`Q${m + 1} setelah ${chatId}/${m}`]);
    expected.push([`Selesai: ${Array.from({ length: STEPS }, (_, i) => `${chatId}/${i + 1}`).join(" ")}`]);
    assert.deepEqual(turns, expected, `chat ${chatId}`);
  }
  assert.equal(recorded.length, CHATS, "each chat's final action ran exactly once");
  assert.equal(new Set(recorded.map((r) => r.chat)).size, CHATS);
}

describe(`${CHATS} concurrent chats × ${STEPS} steps on MongoDB`, () => {
  test("one instance: every chat sees its steps in order, none lost, repeated or interleaved", async () => {
    const recorded: Record<string, unknown>[] = [];
    const replies = await runAllAtOnce([quizEngine(recorded, undefined)]);
    assertEveryChatInOrder(replies, recorded);
  });

  test("two instances sharing one lock, messages alternating between them", async () => {
    const recorded: Record<string, unknown>[] = [];
    const lock = createInProcessLock();
    const replies = await runAllAtOnce([quizEngine(recorded, lock), quizEngine(recorded, lock)]);
    assertEveryChatInOrder(replies, recorded);
  });

  describe("with Redis", () => {
    let redis: TestRedis;
    const clients: Redis[] = [];
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      for (const client of clients) client.disconnect();
      await redis.stop();
    });

    test("two instances, each with its own Redis connection and lock, never interleave a chat", async () => {
      const recorded: Record<string, unknown>[] = [];
      const lockFor = () => {
        const client = new Redis(redis.url, { lazyConnect: false });
        clients.push(client);
        return createRedisLock(client, { log: console });
      };
      // Each chat's messages alternate between the instances but are sent one at a time, as
      // Telegram delivers one chat's updates in order; the chats themselves run side by side.
      const engines = [quizEngine(recorded, lockFor()), quizEngine(recorded, lockFor())];
      const tenant = newTenant();
      const replies = new Map<string, string[][]>();
      await Promise.all(
        Array.from({ length: CHATS }, async (_, c) => {
          const chatId = `chat-${c}`;
          const turns: string[][] = [];
          replies.set(chatId, turns);
          const base: Omit<Inbound, "message"> = { tenant, channel: "test", chatId, user: { id: chatId }, locale: "id" };
          for (let m = 0; m <= STEPS; m++) {
            const message: Inbound["message"] = m === 0 ? { kind: "command", command: "quiz", args: "" } : { kind: "text", text: `${chatId}/${m}` };
            turns.push((await engines[m % 2].handle({ ...base, message })).map((o) => render(o)));
          }
        }),
      );
      assertEveryChatInOrder(replies, recorded);
    });

    test("two instances given one chat's messages at the same moment take turns: no two turns of a chat overlap", async () => {
      const NOTES = 10;
      const CHATS_AT_ONCE = 20;
      // Each turn runs an action that takes a few milliseconds and records when it ran; two
      // turns of one chat running at once (no lock, or a broken one) show up as an overlap.
      const runs: { chat: string; note: string; start: number; end: number }[] = [];
      const noteFlow = {
        id: "notes",
        triggers: { commands: ["notes"] },
        steps: {
          take: { kind: "ask", text: { id: "Catatan?" }, expect: "text", saveAs: "note", next: "keep" },
          keep: { kind: "action", action: "notes.keep", next: "take" },
        },
      };
      const engineWith = () => {
        const client = new Redis(redis.url, { lazyConnect: false });
        clients.push(client);
        return testEngine({
          flows: [noteFlow],
          sessions: new MongoSessionStore(),
          lock: createRedisLock(client, { log: console }),
          actions: {
            "notes.keep": async (ctx) => {
              const start = performance.now();
              await new Promise((resolve) => setTimeout(resolve, 3));
              runs.push({ chat: ctx.chatId, note: String(ctx.data.note), start, end: performance.now() });
            },
          },
        });
      };
      const engines = [engineWith(), engineWith()];
      const tenant = newTenant();
      await Promise.all(
        Array.from({ length: CHATS_AT_ONCE }, async (_, c) => {
          const chatId = `notes-${c}`;
          const base: Omit<Inbound, "message"> = { tenant, channel: "test", chatId, user: { id: chatId }, locale: "id" };
          await engines[0].handle({ ...base, message: { kind: "command", command: "notes", args: "" } });
          // Every note at once, alternating between the instances.
          await Promise.all(Array.from({ length: NOTES }, (_, n) => engines[n % 2].handle({ ...base, message: { kind: "text", text: `${chatId}/${n}` } })));
        }),
      );
      for (let c = 0; c < CHATS_AT_ONCE; c++) {
        const chatId = `notes-${c}`;
        const mine = runs.filter((r) => r.chat === chatId).sort((a, b) => a.start - b.start);
        assert.deepEqual(mine.map((r) => r.note).sort(), Array.from({ length: NOTES }, (_, n) => `${chatId}/${n}`).sort(), `chat ${chatId}: every note kept once`);
        for (let i = 1; i < mine.length; i++) assert.ok(mine[i].start >= mine[i - 1].end, `chat ${chatId}: turn ${i} began before turn ${i - 1} ended`);
      }
    });
  });
});
