// Reading a price the way sellers write it, per currency: every accepted form gives the
// amount in the currency's smallest unit, and every refused one says why with an example,
// in Indonesian and in English.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { t } from "../../locales/i18n.ts";
import type { Locale } from "../../flows/engine/message.ts";
import { checkPrice, isBigPriceChange, readPrice } from "../../flows/tenant-admin/price-input.ts";

/** What the seller reads when `typed` is refused, or the amount it is read as. */
function answer(typed: string, currency: string, locale: Locale): number | string {
  const verdict = checkPrice(typed, currency, locale);
  return verdict.ok ? verdict.value : t(locale, verdict.key, verdict.params);
}

describe("rupiah (no minor unit)", () => {
  test("thirty-five thousand, every way it is written", () => {
    const forms = ["35000", "35.000", "35,000", "35rb", "35k", "35K", "35 rb", "35ribu", "Rp35.000", "Rp 35.000", "rp.35.000", "IDR 35,000", "35.000,-", "Rp35.000,-", "35000 rupiah", " 35.000 "];
    for (const typed of forms) assert.deepEqual(readPrice(typed, "IDR"), { ok: true, amount: 35_000 }, typed);
  });

  test("millions, with a decimal comma or point before jt, and grouped thousands", () => {
    assert.deepEqual(readPrice("1,5jt", "IDR"), { ok: true, amount: 1_500_000 });
    assert.deepEqual(readPrice("1.5jt", "IDR"), { ok: true, amount: 1_500_000 });
    assert.deepEqual(readPrice("2 juta", "IDR"), { ok: true, amount: 2_000_000 });
    assert.deepEqual(readPrice("1,25jt", "IDR"), { ok: true, amount: 1_250_000 });
    assert.deepEqual(readPrice("12,5rb", "IDR"), { ok: true, amount: 12_500 });
    assert.deepEqual(readPrice("0,5rb", "IDR"), { ok: true, amount: 500 });
    assert.deepEqual(readPrice("1.500.000", "IDR"), { ok: true, amount: 1_500_000 });
    assert.deepEqual(readPrice("1,500,000", "IDR"), { ok: true, amount: 1_500_000 });
    assert.deepEqual(readPrice("35.000,00", "IDR"), { ok: true, amount: 35_000 });
    assert.deepEqual(readPrice("35,000.00", "IDR"), { ok: true, amount: 35_000 });
  });

  test("what could be read two ways is refused, not guessed", () => {
    const unclear = ["1 2", "35 000", "35,00,0", "3,5,000", "1.2.3", "35.0000", "1234.567", "1.500rb", "1,5,jt", "35.000.", ".5", "35..000", "35,000.000"];
    for (const typed of unclear) assert.deepEqual(readPrice(typed, "IDR"), { ok: false, reason: "unclear" }, typed);
  });

  test("fractions of a rupiah, zero, negatives, absurd amounts and words are refused", () => {
    for (const typed of ["35.5", "35,50", "35,00", "1.234,5", "35.000,50"]) {
      assert.deepEqual(readPrice(typed, "IDR"), { ok: false, reason: "fraction" }, typed);
    }
    for (const typed of ["0", "0rb", "-35000", "-Rp35.000", "Rp-35.000", "−35000"]) {
      assert.deepEqual(readPrice(typed, "IDR"), { ok: false, reason: "not_positive" }, typed);
    }
    for (const typed of ["100.000.001", "150jt", "999999999999999999999999"]) {
      assert.deepEqual(readPrice(typed, "IDR"), { ok: false, reason: "too_high" }, typed);
    }
    assert.deepEqual(readPrice("100jt", "IDR"), { ok: true, amount: 100_000_000 });
    for (const typed of ["", "murah", "dua puluh ribu", "rb", "$35", "35$", "35 rb rb", "Rp"]) {
      assert.deepEqual(readPrice(typed, "IDR"), { ok: false, reason: "not_number" }, typed);
    }
  });

  test("each refusal says why with examples, in Indonesian", () => {
    assert.equal(answer("1 2", "IDR", "id"), 'Harga "1 2" bisa dibaca lebih dari satu cara. Tulis misalnya 35000, 35.000 atau 35rb.');
    assert.equal(answer("35.5", "IDR", "id"), "Rupiah tidak pakai pecahan: tulis harga bulat, misalnya 35000, 35.000 atau 35rb.");
    assert.equal(answer("murah", "IDR", "id"), "Harga harus berupa angka, misalnya 35000, 35.000 atau 35rb.");
    assert.equal(answer("-5000", "IDR", "id"), "Harga harus lebih dari 0.");
    assert.equal(answer("0", "IDR", "id"), "Harga harus lebih dari 0.");
    assert.equal(answer("1 miliar", "IDR", "id"), "Harga harus berupa angka, misalnya 35000, 35.000 atau 35rb.");
    assert.equal(answer("150jt", "IDR", "id"), "Harga itu terlalu besar: maksimal Rp100.000.000. Cek lagi jumlah nolnya ya.");
  });

  test("and in English", () => {
    assert.equal(answer("35,00,0", "IDR", "en"), 'The price "35,00,0" could be read more than one way. Write it like 35000, 35,000 or 35k.');
    assert.equal(answer("35.5", "IDR", "en"), "Rupiah have no fractions: write a whole price, e.g. 35000, 35,000 or 35k.");
    assert.equal(answer("cheap", "IDR", "en"), "The price must be a number, e.g. 35000, 35,000 or 35k.");
    assert.equal(answer("-5000", "IDR", "en"), "The price must be more than 0.");
    assert.equal(answer("150jt", "IDR", "en"), "That price is too high: at most Rp100,000,000. Please check the zeros.");
  });
});

describe("a currency with cents (USD)", () => {
  test("dollars and cents, with a decimal point or comma, grouped or not, with or without the sign", () => {
    const cases: [string, number][] = [
      ["3.50", 350],
      ["3,50", 350],
      ["3.5", 350],
      ["$3.50", 350],
      ["US$ 3.50", 350],
      ["3.50 USD", 350],
      ["12", 1_200],
      ["0.99", 99],
      ["1,250.00", 125_000],
      ["1.250,00", 125_000],
      ["1,000.5", 100_050],
      ["99.999,99", 9_999_999],
      ["2.5k", 250_000],
      ["100,000.00", 10_000_000],
    ];
    for (const [typed, cents] of cases) assert.deepEqual(readPrice(typed, "USD"), { ok: true, amount: cents }, typed);
  });

  test("1,250 (a thousand in English, one and a quarter in Indonesian), more decimals than cents, zero, negatives and absurd amounts are refused", () => {
    // With cents, a single separator before three digits has two readings; without cents it has one.
    for (const typed of ["1,250", "1.250", "100,000", "3.555", "1,250.505", "2.555k", "1 2"]) {
      assert.deepEqual(readPrice(typed, "USD"), { ok: false, reason: "unclear" }, typed);
    }
    assert.deepEqual(readPrice("0.00", "USD"), { ok: false, reason: "not_positive" });
    assert.deepEqual(readPrice("-3.50", "USD"), { ok: false, reason: "not_positive" });
    assert.deepEqual(readPrice("100,000.01", "USD"), { ok: false, reason: "too_high" });
    assert.deepEqual(readPrice("Rp35.000", "USD"), { ok: false, reason: "not_number" });
  });

  test("refusals give examples with cents, in the seller's way of writing numbers", () => {
    assert.equal(answer("1,250", "USD", "en"), 'The price "1,250" could be read more than one way. Write it like 3.50, 1,250.00 or $3.50.');
    assert.equal(answer("3.555", "USD", "id"), 'Harga "3.555" bisa dibaca lebih dari satu cara. Tulis misalnya 3,50, 1.250,00 atau $3,50.');
    assert.equal(answer("murah", "USD", "id"), "Harga harus berupa angka, misalnya 3,50, 1.250,00 atau $3,50.");
    assert.equal(answer("100,000.01", "USD", "en"), "That price is too high: at most $100,000.00. Please check the zeros.");
  });
});

describe("a whole-unit currency other than the rupiah (JPY)", () => {
  test("is read like rupiah, its fraction refusal names no rupiah", () => {
    assert.deepEqual(readPrice("¥3,500", "JPY"), { ok: true, amount: 3_500 });
    assert.deepEqual(readPrice("3.500", "JPY"), { ok: true, amount: 3_500 });
    assert.equal(answer("3.5", "JPY", "en"), "Prices in JPY have no fractions: write a whole price, e.g. 35000, 35,000 or 35k.");
  });
});

describe("a big change", () => {
  test("is more than 5× up or down; exactly 5× is not", () => {
    assert.equal(isBigPriceChange(25_000, 125_000), false);
    assert.equal(isBigPriceChange(25_000, 125_001), true);
    assert.equal(isBigPriceChange(25_000, 5_000), false);
    assert.equal(isBigPriceChange(25_000, 4_999), true);
    assert.equal(isBigPriceChange(25_000, 35), true);
    assert.equal(isBigPriceChange(0, 1_000), true);
  });
});
