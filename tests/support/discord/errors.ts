// Errors as Discord sends them: a 4xx with JSON `{ message, code }` (and `errors` for an
// invalid form body), which discord.js turns into a DiscordAPIError with that code.

export class DiscordApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: unknown,
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return this.errors === undefined ? { message: this.message, code: this.code } : { message: this.message, code: this.code, errors: this.errors };
  }
}

export const unauthorized = (): DiscordApiError => new DiscordApiError(401, 0, "401: Unauthorized");
export const notFound = (): DiscordApiError => new DiscordApiError(404, 0, "404: Not Found");
export const unknownChannel = (): DiscordApiError => new DiscordApiError(404, 10003, "Unknown Channel");
export const unknownGuild = (): DiscordApiError => new DiscordApiError(404, 10004, "Unknown Guild");
export const unknownMember = (): DiscordApiError => new DiscordApiError(404, 10007, "Unknown Member");
export const unknownMessage = (): DiscordApiError => new DiscordApiError(404, 10008, "Unknown Message");
export const unknownRole = (): DiscordApiError => new DiscordApiError(404, 10011, "Unknown Role");
export const unknownUser = (): DiscordApiError => new DiscordApiError(404, 10013, "Unknown User");
export const unknownWebhook = (): DiscordApiError => new DiscordApiError(404, 10015, "Unknown Webhook");
export const unknownCommand = (): DiscordApiError => new DiscordApiError(404, 10063, "Unknown application command");
export const unknownInteraction = (): DiscordApiError => new DiscordApiError(404, 10062, "Unknown interaction");
export const alreadyAcknowledged = (): DiscordApiError => new DiscordApiError(400, 40060, "Interaction has already been acknowledged.");
export const missingAccess = (): DiscordApiError => new DiscordApiError(403, 50001, "Missing Access");
export const emptyMessage = (): DiscordApiError => new DiscordApiError(400, 50006, "Cannot send an empty message");
export const cannotMessageUser = (): DiscordApiError => new DiscordApiError(403, 50007, "Cannot send messages to this user");
export const invalidWebhookToken = (): DiscordApiError => new DiscordApiError(401, 50027, "Invalid Webhook Token");
export const threadAlreadyCreated = (): DiscordApiError => new DiscordApiError(400, 160004, "A thread has already been created for this message");
export const threadLocked = (): DiscordApiError => new DiscordApiError(403, 160005, "Thread is locked");

/**
 * 50035 with Discord's nested `errors` shape: `invalidForm("data.content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")`.
 */
export function invalidForm(path: string, code: string, message: string): DiscordApiError {
  const errors: Record<string, unknown> = {};
  let node = errors;
  const parts = path.split(".");
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1) node[part] = { _errors: [{ code, message }] };
    else node = (node[part] = {}) as Record<string, unknown>;
  }
  return new DiscordApiError(400, 50035, "Invalid Form Body", errors);
}
