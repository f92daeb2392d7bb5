/**
 * `POST /telegram/<store-slug>`, a plugin on the platform's HTTP server: where Telegram delivers a
 * store's updates in webhook mode.
 *
 * | request | answer |
 * |---|---|
 * | a store bot running here, the right `X-Telegram-Bot-Api-Secret-Token` | 200 once the customer has the reply (or after `answerWithinMs`, the turn going on) |
 * | no such store, or a wrong or missing secret | the same 401 for all, the body not even read: a stranger cannot tell which stores exist |
 * | the store's saved secret, the store suspended | 410 |
 * | the store's saved secret, its bot starting in this start-up | held until the bot is up (at most `holdMs`), then as if it ran |
 * | the store's saved secret, its bot not running here | 503, so Telegram keeps the update and retries |
 * | the platform is shutting down | 503, the body not read |
 * | a body that is not an update | 400 |
 * | a body over 1 MB, the right secret | 413 (a stranger's gets the 401: the secret is checked first) |
 *
 * Answering 200 only after the turn keeps a store's updates in order when Telegram
 * delivers them one by one; answering by `answerWithinMs` at the latest keeps a slow turn
 * (a flood wait, a slow database) from making Telegram time out and deliver it again.
 */
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { Update } from "grammy/types";
import { UNAUTHENTICATED } from "../../flows/engine/index.ts";
import type { StoreBot } from "./store-bot.ts";

export const WEBHOOK_SECRET_HEADER = "x-telegram-bot-api-secret-token";

export interface WebhookEndpointOptions {
  /** The running bot of a store, by slug. */
  botFor(slug: string): StoreBot | undefined;
  /**
   * For a store whose bot this start-up is about to start, and a request carrying its saved
   * secret: resolves true once the bot runs (false: it did not in time). Undefined when there
   * is nothing to wait for.
   */
  starting?(slug: string, secret: string | undefined): Promise<boolean> | undefined;
  /** Why a store has no running bot here, told only to a request carrying the store's secret (else 401). */
  absentStatus(slug: string, secret: string | undefined): Promise<401 | 410 | 503>;
  /** True once the platform stops taking updates. */
  closing(): boolean;
  answerWithinMs: number;
}

type WebhookRequest = FastifyRequest<{ Params: { tenant: string } }>;

/** The webhook route as a fastify plugin, for the platform's HTTP server to register. */
export function telegramWebhookRoutes(options: WebhookEndpointOptions): FastifyPluginAsync {
  return async (app) => {
    // Who is asking is settled before the body is read: a stranger's body is never parsed.
    const authenticated = new WeakMap<WebhookRequest, StoreBot>();
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

    app.post<{ Params: { tenant: string } }>("/telegram/:tenant", {
      onRequest: async (request, reply) => {
        if (options.closing()) return reply.code(503).send({ error: "shutting down" });
        const slug = request.params.tenant;
        const header = request.headers[WEBHOOK_SECRET_HEADER];
        const secret = typeof header === "string" ? header : undefined;
        let bot = options.botFor(slug);
        if (!bot && (await options.starting?.(slug, secret))) {
          if (options.closing()) return reply.code(503).send({ error: "shutting down" });
          bot = options.botFor(slug);
        }
        if (bot?.checkSecret(secret)) return void authenticated.set(request, bot);
        const status = bot ? 401 : await options.absentStatus(slug, secret);
        if (status === 401) return reply.code(UNAUTHENTICATED.status).send(UNAUTHENTICATED.body);
        return reply.code(status).send({ error: status === 410 ? "store suspended" : "store bot not running" });
      },
      handler: async (request, reply) => {
        const bot = authenticated.get(request)!;
        const update = parseUpdate(request.body);
        if (!update) return reply.code(400).send({ error: "the body is not a Telegram update" });
        const handled = bot.receive(update);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, options.answerWithinMs);
        });
        try {
          await Promise.race([handled.catch(() => undefined), late]);
        } finally {
          clearTimeout(timer);
        }
        return reply.code(200).send({ ok: true });
      },
    });
  };
}

function parseUpdate(body: unknown): Update | undefined {
  if (!Buffer.isBuffer(body)) return undefined;
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    const id = (value as { update_id?: unknown } | null)?.update_id;
    return typeof id === "number" && Number.isSafeInteger(id) ? (value as Update) : undefined;
  } catch {
    return undefined;
  }
}
