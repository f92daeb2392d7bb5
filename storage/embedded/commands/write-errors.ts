// Batched writes (insert/update/delete) report per-statement failures in `writeErrors`
// with the statement's index, and stop at the first one when `ordered` (the default).
import type { Document } from "bson";
import { asCommandError } from "../errors.ts";

export class WriteBatch {
  readonly ordered: boolean;
  readonly writeErrors: Document[] = [];

  constructor(command: Document) {
    this.ordered = command.ordered !== false;
  }

  /** Runs one statement; returns false when the batch must stop. */
  run(index: number, statement: () => void): boolean {
    try {
      statement();
      return true;
    } catch (err) {
      const error = asCommandError(err);
      const { errmsg, code, codeName, ...extra } = error.toDocument();
      this.writeErrors.push({ index, code, codeName, errmsg, ...extra });
      return !this.ordered;
    }
  }

  reply(fields: Document): Document {
    return this.writeErrors.length ? { ...fields, writeErrors: this.writeErrors } : fields;
  }
}
