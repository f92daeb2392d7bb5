// Who hears what happens to tickets: the Telegram team alerts, the Discord desk, anything
// else the composition root adds. Ticketing has one `onEvent`; this passes each event to
// every listener, and a listener that fails is logged without keeping the others from it.
import type { EngineLog } from "../engine/actions.ts";
import type { TicketDesk, TicketEvent } from "./contract.ts";

export type TicketListener = (event: TicketEvent) => void | Promise<void>;

/**
 * ```ts
 * const events = new TicketEvents(log);
 * const tickets = createTicketing({ outbox, onEvent: events.emit });
 * events.add(ticketTeamAlerts(outbox, log));
 * events.add(desk);                         // a `TicketDesk` (the Discord staff channel)
 * ```
 */
export class TicketEvents {
  readonly #listeners = new Set<TicketListener>();
  readonly #log: EngineLog | undefined;

  constructor(log?: EngineLog) {
    this.#log = log;
  }

  /** Adds a listener (or a `TicketDesk`); returns how to remove it. */
  add(listener: TicketListener | TicketDesk): () => void {
    const fn: TicketListener = typeof listener === "function" ? listener : (event) => listener.ticketEvent(event);
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Hands the event to every listener; resolves when all have finished (none rejects it). */
  readonly emit = async (event: TicketEvent): Promise<void> => {
    await Promise.all(
      [...this.#listeners].map(async (listener) => {
        try {
          await listener(event);
        } catch (error) {
          this.#log?.warn("a ticket event listener failed", { event: event.type, ticket: event.ticket.number, error: (error as Error)?.message ?? String(error) });
        }
      }),
    );
  };
}
