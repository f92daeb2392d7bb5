/**
 * `GET /metrics` (Prometheus), and who may read it. Metrics name stores, routes and load,
 * so they are not for everyone:
 *
 * - `METRICS_TOKEN` set: every scrape must send `Authorization: Bearer <token>`; anything
 *   else gets 401 and no metrics.
 * - `METRICS_PORT` set: `/metrics` moves off the platform's `HTTP_PORT` (which then answers
 *   404 for it, as for any unknown path) onto a listener of its own at `METRICS_HOST`
 *   (default `127.0.0.1`), which serves nothing else.
 *
 * ```ts
 * const http = createPlatformHttp({ log, metrics: { token, listener: { host: "127.0.0.1", port: 9464 } } });
 * const own = await listenForMetrics(http.metrics, { host: "127.0.0.1", port: 9464 }, token);
 * ```
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** Who may read the metrics, and where. */
export interface MetricsAccess {
  /** `METRICS_TOKEN`: the bearer token a scrape must carry. */
  token?: string;
  /** `METRICS_HOST`/`METRICS_PORT`: serve metrics there only, not on the platform's port. */
  listener?: { host: string; port: number };
}

/** Answers a scrape: the registry's metrics, or 401 without the right bearer token. */
export function serveMetrics(registry: Registry, token: string | undefined): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  return async (req, res) => {
    const given = req.headers.authorization;
    if (expected && !(given !== undefined && timingSafeEqual(digest(given), expected))) {
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Bearer realm="metrics"' });
      res.end("unauthorized\n");
      return;
    }
    res.writeHead(200, { "content-type": registry.contentType });
    res.end(req.method === "HEAD" ? undefined : await registry.metrics());
  };
}

export interface MetricsListener {
  /** The port it listens on (the one chosen for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** A listener that serves `GET /metrics` and nothing else. */
export function listenForMetrics(registry: Registry, at: { host: string; port: number }, token: string | undefined): Promise<MetricsListener> {
  const scrape = serveMetrics(registry, token);
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics" && (req.method === "GET" || req.method === "HEAD")) {
      scrape(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      return;
    }
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("not found\n");
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(at.port, at.host, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
