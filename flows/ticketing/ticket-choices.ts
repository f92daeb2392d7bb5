// Ticket numbers offered while someone types a command's option (Discord's autocomplete):
// a member sees the store's open tickets, a customer only their own.
import type { TicketService, TicketView } from "./contract.ts";
import { byUrgency, shorten } from "./ticket-lines.ts";

/** Discord shows at most this many. */
const MAX_CHOICES = 25;

/**
 * The tickets matching what was typed so far (a number's start, or words of the subject),
 * as `{ name, value }` pairs: the value is the ticket's number. `channel` and `userId` say
 * who asks; a customer's chat on a channel whose chat ids are user ids (Discord) is theirs.
 *
 * ```ts
 * await ticketChoices(tickets, { tenantId, channel: "discord", userId, audience: "seller", query: "1" });
 * // → [{ name: "#12 · 🔴 Akun tidak bisa login", value: "12" }, …]
 * ```
 */
export async function ticketChoices(
  tickets: TicketService,
  who: { tenantId: string; channel: string; userId: string; audience: "customer" | "seller"; query: string },
): Promise<{ name: string; value: string }[]> {
  const found =
    who.audience === "seller"
      ? await tickets.list(who.tenantId, { status: ["open", "answered"], limit: 100 })
      : await tickets.openOf(who.tenantId, { channel: who.channel, chatId: who.userId });
  const typed = who.query.trim().replace(/^#/, "").toLowerCase();
  const matches = (ticket: TicketView) => typed === "" || String(ticket.number).startsWith(typed) || ticket.subject.toLowerCase().includes(typed);
  return found
    .filter(matches)
    .sort(byUrgency)
    .slice(0, MAX_CHOICES)
    .map((ticket) => ({ name: shorten(`#${ticket.number} · ${ticket.subject}`, 100), value: String(ticket.number) }));
}
