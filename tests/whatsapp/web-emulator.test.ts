// The local WhatsApp Web against the real Baileys socket: each test drives `makeWASocket`
// through the emulator and checks what Baileys itself reports.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BufferJSON, initAuthCreds } from "baileys";
import type { AuthenticationCreds } from "baileys";
import { LocalWhatsAppWeb } from "../support/whatsapp-web/index.ts";
import { isOpen, openTestSocket } from "../support/whatsapp-web/test-socket.ts";
import type { TestSocket } from "../support/whatsapp-web/test-socket.ts";
import { eventually } from "../support/eventually.ts";

const STORE = "6281200000001";
/** A second copy of creds, as another process would load them. */
const copy = (creds: AuthenticationCreds): AuthenticationCreds => JSON.parse(JSON.stringify(creds, BufferJSON.replacer), BufferJSON.reviver);

let wa: LocalWhatsAppWeb;
const sockets: TestSocket[] = [];
const open = (...args: Parameters<typeof openTestSocket>) => {
  const socket = openTestSocket(...args);
  sockets.push(socket);
  return socket;
};
const opened = (socket: TestSocket) => eventually(() => isOpen(socket), "the socket to open");

before(async () => {
  wa = await LocalWhatsAppWeb.start({ qrRefs: 2 });
});
after(async () => {
  for (const { sock } of sockets) sock.end(undefined);
  await wa.close();
});

describe("login", () => {
  test("a linked device logs in and opens; the server lists its session", async () => {
    const store = open(wa.url, wa.linkedCreds(STORE));
    await opened(store);
    const session = wa.sessions().find((s) => s.phone === STORE);
    assert.ok(session, "the server lists the session");
    assert.match(session.jid, /^6281200000001:\d+@s\.whatsapp\.net$/);
    assert.equal(store.creds.me?.lid, session.lid);
    store.sock.end(undefined);
  });

  test("creds the server does not know are refused with 401", async () => {
    const creds = initAuthCreds();
    creds.me = { id: "6289999999999:3@s.whatsapp.net" };
    const stranger = open(wa.url, creds);
    assert.equal(await stranger.closed, 401);
  });
});

describe("server-side disconnects", () => {
  for (const [name, act, code] of [
    ["restart required", (p: string) => wa.restartRequired(p), 515],
    ["replaced", (p: string) => wa.replace(p), 440],
    ["logged out", (p: string) => wa.logOut(p), 401],
    ["blocked", (p: string) => wa.fail(p, 403), 403],
    ["restricted", (p: string) => wa.fail(p, 419), 419],
    ["dropped", (p: string) => wa.drop(p), 428],
  ] as const) {
    test(`${name} → ${code}`, async () => {
      const phone = `62812000010${code}`;
      const store = open(wa.url, wa.linkedCreds(phone));
      await opened(store);
      await act(phone);
      assert.equal(await store.closed, code);
    });
  }

  test("after 515 the same creds log in again", async () => {
    const phone = "6281200000515";
    const creds = wa.linkedCreds(phone);
    const first = open(wa.url, creds);
    await opened(first);
    await wa.restartRequired(phone);
    assert.equal(await first.closed, 515);
    await opened(open(wa.url, creds));
  });

  test("a logged-out device cannot log in again: 401 at login", async () => {
    const phone = "6281200000401";
    const creds = wa.linkedCreds(phone);
    const first = open(wa.url, creds);
    await opened(first);
    await wa.logOut(phone);
    assert.equal(await first.closed, 401);
    assert.equal(await open(wa.url, creds).closed, 401);
  });

  test("a second socket with the same creds replaces the first (440)", async () => {
    const phone = "6281200000440";
    const creds = wa.linkedCreds(phone);
    const first = open(wa.url, copy(creds));
    await opened(first);
    const second = open(wa.url, copy(creds));
    assert.equal(await first.closed, 440);
    await opened(second);
  });

  test("a silent server times the socket out (408)", async () => {
    wa.silent(true);
    try {
      const store = open(wa.url, wa.linkedCreds("6281200000408"), undefined, { connectTimeoutMs: 1_000 });
      assert.equal(await store.closed, 408);
    } finally {
      wa.silent(false);
    }
  });
});
