/**
 * The platform's web pages a person opens on their phone — the pay page, and the page for
 * an address that does not exist — in one shell: escaped text, one small inline
 * stylesheet, no scripts, nothing loaded from elsewhere, and a width that fits a 360px
 * screen whatever the seller named their products.
 *
 * ```ts
 * sendPage(res, 200, { locale: "id", title: "Bayar pesanan — Toko Budi", body: `<h1>${escapeHtml(name)}</h1>` });
 * if (wantsPage(req)) sendMissingPage(req, res, 404);
 * ```
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { locales, defaultLocale, t, type Locale } from "../locales/i18n.ts";

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222;overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;margin:1rem 0}td{padding:.4rem 0;border-bottom:1px solid #eee;vertical-align:top}
.n{text-align:right;white-space:nowrap;padding-left:.75rem}.each{display:block;color:#555;font-size:.9rem}
.total td{font-weight:bold;border-bottom:none}button{width:100%;padding:.9rem;font-size:1.1rem;border:0;border-radius:.5rem;background:#0a7d3b;color:#fff;cursor:pointer}
.deadline{font-weight:bold}.state{font-size:1.1rem;font-weight:bold}.warn{color:#a40000}.note{color:#777;font-size:.85rem;margin-top:2rem}`;

/** Sends a whole page; `body` is HTML the caller built with {@link escapeHtml}. */
export function sendPage(res: ServerResponse, status: number, page: { locale: Locale; title: string; body: string }): void {
  const html = `<!doctype html>
<html lang="${page.locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style></head>
<body>${page.body}</body></html>`;
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(html),
    "cache-control": "no-store",
    // Inline styles only; no scripts; forms post back here; a link's token stays out of referrers.
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
  });
  res.end(html);
}

/** A page with a title and one explaining line, for what went wrong. */
export function sendNoticePage(res: ServerResponse, status: number, locale: Locale, title: string, hint: string): void {
  sendPage(res, status, { locale, title, body: `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(hint)}</p>` });
}

/** Whether a person's browser asked, rather than a machine: a page to look at, or an address typed in. */
export function wantsPage(req: IncomingMessage): boolean {
  return req.method === "GET" || req.method === "HEAD" || /\btext\/html\b/.test(req.headers.accept ?? "");
}

const MISSING_TEXTS = {
  404: { title: "web.not_found.title", hint: "web.not_found.hint" },
  405: { title: "web.method_not_allowed.title", hint: "web.method_not_allowed.hint" },
};

/** 404 (no such address) or 405 (not with this method) as a page, in the browser's language. */
export function sendMissingPage(req: IncomingMessage, res: ServerResponse, status: 404 | 405): void {
  const locale = pageLocale(req);
  sendNoticePage(res, status, locale, t(locale, MISSING_TEXTS[status].title), t(locale, MISSING_TEXTS[status].hint));
}

/** 500 as a page: what happened in the customer's words, and the error id the log line carries. */
export function sendFailurePage(req: IncomingMessage, res: ServerResponse, errorId: string): void {
  const locale = pageLocale(req);
  sendNoticePage(res, 500, locale, t(locale, "web.failed.title"), t(locale, "web.failed.hint", { errorId }));
}

/** The browser's preferred language among ours (`Accept-Language`), else Indonesian. */
export function pageLocale(req: IncomingMessage): Locale {
  const ranked = (req.headers["accept-language"] ?? "")
    .split(",")
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(";");
      const q = Number(params.find((p) => p.trim().startsWith("q="))?.trim().slice(2) ?? 1);
      return { language: tag.toLowerCase().split("-")[0], q: Number.isFinite(q) ? q : 0, index };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked.map((entry) => locales.find((l) => l === entry.language)).find((l) => l !== undefined) ?? defaultLocale;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
