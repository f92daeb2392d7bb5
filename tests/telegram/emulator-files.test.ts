// Photos and documents both ways: grammY uploads InputFiles as multipart/form-data, the
// bot downloads what a customer sent through getFile and /file/bot<token>/<path>.
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { Api, Bot, GrammyError, InputFile } from "grammy";
import { samplePng, startTelegramEmulator } from "../support/telegram-emulator.ts";
import type { TelegramEmulator } from "../support/telegram-emulator.ts";

async function emulator(t: TestContext): Promise<TelegramEmulator> {
  const tg = await startTelegramEmulator();
  t.after(() => tg.stop());
  return tg;
}

test("the bot sends a photo and a document uploaded from Buffers; the customer gets them byte for byte", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  tg.openChat(token, sari);
  const api = new Api(token, { apiRoot: tg.apiRoot });
  const picture = samplePng({ width: 8, height: 6, seed: 3 });
  const voucher = Buffer.from("Kode voucher: TOKO-25K-ABCD\n");

  const photo = await api.sendPhoto(sari.id, new InputFile(picture), { caption: "Produk <b>baru</b>", parse_mode: "HTML" });
  const document = await api.sendDocument(sari.id, new InputFile(voucher, "voucher.txt"), { caption: "Pesanan #1042" });

  assert.equal(photo.photo.length, 1);
  assert.deepEqual({ ...photo.photo[0], file_id: "…", file_unique_id: "…" }, { file_id: "…", file_unique_id: "…", width: 8, height: 6, file_size: picture.length });
  assert.equal(photo.caption, "Produk baru");
  assert.deepEqual(photo.caption_entities, [{ type: "bold", offset: 7, length: 4 }]);
  assert.equal(document.document.file_name, "voucher.txt");
  assert.equal(document.document.mime_type, "text/plain", "Telegram infers the type from the name; grammY uploads everything as octet-stream");
  assert.equal(document.document.file_size, voucher.length);
  assert.deepEqual(tg.fileBytes(token, photo.photo[0].file_id), picture);
  assert.deepEqual(tg.fileBytes(token, document.document.file_id), voucher);
  assert.deepEqual(tg.sent(token, sari).map((m) => m.caption), ["Produk baru", "Pesanan #1042"]);

  const upload = tg.calls(token, "sendDocument")[0].params;
  assert.deepEqual(upload.document, { upload: "voucher.txt", size: voucher.length });
  assert.equal(upload.chat_id, sari.id);
});

test("a file_id the bot got back can be sent again without uploading; a Buffer without a name arrives as document.dat", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  tg.openChat(token, sari);
  const api = new Api(token, { apiRoot: tg.apiRoot });
  const first = await api.sendDocument(sari.id, new InputFile(Buffer.from("isi")));
  assert.equal(first.document.file_name, "document.dat");

  const again = await api.sendDocument(sari.id, first.document.file_id);
  assert.equal(again.document.file_unique_id, first.document.file_unique_id);
  assert.equal(typeof tg.calls(token, "sendDocument")[1].params.document, "string", "sent as JSON, no upload");
  await assert.rejects(api.sendPhoto(sari.id, first.document.file_id), (e: unknown) =>
    e instanceof GrammyError && e.description === "Bad Request: type of file mismatch");
  await assert.rejects(api.sendDocument(sari.id, "no-such-file-id"), (e: unknown) =>
    e instanceof GrammyError && e.description === "Bad Request: wrong file identifier/HTTP URL specified");
});

test("a photo that is not an image is refused as Telegram refuses it", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  tg.openChat(token, sari);
  const api = new Api(token, { apiRoot: tg.apiRoot });
  await assert.rejects(api.sendPhoto(sari.id, new InputFile(Buffer.from("not a picture"))), (e: unknown) =>
    e instanceof GrammyError && e.error_code === 400 && e.description === "Bad Request: IMAGE_PROCESS_FAILED");
});

test("a customer's photo reaches the bot, which downloads exactly the bytes sent through getFile", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  const proof = samplePng({ width: 16, height: 9, seed: 11 });
  const bot = new Bot(token, { client: { apiRoot: tg.apiRoot } });
  let downloaded: Buffer | undefined;
  bot.on("message:photo", async (ctx) => {
    const file = await ctx.getFile();
    const response = await fetch(`${tg.apiRoot}/file/bot${token}/${file.file_path}`);
    downloaded = Buffer.from(await response.arrayBuffer());
    await ctx.reply(`Bukti diterima (${file.file_size} byte)`);
  });
  bot.on("message:document", async (ctx) => {
    const file = await ctx.getFile();
    const response = await fetch(`${tg.apiRoot}/file/bot${token}/${file.file_path}`);
    await ctx.reply(`${ctx.message.document.file_name} ${ctx.message.document.mime_type}: ${await response.text()}`);
  });
  const running = bot.start();

  const sent = await tg.sendPhoto(token, sari, proof, "bukti transfer");
  await tg.waitForSent(token, sari, (m) => m.text === `Bukti diterima (${proof.length} byte)`);
  assert.deepEqual(downloaded, proof);
  assert.equal(sent.photo[0].width, 16);
  assert.equal(sent.photo[0].height, 9);

  await tg.sendDocument(token, sari, Buffer.from("a,b\n1,2\n"), "stok.csv");
  await tg.waitForSent(token, sari, (m) => m.text === "stok.csv text/csv: a,b\n1,2\n");
  await bot.stop();
  await running;
});

test("a file cannot be downloaded with another bot's token or a wrong path", async (t) => {
  const tg = await emulator(t);
  const store = tg.bot();
  const other = tg.bot();
  const sari = tg.user();
  const { photo } = await tg.sendPhoto(store.token, sari, samplePng());
  const file = await new Api(store.token, { apiRoot: tg.apiRoot }).getFile(photo[0].file_id);

  assert.equal((await fetch(`${tg.apiRoot}/file/bot${store.token}/${file.file_path}`)).status, 200);
  assert.equal((await fetch(`${tg.apiRoot}/file/bot${other.token}/${file.file_path}`)).status, 404);
  assert.equal((await fetch(`${tg.apiRoot}/file/bot${store.token}/photos/nothing.jpg`)).status, 404);
  await assert.rejects(new Api(other.token, { apiRoot: tg.apiRoot }).getFile(photo[0].file_id), (e: unknown) =>
    e instanceof GrammyError && e.description === "Bad Request: invalid file_id");
});
