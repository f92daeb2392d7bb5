import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { Schema } from "mongoose";
import { openMongoose } from "./fixture.ts";
import type { MongooseFixture } from "./fixture.ts";

// A real mongod's TTL monitor runs every 60 s, so allow a little more than one full cycle.
const TTL_DEADLINE_MS = 75_000;

describe("TTL indexes", () => {
  let fx: MongooseFixture;

  before(async () => {
    fx = await openMongoose("conformance_ttl");
  });
  after(async () => {
    await fx.close();
  });

  it("removes a document whose TTL date has passed and keeps one that has not", { timeout: TTL_DEADLINE_MS + 15_000 }, async () => {
    const schema = new Schema({ token: String, expiresAt: Date });
    schema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });
    const Session = fx.conn.model("TtlSession", schema);
    await Session.init();
    await Session.create([
      { token: "old", expiresAt: new Date(Date.now() - 60_000) },
      { token: "fresh", expiresAt: new Date(Date.now() + 3_600_000) },
    ]);
    const started = Date.now();
    while ((await Session.countDocuments({ token: "old" })) > 0) {
      assert.ok(Date.now() - started < TTL_DEADLINE_MS, "expired document still present");
      await sleep(250);
    }
    assert.equal(await Session.countDocuments({ token: "fresh" }), 1);
  });
});
