// Reads a Bot API call's parameters the three ways Telegram accepts them: the URL query
// string, `application/json` or `application/x-www-form-urlencoded`, and
// `multipart/form-data` (how grammY sends any call that carries an `InputFile`).
import type { IncomingMessage } from "node:http";
import { badRequest, BotApiError } from "./bot-api-error.ts";

/** A file that arrived in a multipart upload (a class, so no JSON value can pass for one). */
export class Upload {
  constructor(readonly fileName: string, readonly bytes: Buffer) {}
}

export type Params = Record<string, unknown>;

// Telegram answers 413 above its upload limit (50 MB for bots); a little headroom is
// enough to keep a runaway test from eating the memory of the machine.
const MAX_BODY_BYTES = 60 * 1024 * 1024;

export async function readParams(req: IncomingMessage, url: URL): Promise<Params> {
  const params: Params = Object.fromEntries(url.searchParams);
  const body = await readBody(req);
  if (body.length === 0) return params;
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  if (type.startsWith("application/json")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      throw badRequest("can't parse JSON request body");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw badRequest("JSON request body must be an object");
    }
    return { ...params, ...(parsed as Params) };
  }
  if (type.startsWith("application/x-www-form-urlencoded")) {
    return { ...params, ...Object.fromEntries(new URLSearchParams(body.toString("utf8"))) };
  }
  if (type.startsWith("multipart/form-data")) {
    const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(req.headers["content-type"] ?? "");
    if (!boundary) throw badRequest("multipart/form-data without a boundary");
    return { ...params, ...resolveAttachments(parseMultipart(body, boundary[1] ?? boundary[2])) };
  }
  return params;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BotApiError(413, "Request Entity Too Large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

interface Part {
  name: string;
  fileName: string | undefined;
  data: Buffer;
}

// grammY writes its part headers without spaces and the file name unquoted
// (`content-disposition:form-data;name="x1";filename=photo.jpg`), so this parser is
// lenient about both; browsers and curl quote the name and add spaces.
function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let cursor = body.indexOf(delimiter);
  if (cursor < 0) throw badRequest("multipart/form-data body without its boundary");
  for (;;) {
    cursor += delimiter.length;
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) break; // closing `--`
    if (body[cursor] === 0x0d && body[cursor + 1] === 0x0a) cursor += 2;
    const headerEnd = body.indexOf("\r\n\r\n", cursor);
    if (headerEnd < 0) throw badRequest("malformed multipart/form-data part");
    const headers = body.subarray(cursor, headerEnd).toString("utf8");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
    if (next < 0) throw badRequest("multipart/form-data body is not terminated");
    const disposition = headers.split("\r\n").find((line) => /^content-disposition\s*:/i.test(line)) ?? "";
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1] ?? /;\s*name=([^;]*)/i.exec(disposition)?.[1];
    if (name === undefined) throw badRequest("multipart/form-data part without a name");
    const quoted = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
    const bare = /;\s*filename=(.*)$/i.exec(disposition)?.[1]?.trim();
    parts.push({ name, fileName: quoted ?? bare, data: body.subarray(headerEnd + 4, next) });
    cursor = next + 2;
  }
  return parts;
}

// A file is either a part of its own name (`photo` with a filename) or a value
// `attach://<part>` pointing at one — grammY always uses the second form.
function resolveAttachments(parts: Part[]): Params {
  const files = new Map<string, Upload>();
  const fields = new Map<string, string | Upload>();
  for (const part of parts) {
    if (part.fileName !== undefined) files.set(part.name, new Upload(part.fileName, Buffer.from(part.data)));
    else fields.set(part.name, part.data.toString("utf8"));
  }
  const referenced = new Set<string>();
  for (const [name, value] of fields) {
    if (typeof value === "string" && value.startsWith("attach://")) {
      const partName = value.slice("attach://".length);
      const file = files.get(partName);
      if (!file) throw badRequest(`file ${value} is not attached`);
      fields.set(name, file);
      referenced.add(partName);
    }
  }
  for (const [name, file] of files) if (!referenced.has(name) && !fields.has(name)) fields.set(name, file);
  return Object.fromEntries(fields);
}

export function isUpload(value: unknown): value is Upload {
  return value instanceof Upload;
}

// Form fields arrive as strings; these read them as the types the Bot API documents.

export function optionalString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw badRequest(`field "${name}" must be a string`);
}

export function optionalInteger(params: Params, name: string): number | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === "") return undefined;
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  if (!Number.isInteger(n)) throw badRequest(`field "${name}" must be an Integer`);
  return n;
}

export function optionalBoolean(params: Params, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0" || value === "") return false;
  throw badRequest(`field "${name}" must be a Boolean`);
}

/** A JSON-serialized field (reply_markup, entities, scope…): an object in JSON bodies, a string in forms. */
export function optionalJson<T>(params: Params, name: string): T | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") return value as T;
  try {
    return JSON.parse(value) as T;
  } catch {
    throw badRequest(name === "reply_markup" ? "can't parse reply keyboard markup JSON object" : `can't parse ${name} JSON object`);
  }
}
