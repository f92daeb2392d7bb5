// The owner bot runs on exactly one instance: two OwnerBots on one token and one leases
// backend, and only the lease holder polls (no 409); when the holder can no longer renew
// (it hangs, or died without releasing), it stops polling and the other takes over.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createMongoLeases, type Leases } from "../../storage/leases.ts";
import { eventually } from "../support/eventually.ts";
import { LEASE_MS, startOwnerBotWorld, type OwnerBotWorld } from "./owner-bot-fixture.ts";

let world: OwnerBotWorld;
before(async () => {
  world = await startOwnerBotWorld();
  // This file starts its own pair of instances.
  await world.bot.stop(2_000);
});
after(async () => {
  await world?.close();
});

/** Leases whose renewals stop answering once `freeze()` is called: a holder that hangs or died. */
function freezable(inner: Leases): Leases & { freeze(): void } {
  let frozen = false;
  return {
    holder: inner.holder,
    backend: inner.backend,
    acquire: (key, ttl) => (frozen ? new Promise(() => undefined) : inner.acquire(key, ttl)),
    renew: (keys, ttl) => (frozen ? new Promise(() => undefined) : inner.renew(keys, ttl)),
    release: (keys) => (frozen ? Promise.resolve() : inner.release(keys)),
    holders: (keys) => inner.holders(keys),
    held: (keys) => inner.held(keys),
    announce: (group, ttl) => inner.announce(group, ttl),
    withdraw: (group) => inner.withdraw(group),
    freeze: () => void (frozen = true),
  };
}

const getUpdatesBy = (client: string) => world.stores.tg.calls(world.ownerToken, "getUpdates").filter((c) => c.client === client).length;

describe("the owner bot on two instances", () => {
  test("only the holder of the lease polls; the other stands by and no 409 happens; the owner is answered", async () => {
    const a = world.ownerBot({ client: "a" });
    const b = world.ownerBot({ client: "b" });
    await a.start();
    await eventually(() => a.polling, "instance a polling");
    await b.start();
    // Several of b's tries to take the lease go by.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
    assert.equal(b.polling, false);
    assert.equal(getUpdatesBy("b"), 0, "b never polled");
    const [status] = await world.ask(world.owner, "/status");
    assert.match(status!, /^Niaga/);
    assert.equal(world.stores.tg.conflicts(world.ownerToken).length, 0);

    // A clean stop releases the lease: b takes over at once.
    await a.stop(2_000);
    await eventually(() => b.polling, "instance b polling after a stopped");
    const [again] = await world.ask(world.owner, "/help");
    assert.match(again!, /Bot owner Niaga/);
    assert.ok(world.stores.tg.calls(world.ownerToken, "sendMessage").some((c) => c.client === "b"), "b answered");
    await b.stop(2_000);
    assert.equal(world.stores.tg.conflicts(world.ownerToken).length, 0);
  });

  test("when the holder stops renewing without releasing, it stops polling and the other takes over within the lease period", async () => {
    const leasesA = freezable(createMongoLeases());
    const a = world.ownerBot({ client: "c", leases: leasesA });
    const b = world.ownerBot({ client: "d" });
    await a.start();
    await eventually(() => a.polling, "instance c polling");
    await b.start();
    const frozenAt = Date.now();
    leasesA.freeze();
    await eventually(() => !a.polling, "instance c stopping once its lease ran out", { timeoutMs: LEASE_MS * 2 });
    await eventually(() => b.polling, "instance d taking over", { timeoutMs: LEASE_MS * 3 });
    // Taken over after the lease lapsed: its lease was last renewed no earlier than a third of a lease before the freeze.
    assert.ok(Date.now() - frozenAt >= LEASE_MS * (2 / 3) - 50, "not before the lease could have lapsed");
    const [status] = await world.ask(world.owner, "/status");
    assert.match(status!, /^Niaga/);
    assert.ok(world.stores.tg.calls(world.ownerToken, "sendMessage").some((c) => c.client === "d"), "the new holder answers");
    assert.equal(world.stores.tg.conflicts(world.ownerToken).length, 0, "never two pollers at once");
    await b.stop(2_000);
    await a.stop(500);
  });
});
