// The local WhatsApp Web against the real Baileys socket: each test drives `makeWASocket`
// through the emulator and checks what Baileys itself reports.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BufferJSON, downloadMediaMessage, initAuthCreds } from "baileys";
import type { AuthenticationCreds } from "baileys";
import { LocalWhatsAppWeb } from "../support/whatsapp-web/index.ts";
import { isOpen, memoryKeys, openTestSocket } from "../support/whatsapp-web/test-socket.ts";
import type { TestSocket } from "../support/whatsapp-web/test-socket.ts";
import { WebSocket } from "ws";
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
  test("a linked device logs in and opens; the server lists and counts its session", async () => {
    const before = wa.stats();
    const store = open(wa.url, wa.linkedCreds(STORE));
    await opened(store);
    assert.equal(wa.stats().connections - before.connections, 1);
    assert.equal(wa.stats().logins - before.logins, 1);
    const session = wa.sessions().find((s) => s.phone === STORE);
    assert.ok(session, "the server lists the session");
    assert.match(session.jid, /^6281200000001:\d+@s\.whatsapp\.net$/);
    assert.equal(store.creds.me?.lid, session.lid);
    store.sock.end(undefined);
  });

  test("creds the server does not know are refused with 401", async () => {
    const creds = initAuthCreds();
    creds.me = { id: "6289999999999:3@s.whatsapp.net" };
    const refused = wa.stats().refusedLogins;
    const stranger = open(wa.url, creds);
    assert.equal(await stranger.closed, 401);
    assert.equal(wa.stats().refusedLogins - refused, 1);
  });
});

describe("linking by QR code", () => {
  test("an unlinked socket shows one QR code per ref, then closes with 408", async () => {
    const served = wa.stats().qrRefs;
    const socket = open(wa.url, initAuthCreds(), undefined, { qrTimeout: 200 });
    assert.equal(await socket.closed, 408);
    const qrs = socket.events["connection.update"]!.filter((u) => u.qr).map((u) => u.qr);
    assert.equal(qrs.length, 2);
    assert.notEqual(qrs[0], qrs[1]);
    assert.equal(wa.stats().qrRefs - served, 2);
  });

  test("the phone scans the QR code: creds get me and account, 515, then the same creds log in", async () => {
    const phone = "6281200000777";
    const creds = initAuthCreds();
    const socket = open(wa.url, creds, undefined, { qrTimeout: 60_000 });
    const qr = await eventually(() => socket.events["connection.update"]?.find((u) => u.qr)?.qr, "a QR code");
    const linked = await wa.scanQr(qr, phone);
    assert.equal(await socket.closed, 515);
    assert.equal(creds.me?.id, linked.jid);
    assert.equal(creds.me?.lid, linked.lid);
    assert.ok(creds.account, "the signed device identity is saved");
    assert.equal(creds.registered, false, "rc14 leaves registered false after a QR link");
    const again = open(wa.url, creds);
    await opened(again);
    assert.ok(wa.sessions().some((s) => s.jid === linked.jid));
  });

  test("a QR code whose socket has gone cannot be scanned", async () => {
    const socket = open(wa.url, initAuthCreds(), undefined, { qrTimeout: 60_000 });
    const qr = await eventually(() => socket.events["connection.update"]?.find((u) => u.qr)?.qr, "a QR code");
    socket.sock.end(undefined);
    await socket.closed;
    const refusal = await eventually(() => wa.scanQr(qr, "6281200000778").then(() => undefined, (error: Error) => error), "the scan to be refused");
    assert.match(refusal.message, /no socket is showing this QR code/);
  });
});

describe("linking by pairing code", () => {
  const waitForQr = (socket: TestSocket) => eventually(() => socket.events["connection.update"]?.some((u) => u.qr), "the socket to be ready to link");

  test("the code typed on the phone links the device: registered, 515, then the creds log in", async () => {
    const phone = "6281200000888";
    const creds = initAuthCreds();
    const keys = memoryKeys();
    const socket = open(wa.url, creds, keys, { qrTimeout: 60_000, browser: ["Ubuntu", "Chrome", "22.04"] });
    await waitForQr(socket);
    const code = await socket.sock.requestPairingCode(phone);
    const linked = await wa.enterPairingCode(code);
    assert.equal(await socket.closed, 515);
    assert.equal(creds.me?.id, linked.jid);
    assert.equal(creds.registered, true);
    await opened(open(wa.url, creds, keys));
  });

  test("a wrong code is refused and links nothing", async () => {
    const socket = open(wa.url, initAuthCreds(), undefined, { qrTimeout: 60_000, browser: ["Ubuntu", "Chrome", "22.04"] });
    await waitForQr(socket);
    const code = await socket.sock.requestPairingCode("6281200000889");
    const wrong = code.startsWith("A") ? `B${code.slice(1)}` : `A${code.slice(1)}`;
    await assert.rejects(wa.enterPairingCode(wrong), /wrong pairing code/);
    assert.ok(!socket.creds.account, "no device identity was signed");
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

  test("a refused upgrade is answered with HTTP 403 (rc14 then stays connecting: callers need a watchdog)", async () => {
    wa.refuseUpgrade(true);
    try {
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const client = new WebSocket(wa.url);
        client.once("unexpected-response", (_request, response) => resolve(response.statusCode));
        client.once("open", () => reject(new Error("the upgrade was accepted")));
        client.once("error", () => undefined);
      });
      assert.equal(status, 403);
      const refused = wa.stats().refusedUpgrades;
      const store = open(wa.url, wa.linkedCreds("6281200000403"));
      await eventually(() => wa.stats().refusedUpgrades > refused, "the socket's upgrade to be refused");
      assert.ok(!isOpen(store));
    } finally {
      wa.refuseUpgrade(false);
    }
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

describe("customers and stores", () => {
  let phoneSeq = 0;
  const storePhone = () => `62812009${String(++phoneSeq).padStart(5, "0")}`;
  const customerPhone = () => `62813009${String(++phoneSeq).padStart(5, "0")}`;
  const upserts = (socket: TestSocket) => (socket.events["messages.upsert"] ?? []).flatMap((u) => u.messages.map((m) => ({ type: u.type, m })));
  // rc14 reports a status either as messages.update or, when it arrives while the echo of the
  // sent message is being processed, folded into that echo's messages.upsert.
  const statuses = (socket: TestSocket, id: string) => [
    ...(socket.events["messages.update"] ?? []).flat().filter((u) => u.key.id === id).map((u) => u.update.status),
    ...upserts(socket).filter((u) => u.m.key.id === id && u.m.key.fromMe).map((u) => u.m.status),
  ];
  const openStore = async (phone: string, config: Parameters<typeof openTestSocket>[3] = {}) => {
    const store = open(wa.url, wa.linkedCreds(phone), undefined, { fetchAgent: wa.httpsAgent, ...config });
    await opened(store);
    return store;
  };

  test("a phone-addressed text arrives as notify; the store's reply is decrypted and answered with a delivery receipt", async () => {
    const phone = storePhone();
    const store = await openStore(phone);
    const sari = wa.customer({ phone: customerPhone(), pushName: "Sari" });
    const id = await sari.sendText(phone, "halo kak");
    const { type, m } = await eventually(() => upserts(store).find((u) => u.m.key.id === id), "the message upsert");
    assert.equal(type, "notify");
    assert.equal(m.key.remoteJid, sari.jid);
    assert.equal(m.key.addressingMode, "pn");
    assert.equal(m.pushName, "Sari");
    assert.equal(m.message?.conversation, "halo kak");
    const sent = await store.sock.sendMessage(m.key.remoteJid!, { text: "halo juga" });
    const reply = await eventually(() => sari.received().find((r) => r.id === sent!.key.id), "the reply at the customer");
    assert.equal(reply.text, "halo juga");
    await eventually(() => statuses(store, sent!.key.id!).includes(3), "a delivery receipt");
    assert.ok(!statuses(store, sent!.key.id!).includes(4), "no read receipt in delivered mode");
  });

  test("a LID customer's messages come from …@lid with the phone as remoteJidAlt; pkmsg until the store answers, then msg", async () => {
    const phone = storePhone();
    const store = await openStore(phone);
    const budi = wa.customer({ phone: customerPhone(), lid: "204050607080901@lid", pushName: "Budi" });
    const before = wa.stats().encrypted;
    const first = await budi.sendText(phone, "satu");
    const second = await budi.sendText(phone, "dua");
    assert.equal(wa.stats().encrypted.pkmsg - before.pkmsg, 2, "no answer yet: both start the session");
    const got = await eventually(() => {
      const all = upserts(store).filter((u) => u.m.key.id === first || u.m.key.id === second);
      return all.length === 2 && all;
    }, "both messages");
    for (const { m } of got) {
      assert.equal(m.key.remoteJid, "204050607080901@lid");
      assert.equal(m.key.remoteJidAlt, budi.jid);
      assert.equal(m.key.addressingMode, "lid");
    }
    assert.deepEqual(got.map(({ m }) => m.message?.conversation), ["satu", "dua"]);
    const sent = await store.sock.sendMessage(got[0]!.m.key.remoteJid!, { text: "siap" });
    assert.equal((await eventually(() => budi.received().find((r) => r.id === sent!.key.id), "the reply")).text, "siap");
    const third = await budi.sendText(phone, "tiga");
    assert.equal(wa.stats().encrypted.msg - before.msg, 1, "after the store's answer the session is established");
    const m3 = await eventually(() => upserts(store).find((u) => u.m.key.id === third)?.m, "the third message");
    assert.equal(m3.message?.conversation, "tiga");
  });

  test("a message sent while the store is offline arrives at its next login as append", async () => {
    const phone = storePhone();
    const creds = wa.linkedCreds(phone);
    const keys = memoryKeys();
    const first = open(wa.url, creds, keys);
    await opened(first);
    first.sock.end(undefined);
    await first.closed;
    await eventually(() => !wa.sessions().some((s) => s.phone === phone), "the server to see the socket gone");
    const dewi = wa.customer({ phone: customerPhone() });
    const id = await dewi.sendText(phone, "masih buka?");
    const again = open(wa.url, creds, keys);
    const { type, m } = await eventually(() => upserts(again).find((u) => u.m.key.id === id), "the queued message");
    assert.equal(type, "append");
    assert.equal(m.message?.conversation, "masih buka?");
    await eventually(() => again.events["connection.update"]?.some((u) => u.receivedPendingNotifications), "the offline batch end");
  });

  test("an image with a caption and a document are downloadable by the store", async () => {
    const phone = storePhone();
    const store = await openStore(phone);
    const eka = wa.customer({ phone: customerPhone() });
    const photo = Buffer.from("not really a jpeg, but bytes the store must get back intact");
    const imageId = await eka.sendImage(phone, photo, "bukti transfer");
    const docId = await eka.sendDocument(phone, Buffer.from("kode1\nkode2\n"), "stok.txt", "text/plain");
    const image = await eventually(() => upserts(store).find((u) => u.m.key.id === imageId)?.m, "the image");
    assert.equal(image.message?.imageMessage?.caption, "bukti transfer");
    assert.deepEqual(await downloadMediaMessage(image, "buffer", {}), photo);
    const doc = await eventually(() => upserts(store).find((u) => u.m.key.id === docId)?.m, "the document");
    assert.equal(doc.message?.documentMessage?.fileName, "stok.txt");
    assert.equal(doc.message?.documentMessage?.mimetype, "text/plain");
    assert.equal((await downloadMediaMessage(doc, "buffer", {})).toString(), "kode1\nkode2\n");
  });

  test("a shared contact arrives as a vCard", async () => {
    const phone = storePhone();
    const store = await openStore(phone);
    const fajar = wa.customer({ phone: customerPhone() });
    const id = await fajar.sendContact(phone, { name: "Gita", phone: "6281399990000" });
    const m = await eventually(() => upserts(store).find((u) => u.m.key.id === id)?.m, "the contact");
    assert.equal(m.message?.contactMessage?.displayName, "Gita");
    assert.match(m.message?.contactMessage?.vcard ?? "", /waid=6281399990000/);
  });

  test("the store's image and document are uploaded over HTTPS and decrypted for the customer", async () => {
    const phone = storePhone();
    const store = await openStore(phone);
    const gita = wa.customer({ phone: customerPhone() });
    await gita.sendText(phone, "minta stoknya");
    const jid = (await eventually(() => upserts(store)[0], "the customer's message")).m.key.remoteJid!;
    const picture = Buffer.from("image bytes from the store");
    const file = Buffer.from("KODE-123\nKODE-456\n");
    const image = await store.sock.sendMessage(jid, { image: picture, caption: "ini fotonya" });
    const doc = await store.sock.sendMessage(jid, { document: file, fileName: "kode.txt", mimetype: "text/plain" });
    const gotImage = await eventually(() => gita.received().find((r) => r.id === image!.key.id), "the image");
    assert.deepEqual(gotImage.image, picture);
    assert.equal(gotImage.caption, "ini fotonya");
    const gotDoc = await eventually(() => gita.received().find((r) => r.id === doc!.key.id), "the document");
    assert.deepEqual(gotDoc.document, { bytes: file, fileName: "kode.txt", mimetype: "text/plain" });
  });

  test("typing is recorded for the customer", async () => {
    const phone = storePhone();
    const store = await openStore(phone);
    const hana = wa.customer({ phone: customerPhone() });
    await hana.sendText(phone, "p");
    const jid = (await eventually(() => upserts(store)[0], "the customer's message")).m.key.remoteJid!;
    await store.sock.sendPresenceUpdate("composing", jid);
    await eventually(() => hana.presences().some((p) => p.state === "composing"), "composing at the customer");
  });

  test("read receipts when the server is set to send them", async () => {
    const phone = storePhone();
    const store = await openStore(phone);
    const indah = wa.customer({ phone: customerPhone() });
    await indah.sendText(phone, "halo");
    const jid = (await eventually(() => upserts(store)[0], "the customer's message")).m.key.remoteJid!;
    wa.setReceipts("read");
    try {
      const sent = await store.sock.sendMessage(jid, { text: "dibaca?" });
      await eventually(() => statuses(store, sent!.key.id!).includes(4), "a read receipt");
    } finally {
      wa.setReceipts("delivered");
    }
  });

  test("a refused number gets an error ack: Baileys marks the message ERROR with the code", async () => {
    const phone = storePhone();
    const store = await openStore(phone);
    const joko = wa.customer({ phone: customerPhone() });
    await joko.sendText(phone, "halo");
    const jid = (await eventually(() => upserts(store)[0], "the customer's message")).m.key.remoteJid!;
    wa.refuseSendsFrom(phone, 463);
    const sent = await store.sock.sendMessage(jid, { text: "tidak sampai" });
    const failed = await eventually(
      () => (store.events["messages.update"] ?? []).flat().find((u) => u.key.id === sent!.key.id && u.update.status === 0)?.update ??
        upserts(store).find((u) => u.m.key.id === sent!.key.id && u.m.status === 0)?.m,
      "the error status",
    );
    assert.equal(failed.messageStubParameters?.[0], "463");
    assert.equal(joko.received().length, 0);
  });
});
