// What the outbox does for a channel that lacks a broadcast's needs: it asks the sender's
// `committing` itself right before handing the batch over, and sends a progress message's
// new text as a new message where the channel cannot edit one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Channels, NOT_COMMITTED, Outbox } from "../../flows/engine/index.ts";
import type { ChannelAddress, Outbound, SendOptions, SendReport } from "../../flows/engine/index.ts";
import { RecordingChannel } from "../support/recording-outbox.ts";

const to: ChannelAddress = { tenantId: "t1", channel: "chat", chatId: "c1" };
const say = (id: string): Outbound => ({ text: { inline: { id } } });

/** A recording channel that edits in place, and can ask a sender's `committing` itself. */
class EditingChannel extends RecordingChannel {
  readonly edits: { messageId: string; outbound: Outbound }[] = [];
  edit(_to: ChannelAddress, messageId: string, outbound: Outbound): Promise<SendReport> {
    this.edits.push({ messageId, outbound });
    return Promise.resolve({ ok: true, sent: 1, messages: [{ status: "sent", messageIds: [messageId] }] });
  }
}

function counting(answer: boolean) {
  const sender = { asked: 0, committing: () => Promise.resolve((sender.asked++, answer)) };
  return sender;
}

test("for a channel that does not commit sends itself, the outbox asks the sender once, before the channel sends, and hands the channel no question", async () => {
  const channel = new RecordingChannel("chat");
  const outbox = new Outbox(new Channels([channel]));
  const sender = counting(true);

  const report = await outbox.send(to, [say("Promo"), say("Kedua")], { bulk: true, committing: sender.committing });

  assert.equal(report.ok, true);
  assert.equal(sender.asked, 1);
  assert.equal(channel.sends.length, 1);
  assert.deepEqual(channel.sends[0].options, { bulk: true } satisfies SendOptions);
});

test("a sender that says no there: the channel is not called and the report says not committed", async () => {
  const channel = new RecordingChannel("chat");
  const outbox = new Outbox(new Channels([channel]));

  const report = await outbox.send(to, [say("Promo"), say("Kedua")], { bulk: true, committing: counting(false).committing });

  assert.deepEqual([report.ok, report.sent, report.reason, report.detail], [false, 0, "failed", NOT_COMMITTED]);
  assert.deepEqual(report.messages.map((m) => m.status), ["failed", "skipped"]);
  assert.equal(channel.sends.length, 0);
});

test("a channel that commits sends itself gets the question, and the outbox does not ask it", async () => {
  const channel = new RecordingChannel("chat", { commitsSends: true });
  const outbox = new Outbox(new Channels([channel]));
  const sender = counting(true);

  await outbox.send(to, [say("Promo")], { bulk: true, committing: sender.committing });

  assert.equal(sender.asked, 0, "the recording channel never asks: the outbox left it to the channel");
  assert.equal(channel.sends[0].options.committing, sender.committing);
});

test("an edit on a channel that edits replaces the message in place", async () => {
  const channel = new EditingChannel("chat");
  const outbox = new Outbox(new Channels([channel]));

  const report = await outbox.edit(to, "42", say("Terkirim 10 dari 20"));

  assert.deepEqual(report.messages[0].messageIds, ["42"]);
  assert.deepEqual(channel.edits.map((e) => e.messageId), ["42"]);
  assert.equal(channel.sends.length, 0);
});

test("an edit on a channel without edits goes out as a new message, whose id the report names", async () => {
  for (const channel of [new RecordingChannel("chat"), new EditingChannel("chat", { messageEdits: false })]) {
    const outbox = new Outbox(new Channels([channel]));

    const report = await outbox.edit(to, "42", say("Terkirim 10 dari 20"), { locale: "en" });

    assert.equal(report.ok, true);
    assert.equal(channel.sends.length, 1);
    assert.equal(channel.sends[0].options.locale, "en");
    assert.notDeepEqual(report.messages[0].messageIds, ["42"]);
    if (channel instanceof EditingChannel) assert.deepEqual(channel.edits, []);
  }
});

test("an edit for a channel that does not run here says so", async () => {
  const outbox = new Outbox(new Channels([new RecordingChannel("chat")]));
  const report = await outbox.edit({ ...to, channel: "whatsapp" }, "42", say("x"));
  assert.equal(report.reason, "no-channel");
});
