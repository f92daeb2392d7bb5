// Dependency alerts (admin-bot/dependency-alerts.ts) on a real DependencyHealth probing a real
// TCP server that stops answering and comes back; real OwnerAlerts on the embedded MongoDB.
import assert from "node:assert/strict";
import { createServer, connect, type Server } from "node:net";
import { describe, test } from "node:test";
import winston from "winston";
import { alertOnDependencyOutages, formatDuration } from "../../admin-bot/dependency-alerts.ts";
import { OwnerAlerts } from "../../admin-bot/owner-alerts.ts";
import { DependencyHealth } from "../../storage/dependency-health.ts";
import { OwnerAlertRecord } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { alertText, useOwnerAlertsDatabase } from "../support/owner-alerts.ts";

useOwnerAlertsDatabase("dependency_alerts");
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const textOf = (outbound: { text: unknown }) => alertText(outbound);


/** A server that answers "PONG" to each connection while `answering`, and stays silent otherwise. */
async function pingServer(): Promise<{ server: Server; port: number; set(answering: boolean): void }> {
  let answering = true;
  const server = createServer((socket) => {
    socket.on("error", () => undefined);
    if (answering) socket.end("PONG");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port, set: (value) => (answering = value) };
}

function ping(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("data", () => {
      socket.destroy();
      resolve();
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error("closed without an answer")));
    socket.setTimeout(300, () => socket.destroy());
  });
}

describe("dependency alerts", () => {
  test("a dependency that stops answering raises one alert however long it is away, and one recovery with how long", async () => {
    const cache = await pingServer();
    const health = new DependencyHealth({ log: winston.createLogger({ silent: true }), intervalMs: 50, timeoutMs: 100, failuresToDown: 2 });
    const { outbox, channel } = recordingOutbox({ channel: "owner" });
    const alerts = new OwnerAlerts({ log: quiet, outbox, ownerChatIds: [7], locale: "en" });
    const stop = alertOnDependencyOutages(health, alerts);
    try {
      health.watch("redis", () => ping(cache.port));
      cache.set(false);
      await eventually(() => !health.isUp("redis"), "redis down");
      await new Promise((resolve) => setTimeout(resolve, 500)); // ten more failed probes
      cache.set(true);
      await eventually(() => health.isUp("redis"), "redis back");
      await eventually(async () => (await OwnerAlertRecord.findOne({ state: "resolved" }).exec()) !== null, "the alert resolved");
      await alerts.flush();
      assert.equal(channel.sends.length, 2);
      assert.match(textOf(channel.sends[0]!.outbounds[0]!), /^🔴 Platform · Redis not answering\nRedis is not answering: no answer within 100 ms\./);
      assert.match(textOf(channel.sends[1]!.outbounds[0]!), /^✅ Platform · Redis not answering: recovered\n[\s\S]*• downFor: \d+ s$/);
      const stored = await OwnerAlertRecord.find({}).lean().exec();
      assert.deepEqual(stored.map((a) => [a.key, a.count, a.state]), [["dependency-down:platform:redis", 1, "resolved"]]);
    } finally {
      stop();
      await health.stop();
      cache.server.close();
    }
  });

  test("durations read short", () => {
    assert.equal(formatDuration(23_400), "23 s");
    assert.equal(formatDuration(200_000), "3 min 20 s");
    assert.equal(formatDuration(180_000), "3 min");
    assert.equal(formatDuration(2 * 3_600_000 + 5 * 60_000), "2 h 5 min");
  });
});
