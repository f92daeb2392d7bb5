// Ticketing as engine flows: the customers' (`/bantuan`, `/tiketsaya`, `/balas`, `/nilai`)
// and the staff's (`/tiket`), and the bundle the composition root registers. The staff flow
// uses seller administration's `admin` guard with the `tickets.handle` permission.
import type { FlowBundle } from "../engine/flow-bundle.ts";
import { customerTicketActions, customerTicketFlows } from "./customer-ticket-flows.ts";
import { staffTicketActions, staffTicketFlows } from "./staff-ticket-flows.ts";
import { resolveTicketServices, type TicketFlowServices } from "./ticket-services.ts";

export type { TicketFlowServices } from "./ticket-services.ts";

/** Every ticket flow; the staff's declares its permission in its guard. */
export const ticketFlows = [...customerTicketFlows, ...staffTicketFlows];

/**
 * The ticket flows with the ticketing domain behind their actions. Without `tickets` every
 * ticket command answers that support is not available here.
 *
 * ```ts
 * const bundle = createTicketFlows({ tickets: () => commerce.tickets, platformOwners });
 * ```
 */
export function createTicketFlows(services: TicketFlowServices = {}): FlowBundle {
  const resolved = resolveTicketServices(services);
  return { flows: ticketFlows, actions: { ...customerTicketActions(resolved), ...staffTicketActions(resolved) } };
}
