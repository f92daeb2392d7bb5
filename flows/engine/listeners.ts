// Telling a domain's listener (a desk, the progress message, the owner's alerts) about an
// event, where the listener's trouble must never undo or fail the change it hears about.
import type { EngineLog } from "./actions.ts";

/**
 * Calls `listener` with `event`; a throw or a rejected promise is logged as `what` and
 * swallowed: the change the event reports has already happened and stands.
 */
export function tellListener<E extends { type: string }>(
  listener: ((event: E) => unknown) | undefined,
  event: E,
  log: Pick<EngineLog, "warn">,
  what: string,
): void {
  if (!listener) return;
  const failed = (error: unknown) => log.warn(what, { event: event.type, error: (error as Error)?.message ?? String(error) });
  try {
    const result = listener(event);
    if (result && typeof (result as Promise<unknown>).catch === "function") (result as Promise<unknown>).catch(failed);
  } catch (error) {
    failed(error);
  }
}
