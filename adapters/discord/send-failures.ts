/**
 * Discord's answers to a send as the channel contract's reasons (the table in
 * flows/engine/channel.ts): a person who cannot be messaged or a channel that is gone is
 * `unreachable`; missing access or a refused body is `rejected`; a revoked token is
 * `store-unavailable`; the network or Discord failing is `failed`.
 */
import { DiscordAPIError, RESTJSONErrorCodes } from "discord.js";
import type { SendFailureReason } from "../../flows/engine/index.ts";
import { DISCORD_ERRORS } from "./contract.ts";

/** A send the channel itself refuses before asking Discord (a channel outside the store's guild). */
export class SendRefused extends Error {
  constructor(readonly reason: SendFailureReason, detail: string) {
    super(detail);
  }
}

export function failureOf(error: unknown): { reason: SendFailureReason; detail: string; retryAfterSec?: number } {
  if (error instanceof SendRefused) return { reason: error.reason, detail: error.message };
  const detail = error instanceof Error ? error.message : String(error);
  if (error instanceof DiscordAPIError) {
    const code = Number(error.code);
    if (code === DISCORD_ERRORS.cannotMessageUser || code === DISCORD_ERRORS.unknownChannel || code === RESTJSONErrorCodes.UnknownUser) return { reason: "unreachable", detail };
    if (code === DISCORD_ERRORS.missingAccess || code === DISCORD_ERRORS.missingPermissions) return { reason: "rejected", detail };
    if (error.status === 429) return { reason: "rate-limited", detail, retryAfterSec: 5 };
    if (error.status === 401) return { reason: "store-unavailable", detail };
    if (error.status >= 400 && error.status < 500) return { reason: "rejected", detail };
  }
  return { reason: "failed", detail };
}
