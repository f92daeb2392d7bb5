// A step that needs what the user's channel cannot do (buttons, media, edits) asks
// `ctx.requireCapability`; the user is told politely that it cannot be done here, with no
// error id (nothing broke), and nobody writes `if (channel === …)`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createEngine } from "../../flows/engine/engine.ts";
import { defineFlow } from "../../flows/engine/flow-schema.ts";
import type { Channels } from "../../flows/engine/channel.ts";
import { MemorySessionStore } from "../../flows/engine/session.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { capturingLog, ChatUser, newTenant } from "./chat-harness.ts";

const scanFlow = defineFlow({
  id: "scan",
  triggers: { commands: ["pindai"] },
  steps: {
    needPhoto: { kind: "action", action: "needsMedia", next: "ask" },
    ask: { kind: "end", text: { id: "Kirim foto kartu garansimu." } },
  },
});

function engineOver(channels: Channels, log = capturingLog()) {
  return createEngine({
    flows: [scanFlow],
    actions: { needsMedia: (ctx) => void ctx.requireCapability("media") },
    sessions: new MemorySessionStore(),
    audienceOf: () => "customer",
    capabilitiesOf: (name) => channels.get(name)?.capabilities,
    logFor: log.logFor,
  });
}

test("a step that needs media on a text-only channel is told it cannot be done here, without an error id", async () => {
  const textOnly = recordingOutbox({ channel: "sms", capabilities: { media: false } });
  const log = capturingLog();
  const user = new ChatUser(engineOver(textOnly.channels, log), { tenant: newTenant(), channel: "sms" });
  await user.say("/pindai");
  assert.deepEqual(user.keys, ["engine.not_supported_here"]);
  assert.ok(!log.lines.some((line) => line.level === "error"), "not logged as a failure");
  assert.ok(log.lines.some((line) => line.meta.capability === "media" && line.meta.flow === "scan"), "logged with the flow and the capability");
});

test("the same step on a channel with media goes on", async () => {
  const withMedia = recordingOutbox({ channel: "chat", capabilities: { media: true } });
  const user = new ChatUser(engineOver(withMedia.channels), { tenant: newTenant(), channel: "chat" });
  assert.deepEqual(await user.say("/pindai"), ["Kirim foto kartu garansimu."]);
});

test("the outbox refuses media on a channel without it, as not supported", async () => {
  const { outbox } = recordingOutbox({ channel: "sms", capabilities: { media: false } });
  const report = await outbox.send({ tenantId: "t1", channel: "sms", chatId: "c1" }, [{ text: { inline: { id: "foto" } }, media: { type: "photo", ref: "abc" } }]);
  assert.equal(report.ok, false);
  assert.equal(report.reason, "not-supported");
});
