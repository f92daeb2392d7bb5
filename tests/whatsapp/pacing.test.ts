// How fast a store's WhatsApp number sends, on a manual clock: one message at a time,
// jittered pauses, typing time, warm-up, broadcasts after replies, a bounded queue, a
// clean stop, and restriction signs slowing, stopping and releasing a number.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_PACING, NumberPacer, SendHeld, checkPacing, type NumberPacerOptions, type PacerClock } from "../../adapters/whatsapp/pacing.ts";
import { RestrictionWatch, restrictionSignOf } from "../../adapters/whatsapp/restriction.ts";
import type { PacingOptions } from "../../adapters/whatsapp/contract.ts";

const START = Date.UTC(2026, 11, 3, 8, 0, 0);
const DAY = 24 * 60 * 60_000;

/** Time that moves only when every pending promise has settled: to the next timer, in order. */
class ManualClock implements PacerClock {
  t = START;
  readonly #timers: { at: number; seq: number; wake: () => void }[] = [];
  #seq = 0;
  now = () => this.t;
  sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = () => {
        this.#timers.splice(this.#timers.indexOf(timer), 1);
        resolve();
      };
      const timer = {
        at: this.t + ms,
        seq: this.#seq++,
        wake: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.#timers.push(timer);
      signal.addEventListener("abort", onAbort, { once: true });
    });

  /** Runs every timer, in time order, until nothing waits on the clock. */
  async settle(): Promise<void> {
    for (;;) {
      await idle();
      if (this.#timers.length === 0) return;
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers.shift()!;
      this.t = Math.max(this.t, next.at);
      next.wake();
    }
  }

  /** Runs the timers due up to `at`, and moves there. */
  async advanceTo(at: number): Promise<void> {
    for (;;) {
      await idle();
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers[0];
      if (!next || next.at > at) break;
      this.#timers.shift();
      this.t = Math.max(this.t, next.at);
      next.wake();
    }
    this.t = at;
    await idle();
  }
}

async function idle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A repeating sequence in [0, 1), so jittered gaps are known and span the range. */
function randomFrom(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

interface Event {
  what: "composing" | "paused" | "send" | "sent";
  tenant: string;
  jid: string;
  label?: string;
  at: number;
}

function harness(options: Partial<NumberPacerOptions> & { pacing?: Partial<PacingOptions> } = {}, sendMs = 300) {
  const clock = new ManualClock();
  const events: Event[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const pacer = new NumberPacer({
    clock,
    random: randomFrom([0, 0.5, 0.999]),
    presence: async (tenant, jid, state) => void events.push({ what: state, tenant, jid, at: clock.now() }),
    ...options,
  });
  const abort = new AbortController();
  const send = (tenant: string, label: string, textLength = 40, extra: { bulk?: boolean; fail?: unknown; jid?: string } = {}) => {
    const jid = extra.jid ?? `62811${label.length}@s.whatsapp.net`;
    return pacer.schedule(tenant, {
      jid,
      textLength,
      ...(extra.bulk && { bulk: true }),
      send: async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        events.push({ what: "send", tenant, jid, label, at: clock.now() });
        await clock.sleep(sendMs, abort.signal);
        inFlight -= 1;
        events.push({ what: "sent", tenant, jid, label, at: clock.now() });
        if (extra.fail !== undefined) throw extra.fail;
        return label;
      },
    });
  };
  return { clock, events, pacer, send, maxInFlight: () => maxInFlight };
}

const sendsOf = (events: Event[], tenant?: string) => events.filter((e) => e.what === "send" && (!tenant || e.tenant === tenant));

/** For each send after the first: the pause from the previous send's start to this one's typing (or send). */
function pauses(events: Event[], tenant: string): number[] {
  const mine = events.filter((e) => e.tenant === tenant);
  const result: number[] = [];
  let lastSent: number | undefined;
  for (let i = 0; i < mine.length; i++) {
    const e = mine[i];
    const startsASend = e.what === "composing" || (e.what === "send" && mine[i - 1]?.what !== "paused");
    if (startsASend && lastSent !== undefined) result.push(e.at - lastSent);
    if (e.what === "send") lastSent = e.at;
  }
  return result;
}

test("one number sends one message at a time, in order, with jittered pauses and typing that grows with the text", async () => {
  const { clock, events, send, maxInFlight } = harness();
  const lengths = [10, 60, 500, 0, 90];
  const results = lengths.map((n, i) => send("toko-a", `m${i}`, n));
  await clock.settle();
  assert.deepEqual(await Promise.all(results), ["m0", "m1", "m2", "m3", "m4"]);
  assert.deepEqual(sendsOf(events).map((e) => e.label), ["m0", "m1", "m2", "m3", "m4"]);
  assert.equal(maxInFlight(), 1, "never two sends of one number at once");

  assert.equal(events[0].what, "composing", "an idle number starts at once, typing first");
  assert.equal(events[0].at, START);
  const gaps = pauses(events, "toko-a");
  assert.equal(gaps.length, 4);
  for (const gap of gaps) assert.ok(gap >= DEFAULT_PACING.gapMinMs && gap <= DEFAULT_PACING.gapMaxMs, `pause ${gap}`);
  assert.ok(Math.max(...gaps) - Math.min(...gaps) > 2000, "jittered across the range");

  const typing = events.filter((e) => e.what === "composing").map((c) => events.find((e) => e.what === "paused" && e.at >= c.at)!.at - c.at);
  assert.deepEqual(typing, [1000, 1800, 4000, 2700], "30 ms a character, at least 1 s, at most 4 s; none for a media without caption");
  for (const send of sendsOf(events).filter((e) => e.label !== "m3")) {
    assert.equal(events[events.indexOf(send) - 1].what, "paused", "typing ends right before the send");
  }
});

test("each store's number keeps its own pace: a busy store does not hold another back", async () => {
  const { clock, events, send } = harness();
  const all = [...["a1", "a2", "a3"].map((l) => send("toko-a", l)), ...["b1", "b2", "b3"].map((l) => send("toko-b", l))];
  await clock.settle();
  await Promise.all(all);
  assert.deepEqual(sendsOf(events, "toko-a").map((e) => e.label), ["a1", "a2", "a3"]);
  assert.deepEqual(sendsOf(events, "toko-b").map((e) => e.label), ["b1", "b2", "b3"]);
  const firstOf = (label: string) => sendsOf(events).find((e) => e.label === label)!.at;
  assert.equal(firstOf("b1"), firstOf("a1"), "both numbers start at once");
  assert.ok(firstOf("b2") < firstOf("a3") && firstOf("a2") < firstOf("b3"), "interleaved, not one store after the other");
  for (const tenant of ["toko-a", "toko-b"]) {
    for (const gap of pauses(events, tenant)) assert.ok(gap >= DEFAULT_PACING.gapMinMs && gap <= DEFAULT_PACING.gapMaxMs);
  }
});

test("a number linked less than the warm-up days ago pauses longer, and says so", async () => {
  const linked = new Map([["baru", new Date(START - 2 * DAY)], ["lama", new Date(START - 8 * DAY)]]);
  const { clock, events, send, pacer } = harness({ linkedAt: (tenant) => linked.get(tenant), random: () => 0.5 });
  await Promise.all([...[1, 2, 3].map((i) => send("baru", `n${i}`)), ...[1, 2, 3].map((i) => send("lama", `o${i}`)), clock.settle()]);
  const mean = (DEFAULT_PACING.gapMinMs + DEFAULT_PACING.gapMaxMs) / 2;
  assert.deepEqual(pauses(events, "lama"), [mean, mean]);
  assert.deepEqual(pauses(events, "baru"), [mean * DEFAULT_PACING.warmupFactor, mean * DEFAULT_PACING.warmupFactor]);
  assert.equal(pacer.pace("baru"), "warming-up");
  assert.equal(pacer.pace("lama"), "normal");
  assert.equal(pacer.pace("never-linked"), "normal");
  await clock.advanceTo(START + 6 * DAY);
  assert.equal(pacer.pace("baru"), "normal", "warm-up ends after the warm-up days");
});

test("replies and deliveries go before a broadcast: bulk sends wait while any other send is queued", async () => {
  const { clock, events, send } = harness();
  const bulk = ["b1", "b2", "b3"].map((l) => send("toko-a", l, 40, { bulk: true }));
  await clock.advanceTo(START + 100); // b1 is typing
  const replies = ["r1", "r2"].map((l) => send("toko-a", l));
  await clock.advanceTo(START + 1000 + 300 + 1600); // b1 sent; the pause before the next send under way
  const late = send("toko-a", "r3");
  await clock.settle();
  await Promise.all([...bulk, ...replies, late]);
  assert.deepEqual(sendsOf(events).map((e) => e.label), ["b1", "r1", "r2", "r3", "b2", "b3"]);
});

test("a number's queue is bounded by its expected wait: past it, a send is refused at once as rate-limited", async () => {
  const pacing = { gapMinMs: 1000, gapMaxMs: 1000, typingMinMs: 0, typingMaxMs: 0 };
  const { clock, send, pacer } = harness({ pacing, maxQueueWaitMs: 5000, maxBulkQueueWaitMs: 20_000 });
  const accepted = Array.from({ length: 7 }, (_, i) => send("toko-a", `m${i}`, 0)); // m0 is under way; six wait, 1 s each
  const refused = send("toko-a", "m7", 0);
  await assert.rejects(refused, (e) => e instanceof SendHeld && e.reason === "rate-limited" && e.retryAfterSec === 6);
  assert.equal(pacer.queued("toko-a"), 6);
  const broadcast = send("toko-a", "bulk", 0, { bulk: true });
  await clock.settle();
  assert.deepEqual(await Promise.all(accepted), ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
  assert.equal(await broadcast, "bulk", "a broadcast has its own, longer bound");
});

test("stopping refuses queued and later sends as shutting-down, and lets the send under way finish", async () => {
  const { clock, events, send, pacer } = harness({}, 5000);
  const first = send("toko-a", "m0", 0);
  const queued = [send("toko-a", "m1"), send("toko-a", "m2", 0, { bulk: true }), send("toko-b", "x1")];
  await clock.advanceTo(START + 100);
  const stopped = pacer.stop();
  for (const q of queued.slice(0, 2)) await assert.rejects(q, (e) => e instanceof SendHeld && e.reason === "shutting-down");
  await assert.rejects(queued[2], (e) => e instanceof SendHeld && e.reason === "shutting-down", "a send still typing is not sent");
  await clock.settle();
  await stopped;
  assert.equal(await first, "m0");
  assert.deepEqual(sendsOf(events).map((e) => e.label), ["m0"]);
  await assert.rejects(send("toko-a", "after"), (e) => e instanceof SendHeld && e.reason === "shutting-down");
});

/** As Baileys throws them: a Boom, an Error with the status in `output`. */
const refusal = (statusCode: number) => Object.assign(new Error(`refused (${statusCode})`), { output: { statusCode } });
const refused429 = refusal(429);

test("refusals slow a number (pauses × 3), more stop it (sends held as store-unavailable), and an operator resumes it", async () => {
  const alerts: string[] = [];
  const { clock, events, send, pacer } = harness({
    random: () => 0.5,
    restrictionEvents: {
      slowed: (tenant, reason) => alerts.push(`slowed ${tenant}: ${reason}`),
      stopped: (tenant, reason) => alerts.push(`stopped ${tenant}: ${reason}`),
      resumed: (tenant, by) => alerts.push(`resumed ${tenant} by ${by}`),
    },
  });
  const mean = (DEFAULT_PACING.gapMinMs + DEFAULT_PACING.gapMaxMs) / 2;
  const outcomes = Array.from({ length: 4 }, (_, i) => send("toko-a", `f${i}`, 40, { fail: refused429 }).catch((e: unknown) => e));
  const customerSide = send("toko-a", "gone", 40, { fail: refusal(404) }).catch((e: unknown) => e);
  const other = send("toko-b", "fine");
  await clock.settle();
  assert.deepEqual(await Promise.all(outcomes), [refused429, refused429, refused429, refused429], "the channel's error reaches the caller");
  await customerSide;
  assert.equal(await other, "fine");
  assert.deepEqual(alerts, ["slowed toko-a: WhatsApp asked to slow down (429)"], "slowed once, at the third sign; the 404 is no sign");
  assert.equal(pacer.pace("toko-a"), "slowed");
  assert.equal(pacer.pace("toko-b"), "normal", "another store is not touched");
  assert.deepEqual(pauses(events, "toko-a"), [mean, mean, mean * 3, mean * 3]);

  pacer.watch.sign("toko-a", restrictionSignOf("463")!);
  const held = send("toko-a", "held").catch((e: unknown) => e); // queued before the sixth sign arrives
  pacer.watch.sign("toko-a", restrictionSignOf("463")!);
  await clock.settle();
  const heldBack = await held;
  assert.ok(heldBack instanceof SendHeld && heldBack.reason === "store-unavailable" && /463/.test(heldBack.message), String(heldBack));
  await assert.rejects(send("toko-a", "new"), (e) => e instanceof SendHeld && e.reason === "store-unavailable");
  assert.equal(pacer.pace("toko-a"), "stopped");
  assert.equal(alerts.at(-1), "stopped toko-a: WhatsApp refused a new chat: the account may not reach out (463)");
  assert.equal(alerts.filter((a) => a.startsWith("stopped")).length, 1);
  assert.equal(sendsOf(events).filter((e) => e.label === "held" || e.label === "new").length, 0, "nothing held went out");

  pacer.watch.resume("toko-a");
  assert.equal(alerts.at(-1), "resumed toko-a by operator");
  assert.equal(pacer.pace("toko-a"), "slowed", "resumed at the slow pace");
  const resumed = send("toko-a", "again");
  await clock.settle();
  assert.equal(await resumed, "again");
});

test("a slowed number returns to normal once a window passes without signs and its sends go out; a stop ends after the cool-down", async () => {
  let t = START;
  const alerts: string[] = [];
  const pacing = { ...DEFAULT_PACING, slowAfterFailures: 2, stopAfterFailures: 3, restrictionWindowMs: 60_000, stopCoolDownMs: 3_600_000 };
  const watch = new RestrictionWatch({
    pacing,
    now: () => t,
    events: { slowed: (id) => alerts.push(`slowed ${id}`), stopped: (id) => alerts.push(`stopped ${id}`), resumed: (id, by) => alerts.push(`resumed ${id} by ${by}`) },
  });
  watch.sign("s", "x");
  t += 61_000;
  watch.sign("s", "x");
  assert.equal(watch.pace("s"), "normal", "signs further apart than the window do not add up");
  watch.sign("s", "x");
  assert.equal(watch.pace("s"), "slowed");
  watch.sent("s");
  watch.sent("s");
  assert.equal(watch.pace("s"), "slowed", "still within the window of the last sign");
  t += 60_001;
  assert.equal(watch.pace("s"), "normal", "a window without signs, and sends went out");
  assert.equal(alerts.at(-1), "resumed s by recovered");

  watch.sign("s", "x");
  watch.sign("s", "x");
  t += 60_001;
  assert.equal(watch.pace("s"), "slowed", "no sends since: not yet trusted again");
  watch.sent("s");
  watch.sent("s");
  assert.equal(watch.pace("s"), "normal");

  watch.sign("s", "x");
  watch.sign("s", "x");
  watch.sign("s", "x");
  assert.equal(watch.pace("s"), "stopped");
  assert.deepEqual(watch.hold("s"), { reason: "x", until: new Date(t + 3_600_000) });
  watch.sent("s");
  t += 3_599_999;
  assert.equal(watch.pace("s"), "stopped");
  t += 1;
  assert.equal(watch.pace("s"), "slowed", "the cool-down ends the stop, at the slow pace");
  assert.equal(watch.hold("s"), undefined);
  assert.equal(alerts.at(-1), "resumed s by cool-down");
});

test("what counts as a restriction sign: WhatsApp's refusals and error acknowledgements, not a customer's problem or a dropped connection", () => {
  assert.match(restrictionSignOf("463")!, /463/);
  assert.match(restrictionSignOf("500")!, /error 500/, "an error acknowledgement of a sent message");
  assert.equal(restrictionSignOf("479"), undefined, "a stale device session of the customer's");
  for (const code of [403, 419, 429]) assert.match(restrictionSignOf({ output: { statusCode: code } })!, new RegExp(String(code)));
  for (const code of [400, 404, 408, 428, 500]) assert.equal(restrictionSignOf({ output: { statusCode: code } }), undefined, String(code));
  assert.equal(restrictionSignOf(new Error("Connection Closed")), undefined);
});

test("pacing settings that cannot work are refused, naming the setting", () => {
  assert.doesNotThrow(() => checkPacing(DEFAULT_PACING));
  assert.throws(() => checkPacing({ ...DEFAULT_PACING, gapMinMs: 5000 }), /gapMinMs \(5000\) is above gapMaxMs \(4000\)/);
  assert.throws(() => checkPacing({ ...DEFAULT_PACING, warmupFactor: 0.5 }), /warmupFactor/);
  assert.throws(() => checkPacing({ ...DEFAULT_PACING, typingMsPerChar: Number.NaN }), /typingMsPerChar/);
  assert.throws(() => checkPacing({ ...DEFAULT_PACING, stopAfterFailures: 2 }), /slowAfterFailures ≤ stopAfterFailures/);
  assert.throws(() => new NumberPacer({ pacing: { gapMaxMs: 100 }, presence: async () => undefined }), /gapMinMs/);
});

test("a typing indicator or a send that never answers does not jam the number: the next send goes after the hold", async () => {
  const clock = new ManualClock();
  const sent: { label: string; at: number }[] = [];
  let finishHung: (value: string) => void = () => undefined;
  const pacer = new NumberPacer({ clock, random: () => 0, presence: () => new Promise(() => undefined), sendHoldMs: 30_000 });
  const hung = pacer.schedule("toko-a", {
    jid: "a@s.whatsapp.net",
    textLength: 10,
    send: () => {
      sent.push({ label: "hung", at: clock.now() });
      return new Promise<string>((resolve) => (finishHung = resolve));
    },
  });
  const next = pacer.schedule("toko-a", { jid: "b@s.whatsapp.net", textLength: 0, send: async () => void sent.push({ label: "next", at: clock.now() }) });
  await clock.settle();
  await next;
  assert.deepEqual(sent, [
    { label: "hung", at: START + 5_000 + 1_000 + 5_000 },
    // The pause runs from the hung send's start, so it is over when the hold ends.
    { label: "next", at: START + 11_000 + 30_000 },
  ], "typing given up after 5 s each way; the hung send held the queue 30 s");
  finishHung("late but sent");
  assert.equal(await hung, "late but sent", "its caller still hears how the send ended");
});

test("an unlinked number is forgotten: what it had queued is refused, its restriction record cleared", async () => {
  const { clock, send, pacer } = harness();
  const first = send("toko-a", "m0");
  const queued = send("toko-a", "m1").catch((e: unknown) => e);
  for (let i = 0; i < 3; i++) pacer.watch.sign("toko-a", "x");
  assert.equal(pacer.pace("toko-a"), "slowed");
  pacer.forget("toko-a");
  await clock.settle();
  assert.equal(await first, "m0", "the send under way ends");
  const refused = await queued;
  assert.ok(refused instanceof SendHeld && refused.reason === "store-unavailable");
  assert.equal(pacer.pace("toko-a"), "normal");
});
