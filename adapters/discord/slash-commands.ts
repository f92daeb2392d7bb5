/**
 * The platform application's global slash commands, built from the engine's flows as the
 * Telegram menus are: one command per listed flow (its first command, lower case), described
 * by the flow's /help line in Indonesian with English as a localisation, and one optional
 * string option `args` — autocompleted with the store's product codes, order codes or ticket
 * numbers where the command takes one. Besides them:
 *
 * - `/toko` opens the store's menu (the engine's `/start`);
 * - `/bantuan` and `/tiket` go to the engine like any command (contacting the store, tickets);
 * - `/niaga hubungkan|putuskan|status` links the guild to a store, handled by `DiscordGuildAdmin`.
 *
 * Every command exists in every guild the application is in (global commands): what a
 * person may actually do is checked on the server against the store's members. `/niaga` is
 * hidden from members without Manage Server (`default_member_permissions`), as a hint only.
 */
import { ApplicationCommandOptionType, ApplicationCommandType, ChannelType, PermissionFlagsBits, Routes } from "discord.js";
import type { REST, RESTPostAPIChatInputApplicationCommandsJSONBody } from "discord.js";
import type { AutocompleteSource } from "./contract.ts";
import type { FlowSet, Locale } from "../../flows/engine/index.ts";
import { i18nTexts, renderText } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";

export type SlashCommand = RESTPostAPIChatInputApplicationCommandsJSONBody;

/** The engine's `/start`, as Discord shows it. */
export const STORE_COMMAND = "toko";
export const LINK_COMMAND = "niaga";
export const HELP_COMMAND = "bantuan";
export const TICKET_COMMAND = "tiket";
/** The one option every engine command takes: what Telegram users type after the command. */
export const ARGS_OPTION = "args";

/** Commands whose argument is a store's code, and which codes complete it. */
export const ARGUMENT_SOURCES: Readonly<Record<string, AutocompleteSource>> = {
  ubahproduk: "product", sembunyikan: "product", tampilkan: "product", harga: "product", tambahstok: "product", stok: "product",
  setujui: "order", tolak: "order", batalkan: "order", refund: "order", pesanansaya: "order",
  tiket: "ticket",
};

const MAX_DESCRIPTION = 100;
const MAX_COMMANDS = 100;
const RESERVED = new Set([STORE_COMMAND, LINK_COMMAND, HELP_COMMAND, TICKET_COMMAND, "start", "help", "cancel"]);

/** The commands, and which engine command each Discord name stands for. */
export interface CommandSet {
  commands: SlashCommand[];
  /** Discord name → the engine's command. */
  engineCommand: ReadonlyMap<string, string>;
}

function describe(key: string, params?: Record<string, unknown>): Pick<SlashCommand, "description" | "description_localizations"> {
  const en = clip(t("en", key, params));
  return { description: clip(t("id", key, params)), description_localizations: { "en-US": en, "en-GB": en } };
}

function clip(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, MAX_DESCRIPTION) || "-";
}

function argsOption(command: string): NonNullable<SlashCommand["options"]>[number] {
  return {
    type: ApplicationCommandOptionType.String, name: ARGS_OPTION, required: false, max_length: 200,
    ...describe("discord.commands.args_option"),
    ...(ARGUMENT_SOURCES[command] && { autocomplete: true }),
  };
}

/** The global commands for these flows. */
export function buildCommands(flows: FlowSet): CommandSet {
  const engineCommand = new Map<string, string>([[STORE_COMMAND, "start"], [HELP_COMMAND, HELP_COMMAND], [TICKET_COMMAND, TICKET_COMMAND]]);
  const store = t("id", "discord.this_store");
  const commands: SlashCommand[] = [
    { type: ApplicationCommandType.ChatInput, name: STORE_COMMAND, ...describe("discord.commands.toko") },
    { type: ApplicationCommandType.ChatInput, name: HELP_COMMAND, ...describe("discord.commands.bantuan"), options: [argsOption(HELP_COMMAND)] },
    { type: ApplicationCommandType.ChatInput, name: TICKET_COMMAND, ...describe("discord.commands.tiket"), options: [argsOption(TICKET_COMMAND)] },
    linkCommand(),
  ];
  for (const flow of flows.listedFor("seller")) {
    const command = flow.commands.find((c) => !RESERVED.has(c) && !engineCommand.has(c));
    if (command === undefined || flow.help === undefined) continue;
    const help = (locale: Locale) => clip(renderText(typeof flow.help === "string" ? { key: flow.help, params: { store } } : { inline: flow.help!, params: { store } }, locale, i18nTexts));
    const en = help("en");
    engineCommand.set(command, command);
    commands.push({
      type: ApplicationCommandType.ChatInput, name: command, description: help("id"), description_localizations: { "en-US": en, "en-GB": en },
      options: [argsOption(command)],
    });
  }
  return { commands: commands.slice(0, MAX_COMMANDS), engineCommand };
}

function linkCommand(): SlashCommand {
  return {
    type: ApplicationCommandType.ChatInput, name: LINK_COMMAND, ...describe("discord.commands.niaga"),
    default_member_permissions: String(PermissionFlagsBits.ManageGuild), contexts: [0],
    options: [
      {
        type: ApplicationCommandOptionType.Subcommand, name: "hubungkan", ...describe("discord.commands.hubungkan"),
        options: [
          { type: ApplicationCommandOptionType.Role, name: "peran", required: true, ...describe("discord.commands.peran") },
          { type: ApplicationCommandOptionType.Channel, name: "kanal", required: true, channel_types: [ChannelType.GuildText], ...describe("discord.commands.kanal") },
          // Optional: a guild the operator bound from the shell needs no code, only its role and channel.
          { type: ApplicationCommandOptionType.String, name: "kode", required: false, max_length: 64, ...describe("discord.commands.kode") },
        ],
      },
      { type: ApplicationCommandOptionType.Subcommand, name: "putuskan", ...describe("discord.commands.putuskan") },
      { type: ApplicationCommandOptionType.Subcommand, name: "status", ...describe("discord.commands.status") },
    ],
  };
}

/** What makes two command lists the same to Discord, whatever extra fields its answer carries. */
function comparable(commands: readonly Partial<SlashCommand>[]): string {
  const pick = (c: Partial<SlashCommand>) => ({
    name: c.name, description: c.description, description_localizations: c.description_localizations ?? null,
    default_member_permissions: c.default_member_permissions ?? null, options: (c.options ?? []).map((o) => normaliseOption(o as unknown as Record<string, unknown>)),
  });
  return JSON.stringify([...commands].map(pick).sort((a, b) => String(a.name).localeCompare(String(b.name))));
}

function normaliseOption(option: Record<string, unknown>): Record<string, unknown> {
  const keys = ["type", "name", "description", "description_localizations", "required", "autocomplete", "max_length", "channel_types"];
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = option[key];
    if (value !== undefined && value !== null && value !== false) out[key] = value;
  }
  if (Array.isArray(option.options)) out.options = (option.options as Record<string, unknown>[]).map(normaliseOption);
  return out;
}

/**
 * Makes the application's global commands these (one bulk overwrite, which Discord applies
 * atomically), unless they already are. Returns whether it wrote them.
 */
export async function registerCommands(rest: REST, applicationId: string, commands: readonly SlashCommand[]): Promise<boolean> {
  const existing = await rest.get(Routes.applicationCommands(applicationId)).catch(() => undefined);
  if (Array.isArray(existing) && comparable(existing as Partial<SlashCommand>[]) === comparable(commands)) return false;
  await rest.put(Routes.applicationCommands(applicationId), { body: commands });
  return true;
}
