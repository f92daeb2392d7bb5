/**
 * Every store's Telegram bot in one process: the registry `TelegramChannel` stands on.
 * Each operation touches one store only:
 * starting, stopping, suspending, re-tokening or moving a store between long polling and
 * webhook never pauses another store's bot. Operations on one store run one at a time.
 *
 * ```ts
 * const telegram = new StoreBots({
 *   engine, encryptionKey: config.encryptionKey, apiRoot: config.telegramApiRoot,
 *   publicUrl: config.publicUrl, http,
 *   log: logger, logFor: tenantLogger,
 *   onTokenRevoked: (store) => ownerAlerts.tokenRevoked(store),
 * });
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
import { GrammyError } from "grammy";
import type { FastifyPluginAsync } from "fastify";
import { ChatQueue } from "../../flows/engine/index.ts";
import type { EngineLog, MembershipChange, Outbound, SendOptions, SendReport, StoreChangeSet } from "../../flows/engine/index.ts";
import { resolveLocale } from "../../locales/i18n.ts";
import { Tenant } from "../../storage/models/index.ts";
import type { TenantDoc } from "../../storage/models/index.ts";
import { AbsentStores, StartingStores } from "./absent-stores.ts";
import { BotTroubles } from "./bot-health.ts";
import { describe, StoreBotError } from "./bot-status.ts";
import type { StartAllReport, StoreBotStatus, SweepReport } from "./bot-status.ts";
import { checkNewToken, recordRevoked, savedWebhookSecret, saveToken, tokenOf } from "./bot-tokens.ts";
import { ButtonSigner, PromptTags } from "./button-data.ts";
import { OutsideTurns } from "./outside-turns.ts";
import { OutgoingPacer } from "./outgoing-pacer.ts";
import { StoreBot } from "./store-bot.ts";
import type { StoreBotShared, StoreTenant, TelegramMode } from "./store-bot.ts";
import type { StoreBotsOptions } from "./store-bots-options.ts";
import { StoreSweep } from "./store-sweep.ts";
import type { LoadedStore } from "./store-sweep.ts";
import { BackgroundLine } from "./background-line.ts";
import { IdentityChecks } from "./identity-checks.ts";
import { TelegramMemory } from "./telegram-memory.ts";
import { UpdateModes } from "./update-modes.ts";
import { WebhookHealth } from "./webhook-health.ts";
import { telegramWebhookRoutes } from "./webhook-endpoint.ts";

export type { TelegramMode } from "./store-bot.ts";
export type { SellerMenuFilter } from "./member-menus.ts";
export type { StoreBotsOptions } from "./store-bots-options.ts";
export type { BotTrouble, BotTroubleKind } from "./bot-health.ts";
export type { WebhookProblem } from "./webhook-health.ts";
export { StoreBotError } from "./bot-status.ts";
export type { StartAllReport, StoreBotStatus, SweepReport } from "./bot-status.ts";

export const DEFAULT_TELEGRAM_API_ROOT = "https://api.telegram.org";

const silent: EngineLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class StoreBots {
  /** `POST /telegram/:tenant`, for the platform's HTTP server to register before it listens. */
  readonly routes: FastifyPluginAsync;
  readonly #options: StoreBotsOptions;
  readonly #shared: StoreBotShared;
  readonly #bots = new Map<string, StoreBot>();
  readonly #bySlug = new Map<string, StoreBot>();
  readonly #live = new WeakSet<StoreBot>();
  /** Each bot's menus being set in the background after its start. */
  readonly #menus = new WeakMap<StoreBot, Promise<void>>();
  /** Bots whose background menus have left the line and begun. */
  readonly #menusBegun = new WeakSet<StoreBot>();
  readonly #background = new BackgroundLine(8);
  readonly #lifecycle = new ChatQueue();
  readonly #absent = new AbsentStores();
  /** Stores `startAll` is about to start: their webhook requests wait for their bot. */
  readonly #starting = new StartingStores();
  /** Bots started from a remembered identity, each asked `getMe` once in the background. */
  readonly #identityChecks: IdentityChecks;
  /** Per store, outliving its bot's restarts: a flood wait Telegram imposed still holds after a re-token. */
  readonly #pacers = new Map<string, OutgoingPacer>();
  /** Sends, menu refreshes and downloads, on the running bot or an idle one. */
  readonly #outside: OutsideTurns;
  readonly #sweep: StoreSweep;
  readonly #modes: UpdateModes;
  /** What each store's bot reported about reaching Telegram, outliving its restarts. */
  readonly #troubles: BotTroubles;
  readonly #webhookHealth: WebhookHealth;
  /** Stores whose revoked token this registry recorded: the next accepted token is told (`onTokenAccepted`). */
  readonly #revokedHere = new Set<string>();
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
      ...(options.unreachableAfterMs !== undefined && { unreachableAfterMs: options.unreachableAfterMs }),
      ...(options.conflictRetryMs !== undefined && { conflictRetryMs: options.conflictRetryMs }),
    };
    this.#troubles = new BotTroubles(
      {
        ...(options.onBotTrouble && { onTrouble: options.onBotTrouble }),
        ...(options.onBotRecovered && { onRecovered: options.onBotRecovered }),
      },
      (error) => (options.log ?? silent).error("onBotTrouble or onBotRecovered failed", { error: describe(error) }),
    );
    this.#webhookHealth = new WebhookHealth({
      ...options.webhookHealth,
      webhooks: () => [...this.#bots.values()].filter((bot) => bot.mode === "webhook").map((bot) => ({ store: bot.tenant, api: bot.bot.api })),
      fallBack: (tenantId) => this.switchMode(tenantId, "polling"),
      onError: (store, error) => this.#logFor(store.slug).warn("telegram webhook check failed", { tenant: store.slug, error: describe(error) }),
    });
    const answerWithinMs = options.webhookAnswerWithinMs ?? 8000;
    this.routes = telegramWebhookRoutes({
      botFor: (slug) => this.#bySlug.get(slug),
      starting: (slug, secret) =>
        this.#starting.waitFor(slug, secret, options.webhookHoldMs ?? Math.min(4000, answerWithinMs / 2), (tenantId) => this.#sweep.hurry(tenantId)),
      absentStatus: (slug, secret) => this.#absent.statusFor(slug, secret),
      closing: () => this.#closing,
      answerWithinMs,
    });
    this.#identityChecks = new IdentityChecks({
      perSecond: options.identityChecksPerSecond ?? 5,
      check: async (tenantId) => {
        const bot = this.#bots.get(tenantId);
        if (!bot || !this.#live.has(bot)) return;
        await bot.checkIdentity().catch((error: unknown) => {
          // A 401 already took the revoked-token path (`onUnauthorized`).
          if (error instanceof GrammyError && error.error_code === 401) return;
          this.#logFor(bot.tenant.slug).warn("telegram background identity check failed; trying again later", { tenant: bot.tenant.slug, error: describe(error) });
          throw error;
        });
      },
    });
    this.#modes = new UpdateModes({
      ...(options.publicUrl !== undefined && { publicUrl: options.publicUrl }),
      ...(options.leases && { leases: options.leases }),
      ...(options.pollLeaseMs !== undefined && { pollLeaseMs: options.pollLeaseMs }),
      ...(options.leaseStoreAnswers && { leaseStoreAnswers: options.leaseStoreAnswers }),
      ...(options.http && { metrics: options.http.metrics }),
      log: options.log ?? silent,
      logFor: (slug) => this.#logFor(slug),
      runningBot: (tenantId) => this.#bots.get(tenantId),
      serially: (tenantId, work) => this.#serially(tenantId, work),
      closing: () => this.#closing,
    });
    this.#outside = new OutsideTurns({
      apiRoot: this.#shared.apiRoot,
      runningBot: (tenantId) => this.#bots.get(tenantId),
      ...(options.maxDownloadBytes !== undefined && { maxDownloadBytes: options.maxDownloadBytes }),
      load: (tenantId) => this.#load(tenantId),
      makeIdle: (store, token, onUnauthorized) =>
        new StoreBot({ ...this.#shared, tenant: store, token, log: this.#logFor(store.slug), pacer: this.#pacerFor(store.id), onUnauthorized }),
      revoked: (store) => this.#markRevoked(store),
      logFor: (slug) => this.#logFor(slug),
    });
    this.#sweep = new StoreSweep(
      {
        closing: () => this.#closing,
        running: () => this.#bots,
        start: (tenantId, loaded) => this.#serially(tenantId, () => this.#start(tenantId, loaded)),
        expect: (stores) => this.#starting.expect(stores.map((store) => ({ tenantId: String(store._id), slug: store.slug, secret: savedWebhookSecret(store) }))),
        settle: (slug, up) => this.#starting.settled(slug, up),
        reconcile: (tenantId) => this.reconcile(tenantId),
      },
      options.startConcurrency,
    );
  }

  /**
   * Starts the bot of every active store that has a token Telegram has not revoked, from one
   * read of the stores; a store whose bot identity, webhook and menus are remembered (see
   * `TelegramMemory`) starts without a call to Telegram, and is checked with `getMe` in the
   * background afterwards (`identityChecksPerSecond`). Each store takes webhook updates as
   * soon as its own bot is up; one that arrives earlier waits for it (`webhookHoldMs`) and
   * moves its start to the front. Never throws for one store.
   */
  async startAll(): Promise<StartAllReport> {
    this.#webhookHealth.start();
    try {
      return await this.#sweep.startAll();
    } finally {
      this.#starting.settleAll();
    }
  }

  /**
   * Reads `getWebhookInfo` of every store running here in webhook mode, and moves a store
   * whose webhook keeps failing to long polling (see `WebhookHealth`). `startAll` starts
   * doing this every `webhookHealth.everyMs`.
   */
  checkWebhooks(): Promise<void> {
    return this.#webhookHealth.check();
  }

  /**
   * Makes the running bots match what is saved now, for stores changed by anyone — `niaga
   * tenant suspend` in another process, a re-token, a mode switch (see `StoreSweep`): the
   * stores in `changes` (from the store change feed), or every store without it. Never
   * throws for one store.
   */
  reconcileChanged(changes?: StoreChangeSet): Promise<SweepReport> {
    return this.#sweep.reconcileChanged(changes);
  }

  /** Sends messages to a chat outside a conversation turn; see `OutsideTurns.sendTo`. Never throws. */
  sendTo(tenantId: string, chatId: string, replies: readonly Outbound[], opts: SendOptions = {}): Promise<SendReport> {
    return this.#outside.sendTo(tenantId, chatId, replies, opts);
  }

  /** Replaces a message sent outside a turn; see `OutsideTurns.edit`. Never throws. */
  edit(tenantId: string, chatId: string, messageId: string, outbound: Outbound, opts: Pick<SendOptions, "locale"> = {}): Promise<SendReport> {
    return this.#outside.edit(tenantId, chatId, messageId, outbound, opts);
  }

  /** A member's command menu follows their role (`AdminServices.onMembershipChanged`); never rejects. */
  memberChanged(change: MembershipChange): Promise<void> {
    return this.#outside.memberChanged(change);
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
      const botUsername = await checkNewToken(token, this.#shared.apiRoot);
      await this.#stop(tenantId);
      await saveToken(tenantId, token, botUsername);
      this.#absent.forgetAll();
      this.#revokedHere.add(tenantId);
      return this.#start(tenantId);
    });
  }

  /** Suspends a store: saved as suspended, its bot stopped; its webhook then answers 410. */
  suspend(tenantId: string, reason = ""): Promise<void> {
    return this.#serially(tenantId, async () => {
      await Tenant.updateOne({ _id: tenantId }, { $set: { status: "suspended", suspendedReason: reason } }).exec();
      this.#absent.forgetAll();
      await this.#stop(tenantId);
    });
  }

  /** Lifts a suspension and starts the store's bot. */
  resume(tenantId: string): Promise<StoreBotStatus> {
    return this.#serially(tenantId, async () => {
      await Tenant.updateOne({ _id: tenantId }, { $set: { status: "active" }, $unset: { suspendedReason: 1 } }).exec();
      this.#absent.forgetAll();
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
      if (mode === "webhook") this.#modes.webhookUrl("any");
      const saved = await Tenant.updateOne({ _id: tenantId }, { $set: { "channels.telegram.mode": mode } }).exec();
      if (saved.matchedCount === 0) throw new StoreBotError("unknown-store", `no store has the id ${tenantId}`);
      const bot = this.#bots.get(tenantId);
      if (!bot || bot.mode === mode) return;
      await this.#modes.moveTo(bot, mode);
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
      const token = tenant ? tokenOf(tenant) : undefined;
      const runnable = tenant && tenant.status === "active" && token && !tenant.channels?.telegram?.revokedAt;
      this.#absent.forgetAll();
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
      if (running.mode !== mode) await this.#modes.moveTo(running, mode);
      return this.#status(running);
    });
  }

  /** The bytes of a file a user sent, by the engine's `fileRef`; see `OutsideTurns.downloadFile`. */
  downloadFile(tenantId: string, fileRef: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    return this.#outside.downloadFile(tenantId, fileRef, options);
  }

  /**
   * Resolves once the store's running bot has set its command menus (customers' and
   * members'), or found Telegram has them already. Never rejects.
   */
  async menusSettled(tenantId: string): Promise<void> {
    const bot = this.#bots.get(tenantId);
    if (bot) await this.#menus.get(bot);
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
    this.#webhookHealth.stop();
    this.#identityChecks.close();
    this.#starting.settleAll();
    const closed = this.#outside.close();
    const drained = (async () => {
      await this.stopAll();
      // The stores' leases are back (the other instances take over); what still sends finishes.
      await this.#modes.close();
      await closed;
    })();
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      drained.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    for (const pacer of this.#pacers.values()) pacer.close();
    return inTime;
  }

  // ---------------------------------------------------------------- internals

  #serially<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    return this.#lifecycle.run(tenantId, work);
  }

  /** Starts a store's bot, from `loaded` (read by `startAll`) or from a fresh read. */
  async #start(tenantId: string, loaded?: LoadedStore): Promise<StoreBotStatus> {
    const running = this.#bots.get(tenantId);
    if (running) return this.#status(running);
    if (this.#closing) throw new StoreBotError("shutting-down", "the platform is shutting down");
    const tenant = loaded ?? (await this.#load(tenantId));
    const token = tokenOf(tenant);
    if (!token) throw new StoreBotError("no-token", `store ${tenant.slug} has no Telegram bot token`);
    if (tenant.channels?.telegram?.revokedAt) {
      throw new StoreBotError("token-revoked", `Telegram revoked the bot token of store ${tenant.slug}; give it a new one (retoken)`);
    }
    const mode: TelegramMode = tenant.channels?.telegram?.mode ?? "polling";
    if (mode === "webhook") this.#modes.webhookUrl(tenant.slug);
    const store: StoreTenant = { id: tenantId, slug: tenant.slug, name: tenant.name, locale: resolveLocale(tenant.locale) };
    const log = this.#logFor(store.slug);
    const pollingRight = this.#modes.pollingRight(tenantId);
    const memory = TelegramMemory.of(tenantId, store.slug, token, tenant.channels?.telegram?.known, log);
    const bot: StoreBot = new StoreBot({
      ...this.#shared, tenant: store, token, log, pacer: this.#pacerFor(tenantId), troubles: this.#troubles.of(store),
      onUnauthorized: () => void this.#tokenRevoked(bot),
      ...(pollingRight && { pollingRight }),
      memory,
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
    if (!bot.identityRemembered) await memory.rememberBotInfo(me, tenant.channels?.telegram?.botUsername);
    const secret = savedWebhookSecret(tenant);
    if (secret) bot.acceptSecret(secret);
    this.#bots.set(tenantId, bot);
    this.#bySlug.set(store.slug, bot);
    this.#outside.forgetIdle(tenantId);
    this.#live.add(bot);
    this.#absent.forget(store.slug);
    // From here its webhook requests are taken (the secret is accepted): whoever waited goes on.
    this.#starting.settled(store.slug, true);
    try {
      await this.#modes.begin(bot, mode, secret);
    } catch (error) {
      await this.#stop(tenantId);
      throw error;
    }
    // In the background: a store with hundreds of members must not hold up its start.
    const menus = this.#background.run(async () => {
      if (!this.#live.has(bot)) return;
      this.#menusBegun.add(bot);
      await bot.registerCommands().catch((error: unknown) => {
        log.warn("telegram commands not registered", { tenant: store.slug, error: describe(error) });
      });
      await bot.memberMenus.syncAll();
    });
    this.#menus.set(bot, menus);
    if (bot.identityRemembered) this.#identityChecks.add(tenantId);
    log.info("telegram store bot started", { tenant: store.slug, mode, bot: me.username, ...(bot.identityRemembered && { remembered: true }) });
    if (this.#revokedHere.delete(tenantId)) this.#tokenAccepted(store);
    return this.#status(bot);
  }

  async #stop(tenantId: string): Promise<void> {
    const bot = this.#bots.get(tenantId);
    if (!bot) return;
    this.#bots.delete(tenantId);
    this.#bySlug.delete(bot.tenant.slug);
    this.#live.delete(bot);
    this.#identityChecks.drop(tenantId);
    await bot.stop();
    // Its menus in the background: still in line, they are skipped when their turn comes (not
    // waited for); under way, they end after the call in flight, whose result is remembered
    // before the database goes away.
    if (this.#menusBegun.has(bot)) await this.#menus.get(bot)?.catch(() => undefined);
    await this.#modes.stopped(tenantId);
    this.#logFor(bot.tenant.slug).info("telegram store bot stopped", { tenant: bot.tenant.slug });
  }

  #pacerFor(tenantId: string): OutgoingPacer {
    let pacer = this.#pacers.get(tenantId);
    if (!pacer) {
      const shared = this.#options.sharedPace && { pace: this.#options.sharedPace, key: `telegram:${tenantId}` };
      this.#pacers.set(tenantId, (pacer = new OutgoingPacer({ ...this.#options.outgoingLimits, ...(shared && { shared }) })));
    }
    return pacer;
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

  #tokenAccepted(store: StoreTenant): void {
    try {
      this.#options.onTokenAccepted?.({ id: store.id, slug: store.slug, name: store.name });
    } catch (error) {
      this.#logFor(store.slug).error("onTokenAccepted failed", { tenant: store.slug, error: describe(error) });
    }
  }

  async #markRevoked(store: { id: string; slug: string; name: string }): Promise<void> {
    this.#logFor(store.slug).error("Telegram rejected the store's bot token (401); the bot is stopped until it gets a new token", { tenant: store.slug });
    await recordRevoked(store.id);
    this.#revokedHere.add(store.id);
    this.#absent.forget(store.slug);
    try {
      this.#options.onTokenRevoked?.({ id: store.id, slug: store.slug, name: store.name });
    } catch (error) {
      this.#logFor(store.slug).error("onTokenRevoked failed", { tenant: store.slug, error: describe(error) });
    }
  }

  #status(bot: StoreBot): StoreBotStatus {
    return {
      tenantId: bot.tenant.id, slug: bot.tenant.slug, mode: bot.mode, botUsername: bot.bot.botInfo.username,
      ...(bot.mode === "polling" && { pollingHere: bot.fetching }),
    };
  }

  #logFor(slug: string): EngineLog {
    return this.#options.logFor?.(slug) ?? silent;
  }
}
