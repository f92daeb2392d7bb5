// A broadcast's sender asks to have the last word right before its message goes on the
// wire (`SendOptions.committing`): the Telegram channel asks it once per batch, only after
// the bot's flood-limit pacing let the message go, and sends nothing when it says no.
// Against the Bot API emulator, through the outbox as the platform sends.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import { Channels, NOT_COMMITTED, Outbox, withTimeout } from "../../flows/engine/index.ts";
import type { Outbound } from "../../flows/engine/index.ts";
import { countsAsMessage } from "../../adapters/telegram/outgoing-pacer.ts";
import { startStores, words, type Stores } from "./store-fixture.ts";
import { eventually } from "../support/eventually.ts";

const say = (id: string): Outbound => ({ text: { inline: { id, en: id } } });

/** A sender's `committing` that answers `answer` and remembers when it was asked. */
function sender(answer = true) {
  const askedAt: number[] = [];
  return {
    askedAt,
    committing: () => {
      askedAt.push(performance.now());
      return Promise.resolve(answer);
    },
  };
}

describe("a broadcast's last word before a message goes out on Telegram", () => {
  let stores: Stores;
  let outbox: Outbox;
  before(async () => {
    stores = await startStores();
    outbox = new Outbox(new Channels([new TelegramChannel(stores.bots)])).use(withTimeout(20_000));
  });
  after(() => stores.close());

  async function openStore(customers: string[]) {
    const store = await stores.createStore();
    await stores.bots.start(store.id);
    const users = customers.map((first_name) => stores.user({ first_name }));
    for (const user of users) stores.tg.openChat(store.token, user);
    return { store, users, to: (i: number) => ({ tenantId: store.id, channel: "telegram", chatId: String(users[i].id) }) };
  }

  it("is asked once for a batch of several messages, and the whole batch goes out", async () => {
    const { store, users, to } = await openStore(["Ani"]);
    const asked = sender();
    const promo: Outbound = { ...say("Promo 10% hari ini"), choices: [{ id: "catalog", label: { inline: { id: "Lihat katalog" } } }] };

    const report = await outbox.send(to(0), [say("Halo Ani"), promo], { bulk: true, committing: asked.committing });

    assert.deepEqual([report.ok, report.sent], [true, 2]);
    assert.equal(asked.askedAt.length, 1, "one question for the whole batch");
    assert.deepEqual(stores.tg.sent(store.token, users[0]).map(words), ["Halo Ani", "Promo 10% hari ini"]);
  });

  it("answered no: nothing reaches Telegram and the report says it was not committed", async () => {
    const { store, users, to } = await openStore(["Budi"]);
    const before = stores.tg.calls(store.token).length;
    const refused = sender(false);

    const report = await outbox.send(to(0), [say("Promo untuk Budi"), say("Kedua")], { bulk: true, committing: refused.committing });

    assert.deepEqual([report.ok, report.sent, report.reason, report.detail], [false, 0, "failed", NOT_COMMITTED]);
    assert.deepEqual(report.messages.map((m) => m.status), ["failed", "skipped"]);
    assert.equal(refused.askedAt.length, 1);
    assert.deepEqual(stores.tg.calls(store.token).slice(before).filter((c) => countsAsMessage(c.method)), [], "no message call reached Telegram");
    assert.deepEqual(stores.tg.sent(store.token, users[0]), []);
  });

  it("is asked only after a flood wait holding the bot is over", async () => {
    const { store, users, to } = await openStore(["Cici", "Dedi"]);
    const { tg, log } = stores;
    tg.failNext(store.token, "sendMessage", { status: 429, retryAfter: 1 });
    const toCici = outbox.send(to(0), [say("Untuk Cici")]);
    await eventually(() => log.some((l) => l.meta.slug === store.slug && /flood limit; waiting/.test(l.message)), "the bot to hear the 429");
    const asked = sender();

    const report = await outbox.send(to(1), [say("Promo untuk Dedi")], { bulk: true, committing: asked.committing });

    assert.ok(report.ok && (await toCici).ok);
    const flood = tg.calls(store.token, "sendMessage").find((c) => c.response?.error_code === 429)!;
    assert.equal(asked.askedAt.length, 1);
    assert.ok(asked.askedAt[0] >= flood.answeredAt! + 1000, `asked ${Math.round(asked.askedAt[0] - flood.answeredAt!)} ms into the bot's 1 s flood wait`);
    assert.deepEqual(tg.sent(store.token, users[1]).map(words), ["Promo untuk Dedi"]);
  });

  it("is not asked again when its own message is retried after a 429, and the message goes out once", async () => {
    const { store, users, to } = await openStore(["Eka"]);
    const { tg } = stores;
    tg.failNext(store.token, "sendMessage", { status: 429, retryAfter: 1 });
    const asked = sender();

    const report = await outbox.send(to(0), [say("Promo untuk Eka")], { bulk: true, committing: asked.committing });

    assert.deepEqual([report.ok, report.sent], [true, 1]);
    assert.equal(tg.calls(store.token, "sendMessage").filter((c) => c.response?.error_code === 429).length, 1, "the first attempt met the 429");
    assert.equal(asked.askedAt.length, 1, "asked before the first attempt only");
    assert.deepEqual(tg.sent(store.token, users[0]).map(words), ["Promo untuk Eka"]);
  });

  it("refused by a flood wait longer than the bot waits: not asked, nothing sent, reported rate-limited", async () => {
    const { store, users, to } = await openStore(["Fajar"]);
    const { tg } = stores;
    tg.failNext(store.token, "sendMessage", { status: 429, retryAfter: 120 });
    const first = await outbox.send(to(0), [say("Pertama")]);
    assert.equal(first.reason, "rate-limited");
    const asked = sender();

    const report = await outbox.send(to(0), [say("Promo untuk Fajar")], { bulk: true, committing: asked.committing });

    assert.deepEqual([report.ok, report.reason], [false, "rate-limited"]);
    assert.ok((report.retryAfterSec ?? 0) > 60, `retry after ${report.retryAfterSec}`);
    assert.equal(asked.askedAt.length, 0, "a message that cannot go now is not committed");
    assert.deepEqual(tg.sent(store.token, users[0]), []);
  });
});
