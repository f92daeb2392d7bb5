/**
 * Discord as a channel of the platform: ONE discord.js `Client` for the platform's
 * application serves every store whose guild is linked (`channels.discord.guildId`), each
 * interaction routed to its store by guild (`InteractionTurns`).
 *
 * ```ts
 * const discord = new DiscordChannel({ engine, token, applicationId, apiRoot, guilds, services, log });
 * await discord.start();                    // logs in, registers the slash commands, serves every linked guild
 * await outbox.send({ tenantId, channel: "discord", chatId: userId }, [notice]);            // a DM
 * await outbox.send({ tenantId, channel: "discord", chatId: `#${staffChannelId}` }, [alert]); // the staff channel
 * await discord.stop(10_000);
 * ```
 *
 * The application needs the privileged Message Content intent (staff replies in ticket
 * threads, customers' DMs) enabled in the Developer Portal, and the bot invited with the
 * `bot` and `applications.commands` scopes.
 *
 * Capabilities: buttons (and select menus), edited messages (page turns), media both ways,
 * 2000 characters a message.
 */
import { Client, DiscordAPIError, Events, GatewayIntentBits, Partials } from "discord.js";
import type { RepliableInteraction, SendableChannels } from "discord.js";
import { Types } from "mongoose";
import { ChatQueue, notSent } from "../../flows/engine/index.ts";
import type {
  Channel, ChannelAddress, ChannelCapabilities, ChannelStoresReport, Engine, EngineLog, Locale, Outbound, SendFailureReason, SendOptions, SendReport, SentOutbound, StoreChangeSet,
} from "../../flows/engine/index.ts";
import { Tenant } from "../../storage/models/index.ts";
import { DISCORD_CHANNEL, DISCORD_ERRORS, parseChatId } from "./contract.ts";
import type { DiscordGuildAdmin, DiscordServices } from "./contract.ts";
import { downloadAttachment } from "./attachments.ts";
import { DiscordCustomers } from "./discord-customers.ts";
import { exemptInteractionWebhooks } from "./interaction-rest.ts";
import { InteractionTurns, payloadOf } from "./interaction-turns.ts";
import { renderOutbound, resolveMedia } from "./render.ts";
import { failureOf, SendRefused } from "./send-failures.ts";
import type { DiscordMessage } from "./render.ts";
import { buildCommands, registerCommands } from "./slash-commands.ts";
import type { CommandSet } from "./slash-commands.ts";
import { StaffRoles } from "./staff-roles.ts";

export const DISCORD_CAPABILITIES: ChannelCapabilities = { buttons: true, messageEdits: true, media: true, maxTextLength: 2000 };

export interface DiscordChannelOptions {
  engine: Engine;
  /** `DISCORD_TOKEN`: the platform application's bot token. */
  token: string;
  /** `DISCORD_APP_ID`. */
  applicationId: string;
  /** `DISCORD_API_ROOT` (`http://host:port/api`): REST goes there, and the gateway URL comes from its `GET /gateway/bot`. */
  apiRoot?: string;
  guilds: DiscordGuildAdmin;
  services?: DiscordServices;
  log: EngineLog;
  logFor?(slug: string): EngineLog;
  clock?: () => number;
  /** How long `start` waits for the gateway's READY. Default 30 000 ms. */
  loginTimeoutMs?: number;
  /** The largest file fetched: a customer's attachment (over `maxBytes` anyway) or an outbound file by URL. Default 8 MiB. */
  maxMediaBytes?: number;
}

/** Follow-ups on an interaction token are accepted for 15 min; leave a margin. */
const FOLLOW_UP_WINDOW_MS = 14 * 60_000;
const NO_MENTIONS = { parse: [] as [] };

type DiscordTarget = NonNullable<ReturnType<typeof parseChatId>>;

export class DiscordChannel implements Channel {
  readonly name = DISCORD_CHANNEL;
  readonly capabilities = DISCORD_CAPABILITIES;
  /** The platform application's client; other parts (the staff desk) listen and send on it. */
  readonly client: Client;
  readonly turns: InteractionTurns;
  readonly #options: DiscordChannelOptions;
  readonly #log: EngineLog;
  readonly #clock: () => number;
  readonly #customers = new DiscordCustomers();
  readonly #outgoing = new ChatQueue();
  readonly #sends = new Set<Promise<unknown>>();
  readonly #latest = new Map<string, { interaction: RepliableInteraction; at: number }>();
  readonly #served = new Map<string, string>();
  readonly #stopInteractionRest: () => void;
  #commands: CommandSet | undefined;
  #ready = false;
  #stopped = false;
  #stopping: Promise<boolean> | undefined;

  constructor(options: DiscordChannelOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#clock = options.clock ?? Date.now;
    this.client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent],
      partials: [Partials.Channel, Partials.Message],
      ...(options.apiRoot && { rest: { api: options.apiRoot } }),
    });
    this.#stopInteractionRest = exemptInteractionWebhooks(this.client.rest, options.applicationId);
    this.turns = new InteractionTurns({
      engine: options.engine,
      guilds: options.guilds,
      ...(options.services && { services: options.services }),
      commands: () => this.commands,
      customers: this.#customers,
      staff: new StaffRoles(options.log, this.#clock),
      log: options.log,
      ...(options.logFor && { logFor: options.logFor }),
      media: { timeoutMs: 30_000, maxBytes: this.#maxMediaBytes },
      acknowledged: (userId, interaction) => this.#remember(userId, interaction),
    });
    this.client.on(Events.InteractionCreate, (interaction) => void this.turns.interaction(interaction));
    this.client.on(Events.MessageCreate, (message) => void this.turns.message(message));
    this.client.on(Events.GuildDelete, (guild) => {
      this.#options.guilds.guildRemoved(guild.id).catch((error: unknown) => this.#log.error("discord guild removal not recorded", { guildId: guild.id, error: describe(error) }));
    });
    this.client.on(Events.Error, (error) => this.#log.error("discord client error", { error: describe(error) }));
  }

  /** The slash commands built from the engine's flows. */
  get commands(): CommandSet {
    return (this.#commands ??= buildCommands(this.#options.engine.platformFlows));
  }

  get #maxMediaBytes(): number {
    return this.#options.maxMediaBytes ?? 8 << 20;
  }

  /**
   * Logs in (within `loginTimeoutMs`), makes the global slash commands current, and serves
   * every linked guild. A login that fails is reported as every store failing, never thrown.
   */
  async start(): Promise<ChannelStoresReport> {
    if (this.#stopped) return { started: [], stopped: [], failed: [] };
    const stores = await linkedStores();
    try {
      await this.#login();
    } catch (error) {
      this.#log.error("discord login failed", { error: describe(error) });
      return { started: [], stopped: [], failed: [...stores.values()].map((slug) => ({ slug, reason: `Discord login failed: ${describe(error)}` })) };
    }
    try {
      const wrote = await registerCommands(this.client.rest, this.#options.applicationId, this.commands.commands);
      this.#log.info(wrote ? "discord slash commands registered" : "discord slash commands already current", { count: this.commands.commands.length });
    } catch (error) {
      this.#log.error("discord slash commands not registered", { error: describe(error) });
    }
    for (const [id, slug] of stores) this.#served.set(id, slug);
    return { started: [...stores.values()], stopped: [], failed: [] };
  }

  async #login(): Promise<void> {
    const timeoutMs = this.#options.loginTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<void>((resolve) => this.client.once(Events.ClientReady, () => resolve()));
    try {
      await Promise.race([
        this.client.login(this.#options.token).then(() => ready),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no READY within ${timeoutMs} ms`)), timeoutMs))),
      ]);
      this.#ready = true;
    } catch (error) {
      await this.client.destroy().catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Drops the guild cache and reports which stores were linked, unlinked or suspended since:
   * of the stores in `changes` (from the store change feed), or of every store without it.
   */
  async followStoreChanges(changes: StoreChangeSet = { all: true }): Promise<ChannelStoresReport> {
    if (!changes.all && changes.ids.length === 0) return { started: [], stopped: [], failed: [], checked: 0 };
    this.#options.guilds.forget();
    if (this.#stopped) return { started: [], stopped: [], failed: [] };
    if (changes.all) {
      const now = await linkedStores();
      const started = [...now].filter(([id]) => !this.#served.has(id)).map(([, slug]) => slug);
      const stopped = [...this.#served].filter(([id]) => !now.has(id)).map(([, slug]) => slug);
      this.#served.clear();
      for (const [id, slug] of now) this.#served.set(id, slug);
      return { started, stopped, failed: [], checked: now.size };
    }
    const ids = changes.ids.filter((id) => Types.ObjectId.isValid(id));
    const rows = await Tenant.find({ _id: { $in: ids } }, { slug: 1, status: 1, "channels.discord.guildId": 1 })
      .lean<Array<{ _id: unknown; slug: string; status?: string; channels?: { discord?: { guildId?: string } } }>>().exec();
    const linked = new Map(rows.filter((row) => row.status === "active" && typeof row.channels?.discord?.guildId === "string").map((row) => [String(row._id), row.slug]));
    const report: ChannelStoresReport = { started: [], stopped: [], failed: [], checked: rows.length };
    for (const id of ids) {
      const slug = linked.get(id);
      const served = this.#served.get(id);
      if (slug !== undefined && served === undefined) report.started.push(slug);
      if (slug === undefined && served !== undefined) report.stopped.push(served);
      if (slug !== undefined) this.#served.set(id, slug);
      else this.#served.delete(id);
    }
    return report;
  }

  /** Stops taking interactions; turns and sends under way get `graceMs`, then the client is destroyed. */
  stop(graceMs: number): Promise<boolean> {
    this.#stopped = true;
    this.#stopping ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const drained = Promise.all([this.turns.close(), (async () => {
        while (this.#sends.size > 0) await Promise.allSettled([...this.#sends]);
      })()]).then(() => true);
      const inTime = await Promise.race([drained, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)))]);
      clearTimeout(timer);
      this.#ready = false;
      await this.client.destroy().catch(() => undefined);
      this.#stopInteractionRest();
      return inTime;
    })();
    return this.#stopping;
  }

  // ---------------------------------------------------------------- outside a turn

  /**
   * Sends to a person (their user id: a DM; when their DMs are closed, an ephemeral
   * follow-up on their interaction of the last 14 minutes) or to a channel or thread of the
   * store's guild (`#<id>`). Never throws.
   */
  send(to: ChannelAddress, outbounds: readonly Outbound[], options: SendOptions = {}): Promise<SendReport> {
    return this.#inLine(to.chatId, outbounds.length, () => this.#send(to, outbounds, options));
  }

  /**
   * Replaces the text and buttons of a message the channel sent outside a turn (a DM, or a
   * message in the store's guild), in line with the chat's sends. An ephemeral follow-up
   * cannot be edited: reported `rejected`, as is a message Discord no longer has. Never throws.
   */
  edit(to: ChannelAddress, messageId: string, outbound: Outbound, options: Pick<SendOptions, "locale"> = {}): Promise<SendReport> {
    return this.#inLine(to.chatId, 1, () => this.#edit(to, messageId, outbound, options));
  }

  /** Runs a send or an edit after the ones under way for the chat, counted until it ends; never rejects. */
  #inLine(chatId: string, count: number, work: () => Promise<SendReport>): Promise<SendReport> {
    if (this.#stopped) return Promise.resolve(notSent(count, "shutting-down"));
    const done = this.#outgoing.run(chatId, work).catch((error: unknown) => {
      this.#log.error("discord send failed", { error: describe(error) });
      return notSent(count, "failed", describe(error));
    });
    this.#sends.add(done);
    void done.finally(() => this.#sends.delete(done));
    return done;
  }

  /** Where a send or an edit goes, and in which language; or the report of why it cannot. */
  async #addressed(to: ChannelAddress, count: number, options: Pick<SendOptions, "locale">): Promise<SendReport | { target: DiscordTarget; guildId: string; locale: Locale }> {
    const target = parseChatId(to.chatId);
    if (!target) return notSent(count, "unreachable", `"${to.chatId}" is no Discord user or channel id`);
    if (!this.#ready) return notSent(count, "store-unavailable", "not connected to Discord");
    const store = await storeLink(to.tenantId);
    if (!store || store.status !== "active") return notSent(count, "store-unavailable", store ? "the store is suspended" : "the store has no linked Discord guild");
    const locale = options.locale ?? (target.kind === "user" ? await this.#customers.chosenLocale(to.tenantId, target.userId).catch(() => undefined) : undefined) ?? store.locale;
    return { target, guildId: store.guildId, locale };
  }

  async #edit(to: ChannelAddress, messageId: string, outbound: Outbound, options: Pick<SendOptions, "locale">): Promise<SendReport> {
    if (!/^\d{5,25}$/.test(messageId)) return notSent(1, "rejected", "not a Discord message id");
    const addressed = await this.#addressed(to, 1, options);
    if ("messages" in addressed) return addressed;
    const { target, guildId, locale } = addressed;
    try {
      const channel = target.kind === "user" ? await this.client.users.createDM(target.userId) : await this.#guildChannel(target.channelId, guildId);
      const [message] = renderOutbound({ text: outbound.text, ...(outbound.choices && { choices: outbound.choices }), ...(outbound.prompt && { prompt: outbound.prompt }) }, locale);
      await channel.messages.edit(messageId, { ...(message.content !== "" && { content: message.content }), components: message.components, allowedMentions: NO_MENTIONS });
      return { ok: true, sent: 1, messages: [{ status: "sent", messageIds: [messageId] }] };
    } catch (error) {
      const failure = failureOf(error);
      this.#log.warn("discord message not edited", { reason: failure.reason, detail: failure.detail });
      return notSent(1, failure.reason, failure.detail, failure.retryAfterSec);
    }
  }

  async #send(to: ChannelAddress, outbounds: readonly Outbound[], options: SendOptions): Promise<SendReport> {
    const addressed = await this.#addressed(to, outbounds.length, options);
    if ("messages" in addressed) return addressed;
    const { target, guildId, locale } = addressed;
    let post: (message: DiscordMessage) => Promise<string>;
    try {
      post = target.kind === "user" ? await this.#dm(target.userId) : await this.#inGuildChannel(target.channelId, guildId);
    } catch (error) {
      const failure = failureOf(error);
      return notSent(outbounds.length, failure.reason, failure.detail, failure.retryAfterSec);
    }
    const messages: SentOutbound[] = [];
    let stop: { reason: SendFailureReason; detail: string; retryAfterSec?: number } | undefined;
    for (const outbound of outbounds) {
      if (stop) {
        messages.push({ status: "skipped", messageIds: [] });
        continue;
      }
      const ids: string[] = [];
      try {
        for (const message of renderOutbound(outbound, locale, await resolveMedia(outbound.media, { timeoutMs: 30_000, maxBytes: this.#maxMediaBytes }))) {
          ids.push(await post(message));
        }
        messages.push({ status: "sent", messageIds: ids });
      } catch (error) {
        stop = failureOf(error);
        this.#log.warn("discord message not sent", { reason: stop.reason, detail: stop.detail });
        messages.push({ status: "failed", messageIds: ids, reason: stop.reason, detail: stop.detail });
      }
    }
    return {
      ok: !stop, sent: messages.filter((m) => m.status === "sent").length, messages,
      ...(stop && { reason: stop.reason, detail: stop.detail }),
      ...(stop?.retryAfterSec !== undefined && { retryAfterSec: stop.retryAfterSec }),
    };
  }

  /** Posts into the person's DM; when Discord refuses DMs to them (50007), into their fresh interaction instead. */
  async #dm(userId: string): Promise<(message: DiscordMessage) => Promise<string>> {
    const dm = await this.client.users.createDM(userId);
    return async (message) => {
      try {
        return (await dm.send({ ...payloadOf(message), allowedMentions: NO_MENTIONS })).id;
      } catch (error) {
        if (!(error instanceof DiscordAPIError) || error.code !== DISCORD_ERRORS.cannotMessageUser) throw error;
        const latest = this.#latest.get(userId);
        if (!latest || this.#clock() - latest.at > FOLLOW_UP_WINDOW_MS) throw error;
        return (await latest.interaction.followUp({ ...payloadOf(message), allowedMentions: NO_MENTIONS, flags: 64 })).id;
      }
    };
  }

  /** Posts into a channel or thread, only if it belongs to the store's own guild. */
  async #inGuildChannel(channelId: string, guildId: string): Promise<(message: DiscordMessage) => Promise<string>> {
    const sendable = await this.#guildChannel(channelId, guildId);
    return async (message) => (await sendable.send({ ...payloadOf(message), allowedMentions: NO_MENTIONS })).id;
  }

  /** A channel or thread of the store's own guild; `SendRefused` for any other. */
  async #guildChannel(channelId: string, guildId: string): Promise<SendableChannels> {
    const channel = await this.client.channels.fetch(channelId);
    if (!channel || !("guildId" in channel) || channel.guildId !== guildId || !channel.isSendable()) {
      throw new SendRefused("unreachable", "no such channel in the store's guild");
    }
    return channel as SendableChannels;
  }

  #remember(userId: string, interaction: RepliableInteraction): void {
    this.#latest.delete(userId);
    if (this.#latest.size >= 20_000) this.#latest.delete(this.#latest.keys().next().value as string);
    this.#latest.set(userId, { interaction, at: this.#clock() });
  }

  // ---------------------------------------------------------------- files

  /** A file a person sent (its attachment URL), within `maxBytes`. */
  fetchFile(_tenantId: string, fileRef: string, options: { maxBytes: number }): Promise<Buffer> {
    return downloadAttachment(fileRef, options.maxBytes, this.#options.apiRoot);
  }
}

/** Active stores with a linked guild, id → slug. */
async function linkedStores(): Promise<Map<string, string>> {
  const rows = await Tenant.find({ "channels.discord.guildId": { $type: "string" }, status: "active" }, { slug: 1 }).lean<{ _id: unknown; slug: string }[]>().exec();
  return new Map(rows.map((row) => [String(row._id), row.slug]));
}

async function storeLink(tenantId: string): Promise<{ guildId: string; status: string; locale: Locale } | undefined> {
  if (!Types.ObjectId.isValid(tenantId)) return undefined;
  const row = await Tenant.findById(tenantId, { status: 1, locale: 1, "channels.discord.guildId": 1 })
    .lean<{ status?: string; locale?: string; channels?: { discord?: { guildId?: string } } }>().exec();
  const guildId = row?.channels?.discord?.guildId;
  if (!row || !guildId) return undefined;
  return { guildId, status: row.status ?? "active", locale: row.locale === "en" ? "en" : "id" };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
