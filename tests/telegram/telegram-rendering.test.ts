// The pure parts of the Telegram channel: button data, splitting long texts, reading a
// Telegram message as the engine's input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Message } from "grammy/types";
import { ButtonSigner, MAX_CALLBACK_DATA_BYTES, PromptTags, promptTag } from "../../adapters/telegram/button-data.ts";
import { inboundMessageOf } from "../../adapters/telegram/inbound-message.ts";
import { MAX_MESSAGE_LENGTH } from "../../adapters/telegram/chat-replies.ts";
import { splitMessage } from "../../flows/engine/index.ts";

const key = randomBytes(32);

test("button data fits Telegram's 64 bytes even for the longest choice id, and opens only for its store and chat", () => {
  const buttons = new ButtonSigner(key);
  const longest = "A".repeat(40);
  const tag = promptTag({ flow: "ordering.checkout-with-a-very-long-flow-name", step: "choose-payment-method-step" });
  const data = buttons.sign("tenant-a", "42", longest, tag);
  assert.ok(Buffer.byteLength(data) <= MAX_CALLBACK_DATA_BYTES, `${Buffer.byteLength(data)} bytes`);
  assert.deepEqual(buttons.open("tenant-a", "42", data), { choiceId: longest, tag });
  assert.equal(buttons.open("tenant-b", "42", data), undefined, "another store");
  assert.equal(buttons.open("tenant-a", "43", data), undefined, "another chat");
  assert.equal(new ButtonSigner(randomBytes(32)).open("tenant-a", "42", data), undefined, "another key");
  assert.deepEqual(new ButtonSigner(key).open("tenant-a", "42", data), { choiceId: longest, tag }, "the same key in another process");
  for (const forged of [data.replace(/^A/, "B"), data.replace(tag, "AAAAAA"), `${data}x`, data.slice(0, -1), "", "a|b|c|d", undefined]) {
    assert.equal(buttons.open("tenant-a", "42", forged), undefined, `forged: ${forged}`);
  }
  assert.throws(() => buttons.sign("tenant-a", "42", "with space"), /cannot be a Telegram button/);
  assert.deepEqual(buttons.open("tenant-a", "42", buttons.sign("tenant-a", "42", "page:next")), { choiceId: "page:next", tag: "" });
});

test("a prompt tag resolves back to its prompt once known, the same in every process", () => {
  const tags = new PromptTags();
  const prompt = { flow: "shop", step: "pick" };
  assert.equal(tags.resolve(promptTag(prompt)), undefined);
  tags.learnFlows([{ id: "shop", steps: new Map([["pick", {}], ["qty", {}]]) }]);
  assert.deepEqual(tags.resolve(promptTag(prompt)), prompt);
  assert.equal(new PromptTags().tagOf(prompt), tags.tagOf(prompt));
});

test("long texts split on paragraphs, then lines, then words, never inside an emoji", () => {
  const paragraphs = Array.from({ length: 12 }, (_, i) => `${i} ${"kata ".repeat(150).trim()}`).join("\n\n");
  const parts = splitMessage(paragraphs, MAX_MESSAGE_LENGTH);
  assert.ok(parts.length > 1);
  assert.ok(parts.every((p) => p.length <= MAX_MESSAGE_LENGTH));
  assert.equal(parts.join("\n\n"), paragraphs);

  const words = "selamat ".repeat(1200).trim();
  const wordParts = splitMessage(words, MAX_MESSAGE_LENGTH);
  assert.ok(wordParts.every((p) => p.length <= MAX_MESSAGE_LENGTH && !p.startsWith(" ") && !p.endsWith(" ")));
  assert.equal(wordParts.join(" "), words);

  const emoji = "👩‍👩‍👧‍👦".repeat(1000); // no spaces at all: cut between graphemes
  const emojiParts = splitMessage(emoji, MAX_MESSAGE_LENGTH);
  assert.ok(emojiParts.every((p) => p.length <= MAX_MESSAGE_LENGTH));
  assert.equal(emojiParts.join(""), emoji);
  for (const part of emojiParts) assert.equal(part.length % "👩‍👩‍👧‍👦".length, 0, "no family torn apart");

  assert.deepEqual(splitMessage("Rp25.000", MAX_MESSAGE_LENGTH), ["Rp25.000"]);
  assert.deepEqual(splitMessage("   ", MAX_MESSAGE_LENGTH), []);
});

function message(fields: Partial<Message>): Message {
  return { message_id: 1, date: 1, chat: { id: 7, type: "private", first_name: "Sari" }, from: { id: 7, is_bot: false, first_name: "Sari" }, ...fields } as Message;
}

test("a Telegram message becomes the engine's input", () => {
  const command = (text: string) => message({ text, entities: [{ type: "bot_command", offset: 0, length: text.split(" ")[0].length }] });
  assert.deepEqual(inboundMessageOf(command("/start promo-7")), { kind: "command", command: "start", args: "promo-7" });
  assert.deepEqual(inboundMessageOf(command("/Help@toko_bot")), { kind: "command", command: "help", args: "" });
  assert.deepEqual(inboundMessageOf(message({ text: "/ bukan perintah" })), { kind: "text", text: "/ bukan perintah" });
  assert.deepEqual(inboundMessageOf(message({ text: "halo 👋" })), { kind: "text", text: "halo 👋" });
  assert.deepEqual(
    inboundMessageOf(message({
      photo: [
        { file_id: "small", file_unique_id: "s", width: 90, height: 90 },
        { file_id: "large", file_unique_id: "l", width: 1280, height: 960 },
        { file_id: "medium", file_unique_id: "m", width: 320, height: 240 },
      ],
      caption: "bukti",
    })),
    { kind: "media", media: { type: "photo", fileRef: "large", caption: "bukti" } },
  );
  assert.deepEqual(
    inboundMessageOf(message({ document: { file_id: "doc", file_unique_id: "d", file_name: "bukti.pdf", mime_type: "application/pdf", file_size: 2048 } })),
    { kind: "media", media: { type: "document", fileRef: "doc", fileName: "bukti.pdf", mimeType: "application/pdf", sizeBytes: 2048 } },
  );
  assert.deepEqual(
    inboundMessageOf(message({ contact: { phone_number: "+628123", first_name: "Sari", last_name: "Dewi", user_id: 7 } })),
    { kind: "contact", contact: { phone: "+628123", name: "Sari Dewi", userId: "7" } },
  );
  assert.equal(inboundMessageOf(message({ sticker: { file_id: "x" } as Message["sticker"] })), undefined, "the caller answers what it cannot read");
});
