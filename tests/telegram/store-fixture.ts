// Stores with Telegram bots for the tests in this folder: a real MongoDB (embedded), the
// Bot API emulator, the platform's HTTP server for webhooks, the engine with a few small
// flows, and `StoreBots` running real grammY against all of it.
import { randomBytes } from "node:crypto";
import type { User } from "grammy/types";
import type { Message } from "grammy/types";
import { createPlatformHttp, type PlatformHttp } from "../../bots/http-server.ts";
import { logger } from "../../bots/logger.ts";
import type { EngineLog } from "../../flows/engine/actions.ts";
import type { ChatLock } from "../../storage/locks.ts";
import { createEngine, type Engine } from "../../flows/engine/engine.ts";
import { defineFlow } from "../../flows/engine/flow-schema.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { initI18n } from "../../locales/i18n.ts";
import { StoreBots, type StoreBotsOptions, type TelegramMode } from "../../adapters/telegram/store-bots.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase } from "../support/mongo.ts";
import { seedStore } from "../support/stores.ts";
import { samplePng, startTelegramEmulator, type TelegramEmulator } from "../support/telegram-emulator.ts";

export interface LogLine {
  level: "info" | "warn" | "error";
  message: string;
  meta: Record<string, unknown>;
}

export interface Store {
  id: string;
  slug: string;
  name: string;
  token: string;
}

/** Paragraphs of ~500 characters, 9,000 in all: more than two Telegram messages. */
export const LONG_TERMS = Array.from({ length: 18 }, (_, i) => `${i + 1}. ${"Syarat dan ketentuan berlaku untuk setiap pembelian voucher. ".repeat(8).trim()}`).join("\n\n");

export const PRODUCTS = Array.from({ length: 7 }, (_, i) => ({ id: `p${i + 1}`, label: `Voucher ${(i + 1) * 10}K` }));

function storeFlows(publicUrl: string, downloads: () => StoreBots) {
  const flows = [
    defineFlow({
      id: "start",
      triggers: { commands: ["start"] },
      help: { id: "Menu utama", en: "Main menu" },
      steps: {
        menu: {
          kind: "choose",
          text: { id: "Selamat datang di {{store}}! Mau apa?", en: "Welcome to {{store}}! What would you like?" },
          choices: [
            { id: "shop", label: { id: "Belanja", en: "Shop" }, next: "toShop" },
            { id: "note", label: { id: "Tulis catatan", en: "Write a note" }, next: "toNote" },
          ],
        },
        toShop: { kind: "goto", flow: "shop" },
        toNote: { kind: "goto", flow: "note" },
      },
    }),
    defineFlow({
      id: "shop",
      triggers: { commands: ["shop"] },
      help: { id: "Belanja voucher", en: "Shop for vouchers" },
      steps: {
        pick: { kind: "choose", text: { id: "Pilih produk:", en: "Choose a product:" }, source: "products", pageSize: 3, saveAs: "product", next: "qty" },
        qty: { kind: "ask", text: { id: "Berapa banyak?", en: "How many?" }, expect: "integer", min: 1, max: 5, saveAs: "qty", next: "proof" },
        proof: { kind: "ask", text: { id: "Kirim foto bukti transfer.", en: "Send a photo of the transfer receipt." }, expect: "photo", saveAs: "proof", next: "check" },
        check: { kind: "action", action: "readProof", next: "done" },
        done: { kind: "end", text: { id: "Terima kasih! {{qty}} × {{product}}, bukti {{proofBytes}} byte.", en: "Thank you! {{qty}} × {{product}}, proof {{proofBytes}} bytes." } },
      },
    }),
    defineFlow({
      id: "note",
      triggers: { commands: ["note"] },
      help: { id: "Tulis catatan untuk penjual", en: "Write a note to the seller" },
      steps: {
        ask: { kind: "ask", text: { id: "Tulis catatanmu.", en: "Write your note." }, expect: "text", max: 5000, saveAs: "note", next: "done" },
        done: { kind: "end", text: { id: "Catatan: {{note}}", en: "Note: {{note}}" } },
      },
    }),
    defineFlow({
      id: "repeat",
      triggers: { commands: ["repeat"] },
      steps: {
        ask: { kind: "ask", text: { id: "Ketik apa saja.", en: "Type anything." }, expect: "text", saveAs: "said", next: "echo" },
        echo: { kind: "say", text: { id: "Echo: {{said}}", en: "Echo: {{said}}" }, next: "again" },
        again: { kind: "ask", text: { id: "Lagi?", en: "More?" }, expect: "text", saveAs: "said", next: "echo" },
      },
    }),
    defineFlow({
      id: "phone",
      triggers: { commands: ["phone"] },
      steps: {
        ask: { kind: "ask", text: { id: "Bagikan kontakmu.", en: "Share your contact." }, expect: "contact", saveAs: "contact", next: "done" },
        done: { kind: "end", text: { id: "Nomor: {{contact.phone}}", en: "Number: {{contact.phone}}" } },
      },
    }),
    defineFlow({
      id: "terms",
      triggers: { commands: ["terms"] },
      steps: { read: { kind: "action", action: "longTerms", next: "done" }, done: { kind: "end" } },
    }),
    defineFlow({
      id: "brochure",
      triggers: { commands: ["brochure"] },
      steps: {
        photo: { kind: "say", text: { id: "Brosur kami", en: "Our brochure" }, media: { type: "photo", ref: `${publicUrl}/files/brosur.png` }, next: "list" },
        list: { kind: "say", text: { id: "Daftar harga", en: "Price list" }, media: { type: "document", ref: `${publicUrl}/files/harga.pdf` }, next: "done" },
        done: { kind: "end" },
      },
    }),
    defineFlow({
      id: "broken",
      triggers: { commands: ["broken"] },
      steps: {
        photo: { kind: "say", text: { id: "Foto rusak", en: "Broken photo" }, media: { type: "photo", ref: "no-such-file-id" }, next: "done" },
        done: { kind: "end" },
      },
    }),
  ];
  const actions = {
    products: () => ({ choices: PRODUCTS.map((p) => ({ id: p.id, label: { inline: { id: p.label, en: p.label } } })) }),
    readProof: async (ctx: { tenant: { id: string }; data: Readonly<Record<string, unknown>> }) => {
      const proof = ctx.data.proof as { fileRef: string };
      const bytes = await downloads().downloadFile(ctx.tenant.id, proof.fileRef);
      return {
        data: { proofBytes: bytes.length },
        say: [{ text: { inline: { id: "Bukti diterima.", en: "Proof received." } }, media: { type: "photo" as const, ref: proof.fileRef } }],
      };
    },
    longTerms: () => ({ say: [{ text: { inline: { id: LONG_TERMS, en: LONG_TERMS } } }] }),
  };
  return { flows, actions };
}

export interface Stores {
  /** The database's connection string and sealing key, for a `niaga` child process on the same stores. */
  database: { uri: string; encryptionKey: Buffer };
  tg: TelegramEmulator;
  bots: StoreBots;
  engine: Engine;
  http: PlatformHttp;
  publicUrl: string;
  log: LogLine[];
  /** Slugs of stores whose token Telegram rejected, as `onTokenRevoked` reported them. */
  revoked: string[];
  /** A store with a bot token registered in the emulator, saved in MongoDB (not started). */
  createStore(options?: { name?: string; mode?: TelegramMode; locale?: "id" | "en" }): Promise<Store>;
  user(profile?: { first_name?: string; language_code?: string }): User;
  /**
   * Another platform instance on the same MongoDB and Telegram: its own engine (sessions in
   * the same MongoDB, chats locked with `lock`, in-process by default) and its own
   * `StoreBots`, whose Bot API calls the emulator tags with `client` (`tg.calls(token)[i].client`).
   * Closed with the fixture, or earlier by the test.
   */
  instance(client: string, options?: Partial<StoreBotsOptions> & { lock?: ChatLock }): StoreBots;
  close(): Promise<void>;
}

/** One per test file: MongoDB and the emulator are shared by its tests; each test makes its own stores. */
export async function startStores(options: Partial<StoreBotsOptions> = {}): Promise<Stores> {
  await initI18n();
  const db = await openTestDatabase();
  const { encryptionKey } = db;
  const tg = await startTelegramEmulator();
  const http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
  const png = samplePng();
  http.register(async (app) => {
    app.get("/files/brosur.png", (_request, reply) => reply.type("image/png").send(png));
    app.get("/files/harga.pdf", (_request, reply) => reply.type("application/pdf").send(Buffer.from("%PDF-1.4 harga")));
  });
  // The port first: the bots' webhook URLs carry it, and their route is registered once they exist.
  const port = await http.open(0, "127.0.0.1");
  const publicUrl = `http://127.0.0.1:${port}`;

  const log: LogLine[] = [];
  const write = (level: LogLine["level"]) => (message: string, meta: Record<string, unknown> = {}) => void log.push({ level, message, meta });
  const logFor = (slug: string): EngineLog => ({
    info: (m, meta) => write("info")(m, { slug, ...meta }),
    warn: (m, meta) => write("warn")(m, { slug, ...meta }),
    error: (m, meta) => write("error")(m, { slug, ...meta }),
  });

  const revoked: string[] = [];
  // The proof action downloads through the bots made below; it only runs once they exist.
  const { flows, actions } = storeFlows(publicUrl, () => bots);
  const engine = createEngine({ flows, actions, sessions: new MongoSessionStore(), audienceOf: () => "customer", logFor });
  const common = {
    encryptionKey, publicUrl,
    resilience: { baseDelayMs: 20, maxDelayMs: 100 },
    pollingTimeoutSec: 10,
    onTokenRevoked: (store: { slug: string }) => void revoked.push(store.slug),
  };
  const bots: StoreBots = new StoreBots({ ...common, engine, apiRoot: tg.apiRoot, http, logFor, ...options });
  http.register(bots.routes);
  await http.serve();
  const instances: StoreBots[] = [];

  return {
    database: { uri: db.uri, encryptionKey },
    tg, bots, engine, http, publicUrl, log, revoked,
    instance(client, { lock, ...instanceOptions } = {}) {
      const logHere = (slug: string): EngineLog => {
        const inner = logFor(slug);
        return {
          info: (m, meta) => inner.info(m, { instance: client, ...meta }),
          warn: (m, meta) => inner.warn(m, { instance: client, ...meta }),
          error: (m, meta) => inner.error(m, { instance: client, ...meta }),
        };
      };
      const engineHere = createEngine({ flows, actions, sessions: new MongoSessionStore(), audienceOf: () => "customer", logFor: logHere, ...(lock && { lock }) });
      const instance = new StoreBots({ ...common, engine: engineHere, apiRoot: tg.apiRootFor(client), logFor: logHere, ...instanceOptions });
      instances.push(instance);
      return instance;
    },
    async createStore({ name = `Toko ${randomBytes(2).toString("hex")}`, mode = "polling", locale = "id" } = {}) {
      const { token } = tg.bot();
      const store = await seedStore({ slug: `toko-${randomBytes(4).toString("hex")}`, name, locale, telegram: { token, mode } });
      return { id: store.id, slug: store.slug, name, token };
    },
    user: (profile = {}) => tg.user({ first_name: "Sari", language_code: "id", ...profile }),
    async close() {
      await Promise.all(instances.map((instance) => instance.close(1000)));
      await bots.stopAll();
      await http.close();
      await tg.stop();
      await db.close();
    },
  };
}

/** The text or caption of a message. */
export function words(message: Message): string {
  return message.text ?? message.caption ?? "";
}

/** The labels of a message's inline buttons, row by row. */
export function buttonLabels(message: Message): string[][] {
  return (message.reply_markup?.inline_keyboard ?? []).map((row) => row.map((b) => b.text));
}

/** The callback data of the button labelled `text`. */
export function buttonData(message: Message, text: string): string {
  const button = (message.reply_markup?.inline_keyboard ?? []).flat().find((b) => b.text === text);
  if (!button || !("callback_data" in button) || button.callback_data === undefined) throw new Error(`no button "${text}" on message ${message.message_id}`);
  return button.callback_data;
}

/**
 * People talking to one store's bot, read as their Telegram shows it: each call resolves with
 * the bot's next `count` messages in that person's chat. `store` is read at each call (tests
 * create it in `before`).
 */
export function storeChat(stores: () => Stores, store: () => Store) {
  const lastId = (user: User) => Math.max(0, ...stores().tg.sent(store().token, user).map((m) => m.message_id));
  async function botMessagesAfter(user: User, afterId: number, count: number): Promise<Message[]> {
    const fresh = () => stores().tg.sent(store().token, user).filter((m) => m.message_id > afterId);
    await eventually(() => fresh().length >= count, `${count} message(s) from the bot to ${user.first_name}; got ${JSON.stringify(fresh().map(words))}`);
    return fresh().slice(0, count);
  }
  return {
    lastId,
    botMessagesAfter,
    /** The user types `text` (a command or an answer). */
    async send(user: User, text: string, count = 1): Promise<Message[]> {
      const sent = await stores().tg.sendText(store().token, user, text);
      return botMessagesAfter(user, sent.message_id, count);
    },
    /** The user presses the button labelled `label` under `message`. */
    async press(user: User, message: Message, label: string, count = 1): Promise<Message[]> {
      const before = lastId(user);
      await stores().tg.pressButton(store().token, user, message, { text: label });
      return botMessagesAfter(user, before, count);
    },
  };
}
