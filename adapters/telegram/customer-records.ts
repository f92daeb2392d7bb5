/**
 * One store's Telegram customers in MongoDB, as the bot meets them: created on their first
 * message, their name and `lastSeenAt` kept fresh, their language read for every message
 * (it changes when they pick one), and marked unreachable when Telegram says they blocked
 * the bot — and reachable again when they write.
 *
 * The reply path pays one indexed round trip per message: a write (upsert) the first time
 * and then at most once a minute, a read otherwise. If the database is slow, the message
 * goes on in the language the customer was last seen with (or Telegram's), after
 * `lookupBudgetMs`; the write finishes in the background.
 */
import type { User } from "grammy/types";
import type { EngineLog } from "../../flows/engine/index.ts";
import type { Locale } from "../../flows/engine/index.ts";
import { Customer } from "../../storage/models/index.ts";
import type { UnreachableReason } from "./api-resilience.ts";
import { displayNameOf } from "./inbound-message.ts";

/** `Customer.channel` for this adapter. */
export const TELEGRAM_CHANNEL = "telegram";

/** `Customer.blockedReason` values this adapter sets, and clears when the customer writes again. */
export const UNREACHABLE_REASONS: Record<UnreachableReason, string> = {
  blocked: "blocked-bot",
  deactivated: "deactivated-account",
};
const CLEARED_ON_CONTACT = new Set(Object.values(UNREACHABLE_REASONS));

const TOUCH_EVERY_MS = 60_000;
const REMEMBERED = 2_000;

interface Remembered {
  locale: Locale | undefined;
  name: string;
  touchedAt: number;
}

interface CustomerView {
  locale?: string | null;
  blocked?: boolean;
  blockedReason?: string | null;
}

export interface CustomerRecordsOptions {
  tenantId: string;
  log: EngineLog;
  /** How long the reply path waits for the database before going on without it. Default 2000 ms. */
  lookupBudgetMs?: number;
}

export class CustomerRecords {
  readonly #tenantId: string;
  readonly #log: EngineLog;
  readonly #budgetMs: number;
  readonly #remembered = new Map<string, Remembered>();

  constructor(options: CustomerRecordsOptions) {
    this.#tenantId = options.tenantId;
    this.#log = options.log;
    this.#budgetMs = options.lookupBudgetMs ?? 2000;
  }

  /**
   * Records that the customer wrote, and returns their chosen language, or `undefined`
   * when they never chose one (the caller falls back to Telegram's `language_code`).
   */
  async seen(user: User): Promise<Locale | undefined> {
    const id = String(user.id);
    const name = displayNameOf(user);
    const known = this.#remembered.get(id);
    const now = Date.now();
    const touch = !known || known.name !== name || now - known.touchedAt >= TOUCH_EVERY_MS;
    const lookup = this.#lookup(id, name, touch).then((view) => {
      const locale = view?.locale === "id" || view?.locale === "en" ? view.locale : undefined;
      this.#remember(id, { locale, name, touchedAt: touch ? now : (known?.touchedAt ?? now) });
      if (view?.blocked && CLEARED_ON_CONTACT.has(view.blockedReason ?? "")) this.#markReachable(id);
      return locale;
    });
    const guarded = lookup.catch((error: unknown) => {
      this.#log.warn("telegram customer record not updated", { tenantId: this.#tenantId, error: (error as Error).message });
      return known?.locale;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Locale | undefined>((resolve) => {
      timer = setTimeout(() => resolve(known?.locale), this.#budgetMs);
    });
    try {
      return await Promise.race([guarded, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The language the customer chose, for a message they did not ask for; `undefined` when they never chose. */
  async chosenLocale(chatId: number | string): Promise<Locale | undefined> {
    const known = this.#remembered.get(String(chatId));
    if (known) return known.locale;
    const view = await Customer.findOne(
      { tenantId: this.#tenantId, channel: TELEGRAM_CHANNEL, channelUserId: String(chatId) },
      { _id: 0, locale: 1 },
    ).lean<CustomerView>().exec();
    return view?.locale === "id" || view?.locale === "en" ? view.locale : undefined;
  }

  /** Telegram answered 403 for this chat: stop writing to the customer until they write again. */
  async markUnreachable(chatId: number | string, reason: UnreachableReason): Promise<void> {
    await Customer.updateOne(
      { tenantId: this.#tenantId, channel: TELEGRAM_CHANNEL, channelUserId: String(chatId) },
      { $set: { blocked: true, blockedReason: UNREACHABLE_REASONS[reason] } },
    ).exec();
  }

  /** The customer unblocked the bot (Telegram's my_chat_member update). */
  markReachable(chatId: number | string): void {
    this.#markReachable(String(chatId));
  }

  #lookup(id: string, name: string, touch: boolean): Promise<CustomerView | null> {
    const filter = { tenantId: this.#tenantId, channel: TELEGRAM_CHANNEL, channelUserId: id } as const;
    const projection = { _id: 0, locale: 1, blocked: 1, blockedReason: 1 };
    if (!touch) return Customer.findOne(filter, projection).lean<CustomerView>().exec();
    return Customer.findOneAndUpdate(
      filter,
      { $set: { displayName: name, lastSeenAt: new Date() } },
      { upsert: true, returnDocument: "after", projection },
    ).lean<CustomerView>().exec();
  }

  #markReachable(id: string): void {
    Customer.updateOne(
      { tenantId: this.#tenantId, channel: TELEGRAM_CHANNEL, channelUserId: id, blockedReason: { $in: [...CLEARED_ON_CONTACT] } },
      { $set: { blocked: false }, $unset: { blockedReason: 1 } },
    ).exec().catch((error: unknown) => {
      this.#log.warn("telegram customer could not be marked reachable", { tenantId: this.#tenantId, error: (error as Error).message });
    });
  }

  #remember(id: string, entry: Remembered): void {
    this.#remembered.delete(id);
    if (this.#remembered.size >= REMEMBERED) this.#remembered.delete(this.#remembered.keys().next().value as string);
    this.#remembered.set(id, entry);
  }
}
