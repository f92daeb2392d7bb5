// Adding stock in bulk: lines typed in a chat or a `.txt`/`.csv` file. A batch is read and
// checked whole before anything is written, so a bad line or row means nothing is added
// and the seller is told which lines to fix. Duplicates (within the batch, or already in
// the product's stock) are skipped and counted. Payloads never leave this module in a
// message, a log line or an error: only line numbers and counts do.
import { createHash } from "node:crypto";
import { Types } from "mongoose";
import { decryptSecret } from "../../storage/crypto.ts";
import { addStockItems, StockItem, stockPayloadContext } from "../ordering/stock-item.ts";
import { parseCsv } from "./csv-rows.ts";

export const MAX_STOCK_FILE_BYTES = 1024 * 1024;
/** An account login with a note fits easily; a longer "item" is a paste gone wrong. */
export const MAX_ITEM_LENGTH = 1000;
export const MAX_ITEMS_PER_IMPORT = 20_000;

export interface StockLine {
  line: number;
  payload: string;
}

export type LineProblemReason = "too_long" | "control_chars" | "unclosed_quote" | "stray_quote" | "unreadable" | "column_count";

export interface LineProblem {
  line: number;
  reason: LineProblemReason;
}

export interface StockBatch {
  lines: StockLine[];
  problems: LineProblem[];
  /** A CSV's first row read as column titles and left out. */
  headerSkipped?: boolean;
}

// What prints as nothing: spaces of every width (\p{White_Space}); format characters such as
// the zero-width space, joiners, the word joiner, the byte-order mark, bidi marks, the soft
// hyphen and U+180E (\p{Cf}); and what Unicode tells renderers to show as nothing when they
// do not support it (\p{Default_Ignorable_Code_Point}), which adds the Hangul fillers U+115F,
// U+1160, U+3164, U+FFA0 and variation selectors. U+2800 (braille blank) is a letter to
// Unicode but draws an empty cell, and is the usual way to paste "nothing" past a check.
// A code made only of these cannot be read off a screen, let alone redeemed.
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]*$/u;

/**
 * A line (or CSV row) a customer would receive as a blank code: skipped like an empty one.
 * Only blankness is decided here; a real item keeps every character it has, invisible ones
 * inside it included, because the code is delivered exactly as the seller sent it.
 */
export function isBlankItem(text: string): boolean {
  return INVISIBLE_ONLY.test(text);
}

// Tab is fine inside an item; other control characters are binary junk or a broken paste.
function hasControlCharacters(payload: string): boolean {
  for (let i = 0; i < payload.length; i++) {
    const code = payload.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

function checkItem(line: number, payload: string): LineProblem | undefined {
  if (payload.length > MAX_ITEM_LENGTH) return { line, reason: "too_long" };
  if (hasControlCharacters(payload)) return { line, reason: "control_chars" };
  return undefined;
}

/** One item per non-blank line; `firstLine` numbers lines across several chat messages. */
export function readStockText(text: string, firstLine = 1): StockBatch {
  const lines: StockLine[] = [];
  const problems: LineProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    if (isBlankItem(raw)) return;
    const payload = raw.trim();
    const line = firstLine + index;
    const problem = checkItem(line, payload);
    if (problem) problems.push(problem);
    else lines.push({ line, payload });
  });
  return { lines, problems };
}

/** Column titles a spreadsheet export puts first; such a row is not an item. */
const HEADER_WORDS = /^(item|items|stok|stock|payload|kode|code|voucher|akun|account|email|e-mail|username|user|password|pass|pin|serial|sn|catatan|note|notes|keterangan)$/i;

/**
 * One item per CSV row. A row with several columns becomes one item with the columns
 * joined by " | " (an account's email and password reach the customer on one line);
 * every row must have as many columns as the first.
 */
export function readStockCsv(text: string): StockBatch {
  const { rows, problems: csvProblems } = parseCsv(text);
  const problems: LineProblem[] = csvProblems.map((p) => ({ line: p.line, reason: p.reason }));
  const filled = rows.filter((row) => !row.fields.every(isBlankItem));
  let headerSkipped = false;
  if (filled.length > 0 && filled[0].fields.every((f) => HEADER_WORDS.test(f.trim()))) {
    filled.shift();
    headerSkipped = true;
  }
  const columns = filled[0]?.fields.length ?? 0;
  const lines: StockLine[] = [];
  for (const row of filled) {
    if (row.fields.length !== columns) {
      problems.push({ line: row.line, reason: "column_count" });
      continue;
    }
    const payload = row.fields.map((f) => f.trim()).join(" | ");
    const problem = checkItem(row.line, payload);
    if (problem) problems.push(problem);
    else lines.push({ line: row.line, payload });
  }
  problems.sort((a, b) => a.line - b.line);
  return { lines, problems, headerSkipped };
}

export type FileRefusal =
  | { reason: "too_large"; maxBytes: number; bytes?: number }
  | { reason: "not_utf8" }
  | { reason: "empty" }
  | { reason: "too_many"; max: number; count: number };

export function fileKindOf(fileName: string | undefined, mimeType: string | undefined): "txt" | "csv" | undefined {
  const name = (fileName ?? "").toLowerCase();
  if (name.endsWith(".csv")) return "csv";
  if (name.endsWith(".txt")) return "txt";
  if (mimeType === "text/csv") return "csv";
  if (mimeType === "text/plain") return "txt";
  return undefined;
}

/** Decodes and reads a stock file; a refusal names why the whole file was not read. */
export function readStockFile(bytes: Buffer, kind: "txt" | "csv"): StockBatch | FileRefusal {
  if (bytes.length > MAX_STOCK_FILE_BYTES) return { reason: "too_large", maxBytes: MAX_STOCK_FILE_BYTES, bytes: bytes.length };
  let text: string;
  try {
    // `fatal` refuses Latin-1 and other non-UTF-8 bytes instead of turning them into "�".
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return { reason: "not_utf8" };
  }
  if (text.includes(String.fromCharCode(0))) return { reason: "not_utf8" };
  const batch = kind === "csv" ? readStockCsv(text) : readStockText(text);
  if (batch.lines.length === 0 && batch.problems.length === 0) return { reason: "empty" };
  if (batch.lines.length > MAX_ITEMS_PER_IMPORT) return { reason: "too_many", max: MAX_ITEMS_PER_IMPORT, count: batch.lines.length };
  return batch;
}

export interface ImportResult {
  added: number;
  /** Lines skipped because the same item is in the batch earlier or already in stock. */
  duplicateLines: number[];
}

const digest = (payload: string) => createHash("sha256").update(payload, "utf8").digest("base64");

/**
 * The product's existing items as digests. Decrypts each once, in memory, and keeps only
 * the digest; a keyed fingerprint stored beside each item would make this a query (asked
 * of the ordering domain as `StockItem.payloadFingerprint`).
 */
async function existingDigests(tenantId: Types.ObjectId, productId: Types.ObjectId): Promise<Set<string>> {
  const seen = new Set<string>();
  const context = stockPayloadContext(tenantId);
  const cursor = StockItem.find({ tenantId, productId }, { payload: 1 }).lean<{ payload: string }>().cursor();
  for await (const item of cursor) seen.add(digest(decryptSecret(item.payload, context)));
  return seen;
}

/** Adds a checked batch's items to a product, skipping duplicates. */
export async function importStock(tenantId: string, productId: string, lines: readonly StockLine[]): Promise<ImportResult> {
  const tenant = new Types.ObjectId(tenantId);
  const product = new Types.ObjectId(productId);
  const seen = await existingDigests(tenant, product);
  const fresh: string[] = [];
  const duplicateLines: number[] = [];
  for (const { line, payload } of lines) {
    const key = digest(payload);
    if (seen.has(key)) duplicateLines.push(line);
    else {
      seen.add(key);
      fresh.push(payload);
    }
  }
  const added = fresh.length > 0 ? await addStockItems(tenant, product, fresh) : 0;
  return { added, duplicateLines };
}
