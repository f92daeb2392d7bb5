// The store owner links the store's WhatsApp number from the store's Telegram bot: real grammY
// against the Bot API emulator, with the platform's commerce wiring. `/whatsapp` shows the
// number's state and the choices; "link with a QR code" sends each code as a new photo in the
// chat (the same PNG `qrPng` draws for that code), then "linked" or how it ended; a number
// for a pairing code is checked first; only owners may use it. The WhatsApp side here is a
// linking that plays the channel's events in order (the channel itself is tested against the
// local WhatsApp Web); what is under test is the chat.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { User } from "grammy/types";
import { configureLogging } from "../../bots/logger.ts";
import { qrPng, type NumberLinkEvent, type NumberView, type StoreNumberLinking } from "../../flows/tenant-admin/whatsapp-linking.ts";
import { t } from "../../locales/i18n.ts";
import { AuditLog } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { ownerAndAdminStore } from "../telegram/owner-store.ts";
import { storeChat, words, type Store, type Stores } from "../telegram/store-fixture.ts";

type End = Extract<NumberLinkEvent, { type: "linked" | "ended" }>;

/** A store's linking as the channel reports it: codes shown one by one, then the end the test decides. */
class PlayedLinking implements StoreNumberLinking {
  view: StoreNumberLinking["view"] = async () => this.state;
  state: NumberView = { status: "unlinked", connection: "stopped", pace: "normal" };
  attempts: { tenantId: string; phone?: string }[] = [];
  unlinked: string[] = [];
  #show?: (event: NumberLinkEvent) => void;
  #end?: (end: End) => void;

  link: StoreNumberLinking["link"] = (tenantId, options) => {
    this.attempts.push({ tenantId, ...(options.phone !== undefined && { phone: options.phone }) });
    this.#show = options.onEvent;
    options.signal?.addEventListener("abort", () => this.end({ type: "ended", reason: "cancelled" }));
    return new Promise<End>((resolve) => (this.#end = resolve));
  };
  unlink: StoreNumberLinking["unlink"] = async (tenantId, by) => {
    this.unlinked.push(`${tenantId} by ${by}`);
    this.state = { status: "unlinked", connection: "stopped", pace: "normal" };
  };
  show(event: NumberLinkEvent): void {
    this.#show!(event);
  }
  end(end: End): void {
    if (end.type === "linked") this.state = { status: "linked", phone: end.phone, connection: "open", pace: "warming-up" };
    this.#end?.(end);
    this.#end = undefined;
  }
}

describe("linking the store's WhatsApp from its Telegram bot", () => {
  let stores: Stores;
  let store: Store;
  let owner: User;
  let admin: User;
  const linking = new PlayedLinking();

  const { lastId, botMessagesAfter: after_, send, press } = storeChat(() => stores, () => store);
  const label = (key: string) => t("id", key);

  before(async () => {
    configureLogging({ level: "error" });
    ({ stores, store, owner, admin } = await ownerAndAdminStore("Toko Melati", { whatsapp: () => linking }));
  });
  after(async () => {
    await stores?.close();
  });

  it("the owner links by QR: each code arrives as a new image of that code, then the number linked", async () => {
    const [status, menu] = await send(owner, "/whatsapp", 2);
    assert.equal(words(status!), label("admin.whatsapp.status.unlinked"));
    assert.match(words(menu!), /Mau apa dengan nomor WhatsApp toko\?/);

    const [started] = await press(owner, menu!, label("admin.whatsapp.choices.qr"));
    assert.equal(words(started!), label("admin.whatsapp.link.started_qr"));
    await eventually(() => linking.attempts.length === 1, "the link started");
    assert.deepEqual(linking.attempts[0], { tenantId: store.id });

    for (const [n, qr] of ["2@first-ref,noise,identity,adv", "2@second-ref,noise,identity,adv"].entries()) {
      const before = lastId(owner);
      linking.show({ type: "qr", qr, n: n + 1 });
      const [image] = await after_(owner, before, 1);
      assert.ok(image!.photo, `code ${n + 1} comes as a photo`);
      assert.equal(image!.caption, t("id", "admin.whatsapp.link.qr", { n: n + 1 }));
      assert.ok(stores.tg.fileBytes(store.token, image!.photo.at(-1)!.file_id).equals(await qrPng(qr)), `the photo is code ${n + 1}`);
    }

    const before = lastId(owner);
    linking.end({ type: "linked", phone: "6281234567890", jid: "6281234567890:1@s.whatsapp.net" });
    const [linked] = await after_(owner, before, 1);
    assert.equal(words(linked!), "✅ WhatsApp tertaut: +62 812-3456-7890. Pelanggan kini bisa berbelanja lewat WhatsApp.");
    assert.equal(await AuditLog.countDocuments({ tenantId: store.id, action: "whatsapp.link" } as never), 1);

    const [now, connection, pace, menuNow] = await send(owner, "/whatsapp", 4);
    assert.equal(words(now!), "✅ Nomor WhatsApp toko: +62 812-3456-7890");
    assert.equal(words(connection!), label("admin.whatsapp.connection.open"));
    assert.equal(words(pace!), label("admin.whatsapp.pace.warming-up"));
    const [cancelled] = await press(owner, menuNow!, label("admin.whatsapp.choices.cancel"));
    assert.equal(words(cancelled!), label("admin.common.cancelled"));
  });

  it("codes that run out end with 'try again', and a second link while one runs is refused", async () => {
    linking.state = { status: "unlinked", connection: "stopped", pace: "normal" };
    const [, menu] = await send(owner, "/whatsapp", 2);
    await press(owner, menu!, label("admin.whatsapp.choices.qr"));
    await eventually(() => linking.attempts.length === 2, "the second attempt started");

    const [status, again] = await send(owner, "/whatsapp", 3).then((m) => [m[1], m[2]]);
    assert.equal(words(status!), label("admin.whatsapp.linking_now"));
    assert.deepEqual(again!.reply_markup?.inline_keyboard.flat().map((b) => b.text), [label("admin.whatsapp.choices.stop"), label("admin.whatsapp.choices.cancel")]);
    await press(owner, again!, label("admin.whatsapp.choices.cancel"));

    const before = lastId(owner);
    linking.end({ type: "ended", reason: "expired" });
    const [expired] = await after_(owner, before, 1);
    assert.equal(words(expired!), label("admin.whatsapp.link.ended.expired"));
  });

  it("a pairing code needs the number with its country code, and comes as text", async () => {
    const [, menu] = await send(owner, "/whatsapp", 2);
    const [ask] = await press(owner, menu!, label("admin.whatsapp.choices.code"));
    assert.equal(words(ask!), label("admin.whatsapp.ask_phone"));
    const [local] = await send(owner, "0812 3456 7890");
    assert.equal(words(local!), label("admin.whatsapp.phone_local"));
    const [started] = await send(owner, "+62 812-3456-7890");
    assert.equal(words(started!), label("admin.whatsapp.link.started_code"));
    await eventually(() => linking.attempts.length === 3, "the third attempt started");
    assert.equal(linking.attempts[2]!.phone, "6281234567890");

    let before = lastId(owner);
    linking.show({ type: "pairing-code", code: "ABCD-EFGH" });
    const [code] = await after_(owner, before, 1);
    assert.match(words(code!), /Kode penautan: ABCD-EFGH/);
    before = lastId(owner);
    linking.end({ type: "ended", reason: "cancelled" });
    await after_(owner, before, 1);
  });

  it("the owner unlinks after confirming; an admin is refused /whatsapp", async () => {
    linking.state = { status: "linked", phone: "6281234567890", connection: "open", pace: "normal" };
    const [, connected, menu] = await send(owner, "/whatsapp", 3);
    assert.equal(words(connected!), label("admin.whatsapp.connection.open"));
    assert.deepEqual(menu!.reply_markup?.inline_keyboard.flat().map((b) => b.text), [label("admin.whatsapp.choices.unlink"), label("admin.whatsapp.choices.cancel")]);
    const [confirm] = await press(owner, menu!, label("admin.whatsapp.choices.unlink"));
    const [done] = await press(owner, confirm!, label("admin.whatsapp.choices.unlink_yes"));
    assert.equal(words(done!), label("admin.whatsapp.unlinked"));
    assert.deepEqual(linking.unlinked, [`${store.id} by telegram:${owner.id}`]);

    const [refused] = await send(admin, "/whatsapp");
    assert.equal(words(refused!), t("id", "admin.denied.role", { role: t("id", "admin.roles.admin") }));
    assert.equal(linking.attempts.length, 3);
  });
});
