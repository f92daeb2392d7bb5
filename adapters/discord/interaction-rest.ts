/**
 * Keeps interaction answers out of the bot's global rate limit, as Discord does.
 *
 * Discord allows a bot 50 requests a second in total (the global limit), but interaction
 * endpoints are not bound to it: the callback (`/interactions/:id/:token/callback`) and the
 * interaction webhook (`/webhooks/:applicationId/:token…`: `editReply`, `followUp`,
 * `deleteReply`), which carry the interaction's token instead of the bot's. `@discordjs/rest`
 * exempts only the callback (its burst handler); every other request, the interaction webhook
 * included, counts against its one `globalRequestsPerSecond` budget, so past 50 interactions
 * a second the answers queue inside the library although Discord would take them.
 *
 * The budget belongs to the `REST` instance, so the interaction webhook's requests go through
 * a second instance with no global budget and the same options otherwise (its per-route
 * buckets still follow Discord's rate-limit headers and 429s). Requests with the bot's token,
 * and unauthenticated requests to other webhooks (which Discord limits per address), stay on
 * the client's own instance and its 50 a second.
 */
import { REST, RESTEvents } from "discord.js";

type Request = Parameters<REST["queueRequest"]>[0];

/** Routes `rest`'s interaction-webhook requests around its global limit; returns what stops the second instance's sweepers. */
export function exemptInteractionWebhooks(rest: REST, applicationId: string): () => void {
  const interactions = new REST({ ...rest.options, globalRequestsPerSecond: Number.POSITIVE_INFINITY });
  // Whoever listens on the client's REST (rate limits, debug) hears these requests too.
  for (const event of Object.values(RESTEvents)) {
    interactions.on(event, (...args: unknown[]) => (rest.emit as (name: string, ...rest: unknown[]) => boolean)(event, ...args));
  }
  const prefix = `/webhooks/${applicationId}/`;
  const queue = rest.queueRequest.bind(rest);
  rest.queueRequest = (request: Request) =>
    request.auth === false && String(request.fullRoute).startsWith(prefix) ? interactions.queueRequest(request) : queue(request);
  return () => {
    interactions.clearHashSweeper();
    interactions.clearHandlerSweeper();
  };
}
