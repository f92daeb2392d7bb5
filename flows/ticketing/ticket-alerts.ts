// What a store's team hears about tickets in their private chat with the store's bot: a new
// ticket (a claim that became one says so), and a customer's answer on a ticket someone took
// (to that member). The SLA watch tells owners and admins of escalations itself (sla-watch.ts). Each goes to the members allowed to
// handle tickets, in the store's language, with the command that opens it and a button
// that runs it. The Discord staff channel hears the same events through its `TicketDesk`.
import type { EngineLog } from "../engine/actions.ts";
import { commandChoice } from "../engine/command-choice.ts";
import type { Outbound } from "../engine/message.ts";
import type { TeamOutbox } from "../tenant-admin/admin-services.ts";
import { TICKETS_HANDLE } from "../tenant-admin/permissions.ts";
import { rolesWith, tellTeam } from "../tenant-admin/seller-alerts.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { TICKET_COMMANDS, type TicketEvent, type TicketView } from "./contract.ts";
import { categoryName, shorten } from "./ticket-lines.ts";

function openButton(ticket: TicketView) {
  return [commandChoice({ key: "support.alert.open_ticket", params: { number: ticket.number } }, TICKET_COMMANDS.desk, ticket.number)];
}

/**
 * The team's alerts as a ticket listener (`TicketEvents#add`). Never rejects: a member who
 * cannot be reached is logged and skipped.
 */
export function ticketTeamAlerts(outbox: TeamOutbox, log?: EngineLog): (event: TicketEvent) => Promise<void> {
  const roles = rolesWith(TICKETS_HANDLE);
  return async (event) => {
    const { ticket } = event;
    if (event.type === "opened") {
      await tellTeam(
        event.tenantId,
        roles,
        (store): Outbound => ({
          text: {
            key: ticket.source === "claim" ? "support.alert.claim_opened" : "support.alert.opened",
            params: {
              number: ticket.number,
              store: store.name,
              category: categoryName(store.locale, ticket),
              order: ticket.orderCode ? (ticket.source === "claim" ? ticket.orderCode : ` · ${ticket.orderCode}`) : "",
              customer: ticket.customer.name ?? ticket.customer.channel,
              subject: shorten(ticket.subject, 300),
            },
          },
          choices: openButton(ticket),
        }),
        outbox,
        log,
        "ticket_opened",
        // The Discord staff channel shows each new ticket as its card and thread (the desk).
        { shownInRooms: true },
      );
    } else if (event.type === "message" && event.message.from === "customer" && ticket.assignee) {
      const store = await storeSettings(event.tenantId);
      const report = await outbox.send(
        { tenantId: event.tenantId, channel: ticket.assignee.channel, chatId: ticket.assignee.userId },
        [{ text: { key: "support.alert.customer_wrote", params: { number: ticket.number, text: shorten(event.message.text, 500) } }, choices: openButton(ticket) }],
        { locale: store?.locale ?? "id" },
      );
      if (!report.ok) log?.warn("ticket answer alert not delivered to its assignee", { ticket: ticket.number, channel: ticket.assignee.channel, reason: report.reason });
    }
  };
}

