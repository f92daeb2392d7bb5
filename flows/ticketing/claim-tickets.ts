// A claim in the SNK window is a ticket too: staff see it in `/tiket` and in the Discord
// desk beside every other customer matter, and its SLA runs. Resolving the claim (`/klaim`)
// closes that ticket with the claim's outcome as its resolution, so the customer is asked
// to rate it like any other; closing the ticket alone leaves the claim waiting in `/klaim`
// (the refund or replacement decision is the order's, not the ticket's).
import type { Actor } from "../ordering/order.ts";
import type { OrderDesk } from "../tenant-admin/admin-services.ts";
import { findOrder } from "../ordering/order-queries.ts";
import { t } from "../../locales/i18n.ts";
import type { TicketService, TicketView } from "./contract.ts";

/** How many open tickets are searched for an order's claim ticket. */
const SEARCHED = 200;

/**
 * Opens the ticket for an order's claim, with the claim's text, for the order's customer.
 * Safe to call twice: ticketing returns the order's open claim ticket instead of a second.
 * `undefined` when the order has no claim (any more).
 */
export async function openClaimTicket(tickets: TicketService, tenantId: string, orderCode: string): Promise<TicketView | undefined> {
  const order = await findOrder(tenantId, orderCode);
  const claim = order?.snk.claim;
  if (!order || !claim) return undefined;
  const { customer } = order;
  return tickets.open({
    tenantId,
    source: "claim",
    category: "goods",
    orderCode: order.code,
    text: claim.text,
    customer: { channel: customer.channel, chatId: customer.chatId, userId: customer.channelUserId, locale: customer.locale === "en" ? "en" : "id", ...(customer.name && { name: customer.name }) },
  });
}

/** The order's claim ticket while it is still open. */
export async function openClaimTicketOf(tickets: TicketService, tenantId: string, orderCode: string): Promise<TicketView | undefined> {
  const open = await tickets.list(tenantId, { status: ["open", "answered"], limit: SEARCHED });
  return open.find((ticket) => ticket.source === "claim" && ticket.orderCode === orderCode);
}

/**
 * The seller's order desk, where resolving a claim also closes its ticket (by the member who
 * resolved it, with the outcome and note as the resolution). A ticket that cannot be closed
 * is logged by the caller's `onError`; the claim's resolution stands either way.
 */
export function closingClaimTickets<Desk extends Pick<OrderDesk, "resolveClaim">>(
  desk: Desk,
  tickets: () => TicketService | undefined,
  onError: (error: unknown) => void,
): Desk {
  return {
    ...desk,
    resolveClaim: async (...args: Parameters<OrderDesk["resolveClaim"]>) => {
      const result = await desk.resolveClaim(...args);
      const service = tickets();
      if (result.ok && service) {
        const [tenantId, , actor, resolution] = args;
        await closeClaimTicket(service, tenantId, result.order.code, actor, resolution).catch(onError);
      }
      return result;
    },
  };
}

async function closeClaimTicket(tickets: TicketService, tenantId: string, orderCode: string, actor: Actor, resolution: { outcome: "accepted" | "refused"; note?: string }) {
  const ticket = await openClaimTicketOf(tickets, tenantId, orderCode);
  if (!ticket) return;
  const note = resolution.note?.trim();
  const text = t(ticket.customer.locale ?? "id", `support.claim_resolution.${resolution.outcome}`, { note: note ? `: ${note}` : "" });
  await tickets.close(tenantId, ticket.number, { channel: actor.channel, userId: actor.userId, ...(actor.name !== undefined && { name: actor.name }) }, text);
}
