/**
 * Every store's Telegram bot in one process. Each operation touches one store only:
 * starting, stopping, suspending, re-tokening or moving a store between long polling and
 * webhook never pauses another store's bot. Operations on one store run one at a time.
 *
 * ```ts
 * const telegram = new StoreBots({
 *   engine, encryptionKey: config.encryptionKey, apiRoot: config.telegramApiRoot,
 *   publicUrl: config.publicUrl, http,
 *   onTokenRevoked: (store) => ownerAlerts.tokenRevoked(store),
 * });
 * http.register(telegram.routes);                   // POST /telegram/:tenant, before http.listen
 * const report = await telegram.startAll();         // active stores with a token
 * await telegram.switchMode(tenantId, "webhook");   // failover, no restart
 * const proof = await telegram.downloadFile(tenantId, fileRef);
 * const report = await telegram.sendTo(tenantId, chatId, [{ text: { key: "ordering.delivered" } }]);
 * setInterval(() => telegram.reconcileChanged(), 15_000); // `niaga tenant suspend` from elsewhere
 * await telegram.close();                           // on shutdown
 * ```
 *
 * What Telegram says is recorded where it belongs: a 401 sets the store's
 * `channels.telegram.revokedAt`, stops that bot (no retry storm) and calls
 * `onTokenRevoked`; `retoken` clears it. A 403 marks the customer `blocked`
 * (`blockedReason: "blocked-bot"`), cleared when they write again.
 *
 * Every bot's messages go through its store's `OutgoingPacer` (Telegram's flood limits;
 * a 429 holds that bot only), turn replies ahead of `sendTo`'s proactive sends.
 *
 * The catch: the registry acts on calls made in this process. A change written by another
 * process (`niaga tenant suspend`) reaches a running bot through `reconcile(tenantId)`, or
 * `reconcileChanged()` for every store at once.
 *
 * Several instances on the same stores pass `leases` (`coordination.leases`): a store in
 * polling mode is then polled by the one instance holding its polling lease
 * (`PollingLeases`); on the others its bot stands by (`status(id).pollingHere === false`,
 * it still sends) and takes over when the lease is released or lapses.
 */
import { createHash } from "node:crypto";
import { randomBytes } from "node:crypto";
import { Api, GrammyError } from "grammy";
import { logger, registerSecret, tenantLogger } from "../../bots/logger.ts";
import { notSent } from "../../bots/customer-messages.ts";
import type { ChannelSender, SendOptions, SendReport } from "../../bots/customer-messages.ts";
import type { FastifyPluginAsync } from "fastify";
import type { Registry } from "prom-client";
import type { EngineLog } from "../../flows/engine/actions.ts";
import { ChatQueue } from "../../flows/engine/chat-queue.ts";
import type { Engine } from "../../flows/engine/engine.ts";
import type { Outbound } from "../../flows/engine/message.ts";
import { resolveLocale } from "../../locales/i18n.ts";
import type { Leases } from "../../storage/leases.ts";
import { openTenantSecret, sealTenantSecret, Tenant } from "../../storage/models/index.ts";
import type { TenantDoc, TenantFields } from "../../storage/models/index.ts";
import { ButtonSigner, PromptTags } from "./button-data.ts";
import { TELEGRAM_CHANNEL } from "./customer-records.ts";
import { downloadTelegramFile } from "./file-download.ts";
import type { SellerMenuFilter } from "./member-menus.ts";
import { OutgoingPacer } from "./outgoing-pacer.ts";
import type { OutgoingLimits } from "./outgoing-pacer.ts";
import { PollingLeases } from "./polling-leases.ts";
import { carriesSecret, secretDigest, StoreBot } from "./store-bot.ts";
import type { StoreBotShared, StoreTenant, TelegramMode } from "./store-bot.ts";
import { telegramWebhookRoutes } from "./webhook-endpoint.ts";

export type { TelegramMode } from "./store-bot.ts";
export type { SellerMenuFilter } from "./member-menus.ts";

export const DEFAULT_TELEGRAM_API_ROOT = "https://api.telegram.org";
const TOKEN_SHAPE = /^\d{1,20}:[A-Za-z0-9_-]{20,}$/;
const ABSENT_STATUS_MEMORY_MS = 10_000;
const RETRY_FIRST_MS = 30_000;
const RETRY_MAX_MS = 10 * 60_000;
/** What a sweep reads of each store: enough to tell whether its bot must change. */
// Not `updatedAt`: the bots' own writes (bot username, webhook secret) move it too.
const SWEEP_FIELDS = { slug: 1, name: 1, locale: 1, status: 1, "channels.telegram.mode": 1, "channels.telegram.token": 1, "channels.telegram.revokedAt": 1 } as const;

interface SweepRow {
  _id: unknown;
  slug: string;
  name?: string | null;
  locale?: string | null;
  status?: string | null;
  channels?: { telegram?: { mode?: string | null; token?: string | null; revokedAt?: Date | null } | null } | null;
}

export interface StoreBotsOptions {
  engine: Engine;
  /** `ENCRYPTION_KEY`; inline buttons are signed with a key derived from it per store. */
  encryptionKey: Buffer;
  /** `TELEGRAM_API_ROOT`. Default https://api.telegram.org. */
  apiRoot?: string;
  /** `PUBLIC_URL`; webhook mode needs it (Telegram posts to `<publicUrl>/telegram/<slug>`). */
  publicUrl?: string;
  /** The platform's HTTP server, whose metrics the polling leases join. */
  http?: { readonly metrics: Registry };
  /** One store's logger; `tenantLogger` by default. */
  logFor?: (slug: string) => EngineLog;
  /** Telegram rejected a store's token (401). Tell the owner; the bot is already stopped. */
  onTokenRevoked?: (store: { id: string; slug: string; name: string }) => void;
  /** Largest file `downloadFile` accepts. Default 10 MB. */
  maxDownloadBytes?: number;
  /** A webhook request is answered after at most this long, the turn going on. Default 8000 ms. */
  webhookAnswerWithinMs?: number;
  /** Stores started (or reconciled) at once by `startAll` and `reconcileChanged`. Default 8. */
  startConcurrency?: number;
  /** Each bot's flood limits (defaults: 1 message/s per chat for proactive sends, 30/s per bot). */
  outgoingLimits?: OutgoingLimits;
  resilience?: StoreBotShared["resilience"];
  pollingTimeoutSec?: number;
  typingAfterMs?: number;
  /** How long one store's start may wait for Telegram's `getMe`. Default 20 000 ms. */
  startTimeoutMs?: number;
  lookupBudgetMs?: number;
  /**
   * Which seller commands a member's own command menu lists, by role and flow id —
   * `roleMayStart` from flows/tenant-admin/admin-flows.ts, so staff do not see the owner's
   * commands. Default: every seller command for every member.
   */
  sellerMenu?: SellerMenuFilter;
  /** Members read per page when a bot sets its members' menus at start. Default 100. */
  memberMenuPageSize?: number;
  /**
   * Who polls a store when several instances share the stores (`coordination.leases`): a
   * polling-mode store is polled only by the instance holding its lease (see
   * `PollingLeases`). Without it, every registry polls its polling-mode stores: right for
   * one instance only.
   */
  leases?: Leases;
  /** How long a polling lease lasts without renewal (`POLL_LEASE_MS`). Default 15 000 ms. */
  pollLeaseMs?: number;
  /** False while the store the leases live in does not answer: the leases held are kept (see `PollingLeases`). */
  leaseStoreAnswers?: () => boolean;
}

/** Why a store's bot could not be started or used; `message` is for the operator. */
export class StoreBotError extends Error {
  override name = "StoreBotError";
  constructor(
    readonly reason: "unknown-store" | "suspended" | "no-token" | "token-revoked" | "token-rejected" | "no-public-url" | "not-running" | "bad-token" | "shutting-down",
    message: string,
  ) {
    super(message);
  }
}

export interface StoreBotStatus {
  tenantId: string;
  slug: string;
  mode: TelegramMode | "stopped";
  botUsername: string;
  /** In polling mode: whether this instance polls the store now (false while another instance holds its polling lease). */
  pollingHere?: boolean;
}

export interface StartAllReport {
  started: string[];
  failed: Array<{ slug: string; reason: string }>;
}

/** What `reconcileChanged` did, by store slug. */
export interface SweepReport {
  /** Stores read. */
  checked: number;
  /** Stores reconciled: changed since the last sweep, or due for another try. */
  reconciled: number;
  started: string[];
  stopped: string[];
  failed: Array<{ slug: string; reason: string }>;
}

export class StoreBots implements ChannelSender {
  /** `POST /telegram/:tenant`, for the platform's HTTP server to register. */
  readonly routes: FastifyPluginAsync;
  readonly #options: StoreBotsOptions;
  readonly #shared: StoreBotShared;
  readonly #bots = new Map<string, StoreBot>();
  readonly #bySlug = new Map<string, StoreBot>();
  readonly #live = new WeakSet<StoreBot>();
  readonly #lifecycle = new ChatQueue();
  readonly #absent = new Map<string, { status: 404 | 410 | 503; secret: Buffer | undefined; until: number }>();
  /** Per store, outliving its bot's restarts: a flood wait Telegram imposed still holds after a re-token. */
  readonly #pacers = new Map<string, OutgoingPacer>();
  /** Bots of stores not running here, used only to send (`sendTo`). */
  readonly #idle = new Map<string, StoreBot>();
  readonly #sending = new Set<Promise<unknown>>();
  /** Each store's sweep fields as last seen, and when a store that failed is tried again. */
  readonly #fingerprints = new Map<string, string>();
  readonly #retries = new Map<string, { at: number; delayMs: number }>();
  readonly #polling: PollingLeases | undefined;
  #closing = false;

  constructor(options: StoreBotsOptions) {
    this.#options = options;
    const tags = new PromptTags();
    tags.learnFlows(options.engine.platformFlows.flows);
    this.#shared = {
      engine: options.engine,
      apiRoot: (options.apiRoot ?? DEFAULT_TELEGRAM_API_ROOT).replace(/\/+$/, ""),
      buttons: new ButtonSigner(options.encryptionKey),
      tags,
      ...(options.resilience !== undefined && { resilience: options.resilience }),
      ...(options.pollingTimeoutSec !== undefined && { pollingTimeoutSec: options.pollingTimeoutSec }),
      ...(options.typingAfterMs !== undefined && { typingAfterMs: options.typingAfterMs }),
      ...(options.startTimeoutMs !== undefined && { startTimeoutMs: options.startTimeoutMs }),
      ...(options.lookupBudgetMs !== undefined && { lookupBudgetMs: options.lookupBudgetMs }),
      ...(options.sellerMenu !== undefined && { sellerMenu: options.sellerMenu }),
      ...(options.memberMenuPageSize !== undefined && { memberMenuPageSize: options.memberMenuPageSize }),
    };
    this.routes = telegramWebhookRoutes({
      botFor: (slug) => this.#bySlug.get(slug),
      absentStatus: (slug, secret) => this.#absentStatus(slug, secret),
      closing: () => this.#closing,
      answerWithinMs: options.webhookAnswerWithinMs ?? 8000,
    });
    this.#polling = options.leases && new PollingLeases({
      leases: options.leases,
      ...(options.pollLeaseMs !== undefined && { leaseMs: options.pollLeaseMs }),
      ...(options.leaseStoreAnswers && { leaseStoreAnswers: options.leaseStoreAnswers }),
      logFor: (slug) => this.#logFor(slug),
      log: logger,
      ...(options.http && { metrics: options.http.metrics }),
      onGranted: (tenantId) => void this.#leaseGranted(tenantId),
      onLost: (tenantId) => this.#leaseLost(tenantId),
    });
  }

  /** Starts the bot of every active store that has a token Telegram has not revoked. Never throws for one store. */
  async startAll(): Promise<StartAllReport> {
    const stores = await Tenant.find(
      { status: "active", "channels.telegram.token": { $exists: true, $nin: [null, ""] }, "channels.telegram.revokedAt": { $exists: false } },
      SWEEP_FIELDS,
    ).lean<SweepRow[]>().exec();
    const report: StartAllReport = { started: [], failed: [] };
    await this.#eachAtOnce(stores, async (store) => {
      const id = String(store._id);
      this.#fingerprints.set(id, fingerprintOf(store));
      try {
        await this.start(id);
        report.started.push(store.slug);
      } catch (error) {
        this.#retryLater(id);
        report.failed.push({ slug: store.slug, reason: (error as Error).message });
      }
    });
    return report;
  }

  /**
   * Makes the running bots match what is saved now, for stores changed by anyone — `niaga
   * tenant suspend` in another process, a re-token, a mode switch. Cheap enough to run
   * every few seconds: one query reading a few fields of each store; only stores whose
   * fields changed since the last sweep are reconciled (`reconcile`), plus stores that
   * should run but do not (a start that failed, a poller that died), tried again with
   * back-off from 30 s to 10 min. Never throws for one store.
   */
  async reconcileChanged(): Promise<SweepReport> {
    const report: SweepReport = { checked: 0, reconciled: 0, started: [], stopped: [], failed: [] };
    if (this.#closing) return report;
    const rows = await Tenant.find({}, SWEEP_FIELDS).lean<SweepRow[]>().exec();
    report.checked = rows.length;
    const now = Date.now();
    const due: Array<{ id: string; slug: string }> = [];
    const present = new Set<string>();
    for (const row of rows) {
      const id = String(row._id);
      present.add(id);
      const fingerprint = fingerprintOf(row);
      const before = this.#fingerprints.get(id);
      this.#fingerprints.set(id, fingerprint);
      const telegram = row.channels?.telegram;
      const runnable = row.status === "active" && Boolean(telegram?.token) && !telegram?.revokedAt;
      const bot = this.#bots.get(id);
      const off = runnable !== (bot !== undefined) || (bot !== undefined && bot.mode !== (telegram?.mode ?? "polling"));
      if (before !== undefined && before !== fingerprint) {
        this.#retries.delete(id);
        due.push({ id, slug: row.slug });
      } else if (off && (this.#retries.get(id)?.at ?? 0) <= now) {
        due.push({ id, slug: row.slug });
      }
    }
    for (const [id, bot] of this.#bots) {
      if (!present.has(id)) due.push({ id, slug: bot.tenant.slug });
    }
    for (const id of this.#fingerprints.keys()) if (!present.has(id)) this.#fingerprints.delete(id);
    report.reconciled = due.length;
    await this.#eachAtOnce(due, async ({ id, slug }) => {
      const wasRunning = this.#bots.has(id);
      try {
        const status = await this.reconcile(id);
        this.#retries.delete(id);
        if (status && !wasRunning) report.started.push(slug);
        if (!status && wasRunning) report.stopped.push(slug);
      } catch (error) {
        this.#retryLater(id);
        if (wasRunning && !this.#bots.has(id)) report.stopped.push(slug);
        report.failed.push({ slug, reason: (error as Error).message });
      }
    });
    return report;
  }

  /**
   * Sends messages to a customer outside a conversation turn: goods after a payment, an
   * expired order, a reminder, a broadcast. Rendered like a turn's replies (same texts,
   * buttons signed the same way) in `opts.locale`, else the language the customer chose,
   * else the store's; paced within Telegram's flood limits, behind live replies, after the
   * batches already queued for the chat. Works while the store's bot is not running in this
   * process, as long as the store is active with a working token.
   *
   * Never throws for what Telegram or the customer did: the report says, per message,
   * what was sent and why the rest was not. A customer who blocked the bot is recorded
   * (`blocked: true`) as when a reply bounces. Messages stop at the first failure.
   */
  async sendTo(tenantId: string, chatId: string, replies: readonly Outbound[], opts: SendOptions = {}): Promise<SendReport> {
    if (this.#closing) return notSent(replies.length, "shutting-down", "the platform is shutting down");
    if (!/^-?\d{1,20}$/.test(chatId)) return notSent(replies.length, "unreachable", "not a Telegram chat id");
    if (replies.length === 0) return notSent(0, "failed");
    const work = this.#sendTo(tenantId, Number(chatId), replies, opts);
    this.#sending.add(work);
    try {
      return await work;
    } finally {
      this.#sending.delete(work);
    }
  }

  /**
   * Someone joined a store's team, changed role or left it (`AdminServices.onMembershipChanged`):
   * their private chat gets the seller's command menu for their role, or loses it and shows
   * the customer menu again. Reads the member record, so the order of calls does not matter.
   * Only Telegram members (`channel: "telegram"`) have a menu here. Works while the store's
   * bot is not running in this process, as long as it has a working token. Never rejects.
   */
  async memberChanged(change: { tenantId: string; channel: string; userId: string }): Promise<void> {
    if (change.channel !== TELEGRAM_CHANNEL || this.#closing) return;
    let bot: StoreBot;
    try {
      bot = this.#bots.get(change.tenantId) ?? (await this.#idleSender(change.tenantId));
    } catch (error) {
      const level = error instanceof StoreBotError ? "info" : "warn";
      this.#logFor(change.tenantId)[level]("telegram member menu not updated: the store has no usable bot", { tenantId: change.tenantId, error: describe(error) });
      return;
    }
    await bot.memberMenus.refresh(change.userId);
  }

  /** Starts a store's bot in its saved mode; nothing happens when it already runs. */
  start(tenantId: string): Promise<StoreBotStatus> {
    return this.#serially(tenantId, () => this.#start(tenantId));
  }

  /** Stops a store's bot; its webhook (if any) stays set, so Telegram keeps the updates until it starts again. */
  stop(tenantId: string): Promise<void> {
    return this.#serially(tenantId, () => this.#stop(tenantId));
  }

  /** Stops and starts a store's bot with what is saved now (a new token, a new mode). */
  restart(tenantId: string): Promise<StoreBotStatus> {
    return this.#serially(tenantId, async () => {
      await this.#stop(tenantId);
      return this.#start(tenantId);
    });
  }

  /**
   * Gives a store a new bot token: checks it with Telegram (`getMe`), saves it sealed,
   * clears `revokedAt` and restarts the store's bot with it.
   */
  retoken(tenantId: string, token: string): Promise<StoreBotStatus> {
    return this.#serially(tenantId, async () => {
      if (!TOKEN_SHAPE.test(token)) throw new StoreBotError("bad-token", "that is not a Telegram bot token (expected 123456789:AA… from @BotFather)");
      registerSecret(token);
      let me;
      try {
        me = await new Api(token, { apiRoot: this.#shared.apiRoot }).getMe();
      } catch (error) {
        throw new StoreBotError("token-rejected", `Telegram did not accept the new token: ${describe(error)}`);
      }
      await this.#stop(tenantId);
      const saved = await Tenant.updateOne(
        { _id: tenantId },
        {
          $set: { "channels.telegram.token": sealTenantSecret({ _id: tenantId }, "channels.telegram.token", token), "channels.telegram.botUsername": me.username },
          $unset: { "channels.telegram.revokedAt": 1 },
        },
      ).exec();
      if (saved.matchedCount === 0) throw new StoreBotError("unknown-store", `no store has the id ${tenantId}`);
      this.#absent.clear();
      return this.#start(tenantId);
    });
  }

  /** Suspends a store: saved as suspended, its bot stopped; its webhook then answers 410. */
  suspend(tenantId: string, reason = ""): Promise<void> {
    return this.#serially(tenantId, async () => {
      await Tenant.updateOne({ _id: tenantId }, { $set: { status: "suspended", suspendedReason: reason } }).exec();
      this.#absent.clear();
      await this.#stop(tenantId);
    });
  }

  /** Lifts a suspension and starts the store's bot. */
  resume(tenantId: string): Promise<StoreBotStatus> {
    return this.#serially(tenantId, async () => {
      await Tenant.updateOne({ _id: tenantId }, { $set: { status: "active" }, $unset: { suspendedReason: 1 } }).exec();
      this.#absent.clear();
      return this.#start(tenantId);
    });
  }

  /**
   * Moves a store between long polling and webhook without a restart, and saves the mode.
   * To webhook: polling stops after the updates it fetched are handled and confirmed, then
   * the webhook is set; Telegram holds what arrives in between. To polling: the webhook is
   * removed, then polling starts. An update delivered both ways is handled once.
   */
  switchMode(tenantId: string, mode: TelegramMode): Promise<void> {
    return this.#serially(tenantId, async () => {
      if (mode === "webhook") this.#webhookUrl("any");
      const saved = await Tenant.updateOne({ _id: tenantId }, { $set: { "channels.telegram.mode": mode } }).exec();
      if (saved.matchedCount === 0) throw new StoreBotError("unknown-store", `no store has the id ${tenantId}`);
      const bot = this.#bots.get(tenantId);
      if (!bot || bot.mode === mode) return;
      await this.#moveTo(bot, mode);
      this.#logFor(bot.tenant.slug).info("telegram store bot switched mode", { tenant: bot.tenant.slug, mode });
    });
  }

  /**
   * Reads a store again and makes its bot match: stopped when suspended, revoked or without
   * a token, started when active, restarted when its token changed, moved when its mode did;
   * a new store name or language is used from the next message on.
   */
  reconcile(tenantId: string): Promise<StoreBotStatus | undefined> {
    return this.#serially(tenantId, async () => {
      const tenant = await Tenant.findById(tenantId).exec();
      const bot = this.#bots.get(tenantId);
      const token = tenant ? openTenantSecret(tenant, "channels.telegram.token") : undefined;
      const runnable = tenant && tenant.status === "active" && token && !tenant.channels?.telegram?.revokedAt;
      this.#absent.clear();
      if (!runnable) {
        await this.#stop(tenantId);
        return undefined;
      }
      if (bot && bot.bot.token !== token) await this.#stop(tenantId);
      const running = this.#bots.get(tenantId);
      if (!running) return this.#start(tenantId);
      running.tenant.name = tenant.name;
      running.tenant.locale = resolveLocale(tenant.locale);
      const mode = tenant.channels?.telegram?.mode ?? "polling";
      if (running.mode !== mode) await this.#moveTo(running, mode);
      return this.#status(running);
    });
  }

  /**
   * The bytes of a file a customer sent (a payment proof), by the `fileRef` the engine got.
   * Refuses files over `maxBytes` (default `maxDownloadBytes`) with a `TelegramFileError`.
   */
  async downloadFile(tenantId: string, fileRef: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const maxBytes = options.maxBytes ?? this.#options.maxDownloadBytes;
    const bot = this.#bots.get(tenantId);
    if (bot) return bot.download(fileRef, maxBytes);
    // A job may need a proof while the store's bot is stopped here; the token still works.
    const tenant = await Tenant.findById(tenantId).exec();
    const token = tenant ? openTenantSecret(tenant, "channels.telegram.token") : undefined;
    if (!token) throw new StoreBotError("not-running", `store ${tenantId} has no Telegram bot to fetch the file with`);
    registerSecret(token);
    return downloadTelegramFile(new Api(token, { apiRoot: this.#shared.apiRoot }), this.#shared.apiRoot, fileRef, maxBytes);
  }

  status(tenantId: string): StoreBotStatus | undefined {
    const bot = this.#bots.get(tenantId);
    return bot && this.#status(bot);
  }

  running(): StoreBotStatus[] {
    return [...this.#bots.values()].map((bot) => this.#status(bot));
  }

  /** Stops every bot, each after the updates it is handling. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#bots.keys()].map((tenantId) => this.stop(tenantId)));
  }

  /**
   * Shutdown. From now on webhooks answer 503 (Telegram keeps the updates for the next
   * start), `sendTo` reports `shutting-down` and nothing starts; every bot stops after the
   * updates it is handling, and sends under way finish. After `graceMs`, whatever still
   * waits for its turn to reach Telegram is refused. Resolves true when everything under
   * way finished in time.
   */
  async close(graceMs = 10_000): Promise<boolean> {
    this.#closing = true;
    const drained = (async () => {
      await this.stopAll();
      // The stores' leases are back (the other instances take over); what still sends finishes.
      await this.#polling?.close();
      while (this.#sending.size > 0) await Promise.allSettled([...this.#sending]);
    })();
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      drained.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    for (const pacer of this.#pacers.values()) pacer.close();
    this.#idle.clear();
    return inTime;
  }

  // ---------------------------------------------------------------- internals

  #serially<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    return this.#lifecycle.run(tenantId, work);
  }

  async #start(tenantId: string): Promise<StoreBotStatus> {
    const running = this.#bots.get(tenantId);
    if (running) return this.#status(running);
    if (this.#closing) throw new StoreBotError("shutting-down", "the platform is shutting down");
    const tenant = await this.#load(tenantId);
    const token = openTenantSecret(tenant, "channels.telegram.token");
    if (!token) throw new StoreBotError("no-token", `store ${tenant.slug} has no Telegram bot token`);
    if (tenant.channels?.telegram?.revokedAt) {
      throw new StoreBotError("token-revoked", `Telegram revoked the bot token of store ${tenant.slug}; give it a new one (retoken)`);
    }
    registerSecret(token);
    const mode: TelegramMode = tenant.channels?.telegram?.mode ?? "polling";
    if (mode === "webhook") this.#webhookUrl(tenant.slug);
    const store: StoreTenant = { id: tenantId, slug: tenant.slug, name: tenant.name, locale: resolveLocale(tenant.locale) };
    const log = this.#logFor(store.slug);
    const bot: StoreBot = new StoreBot({
      ...this.#shared, tenant: store, token, log, pacer: this.#pacerFor(tenantId),
      onUnauthorized: () => void this.#tokenRevoked(bot),
      ...(this.#polling && { pollingRight: this.#polling.right(tenantId) }),
    });
    let me;
    try {
      me = await bot.init();
    } catch (error) {
      if (error instanceof GrammyError && error.error_code === 401) {
        await this.#markRevoked(store);
        throw new StoreBotError("token-revoked", `Telegram rejected the bot token of store ${store.slug} (401); give it a new one (retoken)`);
      }
      throw error;
    }
    if (me.username !== tenant.channels?.telegram?.botUsername) {
      await Tenant.updateOne({ _id: tenantId }, { $set: { "channels.telegram.botUsername": me.username } }).exec();
    }
    const secret = openTenantSecret(tenant, "channels.telegram.webhookSecret");
    if (secret) {
      registerSecret(secret);
      bot.acceptSecret(secret);
    }
    this.#bots.set(tenantId, bot);
    this.#bySlug.set(store.slug, bot);
    this.#idle.delete(tenantId);
    this.#live.add(bot);
    this.#absent.delete(store.slug);
    try {
      if (mode === "webhook") await bot.useWebhook(this.#webhookUrl(store.slug), await this.#webhookSecret(tenantId));
      else await this.#poll(bot);
    } catch (error) {
      await this.#stop(tenantId);
      throw error;
    }
    // In the background: a store with hundreds of members must not hold up its start.
    void bot
      .registerCommands()
      .catch((error: unknown) => {
        log.warn("telegram commands not registered", { tenant: store.slug, error: describe(error) });
      })
      .then(() => bot.memberMenus.syncAll());
    log.info("telegram store bot started", { tenant: store.slug, mode, bot: me.username });
    return this.#status(bot);
  }

  async #stop(tenantId: string): Promise<void> {
    const bot = this.#bots.get(tenantId);
    if (!bot) return;
    this.#bots.delete(tenantId);
    this.#bySlug.delete(bot.tenant.slug);
    this.#live.delete(bot);
    await bot.stop();
    // After the stop confirmed the last polled updates: whoever takes the lease next starts clean.
    await this.#polling?.leave(tenantId);
    this.#logFor(bot.tenant.slug).info("telegram store bot stopped", { tenant: bot.tenant.slug });
  }

  /** Moves a running bot to the other mode: polling stops (and its lease goes) before the webhook is set. */
  async #moveTo(bot: StoreBot, mode: TelegramMode): Promise<void> {
    if (mode === "polling") return this.#poll(bot);
    await bot.stopPolling();
    await this.#polling?.leave(bot.tenant.id);
    await bot.useWebhook(this.#webhookUrl(bot.tenant.slug), await this.#webhookSecret(bot.tenant.id));
  }

  /** Polls the store here when this instance holds (or now takes) its polling lease; else stands by for it. */
  async #poll(bot: StoreBot): Promise<void> {
    if (this.#polling && !(await this.#polling.join(bot.tenant.id, bot.tenant.slug))) return bot.standBy();
    try {
      await bot.startPolling();
    } catch (error) {
      await this.#polling?.giveBack(bot.tenant.id);
      throw error;
    }
  }

  /** A tick took the lease of a store standing by here. */
  async #leaseGranted(tenantId: string): Promise<void> {
    await this.#serially(tenantId, async () => {
      const bot = this.#bots.get(tenantId);
      if (!bot || bot.mode !== "polling" || bot.fetching || this.#closing || !this.#polling?.holds(tenantId)) return;
      await bot.startPolling();
    }).catch(async (error: unknown) => {
      const slug = this.#bots.get(tenantId)?.tenant.slug ?? tenantId;
      this.#logFor(slug).warn("telegram polling did not start after taking the store's polling lease; trying again at the next tick", { tenant: slug, error: describe(error) });
      await this.#polling?.giveBack(tenantId);
    });
  }

  /** The lease of a store polled here is gone: stop at once, not behind the store's other operations. */
  #leaseLost(tenantId: string): void {
    const bot = this.#bots.get(tenantId);
    if (bot?.mode !== "polling") return;
    bot.standBy().catch((error: unknown) => {
      this.#logFor(bot.tenant.slug).warn("telegram polling did not stop cleanly after the polling lease was lost", { tenant: bot.tenant.slug, error: describe(error) });
    });
  }

  async #sendTo(tenantId: string, chatId: number, replies: readonly Outbound[], opts: SendOptions): Promise<SendReport> {
    let bot: StoreBot;
    try {
      bot = this.#bots.get(tenantId) ?? (await this.#idleSender(tenantId));
    } catch (error) {
      return notSent(replies.length, error instanceof StoreBotError ? "store-unavailable" : "failed", describe(error));
    }
    const locale = opts.locale ?? (await bot.chosenLocale(chatId).catch(() => undefined)) ?? bot.tenant.locale;
    const report = await bot.sendProactively(chatId, replies, locale, { bulk: opts.bulk === true });
    if (!report.ok) {
      const log = this.#logFor(bot.tenant.slug);
      // A customer who left is news for the sender (in the report), not trouble for the operator.
      const expected = report.reason === "blocked" || report.reason === "unreachable";
      (expected ? log.info : log.warn).call(log, "telegram message to a customer not sent", {
        tenant: bot.tenant.slug, chatId, reason: report.reason, detail: report.detail, sent: report.sent, of: replies.length,
      });
    }
    return report;
  }

  /** A bot that only sends, for a store whose bot is not running here; checked against the saved store each time. */
  async #idleSender(tenantId: string): Promise<StoreBot> {
    if (!/^[0-9a-f]{24}$/i.test(tenantId)) throw new StoreBotError("unknown-store", `no store has the id ${tenantId}`);
    const tenant = await this.#load(tenantId);
    const token = openTenantSecret(tenant, "channels.telegram.token");
    if (!token) throw new StoreBotError("no-token", `store ${tenant.slug} has no Telegram bot token`);
    if (tenant.channels?.telegram?.revokedAt) throw new StoreBotError("token-revoked", `Telegram revoked the bot token of store ${tenant.slug}`);
    const known = this.#idle.get(tenantId);
    if (known && known.bot.token === token) return known;
    registerSecret(token);
    const store: StoreTenant = { id: tenantId, slug: tenant.slug, name: tenant.name, locale: resolveLocale(tenant.locale) };
    const bot = new StoreBot({
      ...this.#shared, tenant: store, token, log: this.#logFor(store.slug), pacer: this.#pacerFor(tenantId),
      onUnauthorized: () => {
        this.#idle.delete(tenantId);
        this.#markRevoked(store).catch((error: unknown) => {
          this.#logFor(store.slug).error("telegram revoked token not recorded", { tenant: store.slug, error: describe(error) });
        });
      },
    });
    this.#idle.set(tenantId, bot);
    return bot;
  }

  #pacerFor(tenantId: string): OutgoingPacer {
    let pacer = this.#pacers.get(tenantId);
    if (!pacer) this.#pacers.set(tenantId, (pacer = new OutgoingPacer(this.#options.outgoingLimits)));
    return pacer;
  }

  #retryLater(tenantId: string): void {
    const delayMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_FIRST_MS, (this.#retries.get(tenantId)?.delayMs ?? 0) * 2));
    this.#retries.set(tenantId, { at: Date.now() + delayMs, delayMs });
  }

  async #eachAtOnce<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await work(items[next++]);
    };
    await Promise.all(Array.from({ length: Math.max(1, this.#options.startConcurrency ?? 8) }, worker));
  }

  async #load(tenantId: string): Promise<TenantDoc> {
    const tenant = await Tenant.findById(tenantId).exec();
    if (!tenant) throw new StoreBotError("unknown-store", `no store has the id ${tenantId}`);
    if (tenant.status === "suspended") throw new StoreBotError("suspended", `store ${tenant.slug} is suspended`);
    return tenant;
  }

  /** A 401 from a running bot: record it, stop that bot only, tell the owner. */
  async #tokenRevoked(bot: StoreBot): Promise<void> {
    if (!this.#live.has(bot)) return;
    try {
      await this.#markRevoked(bot.tenant);
      await this.stop(bot.tenant.id);
    } catch (error) {
      this.#logFor(bot.tenant.slug).error("telegram revoked token not recorded", { tenant: bot.tenant.slug, error: describe(error) });
    }
  }

  async #markRevoked(store: { id: string; slug: string; name: string }): Promise<void> {
    this.#logFor(store.slug).error("Telegram rejected the store's bot token (401); the bot is stopped until it gets a new token", { tenant: store.slug });
    await Tenant.updateOne({ _id: store.id }, { $set: { "channels.telegram.revokedAt": new Date() } }).exec();
    this.#absent.delete(store.slug);
    try {
      this.#options.onTokenRevoked?.({ id: store.id, slug: store.slug, name: store.name });
    } catch (error) {
      this.#logFor(store.slug).error("onTokenRevoked failed", { tenant: store.slug, error: describe(error) });
    }
  }

  /** The store's webhook secret, made and saved (sealed) the first time it is needed. */
  async #webhookSecret(tenantId: string): Promise<string> {
    const path = "channels.telegram.webhookSecret";
    const fresh = randomBytes(32).toString("base64url");
    // Only where none is saved yet: two processes switching at once end up with the same secret.
    await Tenant.updateOne({ _id: tenantId, [path]: { $in: [null, ""] } }, { $set: { [path]: sealTenantSecret({ _id: tenantId }, path, fresh) } }).exec();
    const tenant = await Tenant.findById(tenantId).exec();
    const secret = tenant ? openTenantSecret(tenant, path) : undefined;
    if (!secret) throw new StoreBotError("unknown-store", `no store has the id ${tenantId}`);
    registerSecret(secret);
    return secret;
  }

  #webhookUrl(slug: string): string {
    const base = this.#options.publicUrl?.replace(/\/+$/, "");
    if (!base) throw new StoreBotError("no-public-url", "webhook mode needs PUBLIC_URL, the address Telegram can reach this server at");
    return `${base}/telegram/${encodeURIComponent(slug)}`;
  }

  /**
   * For a store whose bot is not running here: checked against the store's saved webhook
   * secret, so a request carrying it learns the store is suspended (410) or its bot runs
   * elsewhere (503, Telegram retries), and any other learns nothing, not even whether the
   * store exists (401).
   */
  async #absentStatus(slug: string, header: string | undefined): Promise<401 | 410 | 503> {
    let known = this.#absent.get(slug);
    if (!known || known.until <= Date.now()) {
      const tenant = await Tenant.findOne({ slug }, { status: 1, "channels.telegram.webhookSecret": 1 }).lean<TenantFields & { _id: unknown }>().exec();
      const secret = tenant ? openTenantSecret(tenant, "channels.telegram.webhookSecret") : undefined;
      known = { status: !tenant ? 404 : tenant.status === "suspended" ? 410 : 503, secret: secret ? secretDigest(secret) : undefined, until: Date.now() + ABSENT_STATUS_MEMORY_MS };
      if (this.#absent.size > 10_000) this.#absent.clear();
      this.#absent.set(slug, known);
    }
    if (known.status === 404 || !carriesSecret(header, known.secret)) return 401;
    return known.status;
  }

  #status(bot: StoreBot): StoreBotStatus {
    return {
      tenantId: bot.tenant.id, slug: bot.tenant.slug, mode: bot.mode, botUsername: bot.bot.botInfo.username,
      ...(bot.mode === "polling" && { pollingHere: bot.fetching }),
    };
  }

  #logFor(slug: string): EngineLog {
    return (this.#options.logFor ?? tenantLogger)(slug);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A store's sweep fields in one string; the token only as a digest of its ciphertext. */
function fingerprintOf(row: SweepRow): string {
  const telegram = row.channels?.telegram;
  const token = telegram?.token ? createHash("sha256").update(telegram.token).digest("base64url").slice(0, 16) : "";
  return JSON.stringify([row.status, row.name, row.locale, telegram?.mode ?? "polling", token, telegram?.revokedAt?.getTime()]);
}
