/**
 * libsignal (Baileys' Signal implementation) writes straight to the console when a session
 * opens or closes — `console.info("Closing session:", session)` — and the object it prints
 * holds the session's chain keys and ratchet private keys. Those must never reach stdout
 * (the journal, a log shipper). Once installed, console lines that start with one of
 * libsignal's own messages lose their arguments: the routine ones (a session opened or
 * closed, at every new contact) are dropped, and failures to decrypt go to the platform's
 * log as a warning, their text only. Every other console line is untouched.
 */
import type { EngineLog } from "../../flows/engine/index.ts";

const LIBSIGNAL_LINES = [
  "Closing session",
  "Opening session",
  "Removing old closed session",
  "Session already closed",
  "Session already open",
  "Closing open session in favor of incoming prekey bundle",
  "Decrypted message with closed session",
  "Failed to decrypt message with any known session",
  "Session error:",
  "Migrating session to:",
  "V1 session storage migration error",
  "Unhandled bucket type",
  "WARNING: Expected pubkey of length 33",
];

const FAILURES = ["Failed to decrypt message", "Session error:"];

let installed: EngineLog | undefined;

/** True when a console call is one of libsignal's, whose arguments may hold keys. */
export function isLibsignalLine(first: unknown): first is string {
  return typeof first === "string" && LIBSIGNAL_LINES.some((line) => first.startsWith(line));
}

/** Routes libsignal's console lines, without their arguments, to `log` (the latest installed). */
export function quietLibsignal(log: EngineLog): void {
  const first = installed === undefined;
  installed = log;
  if (!first) return;
  for (const method of ["info", "warn", "error", "log"] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const [head] = args;
      if (!isLibsignalLine(head)) return original(...args);
      // Only the message's own text: "Session error:" + e carries an error text, never keys.
      if (FAILURES.some((line) => head.startsWith(line))) installed?.warn("whatsapp: libsignal could not decrypt a message", { line: head.split("\n")[0].slice(0, 200) });
    };
  }
}
