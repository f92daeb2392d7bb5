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
import { createHash, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import fastify, { type FastifyPluginAsync } from "fastify";
import type { Registry } from "prom-client";

/** Who may read the metrics, and where. */
export interface MetricsAccess {
  /** `METRICS_TOKEN`: the bearer token a scrape must carry. */
  token?: string;
  /** `METRICS_HOST`/`METRICS_PORT`: serve metrics there only, not on the platform's port. */
  listener?: { host: string; port: number };
}

/** `GET /metrics`: the registry's metrics, or 401 without the right bearer token. */
export function metricsRoute(registry: Registry, token: string | undefined): FastifyPluginAsync {
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  return async (app) => {
    app.get("/metrics", async (request, reply) => {
      const given = request.headers.authorization;
      if (expected && !(given !== undefined && timingSafeEqual(digest(given), expected))) {
        return reply.code(401).header("www-authenticate", 'Bearer realm="metrics"').type("text/plain; charset=utf-8").send("unauthorized\n");
      }
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  };
}

export interface MetricsListener {
  /** The port it listens on (the one chosen for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** A listener that serves `GET /metrics` and nothing else. */
export async function listenForMetrics(registry: Registry, at: { host: string; port: number }, token: string | undefined): Promise<MetricsListener> {
  const app = fastify({ requestTimeout: 30_000, forceCloseConnections: true });
  app.server.headersTimeout = 15_000;
  await app.register(metricsRoute(registry, token));
  app.setNotFoundHandler((_request, reply) => reply.code(404).type("text/plain; charset=utf-8").send("not found\n"));
  await app.listen({ host: at.host, port: at.port });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
