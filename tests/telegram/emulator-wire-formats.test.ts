// Telegram takes parameters as a query string, JSON, form-urlencoded or multipart; other
// clients than grammY (curl, a self-written admin script) use the forms grammY does not.
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { startTelegramEmulator } from "../support/telegram-emulator.ts";
import type { TelegramEmulator } from "../support/telegram-emulator.ts";

async function emulator(t: TestContext): Promise<TelegramEmulator> {
  const tg = await startTelegramEmulator();
  t.after(() => tg.stop());
  return tg;
}

test("a browser-style multipart upload with a quoted file name containing spaces is stored under that name", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  tg.openChat(token, sari);
  const form = new FormData();
  form.append("chat_id", String(sari.id));
  form.append("caption", "Laporan");
  form.append("document", new Blob([Buffer.from("%PDF-1.4 laporan")]), "laporan bulan ini.pdf");
  const response = await fetch(`${tg.apiRoot}/bot${token}/sendDocument`, { method: "POST", body: form });
  const body = await response.json() as { ok: boolean; result: { document: { file_name: string; mime_type: string; file_id: string } } };

  assert.equal(response.status, 200);
  assert.equal(body.result.document.file_name, "laporan bulan ini.pdf");
  assert.equal(body.result.document.mime_type, "application/pdf");
  assert.equal(tg.fileBytes(token, body.result.document.file_id).toString(), "%PDF-1.4 laporan");
});

test("form-urlencoded and query-string calls work, and calls() shows their fields with their documented types", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const sari = tg.user();
  tg.openChat(token, sari);
  const keyboard = { inline_keyboard: [[{ text: "Bayar", callback_data: "pay:1" }]] };
  const form = new URLSearchParams({ chat_id: String(sari.id), text: "Total", reply_markup: JSON.stringify(keyboard) });
  const posted = await fetch(`${tg.apiRoot}/bot${token}/sendMessage`, { method: "POST", body: form });
  assert.equal(posted.status, 200);
  const viaQuery = await fetch(`${tg.apiRoot}/bot${token}/sendMessage?chat_id=${sari.id}&text=${encodeURIComponent("halo dari GET")}`);
  assert.equal(viaQuery.status, 200);

  const [first] = tg.calls(token, "sendMessage");
  assert.deepEqual(first.params, { chat_id: sari.id, text: "Total", reply_markup: keyboard });
  assert.deepEqual(tg.sent(token, sari).map((m) => [m.text, m.reply_markup]), [["Total", keyboard], ["halo dari GET", undefined]]);
});

test("a malformed JSON body is a 400, not a crash", async (t) => {
  const tg = await emulator(t);
  const { token } = tg.bot();
  const response = await fetch(`${tg.apiRoot}/bot${token}/sendMessage`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
  assert.equal(response.status, 400);
  assert.equal((await response.json() as { ok: boolean }).ok, false);
});
