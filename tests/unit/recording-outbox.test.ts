// The recording outbox tests lean on: a real Outbox over a channel that records, answers
// with the failure it was told to, and a recorder any outbox can wear.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FileFetchError } from "../../flows/engine/channel.ts";
import type { Outbound } from "../../flows/engine/message.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";

const say = (text: string): Outbound => ({ text: { inline: { id: text, en: text } } });
const delivery = (code: string): Outbound => ({ text: { key: "ordering.delivery", params: { code, items: "SECRET-1" } } });

describe("the recording outbox", () => {
  test("records each send with its address and messages, in order, on the channel and on the recorder", async () => {
    const { outbox, channel, recorder } = recordingOutbox();
    const sari = { tenantId: "t1", channel: "telegram", chatId: "100" };
    const report = await outbox.send(sari, [say("Halo"), delivery("INV-1")], { locale: "en" });
    await outbox.send({ ...sari, chatId: "200" }, [say("Promo")]);

    assert.deepEqual([report.ok, report.sent], [true, 2]);
    assert.deepEqual(channel.delivered(sari).map((d) => d.outbound), [say("Halo"), delivery("INV-1")]);
    assert.equal(channel.sends[0].options.locale, "en");
    assert.deepEqual(recorder.sends.map((s) => s.to.chatId), ["100", "200"]);
    assert.equal(recorder.withKey("ordering.delivery", "INV-1").length, 1);
    assert.equal(recorder.withKey("ordering.delivery", "INV-2").length, 0);
  });

  test("answers with the reason it was told for an address, and records what did not go out as not delivered", async () => {
    const { outbox, channel, recorder } = recordingOutbox();
    const budi = { tenantId: "t1", channel: "telegram", chatId: "300" };
    channel.failFor(budi, "blocked");
    const report = await outbox.send(budi, [say("Promo"), say("Lagi")]);
    assert.deepEqual([report.ok, report.reason, report.sent], [false, "blocked", 0]);
    assert.deepEqual(report.messages.map((m) => m.status), ["failed", "skipped"]);
    assert.equal(recorder.sends[0].report.reason, "blocked");
    assert.deepEqual(recorder.delivered(budi), []);

    channel.recoverFor(budi);
    assert.equal((await outbox.send(budi, [say("Halo")])).ok, true);
  });

  test("a send to a channel that is not there reports no-channel; files are served up to maxBytes", async () => {
    const { outbox, channel } = recordingOutbox();
    const report = await outbox.send({ tenantId: "t1", channel: "discord", chatId: "1" }, [say("Halo")]);
    assert.equal(report.reason, "no-channel");

    channel.holdFile("t1", "bukti", Buffer.from("12345"));
    assert.equal(String(await channel.fetchFile("t1", "bukti", { maxBytes: 5 })), "12345");
    await assert.rejects(channel.fetchFile("t1", "bukti", { maxBytes: 4 }), (e: unknown) => e instanceof FileFetchError && e.reason === "too-large");
    await assert.rejects(channel.fetchFile("t2", "bukti", { maxBytes: 5 }), (e: unknown) => e instanceof FileFetchError && e.reason === "not-found");
  });
});
