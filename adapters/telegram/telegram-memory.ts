/**
 * What Telegram already has for a store's bot, remembered on the store
 * (`channels.telegram.known`), so a start makes only the calls whose result would change:
 * the bot's identity (`getMe`), the webhook (url + secret + allowed updates), the customer
 * menus and the members' menus, each as a digest of what was sent. Everything is bound to a
 * digest of the token it was read or set with: a re-token forgets it all.
 *
 * ```ts
 * const memory = TelegramMemory.of(tenantId, token, tenant.channels?.telegram?.known, log);
 * const botInfo = memory.botInfo;            // undefined: ask getMe
 * if (!memory.has("webhook", digest)) { await api.setWebhook(...); await memory.remember("webhook", digest); }
 * ```
 *
 * The catch: the memory says what the platform last sent, not what Telegram holds now. A
 * change made outside the platform (BotFather, another program using the token) is seen by
 * the webhook checks and the background identity checks, not at start.
 */
import { createHash } from "node:crypto";
import type { UserFromGetMe } from "grammy/types";
import type { EngineLog } from "../../flows/engine/index.ts";
import { QUIET, Tenant } from "../../storage/models/index.ts";
import { describe } from "./bot-status.ts";

const KNOWN = "channels.telegram.known";

/** What is remembered of a store's bot, as saved. */
export interface KnownTelegram {
  token?: string | null;
  botInfo?: string | null;
  webhook?: string | null;
  commands?: string | null;
  memberMenus?: string | null;
}

/** The digests a start compares; `botInfo` has its own setter. */
export type KnownKind = "webhook" | "commands" | "memberMenus";

/** A digest of a token, to tell whether the rest was read with this token; not the token, and not reversible. */
export function tokenDigest(token: string): string {
  return digestOf(["niaga-telegram-token", token]);
}

/** A short digest of what was sent to Telegram, in a stable order. */
export function digestOf(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 27);
}

export class TelegramMemory {
  readonly tenantId: string;
  readonly token: string;
  #known: KnownTelegram;
  readonly #log: EngineLog;
  readonly #slug: string;
  #writing: Promise<void> = Promise.resolve();

  private constructor(tenantId: string, slug: string, token: string, known: KnownTelegram, log: EngineLog) {
    this.tenantId = tenantId;
    this.#slug = slug;
    this.token = token;
    this.#known = known;
    this.#log = log;
  }

  /** The memory of a store for `token`; empty when what is saved was read with another token. */
  static of(tenantId: string, slug: string, token: string, saved: KnownTelegram | null | undefined, log: EngineLog): TelegramMemory {
    const digest = tokenDigest(token);
    return new TelegramMemory(tenantId, slug, digest, saved?.token === digest ? { ...saved } : { token: digest }, log);
  }

  /** The identity getMe gave for this token, if remembered. */
  get botInfo(): UserFromGetMe | undefined {
    if (!this.#known.botInfo) return undefined;
    try {
      const info = JSON.parse(this.#known.botInfo) as UserFromGetMe;
      return typeof info.id === "number" && typeof info.username === "string" ? info : undefined;
    } catch {
      return undefined;
    }
  }

  has(kind: KnownKind, digest: string): boolean {
    return this.#known[kind] === digest;
  }

  /** Remembers getMe's answer (and the bot's username where the store shows it); only when it changed. */
  async rememberBotInfo(info: UserFromGetMe, savedUsername: string | null | undefined): Promise<void> {
    const json = JSON.stringify(info);
    if (json === this.#known.botInfo && info.username === savedUsername) return;
    this.#known.botInfo = json;
    await this.#write(info.username === savedUsername ? {} : { "channels.telegram.botUsername": info.username });
  }

  /** Remembers what was just sent to Telegram, or (undefined) that it is no longer there. */
  async remember(kind: KnownKind, digest: string | undefined): Promise<void> {
    if ((this.#known[kind] ?? undefined) === digest) return;
    if (digest === undefined) delete this.#known[kind];
    else this.#known[kind] = digest;
    await this.#write();
  }

  /**
   * Every write of this bookkeeping goes through here. It is no change of the store: the
   * sweep does not read these fields, `updatedAt` stays and `changedAt` too (`QUIET`). Never throws: a write that fails
   * only costs the same calls again at the next start.
   */
  #write(also: Record<string, string> = {}): Promise<void> {
    // One write at a time, each of the whole memory as it is then: the last one saved is the newest.
    this.#writing = this.#writing.then(async () => {
      try {
        await Tenant.updateOne({ _id: this.tenantId }, { $set: { [KNOWN]: { ...this.#known, token: this.token }, ...also } }, { ...QUIET, timestamps: false }).exec();
      } catch (error) {
        this.#log.warn("telegram bot state not remembered; the next start asks Telegram again", { tenant: this.#slug, error: describe(error) });
      }
    });
    return this.#writing;
  }
}
