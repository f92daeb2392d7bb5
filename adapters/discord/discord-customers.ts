/**
 * Discord users as a store's customers (`Customer`, channel "discord"): created the first
 * time they use the store, their name and `lastSeenAt` refreshed at most once a minute, and
 * the language they chose in the store read back for every turn (it changes when they pick
 * one) and for sends outside one.
 */
import type { Locale } from "../../flows/engine/index.ts";
import { Customer } from "../../storage/models/index.ts";
import { DISCORD_CHANNEL } from "./contract.ts";

const TOUCH_EVERY_MS = 60_000;
const REMEMBERED = 20_000;

export class DiscordCustomers {
  readonly #remembered = new Map<string, { name: string; at: number }>();

  /** Records that the user used the store; their chosen language, if any. */
  async seen(tenantId: string, user: { id: string; name?: string }): Promise<Locale | undefined> {
    const key = `${tenantId}:${user.id}`;
    const known = this.#remembered.get(key);
    const name = (user.name ?? "").slice(0, 128);
    const now = Date.now();
    if (known && known.name === name && now - known.at < TOUCH_EVERY_MS) return this.chosenLocale(tenantId, user.id);
    const view = await Customer.findOneAndUpdate(
      { tenantId, channel: DISCORD_CHANNEL, channelUserId: user.id },
      { $set: { lastSeenAt: new Date(), ...(name !== "" && { displayName: name }) } },
      { upsert: true, returnDocument: "after", projection: { _id: 0, locale: 1 } },
    ).lean<{ locale?: string | null }>().exec();
    const locale = chosen(view?.locale);
    this.#remember(key, { name, at: now });
    return locale;
  }

  /** The language the user chose in this store, for a message they did not ask for. */
  async chosenLocale(tenantId: string, userId: string): Promise<Locale | undefined> {
    const view = await Customer.findOne({ tenantId, channel: DISCORD_CHANNEL, channelUserId: userId }, { _id: 0, locale: 1 }).lean<{ locale?: string | null }>().exec();
    return chosen(view?.locale);
  }

  #remember(key: string, entry: { name: string; at: number }): void {
    this.#remembered.delete(key);
    if (this.#remembered.size >= REMEMBERED) this.#remembered.delete(this.#remembered.keys().next().value as string);
    this.#remembered.set(key, entry);
  }
}

function chosen(locale: string | null | undefined): Locale | undefined {
  return locale === "id" || locale === "en" ? locale : undefined;
}
