/**
 * fastify's logger, written through the platform's winston logger: what a route logs with
 * `request.log` lands in the same lines, secrets scrubbed, with the request's id.
 *
 * ```ts
 * const app = fastify({ loggerInstance: requestLog(logger) });
 * // in a route: request.log.warn({ store: slug }, "payment webhook refused")
 * //   → {"level":"warn","message":"payment webhook refused","reqId":"3f2a9c1e","store":"toko-a"}
 * ```
 */
import type { FastifyBaseLogger } from "fastify";
import type winston from "winston";

type Level = "error" | "warn" | "info" | "debug";

export function requestLog(log: winston.Logger, bindings: Record<string, unknown> = {}): FastifyBaseLogger {
  // pino's call shapes: (message) or (fields, message); an Error may stand for the fields.
  const write =
    (level: Level) =>
    (first: unknown, message?: string): void => {
      if (typeof first === "string") {
        log.log(level, first, { ...bindings });
        return;
      }
      const fields = first instanceof Error ? { error: first } : ((first ?? {}) as Record<string, unknown>);
      log.log(level, message ?? (first instanceof Error ? first.message : ""), { ...bindings, ...readable(fields) });
    };
  return {
    level: log.level,
    fatal: write("error"),
    error: write("error"),
    warn: write("warn"),
    info: write("info"),
    debug: write("debug"),
    trace: write("debug"),
    silent: () => undefined,
    child: (more) => requestLog(log, { ...bindings, ...more }),
  };
}

/** Errors as their stack: winston's JSON would print `{}`. */
function readable(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, value instanceof Error ? (value.stack ?? value.message) : value]));
}
