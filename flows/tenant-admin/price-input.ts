// A price as sellers write it → the amount in the currency's smallest unit. The one reader
// behind every place a seller types a price (/harga, /ubahproduk, the /tambahproduk
// wizard), so "35,000" cannot mean Rp35 in one of them. The rule: read what has one
// reading, refuse what has two with an example, never guess.
import type { Locale, TextParams } from "../engine/message.ts";
import { formatPrice, minorDigits } from "../ordering/catalog.ts";
import type { Verdict } from "./products.ts";

export type PriceRefusal = "not_number" | "unclear" | "fraction" | "not_positive" | "too_high";
export type PriceReading = { ok: true; amount: number } | { ok: false; reason: PriceRefusal };

/** The highest price a digital product may have, in the currency's smallest unit: anything above is a typo. */
export function maxPrice(currency: string): number {
  return minorDigits(currency) === 0 ? 100_000_000 : 10_000_000;
}

/** A change to more than 5× the old price, or less than a fifth of it, is asked about first. */
export function isBigPriceChange(before: number, after: number): boolean {
  return after > before * 5 || after * 5 < before;
}

// "35rb", "35 ribu", "35k", "1,5jt", "2 juta".
const MULTIPLIERS: Readonly<Record<string, bigint>> = { k: 1_000n, rb: 1_000n, ribu: 1_000n, jt: 1_000_000n, juta: 1_000_000n };
const MULTIPLIED = /^(.*?)\s*(k|rb|ribu|jt|juta)$/;
/** Words for a currency beside its code and symbols, as sellers write them after the amount. */
const CURRENCY_WORDS: Readonly<Record<string, readonly string[]>> = { IDR: ["rupiah"] };

const marksByCurrency = new Map<string, readonly string[]>();

/** "rp", "idr", "$", "us$", "usd", …: what may stand before or after the amount, longest first. */
function currencyMarks(currency: string): readonly string[] {
  let marks = marksByCurrency.get(currency);
  if (!marks) {
    const found = new Set([currency.toLowerCase(), ...(CURRENCY_WORDS[currency] ?? [])]);
    for (const locale of ["id-ID", "en-US"]) {
      for (const currencyDisplay of ["narrowSymbol", "symbol"] as const) {
        const part = new Intl.NumberFormat(locale, { style: "currency", currency, currencyDisplay }).formatToParts(1).find((p) => p.type === "currency");
        if (part) found.add(part.value.toLowerCase());
      }
    }
    marks = [...found].sort((a, b) => b.length - a.length);
    marksByCurrency.set(currency, marks);
  }
  return marks;
}

function withoutCurrency(text: string, currency: string): string {
  for (const mark of currencyMarks(currency)) {
    // "Rp35.000", "Rp. 35.000", "rp 35rb"; "35.000 rupiah", "3.50 USD".
    if (text.startsWith(mark)) {
      const rest = text.slice(mark.length);
      return (/[a-z]$/.test(mark) ? rest.replace(/^\./, "") : rest).trimStart();
    }
    if (text.endsWith(mark)) return text.slice(0, -mark.length).trimEnd();
  }
  return text;
}

/** "35.000", "1.500.000": groups of three after one to three digits. */
const grouped = (text: string, sep: "." | ",") => new RegExp(`^\\d{1,3}(\\${sep}\\d{3})+$`).test(text);

/**
 * Digits before and after the decimal sign, or `undefined` when the separators allow more
 * than one reading. Both "." and "," are thousands separators or the decimal sign, as
 * Indonesian and English write them; which one a number uses shows in its shape.
 */
function splitNumber(text: string, multiplied: boolean, minor: number): { whole: string; fraction: string } | undefined {
  if (/^\d+$/.test(text)) return { whole: text, fraction: "" };
  if (!/^\d+([.,]\d+)+$/.test(text)) return undefined;
  const separators = [...new Set(text.replace(/\d/g, ""))];
  if (multiplied) {
    // "1,5jt", "2.5k": one decimal sign; "1.500rb" is 1,5 or 1500 thousand.
    const match = /^(\d+)[.,](\d{1,2})$/.exec(text);
    return match ? { whole: match[1], fraction: match[2] } : undefined;
  }
  if (separators.length === 2) {
    // "1.250,00" and "1,250.00": the last separator, once, is the decimal sign.
    const decimal = text.match(/[.,]/g)!.at(-1)!;
    const at = text.lastIndexOf(decimal);
    const [whole, fraction] = [text.slice(0, at), text.slice(at + 1)];
    if (!grouped(whole, decimal === "." ? "," : ".") || !/^\d{1,2}$/.test(fraction)) return undefined;
    return { whole: whole.replace(/[.,]/g, ""), fraction };
  }
  const sep = separators[0] as "." | ",";
  if (text.split(sep).length > 2) return grouped(text, sep) ? { whole: text.split(sep).join(""), fraction: "" } : undefined;
  const [before, after] = text.split(sep);
  // "35.000" and "35,000" are thousands in a currency without cents. With cents, "1,250"
  // is 1250 in English and 1.25 in Indonesian: a question, not an answer.
  if (after.length === 3 && before.length <= 3) return minor === 0 ? { whole: before + after, fraction: "" } : undefined;
  if (after.length <= 2) return { whole: before, fraction: after };
  return undefined;
}

/**
 * Reads a price in `currency`: "35000", "35.000", "35,000", "35rb", "35k", "Rp 35.000",
 * "35.000,-", "1,5jt" are all Rp35.000 (or Rp1.500.000); "3.50" or "3,50" is 350 cents.
 * Refuses what could be read two ways ("1 2", "35,00,0", "1,250" in a cents currency),
 * fractions of a currency without cents ("35.5" rupiah), zero, negatives and anything
 * above {@link maxPrice}.
 */
export function readPrice(raw: string, currency: string): PriceReading {
  const refuse = (reason: PriceRefusal): PriceReading => ({ ok: false, reason });
  let text = raw.normalize("NFKC").trim().toLowerCase().replace(/\u2212/g, "-");
  let negative = false;
  const takeSign = () => {
    if (!text.startsWith("-")) return;
    negative = true;
    text = text.slice(1).trimStart();
  };
  takeSign();
  text = withoutCurrency(text, currency);
  takeSign();
  // "35.000,-": the Indonesian way of saying "and no cents".
  text = text.replace(/[.,]-$/, "");
  const multiplied = MULTIPLIED.exec(text);
  const number = multiplied ? multiplied[1] : text;
  if (!/\d/.test(number) || !/^[\d.,\s]+$/.test(number)) return refuse("not_number");
  const minor = minorDigits(currency);
  const parts = splitNumber(number, multiplied !== null, minor);
  if (!parts) return refuse("unclear");
  const { whole, fraction } = parts;
  // A rupiah amount with a decimal sign and no thousands separator ("35,00") is more
  // likely a thousand gone wrong than a whole price; with both ("35.000,00") it is clear.
  const clearlyWhole = multiplied !== null || (/[.,].*[.,]/.test(number) && /^0*$/.test(fraction));
  if (minor === 0 && fraction !== "" && !clearlyWhole) return refuse("fraction");
  const scaled = BigInt(whole + fraction) * (multiplied ? MULTIPLIERS[multiplied[2]] : 1n) * 10n ** BigInt(minor);
  const divisor = 10n ** BigInt(fraction.length);
  if (scaled % divisor !== 0n) return refuse("fraction");
  const amount = scaled / divisor;
  if (negative || amount === 0n) return refuse("not_positive");
  if (amount > BigInt(maxPrice(currency))) return refuse("too_high");
  return { ok: true, amount: Number(amount) };
}

/** "35000, 35.000 atau 35rb" (or "3,50, 1.250,00 atau $3,50"): how to write a price, in the seller's way of writing numbers. */
function priceExamples(currency: string, locale: Locale): string {
  const minor = minorDigits(currency);
  const number = (value: number, grouping: boolean) =>
    new Intl.NumberFormat(locale === "id" ? "id-ID" : "en-US", { useGrouping: grouping, minimumFractionDigits: minor, maximumFractionDigits: minor }).format(value);
  const [first, second, third] =
    minor === 0 ? [number(35_000, false), number(35_000, true), locale === "id" ? "35rb" : "35k"] : [number(3.5, false), number(1_250, true), formatPrice(350, currency, locale)];
  return `${first}, ${second} ${locale === "id" ? "atau" : "or"} ${third}`;
}

/** {@link readPrice} with what to tell the seller when it refuses: an i18n key and its params. */
export function checkPrice(raw: string, currency: string, locale: Locale): Verdict<number> {
  const reading = readPrice(raw, currency);
  if (reading.ok) return { ok: true, value: reading.amount };
  const no = (key: string, params?: TextParams): Verdict<never> => ({ ok: false, key, ...(params && { params }) });
  switch (reading.reason) {
    case "not_number":
      return no("admin.product.price_not_number", { examples: priceExamples(currency, locale) });
    case "unclear": {
      const typed = raw.trim();
      return no("admin.product.price_unclear", { typed: typed.length > 30 ? `${typed.slice(0, 29)}…` : typed, examples: priceExamples(currency, locale) });
    }
    case "fraction":
      return currency === "IDR"
        ? no("admin.product.price_fraction_rupiah", { examples: priceExamples(currency, locale) })
        : no("admin.product.price_fraction", { currency, examples: priceExamples(currency, locale) });
    case "not_positive":
      return no("admin.product.price_not_positive");
    case "too_high":
      return no("admin.product.price_too_high", { max: formatPrice(maxPrice(currency), currency, locale) });
  }
}
