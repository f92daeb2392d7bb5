/**
 * A store's Telegram credentials as saved (sealed) on the store: a new bot token checked
 * with Telegram and saved, a token Telegram revoked (401) recorded, and the webhook secret
 * made the first time webhook mode needs it. Every secret read or made here is registered
 * for redaction before anything could print it.
 */
import { randomBytes } from "node:crypto";
import { Api } from "grammy";
import { openTenantSecret, QUIET, sealTenantSecret, Tenant } from "../../storage/models/index.ts";
import { registerSecret } from "../../storage/secrets-redaction.ts";
import { describe, StoreBotError } from "./bot-status.ts";

const TOKEN_SHAPE = /^\d{1,20}:[A-Za-z0-9_-]{20,}$/;
const TOKEN_PATH = "channels.telegram.token";
const WEBHOOK_SECRET_PATH = "channels.telegram.webhookSecret";

/** Checks a new token with Telegram (`getMe`); resolves with the bot's username. */
export async function checkNewToken(token: string, apiRoot: string): Promise<string> {
  if (!TOKEN_SHAPE.test(token)) throw new StoreBotError("bad-token", "that is not a Telegram bot token (expected 123456789:AA… from @BotFather)");
  registerSecret(token);
  try {
    return (await new Api(token, { apiRoot }).getMe()).username;
  } catch (error) {
    throw new StoreBotError("token-rejected", `Telegram did not accept the new token: ${describe(error)}`);
  }
}

/** Saves a checked token, sealed, and clears a revocation. */
export async function saveToken(tenantId: string, token: string, botUsername: string): Promise<void> {
  const saved = await Tenant.updateOne(
    { _id: tenantId },
    {
      $set: { [TOKEN_PATH]: sealTenantSecret({ _id: tenantId }, TOKEN_PATH, token), "channels.telegram.botUsername": botUsername },
      $unset: { "channels.telegram.revokedAt": 1 },
    },
  ).exec();
  if (saved.matchedCount === 0) throw new StoreBotError("unknown-store", `no store has the id ${tenantId}`);
}

/** The store's token, opened and registered for redaction; undefined when it has none. */
export function tokenOf(tenant: Parameters<typeof openTenantSecret>[0]): string | undefined {
  const token = openTenantSecret(tenant, TOKEN_PATH);
  if (token) registerSecret(token);
  return token;
}

/** Telegram answered 401 for the store's token: saved, so no instance retries it until a new token comes. */
export async function recordRevoked(tenantId: string): Promise<void> {
  await Tenant.updateOne({ _id: tenantId }, { $set: { "channels.telegram.revokedAt": new Date() } }).exec();
}

/** The store's webhook secret, made and saved (sealed) the first time it is needed. */
export async function webhookSecretOf(tenantId: string): Promise<string> {
  const fresh = randomBytes(32).toString("base64url");
  registerSecret(fresh);
  // Only where none is saved yet: two processes switching at once end up with the same secret.
  const made = await Tenant.updateOne(
    { _id: tenantId, [WEBHOOK_SECRET_PATH]: { $in: [null, ""] } },
    { $set: { [WEBHOOK_SECRET_PATH]: sealTenantSecret({ _id: tenantId }, WEBHOOK_SECRET_PATH, fresh) } },
    // The bot's own bookkeeping: no other instance has to follow it.
    QUIET,
  ).exec();
  // Ours was saved: no need to read it back.
  if (made.modifiedCount === 1) return fresh;
  const tenant = await Tenant.findById(tenantId).exec();
  const secret = tenant ? openTenantSecret(tenant, WEBHOOK_SECRET_PATH) : undefined;
  if (!secret) throw new StoreBotError("unknown-store", `no store has the id ${tenantId}`);
  registerSecret(secret);
  return secret;
}

/** The saved webhook secret of a loaded store, registered for redaction; undefined before webhook mode made one. */
export function savedWebhookSecret(tenant: Parameters<typeof openTenantSecret>[0]): string | undefined {
  const secret = openTenantSecret(tenant, WEBHOOK_SECRET_PATH);
  if (secret) registerSecret(secret);
  return secret;
}
