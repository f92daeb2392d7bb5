/**
 * The command menu a customer sees in Telegram: /start, every command a customer may use
 * from the engine's flows (with the flow's /help line as its description), /help and
 * /cancel. Registered with `setMyCommands` once per language: the Indonesian list as the
 * default, the English one for clients set to English.
 */
import type { Api } from "grammy";
import type { BotCommand } from "grammy/types";
import type { FlowSet } from "../../flows/engine/flow-set.ts";
import type { Locale } from "../../flows/engine/message.ts";
import { i18nTexts, renderText } from "../../flows/engine/texts.ts";
import { t } from "../../locales/i18n.ts";

const MAX_DESCRIPTION = 256;
const MAX_COMMANDS = 100;

export function customerCommands(flows: FlowSet, locale: Locale, store: string): BotCommand[] {
  const commands: BotCommand[] = [{ command: "start", description: t(locale, "telegram.commands.start") }];
  const taken = new Set(["start", "help", "cancel"]);
  for (const flow of flows.listedFor("customer")) {
    const command = flow.commands.find((c) => !taken.has(c));
    if (command === undefined || flow.help === undefined) continue;
    taken.add(command);
    const help = typeof flow.help === "string" ? { key: flow.help, params: { store } } : { inline: flow.help, params: { store } };
    commands.push({ command, description: renderText(help, locale, i18nTexts) });
  }
  commands.push(
    { command: "help", description: t(locale, "telegram.commands.help") },
    { command: "cancel", description: t(locale, "telegram.commands.cancel") },
  );
  return commands
    .slice(0, MAX_COMMANDS)
    .map(({ command, description }) => ({ command, description: description.replace(/\s+/g, " ").trim().slice(0, MAX_DESCRIPTION) || command }));
}

export async function registerCustomerCommands(api: Api, flows: FlowSet, store: string): Promise<void> {
  await api.setMyCommands(customerCommands(flows, "id", store));
  await api.setMyCommands(customerCommands(flows, "en", store), { language_code: "en" });
}
