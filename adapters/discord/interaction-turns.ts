/**
 * What people do on Discord, as engine turns: slash commands, pressed buttons, picked menu
 * options and submitted modals in a store's guild or in a DM with the bot, and messages
 * written in a DM.
 *
 * Discord wants a first answer to an interaction within 3 s, and only one: every command,
 * component and modal that goes to the engine is deferred at once (an ephemeral "thinking…",
 * or `deferUpdate` for a page turn, which edits the pressed message), and the turn's replies
 * then fill it (`editReply`) and follow it (`followUp`). An "Answer" button opens its modal
 * as that first answer, so it is never deferred. Unknown-interaction (10062) and
 * already-acknowledged (40060) errors are logged, never thrown. An interaction that reaches
 * the process already older than the deadline (its id carries its creation time, which is
 * what Discord judges) can no longer be answered: it is dropped unanswered, without a turn,
 * and counted (`late`), so a process that fell behind catches up instead of spending its
 * time on answers Discord will refuse.
 *
 * Routing: an interaction in a guild goes to the guild's store (`DiscordGuildAdmin.storeOf`);
 * a guild linked to no store gets a store-free answer. A DM goes to the store the person
 * last used in a guild (`storage/discord/dm-stores.ts`). The session key is the person's
 * user id either way, so a purchase started with `/toko` in the guild goes on in the DM.
 */
import { DiscordAPIError, MessageFlags, ChannelType } from "discord.js";
import type {
  AutocompleteInteraction, ButtonInteraction, ChatInputCommandInteraction, Interaction, Message, ModalSubmitInteraction,
  RepliableInteraction, SendableChannels, StringSelectMenuInteraction, GuildMember, APIInteractionGuildMember,
} from "discord.js";
import { ChatQueue, newErrorId, PAGE_NEXT, PAGE_PREV } from "../../flows/engine/index.ts";
import type { Engine, EngineLog, InboundMessage, Locale, Outbound } from "../../flows/engine/index.ts";
import { resolveLocale, t } from "../../locales/i18n.ts";
import { dmStoreOf, rememberDmStore } from "../../storage/discord/dm-stores.ts";
import { Member, Tenant } from "../../storage/models/index.ts";
import { DISCORD_CHANNEL, DISCORD_ERRORS } from "./contract.ts";
import type { DiscordGuildAdmin, DiscordServices, GuildStore } from "./contract.ts";
import { modalId, openCustomId } from "./custom-ids.ts";
import type { DiscordCustomers } from "./discord-customers.ts";
import { inboundOfDm } from "./dm-messages.ts";
import { renderOutbound, resolveMedia } from "./render.ts";
import type { DiscordMessage } from "./render.ts";
import { ARGUMENT_SOURCES, LINK_COMMAND } from "./slash-commands.ts";
import type { CommandSet } from "./slash-commands.ts";
import type { StaffRoles } from "./staff-roles.ts";

export interface InteractionTurnsOptions {
  engine: Engine;
  guilds: DiscordGuildAdmin;
  services?: DiscordServices;
  commands(): CommandSet;
  customers: DiscordCustomers;
  staff: StaffRoles;
  log: EngineLog;
  logFor?(slug: string): EngineLog;
  /** How outbound files are fetched from their URLs. */
  media: { timeoutMs: number; maxBytes: number };
  /** A person's latest acknowledged interaction: the outbox may follow it up when their DMs are closed. */
  acknowledged(userId: string, interaction: RepliableInteraction): void;
  /** How long an autocomplete may take before it answers with nothing. Default 2000 ms (Discord allows 3 s). */
  autocompleteBudgetMs?: number;
  /** How old (from its id's time, on this machine's clock) an interaction may be and still get a first answer. Default 3000 ms, Discord's limit. */
  answerDeadlineMs?: number;
}

/** Delivers rendered messages, in order, wherever a turn answers. */
type Replier = (messages: DiscordMessage[]) => Promise<void>;

const MODAL_INPUT = "answer";
const NO_MENTIONS = { parse: [] as [] };
const DM_STORE_REMEMBER_MS = 10 * 60_000;
/** Discord's time for an interaction's first answer. */
const ANSWER_DEADLINE_MS = 3000;
/** Interactions dropped as too old are logged at most this often (with how many since). */
const LATE_LOG_EVERY_MS = 60_000;

export class InteractionTurns {
  readonly #options: InteractionTurnsOptions;
  readonly #log: EngineLog;
  readonly #queue = new ChatQueue();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #dmStores = new Map<string, { tenantId: string; at: number }>();
  #closing = false;
  #late = 0;
  #lateUnlogged = 0;
  #lateLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(options: InteractionTurnsOptions) {
    this.#options = options;
    this.#log = options.log;
  }

  get busy(): number {
    return this.#inFlight.size;
  }

  /** Interactions dropped unanswered because they arrived older than the deadline. */
  get late(): number {
    return this.#late;
  }

  /** Stops taking interactions and messages, and waits for the turns under way. */
  async close(): Promise<void> {
    this.#closing = true;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  interaction(interaction: Interaction): Promise<void> {
    if (this.#tooLate(interaction)) return Promise.resolve();
    return this.#track(() => this.#interaction(interaction));
  }

  /** Whether the interaction is past its answer deadline already (counted, and logged now and then). */
  #tooLate(interaction: Interaction): boolean {
    const now = Date.now();
    const ageMs = now - interaction.createdTimestamp;
    if (ageMs < (this.#options.answerDeadlineMs ?? ANSWER_DEADLINE_MS)) return false;
    this.#late++;
    this.#lateUnlogged++;
    if (now - this.#lateLoggedAt >= LATE_LOG_EVERY_MS) {
      this.#log.warn("discord interactions arrived too late to answer, dropped", { count: this.#lateUnlogged, total: this.#late, ageMs, interactionId: interaction.id });
      this.#lateLoggedAt = now;
      this.#lateUnlogged = 0;
    }
    return true;
  }

  message(message: Message): Promise<void> {
    return this.#track(() => this.#message(message));
  }

  #track(work: () => Promise<void>): Promise<void> {
    if (this.#closing) return Promise.resolve();
    const running = work().catch((error: unknown) => {
      this.#log.error("discord interaction failed outside a turn", { error: describe(error) });
    });
    this.#inFlight.add(running);
    void running.finally(() => this.#inFlight.delete(running));
    return running;
  }

  async #interaction(interaction: Interaction): Promise<void> {
    if (interaction.isAutocomplete()) return this.#autocomplete(interaction);
    if (interaction.isChatInputCommand()) return this.#command(interaction);
    if (interaction.isButton()) return this.#button(interaction);
    if (interaction.isStringSelectMenu()) return this.#select(interaction);
    if (interaction.isModalSubmit()) return this.#modal(interaction);
  }

  // ---------------------------------------------------------------- interactions

  async #command(interaction: ChatInputCommandInteraction): Promise<void> {
    if (interaction.commandName === LINK_COMMAND) {
      await this.#options.guilds.handle(interaction);
      return;
    }
    if (!(await this.#acknowledge(interaction, () => interaction.deferReply({ flags: MessageFlags.Ephemeral })))) return;
    const command = this.#options.commands().engineCommand.get(interaction.commandName) ?? interaction.commandName;
    const args = interaction.options.data.map((option) => String(option.value ?? "")).join(" ").trim();
    await this.#converse(interaction, { kind: "command", command, args }, replier(interaction));
  }

  async #button(interaction: ButtonInteraction): Promise<void> {
    const opened = openCustomId(interaction.customId);
    if (!opened || (opened.kind !== "choice" && opened.kind !== "answer")) return this.#unknownComponent(interaction);
    if (opened.kind === "answer") {
      const locale = resolveLocale(interaction.locale);
      const question = interaction.message.content.replace(/\s+/g, " ").trim();
      await this.#acknowledge(interaction, () => interaction.showModal({
        custom_id: modalId(opened.prompt),
        title: t(locale, "discord.answer_title"),
        components: [{ type: 1, components: [{
          type: 4, custom_id: MODAL_INPUT, style: 2, required: true, max_length: 4000,
          label: t(locale, "discord.answer_label"),
          ...(question !== "" && { placeholder: question.length <= 100 ? question : `${question.slice(0, 99)}…` }),
        }] }],
      }));
      return;
    }
    const paging = opened.choiceId === PAGE_NEXT || opened.choiceId === PAGE_PREV;
    const deferred = paging ? () => interaction.deferUpdate() : () => interaction.deferReply({ flags: MessageFlags.Ephemeral });
    if (!(await this.#acknowledge(interaction, deferred))) return;
    const message: InboundMessage = { kind: "choice", choiceId: opened.choiceId, ...(opened.prompt && { prompt: opened.prompt }) };
    await this.#converse(interaction, message, replier(interaction));
  }

  async #select(interaction: StringSelectMenuInteraction): Promise<void> {
    const opened = openCustomId(interaction.customId);
    const choiceId = interaction.values[0];
    if (opened?.kind !== "select" || choiceId === undefined) return this.#unknownComponent(interaction);
    if (!(await this.#acknowledge(interaction, () => interaction.deferReply({ flags: MessageFlags.Ephemeral })))) return;
    const message: InboundMessage = { kind: "choice", choiceId, ...(opened.prompt && { prompt: opened.prompt }) };
    await this.#converse(interaction, message, replier(interaction));
  }

  async #modal(interaction: ModalSubmitInteraction): Promise<void> {
    const opened = openCustomId(interaction.customId);
    if (opened?.kind !== "modal") return this.#unknownComponent(interaction);
    if (!(await this.#acknowledge(interaction, () => interaction.deferReply({ flags: MessageFlags.Ephemeral })))) return;
    const text = interaction.fields.getTextInputValue(MODAL_INPUT);
    await this.#converse(interaction, { kind: "text", text }, replier(interaction));
  }

  async #unknownComponent(interaction: RepliableInteraction): Promise<void> {
    await this.#acknowledge(interaction, () => interaction.reply({ content: t(resolveLocale(interaction.locale), "discord.unknown_component"), flags: MessageFlags.Ephemeral }));
  }

  async #autocomplete(interaction: AutocompleteInteraction): Promise<void> {
    const focused = interaction.options.getFocused(true);
    const command = this.#options.commands().engineCommand.get(interaction.commandName) ?? interaction.commandName;
    const source = ARGUMENT_SOURCES[command];
    const lookup = this.#options.services?.autocomplete;
    let choices: { name: string; value: string }[] = [];
    if (source && lookup && interaction.guildId) {
      const budget = AbortSignal.timeout(this.#options.autocompleteBudgetMs ?? 2000);
      const timedOut = new Promise<never>((_, reject) => budget.addEventListener("abort", () => reject(new Error("autocomplete took too long")), { once: true }));
      choices = await Promise.race([
        (async () => {
          const store = await this.#options.guilds.storeOf(interaction.guildId!);
          if (!store || store.status !== "active") return [];
          const member = await Member.exists({ tenantId: store.tenantId, channel: DISCORD_CHANNEL, channelUserId: interaction.user.id } as never);
          return lookup({ tenantId: store.tenantId, userId: interaction.user.id, source, query: String(focused.value ?? ""), audience: member ? "seller" : "customer" });
        })(),
        timedOut,
      ]).catch((error: unknown) => {
        this.#log.warn("discord autocomplete answered with nothing", { command, error: describe(error) });
        return [];
      });
    }
    const shown = choices.slice(0, 25).map((c) => ({ name: c.name.slice(0, 100) || c.value.slice(0, 100), value: c.value.slice(0, 100) }));
    await interaction.respond(shown).catch((error: unknown) => this.#ackFailed(error, "autocomplete"));
  }

  // ---------------------------------------------------------------- turns

  /** Routes an acknowledged interaction to its store and runs the turn. */
  async #converse(interaction: Exclude<RepliableInteraction, never>, message: InboundMessage, reply: Replier): Promise<void> {
    const fallback = resolveLocale(interaction.locale);
    const store = interaction.guildId ? await this.#options.guilds.storeOf(interaction.guildId) : await this.#dmStore(interaction.user.id);
    if (!store) return reply([plain(t(fallback, interaction.guildId ? "discord.unlinked_guild" : "discord.dm_no_store"))]).catch((error: unknown) => this.#ackFailed(error, "reply"));
    if (store.status !== "active") return reply([plain(t(store.locale, "discord.store_suspended"))]).catch((error: unknown) => this.#ackFailed(error, "reply"));
    this.#options.acknowledged(interaction.user.id, interaction);
    const user = { id: interaction.user.id, name: interaction.user.globalName ?? interaction.user.username };
    if (interaction.guildId) {
      // A failure here must not leave the person looking at "thinking…": the turn goes on, as who they were before.
      await this.#options.staff.settle(store, user, rolesOf(interaction.member)).catch((error: unknown) => {
        this.#log.warn("discord staff role not settled", { tenant: store.slug, error: describe(error) });
      });
      this.#rememberDmStore(user.id, store.tenantId);
    }
    const delivered = await this.#turn(store, user, interaction.locale, message, reply);
    if (!delivered && interaction.deferred && !interaction.replied) await interaction.deleteReply().catch(() => undefined);
  }

  /** One engine turn for `user` in `store`, replies delivered inside it; whether anything was delivered. */
  async #turn(store: GuildStore, user: { id: string; name: string }, discordLocale: string | undefined, message: InboundMessage, reply: Replier): Promise<boolean> {
    const log = this.#options.logFor?.(store.slug) ?? this.#log;
    let locale: Locale = discordLocale ? resolveLocale(discordLocale) : store.locale;
    let delivered = false;
    try {
      locale = (await this.#options.customers.seen(store.tenantId, user)) ?? locale;
      await this.#options.engine.handle(
        { tenant: { id: store.tenantId, slug: store.slug, name: store.name }, channel: DISCORD_CHANNEL, chatId: user.id, user, locale, message },
        async (replies) => {
          const messages = await this.#render(replies, locale);
          if (messages.length === 0) return;
          delivered = true;
          await reply(messages);
        },
      );
    } catch (error) {
      const errorId = newErrorId();
      log.error("discord turn could not be answered", { tenant: store.slug, errorId, error: describe(error) });
      await reply([plain(t(locale, "common.error_apology", { errorId }))]).then(() => (delivered = true), (apologyError: unknown) => this.#ackFailed(apologyError, "apology"));
    }
    return delivered;
  }

  async #render(replies: readonly Outbound[], locale: Locale): Promise<DiscordMessage[]> {
    const out: DiscordMessage[] = [];
    for (const outbound of replies) out.push(...renderOutbound(outbound, locale, await resolveMedia(outbound.media, this.#options.media)));
    return out;
  }

  // ---------------------------------------------------------------- direct messages

  async #message(message: Message): Promise<void> {
    if (message.author.bot || message.system) return;
    if (message.channel.type !== ChannelType.DM) return this.#guildMessage(message);
    const userId = message.author.id;
    await this.#queue.run(userId, async () => {
      const store = await this.#dmStore(userId);
      const channel = message.channel as SendableChannels;
      const send: Replier = async (messages) => {
        for (const m of messages) await channel.send({ ...payloadOf(m), allowedMentions: NO_MENTIONS });
      };
      const fallback = store?.locale ?? "id";
      if (!store) return send([plain(t(fallback, "discord.dm_no_store"))]);
      if (store.status !== "active") return send([plain(t(store.locale, "discord.store_suspended"))]);
      let inbound = inboundOfDm(message);
      if (!inbound) return send([plain(t(store.locale, "discord.dm_unsupported"))]);
      // The slash commands' names work typed too (`/toko` is the engine's `/start`).
      if (inbound.kind === "command") inbound = { ...inbound, command: this.#options.commands().engineCommand.get(inbound.command) ?? inbound.command };
      await this.#turn(store, { id: userId, name: message.author.globalName ?? message.author.username }, undefined, inbound, send);
    });
  }

  /** A staff member wrote in a thread of a linked guild: it may be a ticket's, whose customer gets the reply. */
  async #guildMessage(message: Message): Promise<void> {
    const staffWrote = this.#options.services?.staffWroteInThread;
    if (!staffWrote || !message.guildId || !message.channel.isThread() || message.content.trim() === "") return;
    const store = await this.#options.guilds.storeOf(message.guildId);
    if (!store || store.status !== "active") return;
    const user = { id: message.author.id, name: message.member?.displayName ?? message.author.globalName ?? message.author.username };
    // Someone who only ever writes in threads holds the staff role too: settled here as for an interaction.
    await this.#options.staff.settle(store, user, rolesOf(message.member));
    const outcome = await staffWrote({ tenantId: store.tenantId, threadId: message.channel.id, user, text: message.content });
    if (outcome === "sent" || outcome === "no-ticket") return;
    this.#log.info("discord thread message not passed on", { tenant: store.slug, outcome });
    // The writer learns why, in a short answer to their message: nobody else in the thread is pinged.
    const notice = outcome === "closed" ? "desk.thread.closed" : "desk.thread.not_allowed";
    await message.reply({ content: t(store.locale, notice), allowedMentions: NO_MENTIONS }).catch((error: unknown) => this.#log.warn("discord thread notice not sent", { error: describe(error) }));
  }

  /** The store a DM goes to: the one the person last used in a guild, if it is still linked. */
  async #dmStore(userId: string): Promise<GuildStore | undefined> {
    const tenantId = this.#dmStores.get(userId)?.tenantId ?? (await dmStoreOf(userId));
    if (!tenantId) return undefined;
    const row = await Tenant.findById(tenantId, { "channels.discord.guildId": 1 }).lean<{ channels?: { discord?: { guildId?: string } } }>().exec();
    const guildId = row?.channels?.discord?.guildId;
    return guildId ? this.#options.guilds.storeOf(guildId) : undefined;
  }

  #rememberDmStore(userId: string, tenantId: string): void {
    const known = this.#dmStores.get(userId);
    const now = Date.now();
    if (known?.tenantId === tenantId && now - known.at < DM_STORE_REMEMBER_MS) return;
    this.#dmStores.delete(userId);
    if (this.#dmStores.size >= 20_000) this.#dmStores.delete(this.#dmStores.keys().next().value as string);
    this.#dmStores.set(userId, { tenantId, at: now });
    rememberDmStore(userId, tenantId).catch((error: unknown) => {
      this.#log.warn("discord DM store not remembered", { error: describe(error) });
    });
  }

  // ---------------------------------------------------------------- acknowledging

  /** The interaction's one first answer; false (logged) when Discord refused it. */
  async #acknowledge(interaction: RepliableInteraction, first: () => Promise<unknown>): Promise<boolean> {
    try {
      await first();
      return true;
    } catch (error) {
      this.#ackFailed(error, "acknowledge", interaction.id);
      return false;
    }
  }

  #ackFailed(error: unknown, what: string, interactionId?: string): void {
    const code = error instanceof DiscordAPIError ? error.code : undefined;
    if (code === DISCORD_ERRORS.unknownInteraction || code === DISCORD_ERRORS.alreadyAcknowledged) {
      this.#log.warn(`discord interaction ${what} refused`, { code, interactionId });
      return;
    }
    this.#log.error(`discord interaction ${what} failed`, { error: describe(error), interactionId });
  }
}

/** Replies to an acknowledged interaction: the first message fills the deferred answer, the rest follow it, ephemeral. */
function replier(interaction: RepliableInteraction): Replier {
  return async (messages) => {
    for (const m of messages) {
      const payload = { ...payloadOf(m), allowedMentions: NO_MENTIONS };
      if (!interaction.replied) {
        await interaction.editReply(payload);
        // discord.js marks `replied` on editReply of a deferred reply; a deferUpdate too.
      } else {
        await interaction.followUp({ ...payload, flags: MessageFlags.Ephemeral });
      }
    }
  };
}

export function payloadOf(message: DiscordMessage): { content?: string; components: DiscordMessage["components"]; files: DiscordMessage["files"] } {
  return { ...(message.content !== "" && { content: message.content }), components: message.components, files: message.files };
}

function plain(content: string): DiscordMessage {
  return { content, components: [], files: [] };
}

function rolesOf(member: GuildMember | APIInteractionGuildMember | null): string[] {
  if (!member) return [];
  return Array.isArray(member.roles) ? member.roles : [...(member as GuildMember).roles.cache.keys()];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
