/**
 * Who may use the owner bot: the users in `OWNER_CHAT_IDS`, in their private chat with it.
 * Anyone else gets one polite line (the same whatever they send, nothing about the platform
 * or its stores), and the attempt is logged (their user id, never what they wrote) and
 * raised as a "stranger-access" alert, one per user id so repeated attempts count.
 */
import type { Context, MiddlewareFn } from "grammy";
import type { Locale } from "../flows/engine/index.ts";
import { t } from "../locales/i18n.ts";
import { alertKey } from "./owner-alerts.ts";
import type { AlertLog, AlertSink } from "./owner-alerts.ts";

export interface OwnerAccessOptions {
  ownerChatIds: readonly (number | string)[];
  locale: Locale;
  alerts: AlertSink;
  log: AlertLog;
}

export function ownerAccess(options: OwnerAccessOptions): MiddlewareFn<Context> {
  const owners = new Set(options.ownerChatIds.map(String));
  return async (ctx, next) => {
    const userId = ctx.from?.id;
    const chatType = ctx.chat?.type;
    if (userId !== undefined && owners.has(String(userId)) && (chatType === undefined || chatType === "private")) return next();
    if (userId === undefined && !ctx.chat) return; // an update about no one (a poll, a channel post): nothing to answer
    options.log.warn("owner bot: refused someone who is not an owner", { userId: userId ?? null, chatType: chatType ?? null });
    void options.alerts.raise({ kind: "stranger-access", params: { user: String(userId ?? "?") }, key: alertKey("stranger-access", undefined, String(userId ?? "?")) });
    const language = ctx.from?.language_code;
    const locale: Locale = language ? (language.startsWith("en") ? "en" : "id") : options.locale;
    if (ctx.callbackQuery) await ctx.answerCallbackQuery().catch(() => undefined);
    if (ctx.chat) await ctx.reply(t(locale, "ownerbot.stranger")).catch(() => undefined);
  };
}
