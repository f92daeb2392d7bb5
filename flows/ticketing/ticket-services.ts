// What the ticket flows need from outside the engine, injected by the composition root:
// the ticketing domain (`createTicketing`), and who the platform owner is. Without the
// domain every ticket command answers politely that support is not available here.
import type { ActionContext, ActionResult } from "../engine/actions.ts";
import { END } from "../engine/actions.ts";
import type { Outbound, TextParams } from "../engine/message.ts";
import type { PlatformOwners } from "../tenant-admin/permissions.ts";
import type { TicketCustomer, TicketResult, TicketService } from "./contract.ts";

export interface TicketFlowServices {
  /** The ticketing domain, or a getter for one built after the flows. */
  tickets?: TicketService | (() => TicketService | undefined);
  /** The platform owner acts on every store's tickets, as with the admin commands. */
  platformOwners?: PlatformOwners;
  clock?: () => Date;
}

export interface ResolvedTicketServices {
  tickets(): TicketService | undefined;
  platformOwners?: PlatformOwners;
  now(): Date;
}

export function resolveTicketServices(services: TicketFlowServices): ResolvedTicketServices {
  const { tickets } = services;
  return {
    tickets: () => (typeof tickets === "function" ? tickets() : tickets),
    ...(services.platformOwners && { platformOwners: services.platformOwners }),
    now: services.clock ?? (() => new Date()),
  };
}

export function say(key: string, params?: TextParams): Outbound {
  return { text: params ? { key, params } : { key } };
}

/** Says something and ends the flow. */
export function stop(...messages: Outbound[]): ActionResult<never, never> {
  return { say: messages, outcome: END };
}

/** The writer as ticketing knows a customer: their own chat on their own channel. */
export function customerOf(ctx: Pick<ActionContext, "channel" | "chatId" | "user" | "locale">): TicketCustomer {
  return { channel: ctx.channel, chatId: ctx.chatId, userId: ctx.user.id, locale: ctx.locale, ...(ctx.user.name ? { name: ctx.user.name } : {}) };
}

export function chatOf(ctx: Pick<ActionContext, "channel" | "chatId">): { channel: string; chatId: string } {
  return { channel: ctx.channel, chatId: ctx.chatId };
}

/** Whether the ticket belongs to the chat asking: anyone else's reads as one that does not exist. */
export function isMine(ticket: { customer: { channel: string; chatId: string } }, ctx: Pick<ActionContext, "channel" | "chatId">): boolean {
  return ticket.customer.channel === ctx.channel && ticket.customer.chatId === ctx.chatId;
}

/** Why the domain refused, as the person reads it; a merged ticket names where it continues. */
export async function refusal(tickets: TicketService, tenantId: string, number: number, result: Extract<TicketResult, { ok: false }>): Promise<Outbound> {
  if (result.reason === "merged") {
    const into = (await tickets.get(tenantId, number))?.mergedInto;
    if (into !== undefined) return say("support.refused.merged", { number, into });
  }
  return say(`support.refused.${result.reason === "merged" ? "closed" : result.reason}`, { number });
}
