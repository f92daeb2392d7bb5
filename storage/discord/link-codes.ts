/**
 * One-time codes that link a Discord guild to a store. The store's owner asks for one (the
 * store bot's `/discord`) and types it in the guild (`/niaga hubungkan kode:K7QM4WXP`); the
 * code proves the person in the guild holds the store's owner account.
 *
 * ```ts
 * const codes = createMongoLinkCodes({ limiter });
 * const { code, expiresAt } = await codes.issue(tenantId, "telegram:111");
 * const redeemed = await codes.redeem(code, { guildId, userId });   // { ok: true, tenantId, by }
 * await codes.redeem(code, { guildId, userId });                     // { ok: false, reason: "invalid" }
 * ```
 *
 * - 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L): 31⁸ ≈ 8.5 × 10¹¹
 *   codes; typed case-insensitively, spaces and dashes ignored.
 * - Stored as a SHA-256 hash, so a database dump holds no usable code; a TTL index removes
 *   it once expired (and `redeem` refuses it before the TTL monitor runs).
 * - One live code per store: issuing again replaces the previous code.
 * - `redeem` deletes the code in the same conditional operation that reads it: of two
 *   redeems at once exactly one gets the store. A wrong, used or expired code all answer
 *   `invalid`, so a stranger learns nothing about which stores exist.
 * - Guessing is limited per guild and per user (`RateLimiter`, shared across instances
 *   with Redis): every attempt counts, right or wrong.
 */
import { createHash, randomInt } from "node:crypto";
import { Schema, Types, model } from "mongoose";
import type { RateLimiter } from "../rate-limit.ts";
import { createInProcessRateLimiter } from "../rate-limit.ts";
import { tenantScoped } from "../tenant-scope.ts";

export const LINK_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
export const LINK_CODE_LENGTH = 8;
export const DEFAULT_LINK_CODE_TTL_MS = 15 * 60_000;
/** Attempts per guild and per user within `window`: enough for typos, far too few to guess. */
export const DEFAULT_REDEEM_LIMIT = { perGuild: 10, perUser: 5, windowMs: 15 * 60_000 } as const;

const linkCodeSchema = new Schema(
  {
    codeHash: { type: String, required: true },
    /** `"<channel>:<userId>"` of who asked for it. */
    issuedBy: { type: String, required: true, maxlength: 128 },
    expiresAt: { type: Date, required: true },
  },
  { collection: "discord_link_codes", timestamps: true, versionKey: false },
);
linkCodeSchema.plugin(tenantScoped);
// One live code per store, issuing again overwrites it: the wall's plain tenantId index becomes a unique one.
linkCodeSchema.path("tenantId").index({ unique: true });
linkCodeSchema.index({ codeHash: 1 }, { unique: true });
linkCodeSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export const DiscordLinkCode = model("DiscordLinkCode", linkCodeSchema);

export type Redeemed = { ok: true; tenantId: string; issuedBy: string } | { ok: false; reason: "invalid" } | { ok: false; reason: "too-many-tries"; retryAfterMs: number };

export interface LinkCodes {
  /** A new code for the store (the previous one stops working). */
  issue(tenantId: string, by: string): Promise<{ code: string; expiresAt: Date }>;
  /** The store's code, once and only once; who tries is counted against the guessing limits. */
  redeem(code: string, who: { guildId: string; userId: string }): Promise<Redeemed>;
  /** When the store's live code expires; undefined when it has none. */
  live(tenantId: string): Promise<Date | undefined>;
  /** The store's live code stops working (the store's link changed by other means). */
  revoke(tenantId: string): Promise<void>;
}

export interface LinkCodeOptions {
  ttlMs?: number;
  limiter?: RateLimiter;
  limits?: { perGuild: number; perUser: number; windowMs: number };
  clock?: () => Date;
}

const hashOf = (code: string) => createHash("sha256").update(code, "utf8").digest("hex");

/** What was typed, as a code: upper case, without spaces and dashes; undefined when it cannot be one. */
export function normalizeLinkCode(typed: string): string | undefined {
  const code = typed.replace(/[\s-]+/g, "").toUpperCase();
  if (code.length !== LINK_CODE_LENGTH || [...code].some((c) => !LINK_CODE_ALPHABET.includes(c))) return undefined;
  return code;
}

function newCode(): string {
  return Array.from({ length: LINK_CODE_LENGTH }, () => LINK_CODE_ALPHABET[randomInt(LINK_CODE_ALPHABET.length)]).join("");
}

export function createMongoLinkCodes(options: LinkCodeOptions = {}): LinkCodes {
  const ttlMs = options.ttlMs ?? DEFAULT_LINK_CODE_TTL_MS;
  const limiter = options.limiter ?? createInProcessRateLimiter();
  const limits = options.limits ?? DEFAULT_REDEEM_LIMIT;
  const clock = options.clock ?? (() => new Date());
  return {
    async issue(tenantId, by) {
      const tenant = new Types.ObjectId(tenantId);
      for (let attempt = 0; ; attempt++) {
        const code = newCode();
        const expiresAt = new Date(clock().getTime() + ttlMs);
        try {
          await DiscordLinkCode.updateOne({ tenantId: tenant }, { $set: { codeHash: hashOf(code), issuedBy: by, expiresAt } }, { upsert: true });
          return { code, expiresAt };
        } catch (error) {
          // Another store holds the same code (one chance in ~10¹¹ per live code): draw again.
          if ((error as { code?: number }).code !== 11000 || attempt >= 3) throw error;
        }
      }
    },

    async redeem(typed, who) {
      for (const [key, limit] of [[`discord-link:guild:${who.guildId}`, limits.perGuild], [`discord-link:user:${who.userId}`, limits.perUser]] as const) {
        const verdict = await limiter.consume(key, limit, limits.windowMs);
        if (!verdict.allowed) return { ok: false, reason: "too-many-tries", retryAfterMs: verdict.retryAfterMs };
      }
      const code = normalizeLinkCode(typed);
      if (!code) return { ok: false, reason: "invalid" };
      // The code names its store: this lookup spans stores by nature.
      const claimed = await DiscordLinkCode.findOneAndDelete({ codeHash: hashOf(code), expiresAt: { $gt: clock() } }, { crossTenant: true })
        .lean<{ tenantId: Types.ObjectId; issuedBy: string }>()
        .exec();
      if (!claimed) return { ok: false, reason: "invalid" };
      return { ok: true, tenantId: String(claimed.tenantId), issuedBy: claimed.issuedBy };
    },

    async live(tenantId) {
      const row = await DiscordLinkCode.findOne({ tenantId: new Types.ObjectId(tenantId), expiresAt: { $gt: clock() } }, { expiresAt: 1 }).lean<{ expiresAt: Date }>().exec();
      return row?.expiresAt;
    },

    async revoke(tenantId) {
      await DiscordLinkCode.deleteOne({ tenantId: new Types.ObjectId(tenantId) });
    },
  };
}
