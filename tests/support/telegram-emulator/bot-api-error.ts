// An error answer of the Bot API: `{ ok: false, error_code, description, parameters? }`,
// sent with the HTTP status equal to `error_code`, as api.telegram.org does.
import type { ResponseParameters } from "grammy/types";

export class BotApiError extends Error {
  readonly errorCode: number;
  readonly parameters: ResponseParameters | undefined;

  constructor(errorCode: number, description: string, parameters?: ResponseParameters) {
    super(description);
    this.name = "BotApiError";
    this.errorCode = errorCode;
    this.parameters = parameters;
  }

  toJSON(): { ok: false; error_code: number; description: string; parameters?: ResponseParameters } {
    return {
      ok: false,
      error_code: this.errorCode,
      description: this.message,
      ...(this.parameters ? { parameters: this.parameters } : {}),
    };
  }
}

export const badRequest = (reason: string) => new BotApiError(400, `Bad Request: ${reason}`);
export const forbidden = (reason: string) => new BotApiError(403, `Forbidden: ${reason}`);
export const unauthorized = () => new BotApiError(401, "Unauthorized");
export const notFound = () => new BotApiError(404, "Not Found");
export const conflict = (reason: string) => new BotApiError(409, `Conflict: ${reason}`);
export const tooManyRequests = (retryAfter: number) =>
  new BotApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });

/** Telegram's wording for an error code when a fault is injected without a description. */
export function defaultDescription(status: number): string {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return `Error ${status}`;
  }
}
