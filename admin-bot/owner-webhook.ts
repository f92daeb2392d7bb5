/**
 * The owner bot's webhook (`OWNER_BOT_MODE=webhook`): Telegram posts its updates to
 * `PUBLIC_URL/telegram-owner` with the secret set by `setWebhook` in the
 * `X-Telegram-Bot-Api-Secret-Token` header. Any instance behind `PUBLIC_URL` may answer.
 *
 * | request | answer |
 * |---|---|
 * | a wrong or missing secret | 401, the body not read |
 * | the right secret, the bot stopping or not started | 503, so Telegram keeps the update and retries |
 * | the right secret | 200 once the update was handled (a failing command is answered in the chat, not retried) |
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import type { Update } from "grammy/types";

export const OWNER_WEBHOOK_PATH = "/telegram-owner";
const SECRET_HEADER = "x-telegram-bot-api-secret-token";

export interface OwnerWebhookOptions {
  secret: string;
  /** False while the bot cannot take updates (not started, stopping). */
  accepting(): boolean;
  handle(update: Update): Promise<void>;
}

export function ownerWebhookRoutes(options: OwnerWebhookOptions): FastifyPluginAsync {
  const expected = Buffer.from(options.secret);
  const authentic = (header: unknown) => {
    if (typeof header !== "string") return false;
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  return async (app) => {
    app.post(OWNER_WEBHOOK_PATH, {
      // Checked before the body is read: a stranger learns nothing and costs nothing.
      onRequest: async (request, reply) => {
        if (!authentic(request.headers[SECRET_HEADER])) return reply.code(401).send({ ok: false });
        if (!options.accepting()) return reply.code(503).send({ ok: false });
      },
      handler: async (request, reply) => {
        await options.handle(request.body as Update);
        return reply.code(200).send({ ok: true });
      },
    });
  };
}
