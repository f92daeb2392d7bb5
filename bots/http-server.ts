import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Registry, collectDefaultMetrics, Counter, Histogram } from "prom-client";
import type winston from "winston";
import { sendFailurePage, sendMissingPage, wantsPage } from "./html-page.ts";
import { serveMetrics, type MetricsAccess } from "./metrics-endpoint.ts";

/**
 * The platform's one HTTP server: `/healthz` (the process answers), `/readyz` (its
 * dependencies answer), `/metrics` (Prometheus), and the routes other parts register —
 * Telegram webhooks, payment webhooks and pay pages.
 *
 * ```ts
 * const http = createPlatformHttp({ log });
 * http.route("POST", "/telegram/:tenant", async (req, res, { tenant }) => { … });
 * http.readiness("mongodb", async () => mongoose.connection.readyState === 1);
 * await http.listen(3000);
 * ```
 */
export type RouteParams = Record<string, string>;
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: RouteParams) => unknown;
type ReadinessCheck = () => Promise<boolean> | boolean;

interface Route {
  method: string;
  parts: string[];
  handler: RouteHandler;
}

export interface PlatformHttp {
  readonly metrics: Registry;
  route(method: string, pattern: string, handler: RouteHandler): void;
  readiness(name: string, check: ReadinessCheck): void;
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
  /** For tests and benchmarks that drive the server without a socket of their own. */
  readonly server: Server;
}

/** Request bodies larger than this are refused with 413 before they are buffered. */
export const MAX_BODY_BYTES = 1 << 20;

export class BodyTooLargeError extends Error {}

export function createPlatformHttp(opts: { log: winston.Logger; collectProcessMetrics?: boolean; metrics?: MetricsAccess }): PlatformHttp {
  const metrics = new Registry();
  if (opts.collectProcessMetrics !== false) collectDefaultMetrics({ register: metrics, prefix: "niaga_" });
  const requests = new Counter({
    name: "niaga_http_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["route", "status"],
    registers: [metrics],
  });
  const latency = new Histogram({
    name: "niaga_http_request_seconds",
    help: "HTTP request latency by route",
    labelNames: ["route"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics],
  });
  const routes: Route[] = [];
  const checks = new Map<string, ReadinessCheck>();

  const builtins: Route[] = [
    { method: "GET", parts: ["healthz"], handler: (_req, res) => sendJson(res, 200, { status: "ok" }) },
    {
      method: "GET",
      parts: ["readyz"],
      handler: async (_req, res) => {
        const results: Record<string, boolean> = {};
        await Promise.all(
          [...checks].map(async ([name, check]) => {
            results[name] = await Promise.resolve()
              .then(check)
              .then(Boolean, () => false);
          }),
        );
        const ready = Object.values(results).every(Boolean);
        sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready", checks: results });
      },
    },
    // On a listener of its own when one is configured (metrics-endpoint.ts).
    ...(opts.metrics?.listener ? [] : [{ method: "GET", parts: ["metrics"], handler: serveMetrics(metrics, opts.metrics?.token) }]),
  ];

  const server = createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? "/").split("?")[0];
    const parts = path.split("/").filter(Boolean).map(safeDecode);
    let routeLabel = "unmatched";
    try {
      const match = findRoute([...builtins, ...routes], req.method ?? "GET", parts);
      if (match === "method" || !match) {
        const status = match ? 405 : 404;
        // A person who mistyped an address gets a page; a machine, JSON.
        if (wantsPage(req)) sendMissingPage(req, res, status);
        else sendJson(res, status, { error: status === 404 ? "not found" : "method not allowed" });
      } else {
        routeLabel = "/" + match.route.parts.join("/");
        await match.route.handler(req, res, match.params);
      }
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        if (!res.headersSent) sendJson(res, 413, { error: "request body too large" });
      } else {
        const errorId = randomBytes(4).toString("hex");
        opts.log.error("http handler failed", { route: routeLabel, errorId, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        if (res.headersSent) res.end();
        else if (wantsPage(req)) sendFailurePage(req, res, errorId);
        else sendJson(res, 500, { error: "internal error", errorId });
      }
    } finally {
      requests.inc({ route: routeLabel, status: String(res.statusCode) });
      latency.observe({ route: routeLabel }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  });
  // Slow-loris and dead clients must not pin sockets for ever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  server.keepAliveTimeout = 5_000;

  return {
    metrics,
    server,
    route(method, pattern, handler) {
      routes.push({ method: method.toUpperCase(), parts: pattern.split("/").filter(Boolean), handler });
    },
    readiness(name, check) {
      checks.set(name, check);
    },
    listen(port, host = "0.0.0.0") {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function findRoute(routes: Route[], method: string, parts: string[]): { route: Route; params: RouteParams } | "method" | undefined {
  let wrongMethod = false;
  for (const route of routes) {
    if (route.parts.length !== parts.length) continue;
    const params: RouteParams = {};
    const fits = route.parts.every((p, i) => {
      if (p.startsWith(":")) {
        params[p.slice(1)] = parts[i];
        return true;
      }
      return p === parts[i];
    });
    if (!fits) continue;
    if (route.method === method || (method === "HEAD" && route.method === "GET")) return { route, params };
    wrongMethod = true;
  }
  return wrongMethod ? "method" : undefined;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * The one answer to a webhook that did not prove who sent it — an unknown store, a wrong
 * secret or signature, an unknown method alike — so a stranger learns nothing about which
 * stores exist.
 */
export const UNAUTHENTICATED = { status: 401, body: { error: "unauthorized" } } as const;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a request body up to `limit` bytes; beyond that throws BodyTooLargeError (the server answers 413). */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
