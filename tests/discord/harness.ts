// The Discord channel as tests drive it: the real discord.js client of `DiscordChannel`
// against the local Discord (gateway + REST), stores linked to guilds, and people who use
// them (slash commands and buttons in the guild, messages and files in their DM).
import { MessageFlags } from "discord.js";
import { DiscordChannel } from "../../adapters/discord/discord-channel.ts";
import type { DiscordChannelOptions } from "../../adapters/discord/discord-channel.ts";
import { GuildDirectory } from "../../adapters/discord/guild-directory.ts";
import type { DiscordGuildAdmin } from "../../adapters/discord/contract.ts";
import type { Engine, EngineLog } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";
import { Tenant } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import type { LocalDiscord } from "../support/discord/index.ts";
import type { LocalGuild, LocalMessage, LocalRole, LocalUser } from "../support/discord/index.ts";
import { seedStore } from "../support/stores.ts";
import type { SeededStore, SeedStoreOptions } from "../support/stores.ts";

export const quietLog: EngineLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Guild linking as the channel sees it, without `/niaga` (built elsewhere): it answers "not available". */
export function guildAdminForTests(directory = new GuildDirectory()): DiscordGuildAdmin & { removed: string[] } {
  const removed: string[] = [];
  return {
    removed,
    handle: async (interaction) => {
      await interaction.reply({ content: t("id", "discord.not_available"), flags: MessageFlags.Ephemeral });
    },
    guildRemoved: async (guildId) => void removed.push(guildId),
    storeOf: (guildId) => directory.storeOf(guildId),
    forget: (guildId) => directory.forget(guildId),
  };
}

export function openDiscordChannel(discord: LocalDiscord, engine: Engine, options: Partial<DiscordChannelOptions> = {}): DiscordChannel {
  return new DiscordChannel({
    engine, token: discord.application.token, applicationId: discord.application.id, apiRoot: discord.apiRoot,
    guilds: guildAdminForTests(), log: quietLog, loginTimeoutMs: 15_000, ...options,
  });
}

export interface LinkedStore {
  store: SeededStore;
  guild: LocalGuild;
  staffRole: LocalRole;
  staffChannel: ReturnType<LocalGuild["textChannel"]>;
}

/** A store whose guild (with the bot in it, a staff role and a staff channel) is linked. */
export async function seedLinkedStore(discord: LocalDiscord, options: SeedStoreOptions = {}): Promise<LinkedStore> {
  const store = await seedStore(options);
  const owner = discord.user({ username: `pemilik-${store.slug}`, locale: "id" });
  const guild = discord.guild({ name: store.name, owner });
  discord.addBot(guild);
  const staffRole = guild.role("Staf Toko");
  const staffChannel = discord.textChannel(guild, "staf");
  await Tenant.updateOne({ _id: store.tenant }, {
    $set: { "channels.discord": { guildId: guild.id, staffRoleId: staffRole.id, staffChannelId: staffChannel.id, linkedAt: new Date(), linkedBy: "cli" } },
  }).exec();
  return { store, guild, staffRole, staffChannel };
}

/** What a person reads in a message, and the labels of what they can press. */
export function shownOf(message: LocalMessage): { text: string; buttons: string[] } {
  return { text: message.text(), buttons: message.controls().map((c) => c.label ?? "").filter((label) => label !== "") };
}

/** The custom id of the control labelled `label` on `message`. */
export function controlLabelled(message: LocalMessage, label: string): string {
  const control = message.controls().find((c) => c.label === label);
  if (!control?.customId) throw new Error(`no control "${label}" on the message "${message.text()}" (it has ${message.controls().map((c) => c.label).join(", ")})`);
  return control.customId;
}

/** Waits until the person's DM holds more than `count` messages, and returns them all. */
export function dmsAfter(discord: LocalDiscord, user: LocalUser, count: number, what = "a new message in the DM"): Promise<LocalMessage[]> {
  return eventually(() => {
    const all = discord.dmsOf(user);
    return all.length > count && all;
  }, what);
}
