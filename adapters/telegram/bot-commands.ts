/**
 * The command menus of a store's bot in Telegram. Customers see `/start`, every command a
 * customer may use from the engine's flows (with the flow's /help line as its
 * description), `/help` and `/cancel`: registered with `setMyCommands` once per language,
 * the Indonesian list as the default and the English one for clients set to English.
 *
 * A member of the store sees what `/help` shows a seller instead — the same list plus the
 * seller commands, optionally only those their role may use — set for their private chat
 * alone (`scope: { type: "chat", chat_id }`, again Indonesian by default and English for
 * English clients). Telegram shows a chat's own menu before the bot-wide one; deleting it
 * (`removeMemberCommands`) brings the customer menu back.
 */
import type { Api } from "grammy";
import type { BotCommand } from "grammy/types";
import type { FlowSet } from "../../flows/engine/index.ts";
import type { CompiledFlow } from "../../flows/engine/index.ts";
import type { Locale } from "../../flows/engine/index.ts";
import { i18nTexts, renderText } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";

const MAX_DESCRIPTION = 256;
const MAX_COMMANDS = 100;
/** The languages a menu is registered in: the first is the default (no `language_code`). */
const MENU_LOCALES: readonly Locale[] = ["id", "en"];

function commandList(listed: readonly CompiledFlow[], locale: Locale, store: string): BotCommand[] {
  const commands: BotCommand[] = [{ command: "start", description: t(locale, "telegram.commands.start") }];
  const taken = new Set(["start", "help", "cancel"]);
  for (const flow of listed) {
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

export function customerCommands(flows: FlowSet, locale: Locale, store: string): BotCommand[] {
  return commandList(flows.listedFor("customer"), locale, store);
}

/**
 * A member's menu: the flows `/help` lists for a seller, in the same order, keeping only
 * those `mayUse` allows (by default all of them).
 */
export function sellerCommands(flows: FlowSet, locale: Locale, store: string, mayUse: (flowId: string) => boolean = () => true): BotCommand[] {
  return commandList(flows.listedFor("seller").filter((flow) => mayUse(flow.id)), locale, store);
}

/** The customer menus by language, the default first: what `registerCustomerCommands` sends. */
export function customerMenus(flows: FlowSet, store: string): BotCommand[][] {
  return MENU_LOCALES.map((locale) => customerCommands(flows, locale, store));
}

export async function registerCustomerCommands(api: Api, menus: readonly BotCommand[][]): Promise<void> {
  for (const [i, locale] of MENU_LOCALES.entries()) {
    await api.setMyCommands(menus[i], { ...(i > 0 && { language_code: locale }) });
  }
}

/** Sets a member's own menu in their private chat with the bot, in both languages. */
export async function registerMemberCommands(api: Api, chatId: number, flows: FlowSet, store: string, mayUse?: (flowId: string) => boolean): Promise<void> {
  const scope = { type: "chat", chat_id: chatId } as const;
  for (const [i, locale] of MENU_LOCALES.entries()) {
    await api.setMyCommands(sellerCommands(flows, locale, store, mayUse), { scope, ...(i > 0 && { language_code: locale }) });
  }
}

/** Deletes a chat's own menu in both languages, so the person sees the customer menu again. */
export async function removeMemberCommands(api: Api, chatId: number): Promise<void> {
  const scope = { type: "chat", chat_id: chatId } as const;
  for (const [i, locale] of MENU_LOCALES.entries()) {
    await api.deleteMyCommands({ scope, ...(i > 0 && { language_code: locale }) });
  }
}
