// The flood-limit pacer on its own, over a stand-in for the network whose answers the
// test releases by hand: who goes first, what waits, what a 429 holds back.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import type { Transformer } from "grammy";
import type { ApiResponse } from "grammy/types";
import { OutgoingPacer, PacerClosedError, sendingProactively } from "../../adapters/telegram/outgoing-pacer.ts";

interface Sent {
  method: string;
  chat: unknown;
  at: number;
  answer(response?: ApiResponse<unknown>): void;
}

/** A network that records each call and answers it when the test says so (or at once with `autoAnswer`). */
function network(autoAnswer?: (call: Sent) => ApiResponse<unknown>) {
  const sent: Sent[] = [];
  const arrivals: Array<() => void> = [];
  const prev = ((method: string, payload: { chat_id?: unknown }) =>
    new Promise<ApiResponse<unknown>>((resolve) => {
      const call: Sent = { method, chat: payload?.chat_id, at: performance.now(), answer: (response = { ok: true, result: true }) => resolve(response) };
      sent.push(call);
      for (const arrived of arrivals.splice(0)) arrived();
      if (autoAnswer) call.answer(autoAnswer(call));
    })) as unknown as Parameters<Transformer>[0];
  return {
    sent,
    prev,
    /** Resolves once `count` calls reached the network. */
    async reached(count: number): Promise<void> {
      while (sent.length < count) await new Promise<void>((resolve) => arrivals.push(resolve));
    },
  };
}

function caller(pacer: OutgoingPacer, prev: Parameters<Transformer>[0]) {
  const transform = pacer.transformer();
  return (method: string, chatId: number) => transform(prev, method as never, { chat_id: chatId, text: "x" } as never);
}

describe("the outgoing pacer", () => {
  it("lets a conversation's reply overtake proactive sends waiting for the bot's budget", async () => {
    const net = network();
    const pacer = new OutgoingPacer({ perBot: 1, windowMs: 20 });
    const call = caller(pacer, net.prev);
    const first = call("sendMessage", 1);
    await net.reached(1);
    const broadcast = [2, 3, 4].map((chat) => sendingProactively(() => call("sendMessage", chat)));
    const reply = call("sendMessage", 9);
    assert.equal(pacer.queued, 4);
    net.sent[0].answer();
    await first;
    await net.reached(2);
    assert.equal(net.sent[1].chat, 9, "the reply went before the broadcast");
    net.sent[1].answer();
    for (let i = 2; i < 5; i++) {
      await net.reached(i + 1);
      net.sent[i].answer();
    }
    await Promise.all([reply, ...broadcast]);
    assert.deepEqual(net.sent.map((s) => s.chat), [1, 9, 2, 3, 4]);
  });

  it("lets a delivery overtake a broadcast waiting for the bot's budget", async () => {
    const net = network();
    const pacer = new OutgoingPacer({ perBot: 1, windowMs: 20 });
    const call = caller(pacer, net.prev);
    const first = sendingProactively(() => call("sendMessage", 1), { bulk: true });
    await net.reached(1);
    const broadcast = [2, 3].map((chat) => sendingProactively(() => call("sendMessage", chat), { bulk: true }));
    const delivery = sendingProactively(() => call("sendMessage", 8));
    net.sent[0].answer();
    for (let i = 1; i < 4; i++) {
      await net.reached(i + 1);
      net.sent[i].answer();
    }
    await Promise.all([first, delivery, ...broadcast]);
    assert.deepEqual(net.sent.map((s) => s.chat), [1, 8, 2, 3]);
  });

  it("spaces proactive sends within a chat by a window after each answer, in order, while other chats go at once", async () => {
    const net = network(() => ({ ok: true, result: true }));
    const pacer = new OutgoingPacer({ perChat: 1, perBot: 30, windowMs: 100 });
    const call = caller(pacer, net.prev);
    const answered: number[] = [];
    const toOne = sendingProactively(async () => {
      for (let i = 0; i < 3; i++) {
        await call("sendMessage", 7);
        answered.push(performance.now());
      }
    });
    const toOthers = sendingProactively(() => Promise.all([8, 9, 10].map((chat) => call("sendMessage", chat))));
    await Promise.all([toOne, toOthers]);
    const seven = net.sent.filter((s) => s.chat === 7);
    assert.equal(seven.length, 3);
    for (let i = 1; i < 3; i++) assert.ok(seven[i].at >= answered[i - 1] + 100, `message ${i + 1} waited a window after the answer to message ${i}`);
    assert.ok(net.sent.findIndex((s) => s.chat === 10) < net.sent.indexOf(seven[1]), "other chats did not wait for chat 7");
  });

  it("holds every call of the bot after a 429 for its retry_after, in every chat", async () => {
    let first = true;
    let floodAnsweredAt = 0;
    const net = network(() => {
      if (!first) return { ok: true, result: true };
      first = false;
      floodAnsweredAt = performance.now();
      return { ok: false, error_code: 429, description: "Too Many Requests: retry after 1", parameters: { retry_after: 1 } };
    });
    const pacer = new OutgoingPacer();
    const call = caller(pacer, net.prev);
    const flooded = await call("sendMessage", 1);
    assert.equal(flooded.ok, false);
    assert.equal(pacer.floodWaitSec, 1);
    const later = await Promise.all([call("sendMessage", 2), sendingProactively(() => call("editMessageText", 3))]);
    assert.ok(later.every((r) => r.ok));
    for (const s of net.sent.slice(1)) assert.ok(s.at >= floodAnsweredAt + 1000, `${s.method} to chat ${String(s.chat)} waited out the flood wait`);
  });

  it("refuses at once, without reaching Telegram, while a flood wait longer than it holds calls runs", async () => {
    const net = network(() => ({ ok: false, error_code: 429, description: "Too Many Requests: retry after 120", parameters: { retry_after: 120 } }));
    const pacer = new OutgoingPacer({ maxFloodWaitSec: 30 });
    const call = caller(pacer, net.prev);
    await call("sendMessage", 1);
    const refused = await call("sendMessage", 2);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.error_code, 429);
    assert.ok(!refused.ok && (refused.parameters?.retry_after ?? 0) > 100);
    assert.equal(net.sent.length, 1, "the second call never reached Telegram");
  });

  it("does not pace what is not a message: updates, chat actions, callback answers", async () => {
    const net = network();
    const pacer = new OutgoingPacer({ perBot: 1 });
    const call = caller(pacer, net.prev);
    void call("sendMessage", 1);
    await net.reached(1);
    void call("getUpdates", 1);
    void call("sendChatAction", 1);
    void call("answerCallbackQuery", 1);
    await net.reached(4);
    assert.equal(pacer.queued, 0);
    for (const s of net.sent) s.answer();
  });

  it("refuses calls still waiting when it is closed", async () => {
    const net = network();
    const pacer = new OutgoingPacer({ perBot: 1 });
    const call = caller(pacer, net.prev);
    const first = call("sendMessage", 1);
    await net.reached(1);
    const waiting = sendingProactively(() => call("sendMessage", 2));
    pacer.close();
    await assert.rejects(waiting, PacerClosedError);
    net.sent[0].answer();
    assert.equal((await first).ok, true, "the call under way finished");
  });
});
