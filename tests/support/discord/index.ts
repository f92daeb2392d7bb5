/**
 * A local Discord for tests: a gateway (WebSocket) and REST API on 127.0.0.1 that the real
 * discord.js 14 `Client` talks to over the protocols it uses in production. The test builds
 * guilds, members and channels, acts as the users (slash commands, buttons, select menus,
 * modals, autocomplete, messages, DMs) and reads what the bot did.
 *
 * ```ts
 * const discord = await LocalDiscord.start();
 * const owner = discord.user({ username: "budi", locale: "id" });
 * const guild = discord.guild({ name: "Toko Budi", owner });
 * discord.addBot(guild);
 * const client = new Client({ intents: [GatewayIntentBits.Guilds], partials: [Partials.Channel], rest: { api: discord.apiRoot } });
 * client.on("interactionCreate", (i) => i.isChatInputCommand() && i.reply({ content: "Halo!", flags: MessageFlags.Ephemeral }));
 * await client.login(discord.application.token);           // GET /gateway/bot → ws://127.0.0.1:…
 * await client.application!.commands.set([{ name: "toko", description: "Buka toko" }]);
 * const sari = discord.user({ username: "sari" });
 * const record = discord.command(sari, guild.defaultChannel, "toko");
 * (await record.waitForAnswer()).text();                   // "Halo!"
 * await client.destroy();
 * await discord.close();
 * ```
 *
 * What it enforces as Discord does: the first answer to an interaction within `firstAnswerMs`
 * of its id's timestamp (else 10062), one acknowledgement (else 40060), the interaction
 * webhook's 15 minutes, the bot token on REST where Discord wants it, Discord's limits on
 * messages, components, modals, choices and commands (50035), DMs closed (50007), unknown
 * channels/messages (10003/10008), intents (MESSAGE_CREATE needs GuildMessages/DirectMessages;
 * guild message content is blank without MessageContent unless the bot is mentioned).
 * What it simplifies: one bot application; no voice, presences, reactions, member chunks,
 * channel permission overwrites or real rate-limit buckets (headers always leave room;
 * `rateLimitNext` injects a 429). discord.js receives DMs only with `partials: [Partials.Channel]`
 * — as with Discord, DM channels are not announced before their first message.
 */
import { createServer } from "node:http";
import type { Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { CommandRegistry, commandData } from "./commands.ts";
import type { OptionValue, RegisteredCommand } from "./commands.ts";
import { cannotMessageUser, missingAccess, threadLocked } from "./errors.ts";
import { Gateway, Intent } from "./gateway.ts";
import type { GatewaySession } from "./gateway.ts";
import { InteractionKind, InteractionRecord, Interactions } from "./interactions.ts";
import { AttachmentStore, applyPayload, newMessage } from "./messages.ts";
import type { FileInput, LocalMessage } from "./messages.ts";
import { placeRoutes } from "./places.ts";
import { RestApi } from "./rest.ts";
import type { RestCall, UnhandledRequest } from "./rest.ts";
import type { PostOptions, Site } from "./site.ts";
import { snowflake } from "./snowflake.ts";
import { BOT_PERMISSIONS, ChannelKind, LocalChannel, LocalGuild, LocalUser } from "./world.ts";
import type { LocalMember } from "./world.ts";

export { InteractionRecord } from "./interactions.ts";
export type { Acknowledgement, InteractionError } from "./interactions.ts";
export { LocalMessage } from "./messages.ts";
export type { FileInput, LocalAttachment, MessageControl } from "./messages.ts";
export { LocalChannel, LocalGuild, LocalMember, LocalRole, LocalUser } from "./world.ts";
export type { OptionValue, RegisteredCommand } from "./commands.ts";
export type { RestCall, UnhandledRequest } from "./rest.ts";
export { snowflake, timestampOf } from "./snowflake.ts";

export interface LocalDiscordOptions {
  /** Discord's deadline for the first answer to an interaction. Default 3000 ms. */
  readonly firstAnswerMs?: number;
  /** The gateway's heartbeat interval (Discord: 41250 ms). */
  readonly heartbeatIntervalMs?: number;
  /** The platform bot's username. Default "Niaga". */
  readonly botName?: string;
  /**
   * Users can only run commands the bot registered (globally, or for that guild), with the
   * registered options — as in Discord's client. Default true; false lets a test send any.
   */
  readonly requireRegisteredCommands?: boolean;
}

/** Where a user acts: a guild channel or thread, or their DM with the bot (give the user). */
export type Place = LocalChannel | LocalUser;

const EPHEMERAL = 64;
const DM_APP_PERMISSIONS = "1126247033666624";

export class LocalDiscord {
  /** For `new Client({ rest: { api } })` and `DISCORD_API_ROOT`, e.g. `http://127.0.0.1:41234/api`. */
  apiRoot = "";
  /** The WebSocket URL `GET /gateway/bot` hands out. */
  gatewayUrl = "";
  /** `http://127.0.0.1:PORT`: attachments are served under it. */
  origin = "";
  /** The platform's application; its bot user has the same id. */
  readonly application: { readonly id: string; readonly token: string };
  readonly bot: LocalUser;
  /** Discord's deadline for an interaction's first answer; may be changed while running. */
  firstAnswerMs: number;
  /** Every interaction the users started, oldest first. */
  readonly interactions: InteractionRecord[];
  /** @internal */ readonly attachments = new AttachmentStore();
  /** @internal */ readonly rest: RestApi;
  /** @internal */ readonly gateway: Gateway;
  /** @internal */ readonly commands: CommandRegistry;
  /** @internal */ readonly guilds = new Map<string, LocalGuild>();
  /** @internal */ readonly users = new Map<string, LocalUser>();
  /** @internal */ readonly channels = new Map<string, LocalChannel>();
  /** @internal */ readonly messages = new Map<string, LocalMessage>();
  /** @internal */ readonly channelMessages = new Map<string, LocalMessage[]>();
  private readonly dms = new Map<string, LocalChannel>();
  private readonly server: Server;
  private readonly interactionsInFlight: Interactions;
  private readonly requireRegistered: boolean;
  private userCount = 0;
  private guildCount = 0;

  /** Starts a local Discord on 127.0.0.1 and a free port. Call `close()` when done. */
  static async start(options: LocalDiscordOptions = {}): Promise<LocalDiscord> {
    const discord = new LocalDiscord(options);
    await discord.listen();
    return discord;
  }

  private constructor(options: LocalDiscordOptions) {
    this.firstAnswerMs = options.firstAnswerMs ?? 3000;
    this.requireRegistered = options.requireRegisteredCommands ?? true;
    const appId = snowflake(Date.now() - 400 * 86_400_000);
    this.application = {
      id: appId,
      token: `${Buffer.from(appId).toString("base64url")}.${randomBytes(4).toString("base64url")}.${randomBytes(28).toString("base64url")}`,
    };
    this.bot = new LocalUser(appId, options.botName ?? "Niaga", null, "en-US", true);
    this.users.set(appId, this.bot);
    this.rest = new RestApi(() => this.application.token);
    this.commands = new CommandRegistry(() => this.application.id, (id) => this.botGuild(id));
    this.gateway = new Gateway({
      token: () => this.application.token,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      url: () => this.gatewayUrl,
      identify: (session) => this.readyFor(session),
    });
    this.interactionsInFlight = new Interactions(this.site(), () => this.firstAnswerMs);
    this.interactions = this.interactionsInFlight.all;
    this.rest.add(...this.interactionsInFlight.routes(), ...this.commands.routes(), ...placeRoutes(this));
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", this.origin);
      const served = url.pathname.startsWith("/attachments/") ? this.serveAttachment(url, res) : this.rest.serve(req, res, url);
      Promise.resolve(served).catch((error: unknown) => {
        console.error("local discord: request failed", error);
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ message: "500: Internal Server Error", code: 0 }));
      });
    });
    // Discord's edge keeps connections open long; Node's default 5 s races a client that
    // reuses a socket while its event loop lags, and the request is lost ("other side closed").
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.on("upgrade", (req, socket, head) => {
      if ((req.url ?? "").startsWith("/gateway")) this.gateway.upgrade(req, socket, head);
      else socket.destroy();
    });
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.apiRoot = `${this.origin}/api`;
    this.gatewayUrl = `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/gateway`;
    this.attachments.origin = this.origin;
  }

  /** Closes the gateway's connections and the server. */
  async close(): Promise<void> {
    await this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- people and places ---------------------------------------------------------------

  /** A Discord user: `discord.user({ username: "sari", locale: "id" })`. */
  user(options: { username?: string; globalName?: string; locale?: string } = {}): LocalUser {
    this.userCount += 1;
    const user = new LocalUser(snowflake(Date.now() - 200 * 86_400_000), options.username ?? `user${this.userCount}`, options.globalName ?? null, options.locale ?? "id");
    this.users.set(user.id, user);
    return user;
  }

  /**
   * A guild with its @everyone role and a "general" text channel (`guild.defaultChannel`);
   * the owner (made if not given) is a member. The bot is not in it until `addBot(guild)`.
   */
  guild(options: { name?: string; owner?: LocalUser; ownerId?: string; locale?: string } = {}): LocalGuild {
    this.guildCount += 1;
    const owner = options.owner ?? (options.ownerId ? this.users.get(options.ownerId) : undefined) ?? this.user({ username: `owner${this.guildCount}` });
    const guild = new LocalGuild(snowflake(), options.name ?? `Guild ${this.guildCount}`, owner.id, options.locale ?? "id", {
      dispatch: (g, event, data) => {
        if (!g.botPresent) return;
        if (event === "CHANNEL_CREATE") this.channels.set(String(data.id), g.channel(String(data.id))!);
        this.gateway.dispatch(event, data, { guildId: g.id, intent: event.startsWith("GUILD_MEMBER") ? Intent.GuildMembers : Intent.Guilds });
      },
    });
    for (const channel of guild.channels) this.channels.set(channel.id, channel);
    guild.member(owner);
    this.guilds.set(guild.id, guild);
    return guild;
  }

  /** A text channel in a guild (same as `guild.textChannel(name)`, and known to REST). */
  textChannel(guild: LocalGuild, name: string): LocalChannel {
    const channel = guild.textChannel(name);
    this.channels.set(channel.id, channel);
    return channel;
  }

  /** The bot joins the guild (invited with its permissions): GUILD_CREATE to connected gateways. */
  addBot(guild: LocalGuild, options: { permissions?: bigint } = {}): LocalMember {
    for (const channel of guild.channels) this.channels.set(channel.id, channel);
    const role = guild.role(this.bot.username, { permissions: options.permissions ?? BOT_PERMISSIONS });
    guild.botPresent = true;
    guild.botJoinedAt = new Date();
    const member = guild.member(this.bot, { roles: [role] });
    this.gateway.dispatch("GUILD_CREATE", guild.createJson(member), { guildId: guild.id, intent: Intent.Guilds });
    return member;
  }

  /** The bot is kicked (or the guild deleted): GUILD_DELETE without `unavailable`. */
  removeBot(guild: LocalGuild): void {
    guild.botPresent = false;
    guild.members.delete(this.bot.id);
    this.gateway.dispatch("GUILD_DELETE", { id: guild.id }, { guildId: guild.id, intent: Intent.Guilds });
  }

  /** The DM channel between the bot and `user` (made on first use, as `POST /users/@me/channels` does). */
  dmChannel(user: LocalUser): LocalChannel {
    let channel = this.dms.get(user.id);
    if (!channel) {
      channel = new LocalChannel(snowflake(), ChannelKind.Dm, "", undefined, undefined, undefined, user);
      this.dms.set(user.id, channel);
      this.channels.set(channel.id, channel);
    }
    return channel;
  }

  // --- acting as users -------------------------------------------------------------------

  /**
   * `user` runs `/name` in a guild channel (or thread), or in their DM with the bot (pass the user).
   * `discord.command(sari, guild.defaultChannel, "pesan", { produk: "KOPI", jumlah: 2 }, { subcommand: "buat" })`
   */
  command(user: LocalUser, where: Place, name: string, options: Record<string, OptionValue> = {}, sub: { subcommand?: string; group?: string } = {}): InteractionRecord {
    const channel = this.placeOf(user, where);
    const data = commandData(this.registered(name, channel), name, options, { guild: channel.guild, ...sub });
    return this.interact(InteractionKind.Command, user, channel, data);
  }

  /** `user` types into an autocomplete option; `await record.waitForChoices()` gives what the bot offered. */
  autocomplete(user: LocalUser, where: Place, name: string, focused: { name: string; value: string }, otherOptions: Record<string, OptionValue> = {}, sub: { subcommand?: string; group?: string } = {}): InteractionRecord {
    const channel = this.placeOf(user, where);
    const data = commandData(this.registered(name, channel), name, otherOptions, { guild: channel.guild, ...sub, focused });
    return this.interact(InteractionKind.Autocomplete, user, channel, data);
  }

  /** `user` presses the button with `customId` on `message` (a message the bot posted or answered with). */
  press(user: LocalUser, message: LocalMessage, customId: string): InteractionRecord {
    const control = this.control(user, message, customId, 2);
    return this.interact(InteractionKind.Component, user, message.channel, { custom_id: customId, component_type: control.type }, message);
  }

  /** `user` picks `values` in the string select menu `customId` on `message`. */
  select(user: LocalUser, message: LocalMessage, customId: string, values: string[]): InteractionRecord {
    const control = this.control(user, message, customId, 3);
    const raw = this.rawComponent(message, customId);
    const unknown = values.filter((v) => !control.options?.some((o) => o.value === v));
    if (unknown.length) throw new Error(`select ${customId} has no option ${unknown.join(", ")}`);
    if (values.length < (raw?.min_values ?? 1) || values.length > (raw?.max_values ?? 1)) {
      throw new Error(`select ${customId} takes ${raw?.min_values ?? 1}–${raw?.max_values ?? 1} values, not ${values.length}`);
    }
    return this.interact(InteractionKind.Component, user, message.channel, { custom_id: customId, component_type: 3, values }, message);
  }

  /**
   * `user` fills in and submits the modal the bot showed in answer to `shownBy`:
   * `discord.submitModal(sari, record, undefined, { jumlah: "2" })` (customId: the modal's, checked when given).
   */
  submitModal(user: LocalUser, shownBy: InteractionRecord, customId: string | undefined, fields: Record<string, string | string[]>): InteractionRecord {
    const modal = shownBy.modal;
    if (!modal) throw new Error(`interaction ${shownBy.id} was not answered with a modal`);
    if (customId !== undefined && customId !== modal.custom_id) throw new Error(`the modal shown is ${modal.custom_id}, not ${customId}`);
    const fill = (c: any): any => {
      if (c.type === 4) {
        const value = fields[c.custom_id];
        const text = typeof value === "string" ? value : "";
        if ((c.required ?? true) && !text) throw new Error(`modal field ${c.custom_id} is required`);
        if (c.max_length !== undefined && text.length > c.max_length) throw new Error(`modal field ${c.custom_id} takes at most ${c.max_length} characters`);
        if (text && c.min_length !== undefined && text.length < c.min_length) throw new Error(`modal field ${c.custom_id} takes at least ${c.min_length} characters`);
        return { type: 4, id: c.id, custom_id: c.custom_id, value: text };
      }
      if (c.type === 3) {
        const value = fields[c.custom_id];
        return { type: 3, id: c.id, custom_id: c.custom_id, values: Array.isArray(value) ? value : value ? [value] : [] };
      }
      if (c.component) return { type: c.type, id: c.id, component: fill(c.component) };
      if (Array.isArray(c.components)) return { type: c.type, id: c.id, components: c.components.map(fill) };
      return { type: c.type, id: c.id };
    };
    const components = (modal.components as any[]).map(fill);
    return this.interact(InteractionKind.ModalSubmit, user, shownBy.channel, { custom_id: modal.custom_id, components }, shownBy.sourceMessage);
  }

  /**
   * `user` writes a plain message (with attachments, served over HTTP at their `url`) in a
   * guild channel, a thread, or their DM with the bot: MESSAGE_CREATE to the gateway.
   */
  write(user: LocalUser, where: Place, text: string, options: { attachments?: FileInput[]; replyTo?: LocalMessage } = {}): LocalMessage {
    const channel = this.placeOf(user, where);
    if (channel.guild && !channel.guild.members.has(user.id)) channel.guild.member(user);
    return this.post(channel, user, { content: text }, options.attachments ?? [], { referencedId: options.replyTo?.id, type: options.replyTo ? 19 : 0 });
  }

  /** `user` starts a thread in `channel` (from `message` when given): THREAD_CREATE to the gateway. */
  startThread(user: LocalUser, channel: LocalChannel, name: string, message?: LocalMessage): LocalChannel {
    return this.createThread(channel, user, { name, type: 11 }, message);
  }

  // --- what the bot did ------------------------------------------------------------------

  /**
   * Messages in a channel, thread or DM, oldest first, edits applied; without deleted ones and
   * ephemeral ones (seen only by their user: find those on the `InteractionRecord`) unless asked.
   */
  messagesIn(channel: LocalChannel, options: { ephemeral?: boolean; deleted?: boolean; threads?: boolean } = {}): LocalMessage[] {
    const own = (this.channelMessages.get(channel.id) ?? []).filter((m) => (options.ephemeral || !m.ephemeral) && (options.deleted || !m.deleted));
    if (!options.threads) return own;
    return [...own, ...this.threadsIn(channel).flatMap((t) => this.messagesIn(t, { ...options, threads: false }))].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** Threads started in `channel`, oldest first. */
  threadsIn(channel: LocalChannel): LocalChannel[] {
    return channel.guild?.threads.filter((t) => t.parentId === channel.id) ?? [];
  }

  /** What `user` received from the bot in their DM (ephemeral answers to interactions there included). */
  dmsOf(user: LocalUser): LocalMessage[] {
    const channel = this.dms.get(user.id);
    return channel ? this.messagesIn(channel, { ephemeral: true }).filter((m) => m.author.id === this.bot.id) : [];
  }

  /** The commands registered globally, as `GET /applications/:app/commands` would answer. */
  globalCommands(): RegisteredCommand[] {
    return [...this.commands.global];
  }

  guildCommands(guild: LocalGuild): RegisteredCommand[] {
    return [...(this.commands.guilds.get(guild.id) ?? [])];
  }

  /** Any channel, thread or DM by id. */
  channel(id: string): LocalChannel | undefined {
    return this.channels.get(id);
  }

  message(id: string): LocalMessage | undefined {
    return this.messages.get(id);
  }

  /** Requests no route matched (answered 404): a test may assert there were none. */
  get unhandled(): UnhandledRequest[] {
    return this.rest.unhandled;
  }

  /** Every REST request, in order (method, path after `/api/v10`, status). */
  get calls(): RestCall[] {
    return this.rest.calls;
  }

  /** Gateway sessions with an open connection. */
  get connectedSessions(): number {
    return this.gateway.connected().length;
  }

  /** IDENTIFYs and RESUMEs the gateway saw, in order. */
  get gatewayLogins(): ReadonlyArray<{ op: "identify" | "resume"; sessionId: string; at: Date }> {
    return this.gateway.logins;
  }

  // --- faults ----------------------------------------------------------------------------

  /** The gateway stops delivering events and acknowledging heartbeats until `resumeGateway()`. */
  pauseGateway(): void {
    this.gateway.pause();
  }

  resumeGateway(): void {
    this.gateway.resume();
  }

  /** Cuts every gateway connection (no close frame); the client reconnects and RESUMEs, missed events are replayed. */
  dropGateway(): void {
    this.gateway.drop();
  }

  /** Cuts connections and forgets sessions: the client's RESUME is refused (op 9) and it IDENTIFYs afresh. */
  invalidateGatewaySessions(): void {
    this.gateway.invalidateSessions();
  }

  /** Every REST answer takes `ms` longer (0: back to normal). */
  slowRest(ms: number): void {
    this.rest.delayMs = ms;
  }

  /** The next request matching (e.g. `/^POST \/channels\/\d+\/messages$/`) gets a 429 with `retry-after`; discord.js waits and retries. */
  rateLimitNext(match: RegExp, retryAfterSeconds = 0.2, global = false): void {
    this.rest.rateLimitNext(match, retryAfterSeconds, global);
  }

  // --- internals -------------------------------------------------------------------------

  /** @internal The guild, if the bot is in it. */
  botGuild(id: string): LocalGuild | undefined {
    const guild = this.guilds.get(id);
    return guild?.botPresent ? guild : undefined;
  }

  /** @internal */
  post(channel: LocalChannel, author: LocalUser, body: Record<string, any>, files: FileInput[], options: PostOptions = {}): LocalMessage {
    const fromBot = author.id === this.bot.id;
    if (channel.guild && !channel.guild.botPresent) throw missingAccess();
    if (fromBot && !options.interaction && channel.recipient?.dmsClosed) throw cannotMessageUser();
    if (channel.isThread && channel.locked && fromBot && !options.interaction) throw threadLocked();
    const message = newMessage(channel, author, options.type ?? 0, options.interaction, options.referencedId ?? body.message_reference?.message_id);
    if (options.allowEmpty) message.flags = options.flags ?? 0;
    else applyPayload(message, { ...body, flags: ((body.flags ?? 0) & ~EPHEMERAL) | (options.flags ?? 0) }, files, this.attachments, false);
    this.messages.set(message.id, message);
    let list = this.channelMessages.get(channel.id);
    if (!list) this.channelMessages.set(channel.id, (list = []));
    list.push(message);
    channel.lastMessageId = message.id;
    if (channel.isThread) {
      channel.messageCount += 1;
      if (channel.archived) {
        channel.archived = false;
        this.dispatchThread("THREAD_UPDATE", channel);
      }
    }
    if (!message.ephemeral) this.dispatchMessage("MESSAGE_CREATE", message);
    return message;
  }

  /** @internal */
  edit(message: LocalMessage, body: Record<string, any>, files: FileInput[]): void {
    applyPayload(message, body, files, this.attachments, true);
    if (!message.ephemeral) this.dispatchMessage("MESSAGE_UPDATE", message);
  }

  /** @internal */
  remove(message: LocalMessage): void {
    message.deleted = true;
    if (!message.ephemeral) {
      const guildId = message.channel.guild?.id;
      this.gateway.dispatch("MESSAGE_DELETE", { id: message.id, channel_id: message.channel.id, ...(guildId ? { guild_id: guildId } : {}) }, {
        guildId, intent: guildId ? Intent.GuildMessages : Intent.DirectMessages,
      });
    }
  }

  /** @internal */
  createThread(parent: LocalChannel, owner: LocalUser, body: Record<string, any>, fromMessage?: LocalMessage): LocalChannel {
    const guild = parent.guild!;
    const kind = fromMessage ? ChannelKind.PublicThread : (body.type ?? ChannelKind.PrivateThread);
    const thread = new LocalChannel(fromMessage?.id ?? snowflake(), kind, String(body.name ?? "thread"), guild, parent.id, owner.id, undefined, body.auto_archive_duration ?? 1440);
    thread.threadMembers.add(owner.id);
    guild.threads.push(thread);
    this.channels.set(thread.id, thread);
    if (fromMessage) fromMessage.thread = thread;
    this.dispatchThread("THREAD_CREATE", thread, { newly_created: true });
    return thread;
  }

  /** @internal */
  dispatchThread(event: string, thread: LocalChannel, extra: Record<string, unknown> = {}): void {
    this.gateway.dispatch(event, { ...thread.json(), ...extra }, { guildId: thread.guild!.id, intent: Intent.Guilds });
  }

  private dispatchMessage(event: string, message: LocalMessage): void {
    const guild = message.channel.guild;
    const member = guild?.members.get(message.author.id);
    // Discord names the channel's type on MESSAGE_CREATE; discord.js builds a DM channel it has not seen from it.
    const data = { ...message.json(), channel_type: message.channel.kind, ...(guild ? { guild_id: guild.id, ...(member ? { member: member.partialJson() } : {}) } : {}) };
    const botId = this.bot.id;
    this.gateway.dispatch(event, data, {
      guildId: guild?.id,
      intent: guild ? Intent.GuildMessages : Intent.DirectMessages,
      shape: (d, intents) => {
        if (!guild || intents & Intent.MessageContent || message.author.id === botId || message.content.includes(`<@${botId}>`)) return d;
        return { ...d, content: "", embeds: [], attachments: [], components: [] };
      },
    });
  }

  private site(): Site {
    return {
      application: this.application,
      bot: this.bot,
      attachments: this.attachments,
      post: (channel, author, body, files, options) => this.post(channel, author, body, files, options),
      edit: (message, body, files) => this.edit(message, body, files),
      remove: (message) => this.remove(message),
    };
  }

  private readyFor(session: GatewaySession): { ready: Record<string, unknown>; guilds: Array<Record<string, unknown>> } {
    const [shardId, shardCount] = session.shard;
    const mine = [...this.guilds.values()].filter((g) => g.botPresent && Number((BigInt(g.id) >> 22n) % BigInt(shardCount)) === shardId);
    return {
      ready: {
        v: 10, user: { ...this.bot.json(), verified: true, mfa_enabled: false, email: null }, user_settings: {}, private_channels: [],
        relationships: [], presences: [], guild_join_requests: [], geo_ordered_rtc_regions: ["singapore"], auth: {},
        guilds: mine.map((g) => ({ id: g.id, unavailable: true })), application: { id: this.application.id, flags: 0 },
        _trace: ["[\"niaga-local-gateway\"]"],
      },
      guilds: mine.map((g) => g.createJson(g.members.get(this.bot.id)!)),
    };
  }

  private placeOf(user: LocalUser, where: Place): LocalChannel {
    if (where instanceof LocalUser) {
      if (where.id !== user.id) throw new Error("a user can act only in their own DM with the bot");
      return this.dmChannel(user);
    }
    if (where.guild && !where.guild.botPresent) throw new Error(`the bot is not in ${where.guild.name}: call addBot(guild) first`);
    return where;
  }

  private registered(name: string, channel: LocalChannel): RegisteredCommand | undefined {
    const command = this.commands.find(name, channel.guild);
    if (!command && this.requireRegistered) throw new Error(`no command /${name} is registered ${channel.guild ? "globally or for this guild" : "globally"}: users cannot run it`);
    if (command && !channel.guild && (command.dm_permission === false || (command.contexts && !command.contexts.includes(1)))) {
      throw new Error(`/${name} is not available in DMs`);
    }
    return command;
  }

  private control(user: LocalUser, message: LocalMessage, customId: string, type: number) {
    if (message.deleted) throw new Error(`message ${message.id} was deleted`);
    if (message.ephemeral && message.interaction && message.interaction.user.id !== user.id) throw new Error("only its user sees an ephemeral message");
    const control = message.controls().find((c) => c.customId === customId);
    if (!control) throw new Error(`message ${message.id} has no component ${customId} (it has: ${message.customIds().join(", ") || "none"})`);
    if ((type === 2 && control.type !== 2) || (type === 3 && control.type !== 3)) throw new Error(`${customId} is not a ${type === 2 ? "button" : "string select menu"}`);
    if (control.disabled) throw new Error(`${customId} is disabled`);
    return control;
  }

  private rawComponent(message: LocalMessage, customId: string): Record<string, any> | undefined {
    const walk = (components: any[]): any => {
      for (const c of components) {
        if (c.custom_id === customId) return c;
        const inner = walk([...(c.components ?? []), ...(c.accessory ? [c.accessory] : [])]);
        if (inner) return inner;
      }
      return undefined;
    };
    return walk(message.components);
  }

  private interact(type: number, user: LocalUser, channel: LocalChannel, data: Record<string, any>, sourceMessage?: LocalMessage): InteractionRecord {
    const guild = channel.guild;
    const id = snowflake();
    const token = `aW50ZXJhY3Rpb246${id}${randomBytes(60).toString("base64url")}`;
    const member = guild ? (guild.members.get(user.id) ?? guild.member(user)) : undefined;
    const botMember = guild?.members.get(this.bot.id);
    const payload: Record<string, any> = {
      id, application_id: this.application.id, type, data, token, version: 1,
      channel: channel.json(), channel_id: channel.id,
      ...(guild
        ? { guild_id: guild.id, guild: { id: guild.id, locale: guild.preferredLocale, features: [] }, guild_locale: guild.preferredLocale, member: member!.interactionJson(), context: 0 }
        : { user: user.json(), context: 1 }),
      locale: user.locale,
      app_permissions: botMember ? botMember.permissions().toString() : DM_APP_PERMISSIONS,
      entitlements: [], entitlement_sku_ids: [],
      authorizing_integration_owners: { "0": guild ? guild.id : "0" },
      attachment_size_limit: 10_485_760,
      ...(sourceMessage ? { message: { ...sourceMessage.json(), ...(guild ? { guild_id: guild.id } : {}) } } : {}),
    };
    const record = new InteractionRecord(id, token, type, user, channel, payload, sourceMessage);
    this.interactionsInFlight.add(record);
    this.gateway.dispatch("INTERACTION_CREATE", payload, { guildId: guild?.id });
    return record;
  }

  private serveAttachment(url: URL, res: ServerResponse): void {
    const [, , , id] = url.pathname.split("/");
    const attachment = id ? this.attachments.get(id) : undefined;
    if (!attachment) {
      res.writeHead(404, { "content-type": "text/plain" }).end("This content is no longer available.");
      return;
    }
    res.writeHead(200, { "content-type": attachment.contentType, "content-length": attachment.data.length }).end(attachment.data);
  }
}
