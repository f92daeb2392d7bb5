import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { afterClose, backOff, DEFAULT_LIFECYCLE, ReconnectBudget } from "../../adapters/whatsapp/lifecycle.ts";

const paired = { paired: true, failures: 0 };
const top = () => 0.999999;
const bottom = () => 0;

describe("what a session does when its socket closes", () => {
  test("515 reconnects at once, before and after pairing", () => {
    assert.deepEqual(afterClose(515, paired, 0), { kind: "reconnect", delayMs: 0, why: "restart" });
    assert.deepEqual(afterClose(515, { paired: false, failures: 3 }, 0), { kind: "reconnect", delayMs: 0, why: "restart" });
  });

  test("401 logs out; 403 and 419 stop as restricted", () => {
    assert.deepEqual(afterClose(401, paired, 0), { kind: "logged-out" });
    assert.deepEqual(afterClose(403, paired, 0), { kind: "restricted", code: 403 });
    assert.deepEqual(afterClose(419, paired, 0), { kind: "restricted", code: 419 });
  });

  test("408 before pairing ends the link attempt; after pairing it is transient", () => {
    assert.deepEqual(afterClose(408, { paired: false, failures: 0 }, 0), { kind: "link-expired" });
    assert.equal(afterClose(408, paired, 0).kind, "reconnect");
  });

  test("transient closes back off exponentially, capped, jittered into the upper half", () => {
    for (const code of [500, 428, undefined, 503]) {
      const action = afterClose(code, { paired: true, failures: 2 }, 0, DEFAULT_LIFECYCLE, top);
      assert.deepEqual(action, { kind: "reconnect", delayMs: 8000, why: "transient" }, `code ${code}`);
    }
    assert.equal(backOff(0, DEFAULT_LIFECYCLE, bottom), 1000);
    assert.equal(backOff(0, DEFAULT_LIFECYCLE, top), 2000);
    assert.equal(backOff(20, DEFAULT_LIFECYCLE, top), 60_000);
    assert.equal(backOff(20, DEFAULT_LIFECYCLE, bottom), 30_000);
  });

  test("440 never loops: quiet stop without the lease, one retry with it, a stop on the second within the window", () => {
    assert.deepEqual(afterClose(440, { ...paired, holdsLease: false }, 0), { kind: "yield" });
    const first = afterClose(440, { ...paired, holdsLease: true }, 1_000_000, DEFAULT_LIFECYCLE, top);
    assert.deepEqual(first, { kind: "reconnect", delayMs: 10_000, why: "replaced" });
    assert.deepEqual(afterClose(440, { ...paired, holdsLease: true, lastReplacedAt: 1_000_000 }, 1_000_000 + 60_000), { kind: "replaced-stop" });
    const muchLater = afterClose(440, { ...paired, holdsLease: true, lastReplacedAt: 0 }, DEFAULT_LIFECYCLE.replacedWindowMs + 1);
    assert.equal(muchLater.kind, "reconnect", "a 440 long after the last one is a first one again");
  });
});

describe("the reconnect budget", () => {
  test("a burst at once, then one attempt per refill interval, whatever the caller asks", () => {
    const budget = new ReconnectBudget({ burst: 3, perMinute: 4 }, 0);
    const waits = Array.from({ length: 7 }, () => budget.take(0));
    assert.deepEqual(waits, [0, 0, 0, 15_000, 30_000, 45_000, 60_000]);
  });

  test("no more than burst + perMinute attempts start within any first minute of a storm", () => {
    const budget = new ReconnectBudget({ burst: 3, perMinute: 4 }, 0);
    let now = 0;
    const starts: number[] = [];
    while (now < 5 * 60_000) {
      now += budget.take(now);
      starts.push(now);
    }
    for (const start of starts) {
      const inMinute = starts.filter((s) => s >= start && s < start + 60_000).length;
      assert.ok(inMinute <= 3 + 4, `${inMinute} attempts in the minute from ${start}`);
    }
    const lastMinutes = starts.filter((s) => s >= 2 * 60_000 && s < 3 * 60_000).length;
    assert.ok(lastMinutes <= 4, `${lastMinutes} attempts in a later minute`);
  });

  test("a quiet store gets its whole burst back", () => {
    const budget = new ReconnectBudget({ burst: 2, perMinute: 6 }, 0);
    budget.take(0);
    budget.take(0);
    assert.equal(budget.take(0), 10_000);
    assert.deepEqual([budget.take(120_000), budget.take(120_000), budget.take(120_000)], [0, 0, 10_000]);
  });
});
