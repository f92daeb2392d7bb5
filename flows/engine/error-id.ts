// The id a user is given with an apology, and the log line carries: short enough to read
// out over the phone, long enough to find the one line.
import { randomBytes } from "node:crypto";

export function newErrorId(): string {
  return randomBytes(4).toString("hex").toUpperCase();
}
