// A message the store sent outside a conversation — a seller's broadcast progress — kept
// current by editing it in place (`Channel.edit`), through the outbox, against the Bot API
// emulator: same rendering and buttons as a send, paced like one.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "grammy/types";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import { Channels, Outbox } from "../../flows/engine/index.ts";
import type { Outbound } from "../../flows/engine/index.ts";
import { buttonLabels, startStores, words, type Stores } from "./store-fixture.ts";
import { eventually } from "../support/eventually.ts";
import { samplePng } from "../support/telegram-emulator.ts";

const progress = (sent: number, labels: string[] = []): Outbound => ({
  text: { inline: { id: `Siaran #1: ${sent} dari 20 terkirim`, en: `Broadcast #1: ${sent} of 20 sent` } },
  choices: labels.map((label) => ({ id: label.toLowerCase(), label: { inline: { id: label, en: label } } })),
});

describe("a progress message kept current on Telegram", () => {
  let stores: Stores;
  let outbox: Outbox;
  before(async () => {
    stores = await startStores();
    outbox = new Outbox(new Channels([new TelegramChannel(stores.bots)]));
  });
  after(() => stores.close());

  async function sellerChat(first_name: string) {
    const store = await stores.createStore();
    await stores.bots.start(store.id);
    const seller = stores.user({ first_name });
    stores.tg.openChat(store.token, seller);
    const to = { tenantId: store.id, channel: "telegram", chatId: String(seller.id) };
    const shown = () => stores.tg.sent(store.token, seller);
    return { store, seller, to, shown };
  }

  it("is edited in place with the new text and buttons, in the seller's language, and saying the same again is fine", async () => {
    const { store, to, shown } = await sellerChat("Sari");
    const first = await outbox.send(to, [progress(0, ["Jeda"])], { locale: "en" });
    const [id] = first.messages[0].messageIds;

    const edited = await outbox.edit(to, id, progress(10, ["Lanjut", "Batal"]), { locale: "en" });
    const again = await outbox.edit(to, id, progress(10, ["Lanjut", "Batal"]), { locale: "en" });

    assert.deepEqual([edited.ok, edited.messages[0].messageIds], [true, [id]]);
    assert.equal(again.ok, true, "Telegram's 'message is not modified' counts as done");
    assert.ok(stores.tg.calls(store.token, "editMessageText").some((c) => /not modified/.test(String(c.response?.description))), "Telegram did answer so");
    const messages = shown();
    assert.equal(messages.length, 1, "no new message");
    assert.equal(words(messages[0]), "Broadcast #1: 10 of 20 sent");
    assert.deepEqual(buttonLabels(messages[0]), [["Lanjut"], ["Batal"]]);
    assert.ok((messages[0] as Message & { edit_date?: number }).edit_date);

    await outbox.edit(to, id, progress(20), { locale: "en" });
    assert.deepEqual(buttonLabels(shown()[0]), [], "an edit without choices takes the buttons off");
  });

  it("a photo's caption is what changes", async () => {
    const { to, shown } = await sellerChat("Budi");
    const photo: Outbound = { ...progress(0), media: { type: "photo", ref: "progres.png", data: samplePng(), fileName: "progres.png" } };
    const [id] = (await outbox.send(to, [photo], { locale: "id" })).messages[0].messageIds;

    const edited = await outbox.edit(to, id, progress(5), { locale: "id" });

    assert.equal(edited.ok, true, JSON.stringify(edited));
    assert.equal(shown()[0].caption, "Siaran #1: 5 dari 20 terkirim");
    assert.ok(shown()[0].photo);
  });

  it("waits out a flood wait holding the bot, like any message the store sends on its own", async () => {
    const { store, to, seller } = await sellerChat("Cici");
    const { tg, log } = stores;
    const [id] = (await outbox.send(to, [progress(0)])).messages[0].messageIds;
    const other = stores.user({ first_name: "Dedi" });
    tg.openChat(store.token, other);
    tg.failNext(store.token, "sendMessage", { status: 429, retryAfter: 1 });
    const toOther = outbox.send({ ...to, chatId: String(other.id) }, [progress(0)]);
    await eventually(() => log.some((l) => l.meta.slug === store.slug && /flood limit; waiting/.test(l.message)), "the bot to hear the 429");

    const edited = await outbox.edit(to, id, progress(1));

    assert.ok(edited.ok && (await toOther).ok);
    const flood = tg.calls(store.token, "sendMessage").find((c) => c.response?.error_code === 429)!;
    const edit = tg.calls(store.token, "editMessageText").find((c) => c.params.chat_id === String(seller.id) || c.params.chat_id === seller.id)!;
    assert.ok(edit.receivedAt >= flood.answeredAt! + 1000, `the edit reached Telegram ${Math.round(edit.receivedAt - flood.answeredAt!)} ms into the flood wait`);
  });

  it("a message Telegram cannot edit, a store that is gone, and a chat that is not Telegram's are reported, not thrown", async () => {
    const { to } = await sellerChat("Eka");

    const missing = await outbox.edit(to, "999999", progress(1));
    assert.deepEqual([missing.ok, missing.reason], [false, "rejected"]);
    assert.match(missing.detail ?? "", /not found/);
    assert.equal((await outbox.edit(to, "not-an-id", progress(1))).reason, "rejected");
    assert.equal((await outbox.edit({ ...to, tenantId: "0123456789abcdef01234567" }, "1", progress(1))).reason, "store-unavailable");
    assert.equal((await outbox.edit({ ...to, chatId: "seller@example" }, "1", progress(1))).reason, "unreachable");
  });
});
