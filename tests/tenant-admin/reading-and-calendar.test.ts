// The small pure parts: reading stock text and CSV the way sellers' files really look, and
// where a store's day begins.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { delimiterOf, parseCsv } from "../../flows/tenant-admin/csv-rows.ts";
import { checkSku } from "../../flows/tenant-admin/products.ts";
import { startOfStoreDay } from "../../flows/tenant-admin/sales-report.ts";
import { isBlankItem, readStockCsv, readStockFile, readStockText } from "../../flows/tenant-admin/stock-import.ts";

describe("reading stock", () => {
  test("CSV: quotes, doubled quotes, commas and line breaks inside quotes, CRLF", () => {
    const { rows, problems } = parseCsv('a,"b,c"\r\n"multi\nline",x\n"say ""hi""",y');
    assert.deepEqual(problems, []);
    assert.deepEqual(rows, [
      { line: 1, fields: ["a", "b,c"] },
      { line: 2, fields: ["multi\nline", "x"] },
      { line: 4, fields: ['say "hi"', "y"] },
    ]);
  });

  test("CSV: a stray or unclosed quote is named by its line", () => {
    assert.deepEqual(parseCsv('ok,1\nba"d,2\nok,3').problems, [{ line: 2, reason: "stray_quote" }]);
    assert.deepEqual(parseCsv('"closed"x,1').problems, [{ line: 1, reason: "stray_quote" }]);
    assert.deepEqual(parseCsv('ok,1\n"never closed,2\nok,3').problems, [{ line: 2, reason: "unclosed_quote" }]);
  });

  test("CSV: a row after a quoted line break is numbered by the line it starts on; several problems are all named", () => {
    const { rows, problems } = parseCsv('"a\r\nb",1\r\nok,2\r\nba"d,3\r\nok,4\r\n"x"y,5\r\nok,6');
    assert.deepEqual(rows, [
      { line: 1, fields: ["a\r\nb", "1"] },
      { line: 3, fields: ["ok", "2"] },
      { line: 5, fields: ["ok", "4"] },
    ]);
    // After a quote closed mid-field the parser cannot tell where rows begin: later lines are not guessed at.
    assert.deepEqual(problems, [
      { line: 4, reason: "stray_quote" },
      { line: 6, reason: "stray_quote" },
    ]);
  });

  test("CSV: the delimiter Indonesian Excel writes (;) is recognised, decimal commas and all", () => {
    assert.equal(delimiterOf("email;password;saldo\r\na@mail.com;rahasia;12,50\r\n"), ";");
    assert.equal(delimiterOf("a@mail.com;pa,ss\nb@mail.com;sandi\n"), ";");
    assert.equal(delimiterOf("email,password\na@mail.com,sandi;1\n"), ",");
    assert.equal(delimiterOf("kode\tpin\nA-1\t1234\n"), "\t");
    assert.equal(delimiterOf("KODE-1\nKODE-2\n"), ",");
    assert.equal(delimiterOf('"a;b";"c,d,e"\n'), ";");
    const batch = readStockCsv("\uFEFFemail;password\r\nsatu@mail.com;\"rahasia;1\"\r\ndua@mail.com;sandi,2\r\n");
    assert.deepEqual(batch, {
      lines: [
        { line: 2, payload: "satu@mail.com | rahasia;1" },
        { line: 3, payload: "dua@mail.com | sandi,2" },
      ],
      problems: [],
      headerSkipped: true,
    });
  });

  test("CSV: a byte-order mark is not part of the first field", () => {
    assert.deepEqual(parseCsv("\uFEFFkode,pin\nA,1").rows[0], { line: 1, fields: ["kode", "pin"] });
  });

  test("a one-column CSV is one item per row; blank rows are skipped", () => {
    assert.deepEqual(readStockCsv("KODE-1\n\nKODE-2\n").lines, [
      { line: 1, payload: "KODE-1" },
      { line: 3, payload: "KODE-2" },
    ]);
  });

  test("text lines are trimmed, blank ones ignored, control characters refused", () => {
    const batch = readStockText("  A-1  \n\n\tB-2\nC\u0007-3", 10);
    assert.deepEqual(batch.lines, [
      { line: 10, payload: "A-1" },
      { line: 12, payload: "B-2" },
    ]);
    assert.deepEqual(batch.problems, [{ line: 13, reason: "control_chars" }]);
  });

  test("a line is blank when nothing in it prints: spaces, format characters, fillers", () => {
    const blank = ["", " \t", "\u00A0\u3000", "\u200B", "\u200C\u200D", "\u2060", "\uFEFF", "\u180E", "\u00AD", "\u200E\u200F", "\u3164", "\u115F\u1160", "\uFFA0", "\u2800", "\uFE0F"];
    for (const line of blank) assert.ok(isBlankItem(line), JSON.stringify(line));
    for (const line of ["0", "-", "\u200BX", "🎮", "\u0007"]) assert.ok(!isBlankItem(line), JSON.stringify(line));
  });

  test("a UTF-8 file with a byte-order mark and emoji reads fine; a binary one does not", () => {
    const good = readStockFile(Buffer.from("\uFEFFakun🎮-1\n", "utf8"), "txt");
    assert.ok(!("reason" in good));
    assert.deepEqual(good.lines, [{ line: 1, payload: "akun🎮-1" }]);
    assert.deepEqual(readStockFile(Buffer.from([0x41, 0x00, 0x42]), "txt"), { reason: "not_utf8" });
    assert.deepEqual(readStockFile(Buffer.from("\n\n"), "txt"), { reason: "empty" });
  });
});

describe("what sellers type", () => {
  test("skus are lower-cased and limited to letters, digits and hyphens", () => {
    assert.deepEqual(checkSku(" ML-86 "), { ok: true, value: "ml-86" });
    assert.equal(checkSku("-ml").ok, false);
    assert.equal(checkSku("ml_86").ok, false);
    assert.equal(checkSku("a".repeat(33)).ok, false);
  });
});

describe("a store's calendar", () => {
  test("today begins at the store's midnight, not the server's", () => {
    const now = new Date("2026-03-10T01:00:00Z");
    assert.equal(startOfStoreDay(now, "Asia/Jakarta").toISOString(), "2026-03-09T17:00:00.000Z");
    assert.equal(startOfStoreDay(now, "UTC").toISOString(), "2026-03-10T00:00:00.000Z");
    assert.equal(startOfStoreDay(now, "Asia/Jakarta", 6).toISOString(), "2026-03-03T17:00:00.000Z");
  });

  test("across a daylight-saving change the day still starts at local midnight", () => {
    // New York moved to summer time on 8 March 2026: midnight on the 8th is still at UTC−5.
    const now = new Date("2026-03-09T15:00:00Z");
    assert.equal(startOfStoreDay(now, "America/New_York").toISOString(), "2026-03-09T04:00:00.000Z");
    assert.equal(startOfStoreDay(now, "America/New_York", 1).toISOString(), "2026-03-08T05:00:00.000Z");
  });
});
