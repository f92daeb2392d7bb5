// libsignal prints whole Signal sessions (chain keys, ratchet private keys) with
// console.info when a session opens or closes. Once the WhatsApp channel is built, those
// lines never reach the console, failures to decrypt reach the log as their text only, and
// every other console line is untouched.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isLibsignalLine, quietLibsignal } from "../../adapters/whatsapp/libsignal-console.ts";

test("libsignal's session lines lose their keys; other console lines pass", () => {
  const warned: unknown[][] = [];
  quietLibsignal({ info: () => undefined, warn: (...args: unknown[]) => void warned.push(args), error: () => undefined });
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown) => (written.push(String(chunk)), true);
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  const secret = { currentRatchet: { ephemeralKeyPair: { privKey: Buffer.from("private-ratchet-key") } } };
  try {
    console.info("Closing session:", secret);
    console.info("Opening session:", secret);
    console.warn("Session already closed", secret);
    console.error("Session error:Error: Bad MAC", "stack with private-ratchet-key");
    console.info("an ordinary line", 42);
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  const out = written.join("");
  assert.doesNotMatch(out, /private-ratchet-key|privKey|Closing session|Opening session/, "no session reaches the console");
  assert.match(out, /an ordinary line 42/, "other lines are untouched");
  assert.equal(warned.length, 1, "the decrypt failure is logged once");
  assert.doesNotMatch(JSON.stringify(warned), /private-ratchet-key/);
  assert.match(JSON.stringify(warned), /Bad MAC/);
  assert.equal(isLibsignalLine("Closing session: x"), true);
  assert.equal(isLibsignalLine({}), false);
});
