// What every channel must do, as tests: Telegram and the console now, Discord and WhatsApp
// when they come. A channel joins by describing how to drive it (`ChannelUnderTest`) and
// calling `channelConformance`; cases a channel cannot meet by its declared capabilities are
// skipped, never by its name.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { FileFetchError, Channels, type Channel, type ChannelAddress } from "../../flows/engine/channel.ts";
import { createEngine, type Engine } from "../../flows/engine/engine.ts";
import { defineFlow } from "../../flows/engine/flow-schema.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { Outbox } from "../../flows/engine/outbox.ts";
import { createOrdering } from "../../flows/ordering/ordering.ts";
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { Tenant } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { OutboxRecorder } from "../support/recording-outbox.ts";
import { payloadFor, type SeededStore, type SeedStoreOptions } from "../support/stores.ts";
import "../../flows/ordering/order.ts";

/** A message as the customer saw it. */
export interface ReceivedMessage {
  text: string;
  /** The labels of its buttons, if the channel shows any. */
  buttons: string[];
}

/** One customer of one store, driven as a person would. */
export interface CustomerUnderTest {
  /** Where the outbox reaches this customer. */
  readonly address: ChannelAddress;
  /** Writes `text` (a command when it starts with "/") and waits until the channel handled it. */
  write(text: string): Promise<void>;
  /** Presses the button labelled `label` on the `index`-th message received (0 is the first), however old. */
  press(index: number, label: string): Promise<void>;
  /** Every message the customer received, in order. */
  received(): Promise<ReceivedMessage[]>;
  /** Blocks the bot; absent where a customer cannot (a terminal). */
  blockBot?(): Promise<void>;
  /** Sends a file with these bytes and returns the reference the channel gave it. */
  sendFile(bytes: Buffer): Promise<string>;
}

/** A running channel with its fakes around it (an emulated Telegram, a terminal). */
export interface ChannelUnderTest {
  readonly channel: Channel;
  /** Saves a store this channel can serve (its credentials included), for the database the suite opened. */
  seedStore(options?: SeedStoreOptions): Promise<SeededStore>;
  /** A new customer of a store the channel serves (started), who has opened a chat with it. */
  customer(store: SeededStore): Promise<CustomerUnderTest>;
  /** Stops the channel if the test did not, and what was started for it. */
  close(): Promise<void>;
}

/**
 * Counts the turns the engine finished per chat, so a test waits for a customer's message to
 * be answered rather than for a while. Replies are written by then: inside the turn, or
 * (the console) in the same tick after it, which `handled` lets pass.
 */
export class Turns {
  readonly #done = new Map<string, number>();

  /** The engine, counting. */
  wrap(engine: Engine): Engine {
    const handle: Engine["handle"] = async (inbound, deliver) => {
      try {
        return await engine.handle(inbound, deliver);
      } finally {
        this.#done.set(inbound.chatId, (this.#done.get(inbound.chatId) ?? 0) + 1);
      }
    };
    return Object.assign(Object.create(engine) as Engine, { handle });
  }

  /** Does `act` (a customer's message) and waits until the engine answered it in `chatId`. */
  async handled(chatId: string, act: () => Promise<unknown>): Promise<void> {
    const before = this.#done.get(chatId) ?? 0;
    await act();
    await eventually(() => (this.#done.get(chatId) ?? 0) > before, `the answer in chat ${chatId}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export interface ChannelEnv {
  engine: Engine;
  db: TestDatabase;
  turns: Turns;
}

export interface ChannelFactory {
  /** As in `Channel.name`. */
  name: string;
  /**
   * Builds the channel over `engine` (which runs the suite's flows) and the database the
   * suite opened (`db.encryptionKey` is the key secrets are sealed with). A customer's
   * `write` and `press` wait with `turns.handled`.
   */
  open(env: ChannelEnv): Promise<ChannelUnderTest>;
  /**
   * Why this channel starts and follows no stores of its own, when it does not (the console
   * serves the one store named on its command line); the start-and-follow case is skipped.
   */
  servesNoStores?: string;
}

const STALE_CHOICE = () => t("id", "engine.stale_choice");

/** Paragraphs of ~500 characters; `length` of them. */
function longReply(length: number): string {
  return Array.from({ length }, (_, i) => `${i + 1}. ${"Syarat dan ketentuan berlaku untuk setiap pembelian voucher. ".repeat(8).trim()}`).join("\n\n");
}

function suiteFlows(long: () => string) {
  const flows = [
    defineFlow({
      id: "start",
      triggers: { commands: ["start"] },
      steps: { hi: { kind: "end", text: { id: "Selamat datang di {{store}}!", en: "Welcome to {{store}}!" } } },
    }),
    defineFlow({
      id: "pick",
      triggers: { commands: ["pick"] },
      steps: {
        colour: {
          kind: "choose",
          text: { id: "Pilih warna:", en: "Choose a colour:" },
          choices: [
            { id: "red", label: { id: "Merah", en: "Red" }, next: "size" },
            { id: "blue", label: { id: "Biru", en: "Blue" }, next: "size" },
          ],
          saveAs: "colour",
        },
        size: { kind: "ask", text: { id: "Ukuran berapa?", en: "Which size?" }, expect: "integer", min: 1, max: 50, saveAs: "size", next: "done" },
        done: { kind: "end", text: { id: "Pesanan: {{colour}} ukuran {{size}}.", en: "Order: {{colour}} size {{size}}." } },
      },
    }),
    defineFlow({
      id: "terms",
      triggers: { commands: ["terms"] },
      steps: { read: { kind: "action", action: "longTerms", next: "done" }, done: { kind: "end" } },
    }),
  ];
  const actions = { longTerms: () => ({ say: [{ text: { inline: { id: long(), en: long() } } }] }) };
  return { flows, actions };
}

const squash = (text: string) => text.replace(/\s+/g, "");
const texts = async (customer: CustomerUnderTest) => (await customer.received()).map((m) => m.text);

/**
 * Defines the conformance tests for one channel.
 *
 * ```ts
 * channelConformance({ name: "telegram", open: (env) => telegramUnderTest(env) });
 * ```
 */
export function channelConformance(factory: ChannelFactory): void {
  describe(`the ${factory.name} channel`, () => {
    let db: TestDatabase;
    let engine: Engine;
    const turns = new Turns();
    let longText = "";
    before(async () => {
      await initI18n();
      db = await openTestDatabase(`channel_${factory.name}`);
      const { flows, actions } = suiteFlows(() => longText);
      engine = turns.wrap(createEngine({ flows, actions, sessions: new MongoSessionStore(), audienceOf: () => "customer" }));
    });
    after(() => db.close());

    describe("serving customers", () => {
      let under: ChannelUnderTest;
      let store: SeededStore;
      let outbox: Outbox;
      let recorder: OutboxRecorder;
      before(async () => {
        under = await factory.open({ engine, db, turns });
        store = await under.seedStore({ name: "Toko Kanal", products: [{ code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, stock: 3 }], settings: { ordering: { paymentMethods: ["manual"] } } });
        await under.channel.start();
        recorder = new OutboxRecorder();
        outbox = new Outbox(new Channels([under.channel])).use(recorder.middleware);
      });
      after(() => under.close());

      test("a customer who buys receives the goods after the payment, through the outbox", async () => {
        const sari = await under.customer(store);
        const ordering = createOrdering({
          gateways: gatewayMap(manualGateway()),
          outbox,
        });
        const buyer = { channel: under.channel.name, channelUserId: sari.address.chatId, chatId: sari.address.chatId, locale: "id" as const, name: "Sari" };
        const placed = await ordering.placeOrder({ tenantId: store.tenantId, customer: buyer, items: [{ productCode: "netflix-1m", quantity: 2 }] });
        assert.ok(placed.ok, "the order is placed");
        await ordering.submitPaymentProof(store.tenantId, buyer, placed.order.code, { fileRef: "bukti" });
        const goods = [payloadFor(store.slug, "netflix-1m", 0), payloadFor(store.slug, "netflix-1m", 1)];
        assert.ok(!(await texts(sari)).some((text) => goods.some((g) => text.includes(g))), "nothing arrives before the payment");

        const approved = await ordering.approvePayment(store.tenantId, placed.order.code, { channel: under.channel.name, userId: "penjual", name: "Penjual" });
        assert.deepEqual(approved, { ok: true, code: placed.order.code, delivery: "delivered" });
        const received = await eventually(async () => {
          const all = (await texts(sari)).join("\n");
          return goods.every((g) => all.includes(g)) && all;
        }, "the goods in the customer's chat");
        assert.ok(received.includes(placed.order.code), "the delivery names the order");
        assert.equal(recorder.sends.filter((s) => s.report.ok).length, recorder.sends.length, "every send through the outbox went out");
        assert.ok(recorder.sends.length > 0, "the delivery went through the outbox");
      });

      test("a send to a customer who blocked the bot reports that they blocked it", async (t) => {
        const budi = await under.customer(store);
        if (!budi.blockBot) return t.skip(`a ${factory.name} customer cannot block the channel`);
        const before = await outbox.send(budi.address, [{ text: { inline: { id: "Halo", en: "Hello" } } }]);
        assert.equal(before.ok, true, "a send reaches the customer before they block the bot");
        await budi.blockBot();
        const report = await outbox.send(budi.address, [{ text: { inline: { id: "Promo", en: "Promo" } } }, { text: { inline: { id: "Lagi", en: "More" } } }]);
        assert.equal(report.ok, false);
        assert.equal(report.reason, "blocked");
        assert.equal(report.sent, 0);
        assert.deepEqual(report.messages.map((m) => m.status), ["failed", "skipped"]);
      });

      test("a file a customer sent is fetched byte for byte, and one over the limit is refused", async (t) => {
        if (!under.channel.capabilities.media) return t.skip(`the ${factory.name} channel carries no files`);
        const dewi = await under.customer(store);
        const bytes = randomBytes(3000);
        const ref = await dewi.sendFile(bytes);
        const fetched = await under.channel.fetchFile(store.tenantId, ref, { maxBytes: 10_000 });
        assert.ok(Buffer.compare(fetched, bytes) === 0, "the same bytes");
        await assert.rejects(under.channel.fetchFile(store.tenantId, ref, { maxBytes: 2999 }), (error: unknown) => error instanceof FileFetchError && error.reason === "too-large");
      });

      test("a button from an old question gets the polite stale answer, the current question again, and nothing is lost", async (t) => {
        if (!under.channel.capabilities.buttons) return t.skip(`the ${factory.name} channel has no buttons`);
        const eka = await under.customer(store);
        await eka.write("/pick");
        const asked = (await eka.received()).findIndex((m) => m.text === "Pilih warna:");
        assert.notEqual(asked, -1, "the choice was shown");
        assert.deepEqual((await eka.received())[asked].buttons, ["Merah", "Biru"]);
        await eka.press(asked, "Biru");
        assert.equal((await texts(eka)).at(-1), "Ukuran berapa?");

        await eka.press(asked, "Merah");
        assert.deepEqual((await texts(eka)).slice(-2), [STALE_CHOICE(), "Ukuran berapa?"]);
        await eka.write("42");
        assert.equal((await texts(eka)).at(-1), "Pesanan: blue ukuran 42.", "the first choice and the answer both kept");
      });

      test("a reply longer than the channel's limit arrives split in several messages, in order, with nothing lost", async (t) => {
        const limit = under.channel.capabilities.maxTextLength;
        if (!Number.isFinite(limit)) return t.skip(`the ${factory.name} channel has no longest text`);
        longText = longReply(Math.ceil((limit * 2.5) / 500));
        const fajar = await under.customer(store);
        const before = (await fajar.received()).length;
        await fajar.write("/terms");
        const parts = await eventually(async () => {
          const got = (await texts(fajar)).slice(before);
          return squash(got.join("")).length >= squash(longText).length && got;
        }, "the whole long reply");
        assert.ok(parts.length >= 3, `split in ${parts.length} messages`);
        for (const part of parts) assert.ok(part.length <= limit, `a part of ${part.length} characters fits in ${limit}`);
        assert.equal(squash(parts.join("")), squash(longText), "every character, in order");
      });
    });

    describe("starting, following store changes and stopping", () => {
      test("serves the stores saved before start and after, stops serving a suspended one, and refuses sends once stopped", async (t) => {
        if (factory.servesNoStores) return t.skip(factory.servesNoStores);
        const under = await factory.open({ engine, db, turns });
        try {
          const early = await under.seedStore({ name: "Toko Awal" });
          const started = await under.channel.start();
          assert.ok(started.started.includes(early.slug), "a store saved before start is served");
          const gita = await under.customer(early);
          await gita.write("/start");
          assert.equal((await texts(gita)).at(-1), "Selamat datang di Toko Awal!");

          const late = await under.seedStore({ name: "Toko Baru" });
          const followed = await under.channel.followStoreChanges();
          assert.ok(followed.started.includes(late.slug), "a store saved after start is picked up");
          const hana = await under.customer(late);
          await hana.write("/start");
          assert.equal((await texts(hana)).at(-1), "Selamat datang di Toko Baru!");

          // As the platform's sweep calls it: with the stores the change feed names.
          await Tenant.updateOne({ _id: late.tenant }, { $set: { status: "suspended" } }).exec();
          const suspended = await under.channel.followStoreChanges({ ids: [late.tenantId] });
          assert.ok(suspended.stopped.includes(late.slug), "a suspended store named by the change feed stops being served");
          assert.ok((suspended.checked ?? 1) <= 1, `only the changed store is read, not ${suspended.checked}`);
          const unchanged = await under.channel.followStoreChanges({ ids: [] });
          assert.deepEqual([unchanged.started, unchanged.stopped, unchanged.checked ?? 0], [[], [], 0], "no change named, no store read");
          await Tenant.updateOne({ _id: late.tenant }, { $set: { status: "active" } }).exec();
          const resumed = await under.channel.followStoreChanges({ ids: [late.tenantId] });
          assert.ok(resumed.started.includes(late.slug), "a resumed store named by the change feed is served again");
          await Tenant.updateOne({ _id: late.tenant }, { $set: { status: "suspended" } }).exec();
          const full = await under.channel.followStoreChanges({ all: true });
          assert.ok(full.stopped.includes(late.slug), "a full sweep sees it too");
          const stillUp = await under.channel.followStoreChanges();
          assert.deepEqual([stillUp.started, stillUp.stopped], [[], []], "nothing changes without a change");

          assert.equal(await under.channel.stop(5000), true, "stopped within the grace period");
          const afterStop = await under.channel.send(gita.address, [{ text: { inline: { id: "Halo", en: "Hello" } } }]);
          assert.equal(afterStop.reason, "shutting-down");
          assert.equal(await under.channel.stop(5000), true, "stopping twice is safe");
        } finally {
          await under.close();
        }
      });

      test("once stopped, a send is refused as shutting down, and stopping again is safe", async () => {
        const under = await factory.open({ engine, db, turns });
        try {
          await under.channel.start();
          assert.equal(await under.channel.stop(1000), true);
          const report = await under.channel.send({ tenantId: "0".repeat(24), channel: under.channel.name, chatId: "1" }, [{ text: { inline: { id: "Halo", en: "Hello" } } }]);
          assert.deepEqual([report.ok, report.reason], [false, "shutting-down"]);
          assert.equal(await under.channel.stop(1000), true);
        } finally {
          await under.close();
        }
      });
    });
  });
}
