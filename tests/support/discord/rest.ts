// The HTTP side of the local Discord: `/api/v10/...` routes, request bodies (JSON, or
// multipart with `payload_json` and `files[n]` parts as discord.js sends attachments), the
// bot-token check, rate-limit headers, and the faults a test can switch on (slow answers, a 429).
import type { IncomingMessage, ServerResponse } from "node:http";
import { DiscordApiError, notFound, unauthorized } from "./errors.ts";
import type { FileInput } from "./messages.ts";

export interface RestRequest {
  readonly method: string;
  /** The path after `/api/v10`, decoded (`%40original` → `@original`). */
  readonly path: string;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly body: any;
  readonly files: FileInput[];
}

/** A route's answer: JSON (200), or nothing (204). */
export type RestAnswer = { status?: number; json?: unknown } | undefined;

export interface Route {
  readonly method: string;
  /** A path pattern with `:name` segments, e.g. `/channels/:channel/messages/:message`. */
  readonly path: string;
  /** Whether Discord wants `Authorization: Bot <token>` here (interaction callbacks and webhooks: no). */
  readonly auth: boolean;
  readonly handle: (req: RestRequest) => RestAnswer | Promise<RestAnswer>;
}

/** A request no route matched (answered 404), kept so tests can assert there were none. */
export interface UnhandledRequest {
  readonly method: string;
  readonly path: string;
}

/** One request as the emulator saw it: for tests about what the bot called. */
export interface RestCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly at: number;
}

interface CompiledRoute extends Route {
  readonly pattern: RegExp;
  readonly names: string[];
}

export class RestApi {
  private readonly routes: CompiledRoute[] = [];
  readonly unhandled: UnhandledRequest[] = [];
  readonly calls: RestCall[] = [];
  /** Added to every answer's time (a slow Discord). */
  delayMs = 0;
  private readonly pending429: Array<{ match: (method: string, path: string) => boolean; retryAfterS: number; global: boolean }> = [];

  constructor(private readonly botToken: () => string) {}

  add(...routes: Route[]): void {
    for (const route of routes) {
      const names: string[] = [];
      const source = route.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:(\w+)/g, (_m, name: string) => {
        names.push(name);
        return "([^/]+)";
      });
      this.routes.push({ ...route, pattern: new RegExp(`^${source}$`), names });
    }
  }

  /** The next request matching `match` (method and path, e.g. `POST /channels/123/messages`) gets a 429 with `retry-after`. */
  rateLimitNext(match: RegExp | ((method: string, path: string) => boolean), retryAfterS = 0.2, global = false): void {
    const test = match instanceof RegExp ? (method: string, path: string) => match.test(`${method} ${path}`) : match;
    this.pending429.push({ match: test, retryAfterS, global });
  }

  async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const raw = url.pathname.replace(/^\/api(\/v\d+)?/, "");
    const path = raw.split("/").map((segment) => decodeURIComponent(segment)).join("/");
    const method = req.method ?? "GET";
    const answer = (status: number, json?: unknown, headers: Record<string, string> = {}): void => {
      this.calls.push({ method, path, status, at: Date.now() });
      const base = rateLimitHeaders(method, path);
      if (json === undefined) {
        res.writeHead(status, { ...base, ...headers }).end();
      } else {
        const text = JSON.stringify(json);
        res.writeHead(status, { ...base, ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
      }
    };
    const body = await readBody(req);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const limited = this.pending429.findIndex((p) => p.match(method, path));
    if (limited >= 0) {
      const [{ retryAfterS, global }] = this.pending429.splice(limited, 1);
      answer(429, { message: "You are being rate limited.", retry_after: retryAfterS, global }, {
        "retry-after": String(retryAfterS), "x-ratelimit-remaining": "0", "x-ratelimit-reset-after": String(retryAfterS),
        "x-ratelimit-scope": global ? "global" : "user", ...(global ? { "x-ratelimit-global": "true" } : {}),
      });
      return;
    }
    let route: CompiledRoute | undefined;
    let match: RegExpExecArray | null = null;
    let pathMatched = false;
    for (const candidate of this.routes) {
      const m = candidate.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (candidate.method === method) {
        route = candidate;
        match = m;
        break;
      }
    }
    if (!route || !match) {
      this.unhandled.push({ method, path });
      if (pathMatched) answer(405, { message: "405: Method Not Allowed", code: 0 });
      else answer(404, notFound().body());
      return;
    }
    try {
      if (route.auth && req.headers.authorization !== `Bot ${this.botToken()}`) throw unauthorized();
      const params = Object.fromEntries(route.names.map((name, i) => [name, match![i + 1]!]));
      const parsed = await parseBody(req.headers["content-type"], body);
      const result = await route.handle({ method, path, params, query: url.searchParams, body: parsed.body, files: parsed.files });
      if (!result || result.json === undefined) answer(result?.status ?? 204);
      else answer(result.status ?? 200, result.json);
    } catch (error) {
      if (error instanceof DiscordApiError) answer(error.status, error.body());
      else throw error;
    }
  }
}

// discord.js waits only when `remaining` reaches 0, so a generous constant keeps it from
// stalling while still exercising its bucket bookkeeping.
function rateLimitHeaders(method: string, path: string): Record<string, string> {
  const bucket = Buffer.from(`${method}:${path.replace(/\d{17,19}/g, ":id")}`).toString("base64url").slice(0, 32);
  return {
    "x-ratelimit-limit": "50", "x-ratelimit-remaining": "49", "x-ratelimit-reset": String(Date.now() / 1000 + 1),
    "x-ratelimit-reset-after": "1.000", "x-ratelimit-bucket": bucket, "x-ratelimit-scope": "user",
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function parseBody(contentType: string | undefined, raw: Buffer): Promise<{ body: any; files: FileInput[] }> {
  if (raw.length === 0) return { body: {}, files: [] };
  if (contentType?.startsWith("multipart/form-data")) {
    const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
    const files: Array<{ index: number; file: FileInput }> = [];
    let body: any = {};
    for (const [name, value] of form.entries()) {
      if (name === "payload_json" && typeof value === "string") body = JSON.parse(value);
      else if (typeof value !== "string") {
        const index = Number(/\[(\d+)\]/.exec(name)?.[1] ?? files.length);
        files.push({ index, file: { name: value.name, data: Buffer.from(await value.arrayBuffer()), contentType: value.type || undefined } });
      }
    }
    files.sort((a, b) => a.index - b.index);
    return { body, files: files.map((f) => f.file) };
  }
  try {
    return { body: JSON.parse(raw.toString("utf8")), files: [] };
  } catch {
    throw new DiscordApiError(400, 50109, "The request body contains invalid JSON.");
  }
}
