// Reads CSV (RFC 4180: commas, "quoted" fields with "" for a quote, CRLF or LF) into rows
// with their line numbers, and says exactly where a row is malformed.

export interface CsvRow {
  /** The line the row starts on, counting from 1. */
  line: number;
  fields: string[];
}

export type CsvProblem = { line: number; reason: "unclosed_quote" | "stray_quote" };

export function parseCsv(text: string): { rows: CsvRow[]; problems: CsvProblem[] } {
  const rows: CsvRow[] = [];
  const problems: CsvProblem[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let field = "";
    let broken: CsvProblem["reason"] | undefined;
    let atFieldStart = true;
    let quoted = false;
    let closed = false;
    for (; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else {
            quoted = false;
            closed = true;
          }
        } else {
          if (ch === "\n") line++;
          field += ch;
        }
        continue;
      }
      if (ch === ",") {
        fields.push(field);
        field = "";
        atFieldStart = true;
        closed = false;
        continue;
      }
      if (ch === "\n" || (ch === "\r" && text[i + 1] === "\n")) {
        if (ch === "\r") i++;
        i++;
        line++;
        break;
      }
      if (ch === '"' && atFieldStart) {
        quoted = true;
        atFieldStart = false;
        continue;
      }
      // A quote inside an unquoted field, or text after a closing quote: the row is not CSV.
      if (ch === '"' || closed) broken ??= "stray_quote";
      field += ch;
      atFieldStart = false;
    }
    if (quoted) broken = "unclosed_quote";
    fields.push(field);
    if (broken) problems.push({ line: start, reason: broken });
    else rows.push({ line: start, fields });
  }
  return { rows, problems };
}
