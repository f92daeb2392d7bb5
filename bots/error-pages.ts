/**
 * The platform's own answers when no route answered as hoped: 404 (no such address), 405
 * (not with this method) and 500 (a route failed), as a page in the browser's language for
 * a person, in the shell every page shares (flows/engine/web-page.ts).
 *
 * ```ts
 * if (wantsPage(request)) sendMissingPage(request, reply, 404);
 * ```
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { pageLocale, sendNoticePage } from "../flows/engine/index.ts";
import { t } from "../locales/i18n.ts";

/** Whether a person's browser asked, rather than a machine: a page to look at, or an address typed in. */
export function wantsPage(request: FastifyRequest): boolean {
  return request.method === "GET" || request.method === "HEAD" || /\btext\/html\b/.test(request.headers.accept ?? "");
}

const MISSING_TEXTS = {
  404: { title: "web.not_found.title", hint: "web.not_found.hint" },
  405: { title: "web.method_not_allowed.title", hint: "web.method_not_allowed.hint" },
};

/** 404 (no such address) or 405 (not with this method) as a page, in the browser's language. */
export function sendMissingPage(request: FastifyRequest, reply: FastifyReply, status: 404 | 405): FastifyReply {
  const locale = pageLocale(request);
  return sendNoticePage(reply, status, locale, t(locale, MISSING_TEXTS[status].title), t(locale, MISSING_TEXTS[status].hint));
}

/** 500 as a page: what happened in the customer's words, and the error id the log line carries. */
export function sendFailurePage(request: FastifyRequest, reply: FastifyReply, errorId: string): FastifyReply {
  const locale = pageLocale(request);
  return sendNoticePage(reply, 500, locale, t(locale, "web.failed.title"), t(locale, "web.failed.hint", { errorId }));
}
