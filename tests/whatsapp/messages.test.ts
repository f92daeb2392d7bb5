// WhatsApp messages in the engine's words and back, from real protobuf messages as Baileys
// decodes them: what a customer sends, how menus, long texts and media go out, and how a
// typed number answers the list the customer was shown.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { proto, type WAMessage } from "baileys";
import {
  MAX_CAPTION_LENGTH,
  PromptMemory,
  fileRefOf,
  ignoredKind,
  mediaMessageFromRef,
  renderBody,
  toContents,
  toInboundMessage,
  typedLength,
} from "../../adapters/whatsapp/messages.ts";
import { FileFetchError, type Outbound } from "../../flows/engine/index.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { configureEncryption } from "../../storage/crypto.ts";

await initI18n();
configureEncryption(randomBytes(32));

const TENANT = "665f1c0ffee0000000000001";
const CUSTOMER = "6281234567890@s.whatsapp.net";
let counter = 0;

function received(message: Record<string, unknown>): WAMessage {
  counter += 1;
  return proto.WebMessageInfo.fromObject({
    key: { remoteJid: CUSTOMER, fromMe: false, id: `3EB0${counter.toString().padStart(16, "0")}` },
    messageTimestamp: 1_780_000_000,
    pushName: "Sari",
    message,
  }) as WAMessage;
}

const inbound = (message: Record<string, unknown>, lastPrompt?: Outbound) => toInboundMessage(received(message), lastPrompt, "id", TENANT);

const menu: Outbound = {
  text: { inline: { id: "Mau apa hari ini?", en: "What would you like today?" } },
  choices: [
    { id: "catalog", label: { inline: { id: "Lihat katalog", en: "See the catalogue" } } },
    { id: "help", label: { inline: { id: "Bantuan", en: "Help" } } },
  ],
  prompt: { flow: "welcome", step: "menu" },
};

const mediaKey = randomBytes(32);
const imageFields = {
  url: "https://mmg.whatsapp.net/v/t62.7118-24/bukti.enc?ccb=11-4",
  directPath: "/v/t62.7118-24/bukti.enc?ccb=11-4",
  mediaKey,
  mediaKeyTimestamp: 1_780_000_000,
  fileEncSha256: randomBytes(32),
  fileSha256: randomBytes(32),
  fileLength: "284731",
  mimetype: "image/jpeg",
};

test("text, commands and typed text reach the engine as the console reads them, through disappearing and edited wrappers", () => {
  assert.deepEqual(inbound({ conversation: "halo kak" }), { kind: "text", text: "halo kak" });
  assert.deepEqual(inbound({ extendedTextMessage: { text: "/start promo-7 " } }), { kind: "command", command: "start", args: "promo-7" });
  assert.deepEqual(inbound({ ephemeralMessage: { message: { extendedTextMessage: { text: "/Help" } } } }), { kind: "command", command: "help", args: "" });
  assert.deepEqual(inbound({ editedMessage: { message: { conversation: "stok ada?" } } }), { kind: "text", text: "stok ada?" });
  assert.equal(inbound({ conversation: "   " }), undefined, "a blank text means nothing");
});

test("a menu shows its choices numbered with a hint, and is answered by number or by label", () => {
  assert.equal(renderBody(menu, "id"), `Mau apa hari ini?\n\n1. Lihat katalog\n2. Bantuan\n\n${t("id", "whatsapp.reply_with_number")}`);
  assert.equal(renderBody(menu, "en"), `What would you like today?\n\n1. See the catalogue\n2. Help\n\n${t("en", "whatsapp.reply_with_number")}`);
  assert.notEqual(t("en", "whatsapp.reply_with_number"), t("id", "whatsapp.reply_with_number"));

  const chosen = { kind: "choice", choiceId: "help", prompt: { flow: "welcome", step: "menu" } };
  assert.deepEqual(inbound({ conversation: "2" }, menu), chosen);
  assert.deepEqual(inbound({ conversation: " 2 " }, menu), chosen);
  assert.deepEqual(inbound({ extendedTextMessage: { text: "bantuan" } }, menu), chosen);
  assert.deepEqual(inbound({ conversation: "LIHAT  katalog" }, menu), { kind: "choice", choiceId: "catalog", prompt: { flow: "welcome", step: "menu" } });
  assert.deepEqual(inbound({ conversation: "3" }, menu), { kind: "text", text: "3" }, "no third choice: the engine hears the text");
  assert.deepEqual(inbound({ conversation: "2" }), { kind: "text", text: "2" }, "no list remembered: the engine matches the number itself");
});

test("the prompt memory keeps each chat's last list, forgets it when a reply without choices follows, and stays bounded", () => {
  const memory = new PromptMemory(2);
  const plain: Outbound = { text: { inline: { id: "Oke" } } };
  memory.record(TENANT, "a", [plain, menu]);
  assert.equal(memory.lastPrompt(TENANT, "a"), menu);
  assert.equal(memory.lastPrompt("another-store", "a"), undefined, "per store");
  memory.record(TENANT, "a", [menu, plain]);
  assert.equal(memory.lastPrompt(TENANT, "a"), menu, "the list is still the last message with choices of the batch");
  memory.record(TENANT, "a", [plain]);
  assert.equal(memory.lastPrompt(TENANT, "a"), undefined, "a question without choices ends the list");

  memory.record(TENANT, "a", [menu]);
  memory.record(TENANT, "b", [menu]);
  memory.lastPrompt(TENANT, "a");
  memory.record(TENANT, "c", [menu]);
  assert.equal(memory.size, 2);
  assert.equal(memory.lastPrompt(TENANT, "b"), undefined, "the chat used least lately is forgotten first");
  assert.equal(memory.lastPrompt(TENANT, "a"), menu);
  assert.equal(memory.lastPrompt(TENANT, "c"), menu);
});

test("a photo, view-once or not, becomes the engine's media with its caption, size and a sealed reference to fetch it later", () => {
  const photo = received({ viewOnceMessageV2: { message: { imageMessage: { ...imageFields, caption: "bukti transfer" } } } });
  const message = toInboundMessage(photo, menu, "id", TENANT);
  assert.ok(message?.kind === "media");
  const { fileRef, ...rest } = message.media;
  assert.deepEqual(rest, { type: "photo", mimeType: "image/jpeg", sizeBytes: 284_731, caption: "bukti transfer" });
  const sealedAgain = fileRefOf(photo, TENANT)!;
  assert.notEqual(sealedAgain, fileRef, "sealed afresh each time");
  assert.deepEqual(mediaMessageFromRef(sealedAgain, TENANT), mediaMessageFromRef(fileRef, TENANT));
  for (const secret of [mediaKey.toString("base64"), mediaKey.toString("base64url"), mediaKey.toString("hex"), "bukti.enc"]) {
    assert.ok(!fileRef.includes(secret), "the reference shows neither the media key nor the file's path");
  }

  const again = mediaMessageFromRef(fileRef, TENANT);
  assert.deepEqual({ ...again.key }, { remoteJid: CUSTOMER, fromMe: false, id: photo.key.id });
  const image = again.message?.imageMessage;
  assert.ok(image);
  assert.deepEqual(Buffer.from(image.mediaKey!), mediaKey);
  assert.equal(image.directPath, imageFields.directPath);
  assert.equal(image.url, imageFields.url);
  assert.deepEqual(Buffer.from(image.fileEncSha256!), imageFields.fileEncSha256);
  assert.equal(String(image.fileLength), "284731");
  assert.equal(String(image.mediaKeyTimestamp), "1780000000");
  assert.ok(!image.caption, "the caption is not kept in the reference");

  assert.throws(() => mediaMessageFromRef(fileRef, "665f1c0ffee0000000000002"), (e) => e instanceof FileFetchError && e.reason === "not-found", "another store's reference");
  assert.throws(() => mediaMessageFromRef("AgACAgIAAxkBAAIB", TENANT), (e) => e instanceof FileFetchError && e.reason === "not-found", "a Telegram file id");
  assert.equal(fileRefOf(received({ conversation: "halo" }), TENANT), undefined);
});

test("a document, with or without a caption wrapper, keeps its name, type, size and caption", () => {
  const document = { ...imageFields, mimetype: "text/csv", fileName: "stok-voucher.csv", fileLength: 9_007_199_254_740_993n.toString() };
  const wrapped = inbound({ documentWithCaptionMessage: { message: { documentMessage: { ...document, fileLength: "5120", caption: "stok baru" } } } });
  assert.ok(wrapped?.kind === "media");
  assert.deepEqual({ ...wrapped.media, fileRef: "…" }, { type: "document", fileRef: "…", fileName: "stok-voucher.csv", mimeType: "text/csv", sizeBytes: 5120, caption: "stok baru" });
  assert.equal(mediaMessageFromRef(wrapped.media.fileRef, TENANT).message?.documentMessage?.fileName, "stok-voucher.csv");

  const huge = inbound({ ephemeralMessage: { message: { documentMessage: document } } });
  assert.ok(huge?.kind === "media");
  assert.equal(huge.media.sizeBytes, undefined, "a size past 2^53 is not guessed");
  assert.equal(huge.media.caption, undefined);
});

test("a shared contact gives its WhatsApp number, name and user id; a card without a number is ignored", () => {
  const vcard = "BEGIN:VCARD\nVERSION:3.0\nN:;Budi;;;\nFN:Budi Santoso\nTEL;type=CELL;type=VOICE;waid=6281298765432:+62 812-9876-5432\nEND:VCARD";
  assert.deepEqual(inbound({ contactMessage: { displayName: "Budi", vcard } }), {
    kind: "contact",
    contact: { phone: "+6281298765432", name: "Budi", userId: "6281298765432@s.whatsapp.net" },
  });
  const noWaid = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Toko\r\n  Sebelah\r\nitem1.TEL:+62 21 555-0199\r\nEND:VCARD";
  assert.deepEqual(inbound({ contactsArrayMessage: { displayName: "2 kontak", contacts: [{ displayName: "Kosong", vcard: "BEGIN:VCARD\nFN:Kosong\nEND:VCARD" }, { vcard: noWaid }] } }), {
    kind: "contact",
    contact: { phone: "+62215550199", name: "Toko Sebelah" },
  });
  assert.equal(inbound({ contactMessage: { displayName: "Kosong", vcard: "BEGIN:VCARD\nFN:Kosong\nEND:VCARD" } }), undefined);
});

test("stickers, reactions, polls, locations, voice notes and protocol messages are not the engine's, and are named for the log", () => {
  const kinds: [Record<string, unknown>, string][] = [
    [{ stickerMessage: { ...imageFields, mimetype: "image/webp" } }, "stickerMessage"],
    [{ reactionMessage: { key: { id: "X" }, text: "👍" } }, "reactionMessage"],
    [{ protocolMessage: { type: 0, key: { id: "X" } } }, "protocolMessage"],
    [{ pollCreationMessage: { name: "Suka?", options: [{ optionName: "ya" }] } }, "pollCreationMessage"],
    [{ locationMessage: { degreesLatitude: -6.2, degreesLongitude: 106.8 } }, "locationMessage"],
    [{ audioMessage: { ...imageFields, mimetype: "audio/ogg", ptt: true } }, "audioMessage"],
    [{ ephemeralMessage: { message: { stickerMessage: { mimetype: "image/webp" } } } }, "stickerMessage"],
  ];
  for (const [message, kind] of kinds) {
    assert.equal(inbound(message), undefined, kind);
    assert.equal(ignoredKind(received(message)), kind);
  }
  assert.equal(ignoredKind(received({})), "empty message");
  assert.equal(ignoredKind(proto.WebMessageInfo.fromObject({ key: { id: "X" } }) as WAMessage), "no content");
});

test("a long text goes out in order, each part under the limit, cut between paragraphs, lines or words, never inside an emoji", async () => {
  const paragraphs = Array.from({ length: 40 }, (_, i) => `Paragraf ${i}: ${"voucher aktif 🎁 ".repeat(12).trim()}`).join("\n\n");
  const contents = await toContents({ text: { inline: { id: paragraphs } } }, "id", { maxTextLength: 1000 });
  const parts = contents.map((c) => ("text" in c ? c.text : assert.fail("text only")));
  assert.ok(parts.length > 1);
  assert.ok(parts.every((p) => p.length <= 1000));
  assert.equal(parts.join("\n\n"), paragraphs, "nothing lost, nothing reordered, cut between paragraphs");

  const words = "selamat🎉 ".repeat(300).trim();
  const wordParts = (await toContents({ text: { inline: { id: words } } }, "id", { maxTextLength: 700 })).map((c) => ("text" in c ? c.text : ""));
  assert.ok(wordParts.every((p) => p.length <= 700 && !p.startsWith(" ") && !p.endsWith(" ")));
  assert.equal(wordParts.join(" "), words, "cut at spaces only: no word or emoji torn");

  const longMenu = { ...menu, text: { inline: { id: "Katalog lengkap:\n" + "Produk bagus sekali\n".repeat(120) } } };
  const menuParts = (await toContents(longMenu, "id", { maxTextLength: 1000 })).map((c) => ("text" in c ? c.text : ""));
  assert.match(menuParts.at(-1)!, /1\. Lihat katalog\n2\. Bantuan\n\n.+$/, "the numbered list and its hint come last");
});

test("texts go out as written: plain characters, WhatsApp marks and angle brackets reach the customer unchanged", async () => {
  const goods = "Akun: sari_dewi_01\nPassword: *Rahasia*_2026~\nKode <b>ABC</b> & <code>\n```tetap```";
  assert.deepEqual(await toContents({ text: { inline: { id: goods } } }, "id", { maxTextLength: 4096 }), [{ text: goods }]);
  assert.deepEqual(await toContents({ text: { inline: { id: "" } } }, "id", { maxTextLength: 4096 }), [], "an empty text sends nothing");
});

test("media carry the text as a caption when it fits, else the text follows; documents get a type", async () => {
  const resolved: string[] = [];
  const media = async (m: { ref: string }) => {
    resolved.push(m.ref);
    return { upload: Buffer.from("bytes") };
  };
  const photo: Outbound = { text: { inline: { id: "Ini fotonya" } }, media: { type: "photo", ref: "https://contoh.test/p.jpg" } };
  assert.deepEqual(await toContents(photo, "id", { maxTextLength: 4096, media }), [{ image: Buffer.from("bytes"), caption: "Ini fotonya" }]);
  assert.deepEqual(resolved, ["https://contoh.test/p.jpg"]);

  const long = "x".repeat(MAX_CAPTION_LENGTH - 10) + " " + "y".repeat(20);
  const overflow = await toContents({ ...photo, text: { inline: { id: long } } }, "id", { maxTextLength: 4096, media });
  assert.deepEqual(overflow, [{ image: Buffer.from("bytes") }, { text: long }], "no caption cut in half: the whole text follows");

  const document: Outbound = { text: { inline: { id: "" } }, media: { type: "document", ref: "ref-1", fileName: "Laporan.PDF" } };
  assert.deepEqual(await toContents(document, "id", { maxTextLength: 4096, media }), [{ document: Buffer.from("bytes"), mimetype: "application/pdf", fileName: "Laporan.PDF" }]);
  const unknownType = await toContents({ ...document, media: { type: "document", ref: "ref-2" } }, "id", {
    maxTextLength: 4096,
    media: async () => ({ upload: Buffer.from("b"), fileName: "stok.bin" }),
  });
  assert.deepEqual(unknownType, [{ document: Buffer.from("b"), mimetype: "application/octet-stream", fileName: "stok.bin" }]);
  const menuWithPhoto = await toContents({ ...menu, media: photo.media }, "id", { maxTextLength: 4096, media });
  assert.equal((menuWithPhoto[0] as { caption: string }).caption, renderBody(menu, "id"), "a short menu rides on the photo");

  await assert.rejects(toContents(photo, "id", { maxTextLength: 4096 }), /media resolver/);

  assert.deepEqual(
    [...menuWithPhoto, ...overflow].map(typedLength),
    [renderBody(menu, "id").length, 0, long.length],
    "what the pacer shows typing for: the caption or the text, nothing for a bare photo",
  );
});
