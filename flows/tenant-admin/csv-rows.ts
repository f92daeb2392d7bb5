// Reads a seller's CSV into rows with the line each starts on, and says exactly where a row
// is malformed. csv-parse does the reading (RFC 4180: "quoted" fields holding commas and
// line breaks, "" for a quote, CRLF or LF, a byte-order mark); this file adds what sellers'
// files need on top: the delimiter their spreadsheet used, and line numbers to fix.
import { parse, type CsvError } from "csv-parse/sync";

export interface CsvRow {
  /** The line the row starts on, counting from 1. */
  line: number;
  fields: string[];
}

export type CsvProblem = { line: number; reason: "unclosed_quote" | "stray_quote" | "unreadable" };

// Excel saves "CSV" with the list separator of the computer's region: "," in English, ";"
// where the comma is the decimal sign (Indonesia among them). Tabs come from other exports.
const DELIMITERS = [",", ";", "\t"] as const;
type Delimiter = (typeof DELIMITERS)[number];
const SAMPLE_ROWS = 50;

/**
 * The delimiter of the first rows: the one found (outside quotes) in the most rows, then
 * the most often; "," when none is (a one-column file). Only the first rows are looked at,
 * so one odd row further down is reported as a row with the wrong number of columns.
 */
export function delimiterOf(text: string): Delimiter {
  const tally = new Map<Delimiter, { rows: number; total: number }>(DELIMITERS.map((d) => [d, { rows: 0, total: 0 }]));
  const inRow = new Set<Delimiter>();
  const endRow = () => {
    for (const d of inRow) tally.get(d)!.rows++;
    inRow.clear();
  };
  let quoted = false;
  let rows = 0;
  for (let i = 0; i < text.length && rows < SAMPLE_ROWS; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (ch === "\n") {
      endRow();
      rows++;
    } else if ((DELIMITERS as readonly string[]).includes(ch)) {
      inRow.add(ch as Delimiter);
      tally.get(ch as Delimiter)!.total++;
    }
  }
  endRow();
  let best: Delimiter = ",";
  for (const d of DELIMITERS) {
    const [a, b] = [tally.get(d)!, tally.get(best)!];
    if (a.rows > b.rows || (a.rows === b.rows && a.total > b.total)) best = d;
  }
  return best;
}

function reasonOf(code: CsvError["code"]): CsvProblem["reason"] {
  switch (code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "unclosed_quote";
    case "INVALID_OPENING_QUOTE":
    case "CSV_INVALID_CLOSING_QUOTE":
    case "CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE":
      return "stray_quote";
    default:
      return "unreadable";
  }
}

const count = (fields: readonly string[], ch: string) => fields.reduce((n, f) => n + f.split(ch).length - 1, 0);

/** Every row, blank ones included (as `[""]`), in order; a malformed row is a problem instead. */
export function parseCsv(text: string): { rows: CsvRow[]; problems: CsvProblem[] } {
  const rows: CsvRow[] = [];
  const problems: CsvProblem[] = [];
  // The line the previous row (read or refused) ended on: a refused row starts after it.
  let lastLine = 0;
  // csv-parse counts a CR inside a quoted field as a line of its own, so "a\r\nb" as two;
  // an editor shows one line break there. Lines are numbered as the seller's editor shows them.
  let extraCounted = 0;
  // After a quote closed in the middle of a field, where the next row begins is a guess:
  // what the parser says after that would name the wrong lines.
  let lost = false;
  parse(text, {
    bom: true,
    delimiter: delimiterOf(text),
    record_delimiter: ["\r\n", "\n"],
    relax_column_count: true,
    skip_records_with_error: true,
    on_record: (fields: string[], context) => {
      extraCounted += count(fields, "\r");
      lastLine = context.lines - extraCounted;
      if (!lost) rows.push({ line: lastLine - count(fields, "\n"), fields });
      return null;
    },
    on_skip: (err) => {
      if (lost || !err) return undefined;
      problems.push({ line: lastLine + 1, reason: reasonOf(err.code) });
      lastLine = typeof err.lines === "number" ? err.lines - extraCounted : lastLine + 1;
      lost = err.code !== "INVALID_OPENING_QUOTE";
      return undefined;
    },
  });
  return { rows, problems };
}
