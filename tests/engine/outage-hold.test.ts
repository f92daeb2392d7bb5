// The engine while the database does not answer: messages are held, their senders told once,
// and each held message is handled once, in order, when it is back — or its sender asked to
// send it again when holding it is no longer sensible.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Inbound, Outbound } from "../../flows/engine/message.ts";
import type { OutageWatch } from "../../flows/engine/outage.ts";
import { MemorySessionStore } from "../../flows/engine/session.ts";
import { newTenant, render, testEngine } from "./chat-harness.ts";
import { testFlows } from "./fixtures/test-flows.ts";
import { eventually } from "../support/eventually.ts";

/** The platform's probe, switched by the test. */
function switchableWatch(): OutageWatch & { set(up: boolean): void } {
  let up = true;
  const listeners = new Set<(name: string, up: boolean) => void>();
  return {
    down: () => (up ? [] : ["mongodb"]),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    isOutageError: (error) => error instanceof Error && error.name === "MongoNetworkTimeoutError",
    set(value) {
      up = value;
      for (const listener of [...listeners]) listener("mongodb", value);
    },
  };
}

/** A chat whose delivered replies are recorded, as a channel would send them. */
function chat(engine: ReturnType<typeof testEngine>, tenant = newTenant()) {
  const delivered: string[] = [];
  const base: Omit<Inbound, "message"> = { tenant, channel: "test", chatId: "c1", user: { id: "u1", name: "Sari" }, locale: "id" };
  const deliver = async (replies: Outbound[]) => void delivered.push(...replies.map((r) => render(r)));
  const say = (text: string) =>
    engine.handle({ ...base, message: text.startsWith("/") ? { kind: "command", command: text.slice(1), args: "" } : { kind: "text", text } }, deliver);
  return { delivered, say };
}

test("held while the database is down: told once, then each message handled once, in order, when it is back", async () => {
  const outages = switchableWatch();
  const engine = testEngine({ ...testFlows, outages });
  const sari = chat(engine);
  outages.set(false);
  await sari.say("/survey");
  await sari.say("Sari");
  assert.equal(sari.delivered.length, 1, sari.delivered.join("\n"));
  assert.match(sari.delivered[0], /sedang ada gangguan.*tidak perlu dikirim ulang/);
  assert.equal(engine.heldTurns, 2);

  outages.set(true);
  await eventually(() => sari.delivered.length === 3, `replies once back: ${sari.delivered.join(" | ")}`);
  assert.deepEqual(sari.delivered.slice(1), ["Siapa namamu?", "Dari kota mana, Sari?"]);
  assert.equal(engine.heldTurns, 0);
});

test("a turn stuck on the database when the outage is noticed: the customer is told at once, and the reply follows once it gets through", async () => {
  const outages = switchableWatch();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const sessions = new MemorySessionStore();
  const load = sessions.load.bind(sessions);
  sessions.load = async (key) => {
    await gate;
    return load(key);
  };
  const engine = testEngine({ ...testFlows, outages, sessions });
  const sari = chat(engine);
  const turn = sari.say("/survey");
  await new Promise((resolve) => setTimeout(resolve, 20));
  outages.set(false);
  await eventually(() => sari.delivered.length === 1, "the notice");
  assert.match(sari.delivered[0], /sedang ada gangguan/);
  release();
  outages.set(true);
  await turn;
  assert.deepEqual(sari.delivered, [sari.delivered[0], "Siapa namamu?"]);
});

test("a turn that fails because the database went away is held, not apologised for, and runs again once it is back", async () => {
  const outages = switchableWatch();
  const sessions = new MemorySessionStore();
  const save = sessions.save.bind(sessions);
  let failSaves = 1;
  sessions.save = async (...args) => {
    if (failSaves-- > 0) throw Object.assign(new Error("connection 3 to 127.0.0.1:27017 timed out"), { name: "MongoNetworkTimeoutError" });
    return save(...args);
  };
  const engine = testEngine({ ...testFlows, outages, sessions });
  const sari = chat(engine);
  await sari.say("/survey");
  assert.equal(sari.delivered.length, 1);
  assert.match(sari.delivered[0], /sedang ada gangguan/);
  assert.equal(engine.heldTurns, 1);
  outages.set(false);
  outages.set(true);
  await eventually(() => sari.delivered.length === 2, "the reply once back");
  assert.equal(sari.delivered[1], "Siapa namamu?");
});

test("a message held longer than it is worth is answered with a request to send it again", async () => {
  const outages = switchableWatch();
  const engine = testEngine({ ...testFlows, outages, maxHoldMs: 50 });
  const sari = chat(engine);
  outages.set(false);
  await sari.say("/survey");
  await new Promise((resolve) => setTimeout(resolve, 80));
  outages.set(true);
  await eventually(() => sari.delivered.length === 2, "the resend request");
  assert.match(sari.delivered[1], /sudah pulih.*kirim ulang/);
});

test("a chat that keeps writing into the outage is not held without end; a stopping process asks the held to send again", async () => {
  const outages = switchableWatch();
  const engine = testEngine({ ...testFlows, outages });
  const sari = chat(engine);
  outages.set(false);
  for (let i = 0; i < 21; i++) await sari.say(`pesan ${i}`);
  assert.equal(engine.heldTurns, 20);
  assert.equal(sari.delivered.length, 2);
  assert.match(sari.delivered[1], /Coba kirim lagi pesanmu sebentar lagi/);
  await engine.releaseHeld();
  assert.equal(engine.heldTurns, 0);
  assert.equal(sari.delivered.filter((line) => /Coba kirim lagi/.test(line)).length, 21);
});
