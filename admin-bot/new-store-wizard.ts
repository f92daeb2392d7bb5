/**
 * `/newstore`: the owner creates a store from the chat — slug, name, language, the store's
 * Telegram bot token (checked with Telegram's `getMe`, the message holding it deleted), a
 * confirmation, then the store is saved with its token sealed and its bot started.
 * `/cancel` leaves it at any step (handled before the wizard sees the message).
 *
 * A grammY conversation (`@grammyjs/conversations`): each call to the platform runs inside
 * `conversation.external`, so a replay never repeats it.
 */
import type { Conversation } from "@grammyjs/conversations";
import type { Context } from "grammy";
import type { Locale } from "../flows/engine/index.ts";
import { t } from "../locales/i18n.ts";
import { SLUG_PATTERN } from "../storage/models/index.ts";
import { auditStore, ownerActor } from "./owner-audit.ts";
import type { OwnerContext } from "./owner-context.ts";
import type { OwnerControl, StoreSummary } from "./owner-control.ts";

export const NEW_STORE_WIZARD = "newstore";

export interface NewStoreWizardOptions {
  control: OwnerControl;
  locale: Locale;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

export function newStoreWizard(o: NewStoreWizardOptions) {
  const text = (key: string, params?: Record<string, unknown>) => t(o.locale, `ownerbot.wizard.${key}`, params);
  const attempt = async <T>(work: () => Promise<T>): Promise<Outcome<T>> => {
    try {
      return { ok: true, value: await work() };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  };

  return async function newstore(conversation: Conversation<OwnerContext, Context>, ctx: Context): Promise<void> {
    await ctx.reply(text("ask_slug"));
    let slug = "";
    while (!slug) {
      const answer = await conversation.waitFor("message:text");
      const candidate = answer.message.text.trim().toLowerCase();
      if (!SLUG_PATTERN.test(candidate)) await answer.reply(text("bad_slug"));
      else if (await conversation.external(() => o.control.slugTaken(candidate))) await answer.reply(text("slug_taken", { slug: candidate }));
      else slug = candidate;
    }

    await ctx.reply(text("ask_name"));
    let name = "";
    while (!name) {
      const answer = await conversation.waitFor("message:text");
      const candidate = answer.message.text.trim();
      if (candidate.length < 1 || candidate.length > 64) await answer.reply(text("bad_name"));
      else name = candidate;
    }

    await ctx.reply(text("ask_language"));
    let locale: Locale | undefined;
    while (!locale) {
      const answer = await conversation.waitFor("message:text");
      const candidate = answer.message.text.trim().toLowerCase();
      if (candidate === "id" || candidate === "en") locale = candidate;
      else await answer.reply(text("bad_language"));
    }

    await ctx.reply(text("ask_token"));
    let token = "";
    let username = "";
    while (!token) {
      const answer = await conversation.waitFor("message:text");
      const candidate = answer.message.text.trim();
      // The token stays out of the chat's history.
      await answer.deleteMessage().catch(() => undefined);
      const checked = await conversation.external(() => attempt(() => o.control.checkToken(candidate)));
      if (checked.ok) [token, username] = [candidate, checked.value];
      else await answer.reply(text("token_rejected", { reason: checked.reason }));
    }

    await ctx.reply(text("confirm", { slug, name, locale, username }));
    for (;;) {
      const answer = await conversation.waitFor("message:text");
      if (/^(ya|yes|y)$/i.test(answer.message.text.trim())) break;
      await answer.reply(text("confirm_again"));
    }

    const actor = ownerActor(ctx);
    const created = await conversation.external(() =>
      attempt(async (): Promise<StoreSummary> => {
        const store = await o.control.createStore({ slug, name, locale, token });
        await auditStore(store, actor, "tenant.create", { after: { slug, name, locale, telegram: "set", botUsername: username } });
        return store;
      }),
    );
    if (!created.ok) {
      await ctx.reply(text("failed", { reason: created.reason }));
      return;
    }
    await ctx.reply(text("created", { slug, username, state: t(o.locale, `ownerbot.word.${created.value.bot.state}`) }));
  };
}
