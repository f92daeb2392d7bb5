// Tickets from the customer's side, on every channel: `/bantuan` (contact the store: a
// category, the order it concerns, the message and a photo), `/tiketsaya` (their tickets),
// `/balas 12` (answer the store on a ticket) and `/nilai 12 4` (rate a closed one). The
// buttons under the store's notices run `/balas` and `/nilai` (`TICKET_NOTICE_CHOICES`).
//
// Every lookup pins the chat as well as the store: someone else's ticket number gets
// exactly the answer a number that does not exist gets.
import { actionsFor, type ActionContext, type ActionRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { ChoiceView, InboundMedia } from "../engine/message.ts";
import { listMyOrders } from "../ordering/order-queries.ts";
import { SKIP_RATING, TICKET_CATEGORIES, TICKET_COMMANDS, type TicketCategory } from "./contract.ts";
import { customerLine, shorten, ticketChoiceId, ticketNumberOf, ticketOfChoice } from "./ticket-lines.ts";
import { chatOf, customerOf, isMine, refusal, say, stop, type ResolvedTicketServices } from "./ticket-services.ts";

/** Orders offered when a ticket concerns one (newest first). */
const RECENT_ORDERS = 10;
const MAX_TEXT = 2000;
/** Categories where the customer is asked which order it concerns. */
const ABOUT_AN_ORDER: readonly TicketCategory[] = ["order", "payment", "goods"];

export type CustomerTicketData = {
  commandArgs?: string;
  category?: string;
  /** An order's code, or "none". */
  orderCode?: string;
  text?: string;
  photo?: InboundMedia;
  /** "new", or the open ticket to add to ("t12"). */
  addTo?: string;
  ticketPick?: string;
  ticketNumber?: number;
  rating?: string;
  comment?: string;
};

export const openTicketFlow = defineFlow<CustomerTicketData>()({
  id: "ticket-open",
  triggers: { commands: [TICKET_COMMANDS.open, "support"], keywords: { id: ["bantuan", "komplain", "help"], en: ["help", "support", "complaint"] } },
  help: "support.help.open",
  steps: {
    start: { kind: "action", action: "ticketOpenStart", next: "category", outcomes: { hasOpen: "existing" } },
    existing: {
      kind: "choose",
      text: "support.open.existing",
      source: "ticketAddToChoices",
      choices: [{ id: "new", label: "support.open.new_ticket", next: "category" }],
      saveAs: "addTo",
      next: "addTarget",
    },
    addTarget: { kind: "action", action: "ticketAddTarget", next: "addText" },
    addText: { kind: "ask", text: "support.open.ask_addition", expect: "text", max: MAX_TEXT, saveAs: "text", next: "add", maxAttempts: 5 },
    add: { kind: "action", action: "ticketAdd" },
    category: {
      kind: "choose",
      text: "support.open.ask_category",
      choices: TICKET_CATEGORIES.map((category) => ({ id: category, label: `support.category.${category}` })),
      saveAs: "category",
      next: "aboutOrder",
    },
    aboutOrder: { kind: "branch", cases: [{ when: { field: "category", in: [...ABOUT_AN_ORDER] }, next: "hasOrders" }], otherwise: "askText" },
    hasOrders: { kind: "action", action: "ticketHasOrders", next: "pickOrder", outcomes: { none: "askText" } },
    pickOrder: {
      kind: "choose",
      text: "support.open.ask_order",
      source: "ticketOrderChoices",
      pageSize: 5,
      choices: [{ id: "none", label: "support.open.no_order" }],
      saveAs: "orderCode",
      next: "askText",
    },
    askText: { kind: "ask", text: "support.open.ask_text", expect: "text", min: 3, max: MAX_TEXT, saveAs: "text", next: "askPhoto", maxAttempts: 5 },
    askPhoto: {
      kind: "choose",
      text: "support.open.ask_photo",
      choices: [
        { id: "photo", label: "support.open.add_photo", next: "photo" },
        { id: "send", label: "support.open.send_now", next: "open" },
      ],
    },
    photo: { kind: "ask", text: "support.open.send_photo", expect: "photo", saveAs: "photo", next: "open", maxAttempts: 5 },
    open: { kind: "action", action: "ticketOpen" },
  },
});

export const myTicketsFlow = defineFlow<CustomerTicketData>()({
  id: "ticket-mine",
  triggers: { commands: [TICKET_COMMANDS.mine, "mytickets"], keywords: { id: ["tiket saya", "tiketku"], en: ["my tickets"] } },
  help: "support.help.mine",
  steps: {
    list: { kind: "action", action: "ticketMineList", next: "pick" },
    pick: {
      kind: "choose",
      text: "support.mine.pick",
      source: "ticketMineChoices",
      choices: [{ id: "done", label: "support.mine.done", next: "stop" }],
      saveAs: "ticketPick",
      next: "stop",
    },
    stop: { kind: "end" },
  },
});

export const answerTicketFlow = defineFlow<CustomerTicketData>()({
  id: "ticket-answer",
  triggers: { commands: [TICKET_COMMANDS.answer, "reply"] },
  help: "support.help.answer",
  steps: {
    target: { kind: "action", action: "ticketAnswerTarget", next: "askText", outcomes: { pick: "pick" } },
    pick: { kind: "choose", text: "support.answer.pick", source: "ticketAnswerChoices", saveAs: "ticketPick", next: "target" },
    askText: { kind: "ask", text: "support.answer.ask_text", expect: "text", max: MAX_TEXT, saveAs: "text", next: "send", maxAttempts: 5 },
    send: { kind: "action", action: "ticketAnswer" },
  },
});

export const rateTicketFlow = defineFlow<CustomerTicketData>()({
  id: "ticket-rate",
  triggers: { commands: [TICKET_COMMANDS.rate, "rate"] },
  help: "support.help.rate",
  steps: {
    target: { kind: "action", action: "ticketRateTarget", next: "wantComment", outcomes: { ask: "askRating" } },
    askRating: {
      kind: "choose",
      text: "support.rate.ask",
      choices: ["1", "2", "3", "4", "5"].map((rating) => ({ id: rating, label: { id: `${rating} ⭐`, en: `${rating} ⭐` } })),
      saveAs: "rating",
      next: "wantComment",
    },
    wantComment: {
      kind: "choose",
      text: "support.rate.want_comment",
      choices: [
        { id: "write", label: "support.rate.write_comment", next: "askComment" },
        { id: "skip", label: "support.rate.no_comment", next: "rate" },
      ],
    },
    askComment: { kind: "ask", text: "support.rate.ask_comment", expect: "text", max: 500, saveAs: "comment", next: "rate", maxAttempts: 5 },
    rate: { kind: "action", action: "ticketRate" },
  },
});

export const customerTicketFlows = [openTicketFlow, myTicketsFlow, answerTicketFlow, rateTicketFlow];

const ticketAction = actionsFor<CustomerTicketData>();

export function customerTicketActions(services: ResolvedTicketServices): ActionRegistry {
  const unavailable = () => stop(say("support.unavailable"));
  const openOf = async (ctx: { tenant: { id: string }; channel: string; chatId: string }) => (await services.tickets()?.openOf(ctx.tenant.id, chatOf(ctx))) ?? [];
  /** The customer's text goes on the ticket the flow settled on; `done` says so. */
  const customerWrote = async (ctx: ActionContext<CustomerTicketData>, done: string) => {
    const tickets = services.tickets();
    const number = ctx.data.ticketNumber;
    if (!tickets || number === undefined) return unavailable();
    const result = await tickets.customerWrote(ctx.tenant.id, number, chatOf(ctx), ctx.data.text ?? "");
    return stop(result.ok ? say(done, { number }) : await refusal(tickets, ctx.tenant.id, number, result));
  };

  return {
    ticketOpenStart: ticketAction({ outcomes: ["hasOpen"] }, async (ctx) => {
      if (!services.tickets()) return unavailable();
      return (await openOf(ctx)).length > 0 ? { outcome: "hasOpen" } : undefined;
    }),

    ticketAddToChoices: ticketAction(async (ctx) => ({
      choices: (await openOf(ctx)).map((ticket): ChoiceView => ({
        id: ticketChoiceId(ticket.number),
        label: say("support.open.add_to", { number: ticket.number, subject: shorten(ticket.subject, 40) }).text,
      })),
    })),

    ticketAddTarget: ticketAction(async (ctx) => {
      const number = ticketOfChoice(ctx.data.addTo);
      return number === undefined ? stop(say("support.answer.none")) : { data: { ticketNumber: number } };
    }),

    ticketAdd: ticketAction((ctx) => customerWrote(ctx, "support.open.added")),

    ticketHasOrders: ticketAction({ outcomes: ["none"] }, async (ctx) => {
      const orders = await listMyOrders(ctx.tenant.id, { channel: ctx.channel, channelUserId: ctx.user.id }, { limit: 1 });
      return orders.length === 0 ? { outcome: "none" } : undefined;
    }),

    ticketOrderChoices: ticketAction(async (ctx) => {
      const orders = await listMyOrders(ctx.tenant.id, { channel: ctx.channel, channelUserId: ctx.user.id }, { limit: RECENT_ORDERS });
      return {
        choices: orders.map((order) => ({
          id: order.code,
          label: say("support.open.order_choice", { code: order.code, items: shorten(order.items.map((item) => item.name).join(", "), 40) }).text,
        })),
      };
    }),

    ticketOpen: ticketAction(async (ctx) => {
      const tickets = services.tickets();
      if (!tickets) return unavailable();
      const { category, orderCode, text, photo } = ctx.data;
      const ticket = await tickets.open({
        tenantId: ctx.tenant.id,
        customer: customerOf(ctx),
        category: (TICKET_CATEGORIES as readonly string[]).includes(category ?? "") ? (category as TicketCategory) : "other",
        ...(orderCode && orderCode !== "none" && { orderCode }),
        text: text || photo?.caption || "",
        ...(photo && { media: { channel: ctx.channel, fileRef: photo.fileRef, type: photo.type } }),
        source: "customer",
      });
      return stop(say("support.open.opened", { number: ticket.number }));
    }),

    ticketMineList: ticketAction(async (ctx) => {
      if (!services.tickets()) return unavailable();
      const mine = await openOf(ctx);
      if (mine.length === 0) return stop(say("support.mine.none"));
      const now = services.now();
      return { say: [say("support.mine.list", { lines: mine.map((ticket) => customerLine(ticket, now, ctx.locale)).join("\n") })] };
    }),

    ticketMineChoices: ticketAction({ flows: [answerTicketFlow.id] }, async (ctx) => ({
      choices: (await openOf(ctx)).map((ticket) => ({
        id: ticketChoiceId(ticket.number),
        label: say("support.mine.answer_choice", { number: ticket.number }).text,
        flow: answerTicketFlow.id,
      })),
    })),

    ticketAnswerChoices: ticketAction(async (ctx) => ({
      choices: (await openOf(ctx)).map((ticket) => ({
        id: ticketChoiceId(ticket.number),
        label: say("support.open.add_to", { number: ticket.number, subject: shorten(ticket.subject, 40) }).text,
      })),
    })),

    ticketAnswerTarget: ticketAction({ outcomes: ["pick"] }, async (ctx) => {
      const tickets = services.tickets();
      if (!tickets) return unavailable();
      const number = ticketOfChoice(ctx.data.ticketPick) ?? ticketNumberOf(ctx.data.commandArgs);
      if (number === undefined) {
        const mine = await openOf(ctx);
        if (mine.length === 0) return stop(say("support.answer.none"));
        if (mine.length > 1) return { outcome: "pick" };
        return { data: { ticketNumber: mine[0]!.number } };
      }
      const ticket = await tickets.get(ctx.tenant.id, number);
      if (!ticket || !isMine(ticket, ctx)) return stop(say("support.refused.not_found", { number }));
      if (ticket.status === "merged" && ticket.mergedInto !== undefined) return stop(say("support.refused.merged", { number, into: ticket.mergedInto }));
      if (ticket.status === "closed") return stop(say("support.refused.closed", { number }));
      return { data: { ticketNumber: number } };
    }),

    ticketAnswer: ticketAction((ctx) => customerWrote(ctx, "support.answer.sent")),

    ticketRateTarget: ticketAction({ outcomes: ["ask"] }, async (ctx) => {
      const tickets = services.tickets();
      if (!tickets) return unavailable();
      const [typedNumber, typedRating] = (ctx.data.commandArgs ?? "").trim().split(/\s+/);
      const number = ticketNumberOf(typedNumber);
      if (number === undefined) return stop(say("support.rate.usage"));
      const ticket = await tickets.get(ctx.tenant.id, number);
      if (!ticket || !isMine(ticket, ctx)) return stop(say("support.refused.not_found", { number }));
      if (ticket.rating !== undefined) return stop(say("support.rate.already_rated", { number }));
      if (ticket.status !== "closed") return stop(say("support.rate.not_closed", { number }));
      if (typedRating?.toLowerCase() === SKIP_RATING) return stop(say("support.rate.skipped"));
      const rating = /^[1-5]$/.test(typedRating ?? "") ? typedRating : undefined;
      return rating ? { data: { ticketNumber: number, rating } } : { data: { ticketNumber: number }, outcome: "ask" };
    }),

    ticketRate: ticketAction(async (ctx) => {
      const tickets = services.tickets();
      const number = ctx.data.ticketNumber;
      const rating = Number(ctx.data.rating);
      if (!tickets || number === undefined) return unavailable();
      const comment = ctx.data.comment?.trim();
      const result = await tickets.rate(ctx.tenant.id, number, chatOf(ctx), rating, comment || undefined);
      if (result.ok) return stop(say("support.rate.thanks", { number, rating }));
      if (result.reason === "already_rated") return stop(say("support.rate.already_rated", { number }));
      return stop(await refusal(tickets, ctx.tenant.id, number, result));
    }),
  };
}

