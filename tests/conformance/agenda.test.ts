import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Agenda } from "agenda";
import { MongoBackend } from "@agendajs/mongo-backend";
import { openMongoose } from "./fixture.ts";
import type { MongooseFixture } from "./fixture.ts";

describe("Agenda 6 on the mongo backend", () => {
  let fx: MongooseFixture;

  before(async () => {
    fx = await openMongoose("conformance_agenda");
  });
  after(async () => {
    await fx.close();
  });

  it("runs a job scheduled one second ahead, then stops cleanly", { timeout: 30_000 }, async () => {
    const agenda = new Agenda({
      backend: new MongoBackend({ mongo: fx.conn.db as any, collection: "jobs" }),
      processEvery: 200,
      // Agenda re-checks a running job's lock every lockLifetime/2 on an un-unref'd timer that
      // outlives the job (10 min lifetime -> a 5 min timer keeping the test process alive).
      defaultLockLifetime: 2000,
    });
    const ran = new Promise<{ data: unknown; at: number }>((resolve, reject) => {
      agenda.define("send-receipt", async (job) => {
        resolve({ data: job.attrs.data, at: Date.now() });
      });
      agenda.on("error", reject);
    });
    await agenda.start();
    const scheduledAt = Date.now();
    try {
      await agenda.schedule(new Date(scheduledAt + 1000), "send-receipt", { orderId: "ORD-1" });
      const { data, at } = await ran;
      assert.deepEqual(data, { orderId: "ORD-1" });
      assert.ok(at >= scheduledAt + 900, "job ran before its time");
    } finally {
      await agenda.stop();
    }
    const stored = await fx.conn.db!.collection("jobs").findOne({ name: "send-receipt" });
    assert.ok(stored, "the job document is kept in the jobs collection");
  });
});
