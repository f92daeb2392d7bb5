/**
 * `POST /telegram/<store-slug>` on the platform's HTTP server: where Telegram delivers a
 * store's updates in webhook mode.
 *
 * | request | answer |
 * |---|---|
 * | a store bot running here, the right `X-Telegram-Bot-Api-Secret-Token` | 200 once the customer has the reply (or after `answerWithinMs`, the turn going on) |
 * | no such store, or a wrong or missing secret | the same 401 for all, the body not even read: a stranger cannot tell which stores exist |
 * | the store's saved secret, the store suspended | 410 |
 * | the store's saved secret, its bot not running here | 503, so Telegram keeps the update and retries |
 * | the platform is shutting down | 503, the body not read |
 * | a body that is not an update | 400 |
 *
 * Answering 200 only after the turn keeps a store's updates in order when Telegram
 * delivers them one by one; answering by `answerWithinMs` at the latest keeps a slow turn
 * (a flood wait, a slow database) from making Telegram time out and deliver it again.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Update } from "grammy/types";
import { readBody, sendJson, UNAUTHENTICATED } from "../../bots/http-server.ts";
import type { RouteHandler } from "../../bots/http-server.ts";
import type { StoreBot } from "./store-bot.ts";

export const WEBHOOK_SECRET_HEADER = "x-telegram-bot-api-secret-token";

export interface WebhookEndpointOptions {
  /** The running bot of a store, by slug. */
  botFor(slug: string): StoreBot | undefined;
  /** Why a store has no running bot here, told only to a request carrying the store's secret (else 401). */
  absentStatus(slug: string, secret: string | undefined): Promise<401 | 410 | 503>;
  /** True once the platform stops taking updates. */
  closing(): boolean;
  answerWithinMs: number;
}

export function createWebhookEndpoint(options: WebhookEndpointOptions): RouteHandler {
  return async (req: IncomingMessage, res: ServerResponse, params) => {
    if (options.closing()) {
      req.resume();
      return sendJson(res, 503, { error: "shutting down" });
    }
    const slug = params.tenant ?? "";
    const header = req.headers[WEBHOOK_SECRET_HEADER];
    const secret = typeof header === "string" ? header : undefined;
    const bot = options.botFor(slug);
    if (!bot?.checkSecret(secret)) {
      req.resume();
      const status = bot ? 401 : await options.absentStatus(slug, secret);
      if (status === 401) return sendJson(res, UNAUTHENTICATED.status, UNAUTHENTICATED.body);
      return sendJson(res, status, { error: status === 410 ? "store suspended" : "store bot not running" });
    }
    const update = parseUpdate(await readBody(req));
    if (!update) return sendJson(res, 400, { error: "the body is not a Telegram update" });
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
    sendJson(res, 200, { ok: true });
  };
}

function parseUpdate(body: Buffer): Update | undefined {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    const id = (value as { update_id?: unknown } | null)?.update_id;
    return typeof id === "number" && Number.isSafeInteger(id) ? (value as Update) : undefined;
  } catch {
    return undefined;
  }
}
