/**
 * The platform's one HTTP server, on fastify: `/healthz` (the process answers), `/readyz`
 * (its dependencies answer), `/metrics` (Prometheus), and the routes channels and flows
 * contribute as fastify plugins — Telegram webhooks, payment webhooks, pay pages.
 *
 * ```ts
 * const http = createPlatformHttp({ log });
 * http.register(telegram.routes);               // a FastifyPluginAsync
 * http.readiness("mongodb", async () => mongoose.connection.readyState === 1);
 * await http.listen(3000);
 * ```
 *
 * The catch: fastify mounts routes once, so every `register` comes before `listen`. A
 * caller that needs the port to build what it registers (a test whose bots must know their
 * webhook URL) takes the port with `open`, registers, then calls `serve`; requests that
 * arrive in between wait for it.
 *
 * fastify parses bodies up to 1 MB (413 beyond; a plugin may set a smaller `bodyLimit`)
 * and gives every request an id: the `x-request-id` header of the answer, `reqId` on every
 * line a route logs with `request.log`, and the error id a failing request is answered
 * with. The platform adds 404 and 405 as a page for a browser and JSON for a machine, 500
 * with the error id, and request counts and latency by route in prom-client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import fastify, { LogController, type FastifyError, type FastifyPluginAsync } from "fastify";
import { Registry, collectDefaultMetrics, Counter, Histogram } from "prom-client";
import type winston from "winston";
import { sendFailurePage, sendMissingPage, wantsPage } from "./error-pages.ts";
import { metricsRoute, type MetricsAccess } from "./metrics-endpoint.ts";
import { requestLog } from "./request-log.ts";
import { newErrorId } from "../flows/engine/index.ts";

type ReadinessCheck = () => Promise<boolean> | boolean;

export interface PlatformHttp {
  readonly metrics: Registry;
  /** Mounts a plugin's routes, in a scope of its own (its content-type parsers, hooks and body limit stay there). Before `serve`. */
  register(routes: FastifyPluginAsync): void;
  /** A dependency `/readyz` asks; it answers 503 naming every check that failed or threw. */
  readiness(name: string, check: ReadinessCheck): void;
  /** Something `/readyz` tells without being unready (e.g. nobody hears the owner alerts): a line, or undefined when all is well. */
  notice(name: string, say: () => string | undefined): void;
  /** Hears each 500 after it is logged, with the error id the answer carries (the platform tells its owner). */
  onFailure(listener: (failure: { errorId: string; route: string; error: unknown }) => void): void;
  /** Mounts the routes and takes the port; resolves with the port (the one chosen for port 0). */
  listen(port: number, host?: string): Promise<number>;
  /** Takes the port without answering yet: requests wait for `serve`. Resolves with the port. */
  open(port: number, host?: string): Promise<number>;
  /** Mounts every registered route and answers the requests that waited. Safe to call twice. */
  serve(): Promise<void>;
  close(): Promise<void>;
  /** For tests and benchmarks that drive the server without a socket of their own. */
  readonly server: Server;
}

/** Request bodies larger than this are refused with 413 before they are buffered. */
export const MAX_BODY_BYTES = 1 << 20;

type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

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
  const checks = new Map<string, ReadinessCheck>();
  const notices = new Map<string, () => string | undefined>();
  const failureListeners: Array<(failure: { errorId: string; route: string; error: unknown }) => void> = [];

  // Requests go to fastify once it has mounted the routes; until then they wait.
  const mounted = pending();
  let handle: RawHandler = (req, res) => void mounted.promise.then(() => handle(req, res), () => unavailable(res));
  let answer: RawHandler | undefined;
  const server = createServer((req, res) => handle(req, res));
  // Slow-loris and dead clients must not pin sockets for ever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  server.keepAliveTimeout = 5_000;

  const app = fastify({
    serverFactory: (handler) => ((answer = handler), server),
    loggerInstance: requestLog(opts.log),
    logController: new LogController({ disableRequestLogging: true }),
    // The request id is the error id a 500 shows: one maker for both.
    genReqId: () => newErrorId(),
    bodyLimit: MAX_BODY_BYTES,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  });

  const routePaths: RegExp[] = [];
  app.addHook("onRoute", (route) => void routePaths.push(pathPattern(route.url)));
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    requests.inc({ route, status: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = normalPath(request.url.split("?")[0]);
    const status = routePaths.some((route) => route.test(path)) ? 405 : 404;
    // A person who mistyped an address gets a page; a machine, JSON.
    if (wantsPage(request)) return sendMissingPage(request, reply, status);
    return reply.code(status).send({ error: status === 404 ? "not found" : "method not allowed" });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 413) return reply.code(413).send({ error: "request body too large" });
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    const errorId = request.id;
    const route = request.routeOptions.url ?? "unmatched";
    request.log.error({ route, errorId, error }, "http handler failed");
    for (const listener of failureListeners) {
      try {
        listener({ errorId, route, error });
      } catch {
        // Telling someone about a failure must not become a second one.
      }
    }
    if (wantsPage(request)) return sendFailurePage(request, reply, errorId);
    return reply.code(500).send({ error: "internal error", errorId });
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const results: Record<string, boolean> = {};
    await Promise.all(
      [...checks].map(async ([name, check]) => {
        results[name] = await Promise.resolve()
          .then(check)
          .then(Boolean, () => false);
      }),
    );
    const ready = Object.values(results).every(Boolean);
    const said = Object.fromEntries([...notices].flatMap(([name, say]) => {
      const line = say();
      return line === undefined ? [] : [[name, line]];
    }));
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", checks: results, ...(Object.keys(said).length > 0 && { notices: said }) });
  });
  // On a listener of its own when one is configured (metrics-endpoint.ts).
  if (!opts.metrics?.listener) void app.register(metricsRoute(metrics, opts.metrics?.token));

  let serving: Promise<void> | undefined;
  const serve = () =>
    (serving ??= (async () => {
      try {
        await app.ready();
      } catch (error) {
        mounted.reject(error);
        throw error;
      }
      handle = answer!;
      mounted.resolve();
    })());
  const open = (port: number, host = "0.0.0.0") =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });

  return {
    metrics,
    server,
    register(routes) {
      if (serving) throw new Error("routes must be registered before the HTTP server serves (call register before listen or serve)");
      void app.register(routes);
    },
    readiness(name, check) {
      checks.set(name, check);
    },
    notice(name, say) {
      notices.set(name, say);
    },
    onFailure(listener) {
      failureListeners.push(listener);
    },
    async listen(port, host) {
      await serve();
      return open(port, host);
    },
    open,
    serve,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (serving) await serving.then(() => app.close(), () => undefined);
    },
  };
}

/** A route's path as a pattern over request paths, to tell a wrong method (405) from no such address (404). */
function pathPattern(url: string): RegExp {
  const parts = normalPath(url)
    .split("/")
    .map((part) => (part === "*" ? ".*" : part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  return new RegExp(`^${parts.join("/")}$`);
}

function normalPath(path: string): string {
  return "/" + path.split("/").filter(Boolean).join("/");
}

function unavailable(res: ServerResponse): void {
  res.writeHead(503, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify({ error: "not serving" }));
}

function pending(): { promise: Promise<void>; resolve(): void; reject(error: unknown): void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
