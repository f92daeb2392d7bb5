/**
 * The shell of every web page the platform shows a person on their phone — a flow's page
 * (the pay page), or the platform's own for an address that does not exist: escaped text,
 * one small inline stylesheet, no scripts, nothing loaded from elsewhere, and a width that
 * fits a 360px screen whatever the seller named their products.
 *
 * ```ts
 * app.get("/pay/:order", async (request, reply) =>
 *   sendPage(reply, 200, { locale: pageLocale(request), title: "Bayar pesanan — Toko Budi", body: `<h1>${escapeHtml(name)}</h1>` }),
 * );
 * ```
 */
import type { FastifyReply } from "fastify";
import { locales, defaultLocale, type Locale } from "../../locales/i18n.ts";

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222;overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;margin:1rem 0}td{padding:.4rem 0;border-bottom:1px solid #eee;vertical-align:top}
.n{text-align:right;white-space:nowrap;padding-left:.75rem}.each{display:block;color:#555;font-size:.9rem}
.total td{font-weight:bold;border-bottom:none}button{width:100%;padding:.9rem;font-size:1.1rem;border:0;border-radius:.5rem;background:#0a7d3b;color:#fff;cursor:pointer}
.deadline{font-weight:bold}.state{font-size:1.1rem;font-weight:bold}.warn{color:#a40000}.note{color:#777;font-size:.85rem;margin-top:2rem}`;

/** Sends a whole page; `body` is HTML the caller built with {@link escapeHtml}. */
export function sendPage(reply: FastifyReply, status: number, page: { locale: Locale; title: string; body: string }): FastifyReply {
  const html = `<!doctype html>
<html lang="${page.locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style></head>
<body>${page.body}</body></html>`;
  return reply
    .code(status)
    .headers({
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      // Inline styles only; no scripts; forms post back here; a link's token stays out of referrers.
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
    })
    .send(html);
}

/** A page with a title and one explaining line, for what went wrong. */
export function sendNoticePage(reply: FastifyReply, status: number, locale: Locale, title: string, hint: string): FastifyReply {
  return sendPage(reply, status, { locale, title, body: `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(hint)}</p>` });
}

/** The browser's preferred language among ours (`Accept-Language`), else Indonesian. */
export function pageLocale(request: { headers: { "accept-language"?: string | undefined } }): Locale {
  const ranked = (request.headers["accept-language"] ?? "")
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
