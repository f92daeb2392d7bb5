// Tickets from the store's side, on every channel with the engine (Telegram especially):
// `/tiket` lists the open ones (most urgent first, paged, mine or all), `/tiket 12` opens one
// with its customer, order, SLA due times and messages, and the actions on it — reply,
// take it, hand it over, re-prioritise, merge into another, close with a resolution. Every
// action goes through `TicketService` as the member; the domain's refusals are answered
// politely. The flow's guard asks for `tickets.handle`, and each action asks again.
import { t } from "../../locales/i18n.ts";
import { adminAction, adminGuard, roleName } from "../tenant-admin/admin-access.ts";
import { resolveAdminServices } from "../tenant-admin/admin-services.ts";
import { TICKETS_HANDLE, type Actor } from "../tenant-admin/permissions.ts";
import { rolesWith } from "../tenant-admin/seller-alerts.ts";
import { Member, type Role } from "../../storage/models/index.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { actionsFor, type ActionContext, type ActionRegistry, type ActionResult, type ChoiceOffer } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import { TICKET_COMMANDS, TICKET_PRIORITIES, type TicketActor, type TicketPriority, type TicketResult, type TicketService } from "./contract.ts";
import { priorityName } from "./ticket-notices.ts";
import { byUrgency, deskChoiceLabel, ticketChoiceId, ticketDetail, ticketNumberOf, ticketOfChoice } from "./ticket-lines.ts";
import { refusal, say, stop, type ResolvedTicketServices } from "./ticket-services.ts";

/** How many tickets a list reads; the engine pages them. */
const LISTED = 100;
/** The messages shown with a ticket: the latest. */
const SHOWN_MESSAGES = 10;
const ACTIONS = ["reply", "assignMe", "assign", "priority", "merge", "close"] as const;
const ACTION_LABELS: Record<(typeof ACTIONS)[number] | "done", string> = {
  reply: "support.desk.reply",
  assignMe: "support.desk.assign_me",
  assign: "support.desk.assign",
  priority: "support.desk.set_priority",
  merge: "support.desk.merge",
  close: "support.desk.close",
  done: "support.desk.done",
};

export type DeskData = {
  commandArgs?: string;
  /** "all" or "mine". */
  filter?: string;
  deskPick?: string;
  ticketNumber?: number;
  deskAction?: string;
  replyText?: string;
  assigneePick?: string;
  priority?: string;
  mergeInto?: number;
  resolution?: string;
};

export const ticketDeskFlow = defineFlow<DeskData>()({
  id: "ticket-desk",
  guard: adminGuard(TICKETS_HANDLE),
  audience: "seller",
  triggers: { commands: [TICKET_COMMANDS.desk, "tickets"] },
  help: "support.help.desk",
  steps: {
    start: { kind: "action", action: "deskStart", next: "list", outcomes: { one: "show" } },
    list: {
      kind: "choose",
      text: "support.desk.list",
      source: "deskTicketChoices",
      pageSize: 8,
      choices: [
        { id: "mine", label: "support.desk.filter_mine" },
        { id: "all", label: "support.desk.filter_all" },
      ],
      saveAs: "deskPick",
      next: "picked",
    },
    picked: { kind: "action", action: "deskPicked", next: "show", outcomes: { list: "list" } },
    show: { kind: "action", action: "deskShow", next: "act" },
    act: { kind: "choose", text: "support.desk.what_next", source: "deskActionChoices", pageSize: 8, saveAs: "deskAction", next: "route" },
    route: {
      kind: "branch",
      cases: ACTIONS.map((id) => ({ when: { field: "deskAction", equals: id }, next: id })),
      otherwise: "done",
    },
    reply: { kind: "ask", text: "support.desk.ask_reply", expect: "text", max: 2000, saveAs: "replyText", next: "sendReply", maxAttempts: 5 },
    sendReply: { kind: "action", action: "deskReply" },
    assignMe: { kind: "action", action: "deskAssignMe" },
    assign: { kind: "choose", text: "support.desk.ask_assignee", source: "deskMemberChoices", pageSize: 8, saveAs: "assigneePick", next: "assignTo" },
    assignTo: { kind: "action", action: "deskAssign" },
    priority: {
      kind: "choose",
      text: "support.desk.ask_priority",
      choices: TICKET_PRIORITIES.map((priority) => ({ id: priority, label: `tickets.priority.${priority}` })),
      saveAs: "priority",
      next: "setPriority",
    },
    setPriority: { kind: "action", action: "deskSetPriority" },
    merge: { kind: "ask", text: "support.desk.ask_merge", expect: "integer", min: 1, saveAs: "mergeInto", next: "doMerge", maxAttempts: 5 },
    doMerge: { kind: "action", action: "deskMerge" },
    close: { kind: "ask", text: "support.desk.ask_resolution", expect: "text", min: 3, max: 1000, saveAs: "resolution", next: "doClose", maxAttempts: 5 },
    doClose: { kind: "action", action: "deskClose" },
    done: { kind: "end", text: "admin.common.ok" },
  },
});

export const staffTicketFlows = [ticketDeskFlow];

const deskAction = actionsFor<DeskData>();

function actorOf(actor: Actor): TicketActor {
  return { channel: actor.channel, userId: actor.userId, ...(actor.name !== undefined && { name: actor.role === "platform" ? `${actor.name} (platform)` : actor.name }) };
}

export function staffTicketActions(services: ResolvedTicketServices): ActionRegistry {
  const admin = resolveAdminServices(services.platformOwners ? { platformOwners: services.platformOwners } : {});
  /** An action on the open ticket, by a member allowed to handle tickets, with the domain at hand. */
  const onTicket = <Outcome extends string = never>(
    body: (ctx: ActionContext<DeskData>, tickets: TicketService, number: number, actor: Actor) => Promise<ActionResult<Outcome, DeskData> | void>,
  ) =>
    adminAction<DeskData, Outcome>(admin, TICKETS_HANDLE, async (ctx, actor) => {
      const tickets = services.tickets();
      const number = ctx.data.ticketNumber;
      if (!tickets || number === undefined) return stop(say("support.unavailable"));
      return body(ctx, tickets, number, actor);
    });
  /** The domain's answer to a change: `done` said on success, its refusal otherwise. */
  const answered = async (tickets: TicketService, ctx: ActionContext<DeskData>, number: number, result: TicketResult, done: () => ReturnType<typeof say>) =>
    stop(result.ok ? done() : await refusal(tickets, ctx.tenant.id, number, result));

  return {
    deskStart: deskAction({ outcomes: ["one"] }, adminAction<DeskData, "one">(admin, TICKETS_HANDLE, async (ctx) => {
      if (!services.tickets()) return stop(say("support.unavailable"));
      const typed = (ctx.data.commandArgs ?? "").trim().toLowerCase();
      if (typed === "" || ["semua", "all"].includes(typed)) return { data: { filter: "all" }, say: [await listHeader(services, ctx, "all")] };
      if (["saya", "mine", "punyaku"].includes(typed)) return { data: { filter: "mine" }, say: [await listHeader(services, ctx, "mine")] };
      const number = ticketNumberOf(typed);
      if (number === undefined) return stop(say("support.desk.usage_number", { typed: typed.slice(0, 20) }));
      return { data: { ticketNumber: number }, outcome: "one" };
    })),

    deskTicketChoices: adminAction<DeskData>(admin, TICKETS_HANDLE, async (ctx) => ({
      choices: (await listed(services, ctx, ctx.data.filter === "mine" ? "mine" : "all")).map((ticket) => ({
        id: ticketChoiceId(ticket.number),
        label: { inline: { [ctx.locale]: deskChoiceLabel(ticket, services.now(), ctx.locale) } },
      })),
    })),

    deskPicked: deskAction({ outcomes: ["list"] }, adminAction<DeskData, "list">(admin, TICKETS_HANDLE, async (ctx) => {
      const pick = ctx.data.deskPick;
      if (pick === "mine" || pick === "all") return { data: { filter: pick }, say: [await listHeader(services, ctx, pick)], outcome: "list" };
      const number = ticketOfChoice(pick);
      return number === undefined ? stop() : { data: { ticketNumber: number } };
    })),

    deskShow: onTicket(async (ctx, tickets, number) => {
      const ticket = await tickets.get(ctx.tenant.id, number);
      if (!ticket) return stop(say("support.refused.not_found", { number }));
      const [messages, store] = await Promise.all([tickets.messages(ctx.tenant.id, number, { limit: SHOWN_MESSAGES }), storeSettings(ctx.tenant.id)]);
      const text = ticketDetail(ticket, messages, { now: services.now(), locale: ctx.locale, timeZone: store?.timezone ?? "Asia/Jakarta" });
      return { say: [{ text: { inline: { [ctx.locale]: text } } }] };
    }),

    deskActionChoices: onTicket(async (ctx, tickets, number, actor) => {
      const ticket = await tickets.get(ctx.tenant.id, number);
      const live = ticket !== undefined && (ticket.status === "open" || ticket.status === "answered");
      const mine = ticket?.assignee?.channel === actor.channel && ticket.assignee.userId === actor.userId;
      const ids = live ? ACTIONS.filter((id) => id !== "assignMe" || !mine) : [];
      const choices: ChoiceOffer[] = [...ids, "done" as const].map((id) => ({ id, label: say(ACTION_LABELS[id]).text }));
      return { choices };
    }),

    deskReply: onTicket(async (ctx, tickets, number, actor) =>
      answered(tickets, ctx, number, await tickets.staffReply(ctx.tenant.id, number, actorOf(actor), ctx.data.replyText ?? ""), () => say("support.desk.replied", { number })),
    ),

    deskAssignMe: onTicket(async (ctx, tickets, number, actor) => {
      const me = actorOf(actor);
      const result = await tickets.assign(ctx.tenant.id, number, me, me);
      return answered(tickets, ctx, number, result, () => say("support.desk.assigned", { number, name: me.name ?? me.userId }));
    }),

    deskMemberChoices: onTicket(async (ctx) => {
      const members = await Member.find({ tenantId: ctx.tenant.id, role: { $in: rolesWith(TICKETS_HANDLE) } } as never, { channel: 1, channelUserId: 1, displayName: 1, role: 1 })
        .sort({ role: 1, displayName: 1 })
        .lean<{ _id: unknown; channel: string; channelUserId: string; displayName?: string | null; role: Role }[]>()
        .exec();
      return {
        choices: members.map((member) => ({
          id: `m${String(member._id)}`,
          label: say("support.desk.member_choice", { name: member.displayName || `${member.channel} ${member.channelUserId}`, role: roleName(ctx.locale, member.role) }).text,
        })),
      };
    }),

    deskAssign: onTicket(async (ctx, tickets, number, actor) => {
      const id = (ctx.data.assigneePick ?? "").slice(1);
      const member = /^[0-9a-f]{24}$/.test(id)
        ? await Member.findOne({ _id: id, tenantId: ctx.tenant.id, role: { $in: rolesWith(TICKETS_HANDLE) } } as never, { channel: 1, channelUserId: 1, displayName: 1 })
            .lean<{ channel: string; channelUserId: string; displayName?: string | null }>()
            .exec()
        : null;
      if (!member) return stop(say("support.desk.member_gone", { number }));
      const assignee: TicketActor = { channel: member.channel, userId: member.channelUserId, ...(member.displayName && { name: member.displayName }) };
      const result = await tickets.assign(ctx.tenant.id, number, actorOf(actor), assignee);
      return answered(tickets, ctx, number, result, () => say("support.desk.assigned", { number, name: assignee.name ?? assignee.userId }));
    }),

    deskSetPriority: onTicket(async (ctx, tickets, number, actor) => {
      const priority = ctx.data.priority as TicketPriority;
      if (!TICKET_PRIORITIES.includes(priority)) return stop();
      const result = await tickets.setPriority(ctx.tenant.id, number, actorOf(actor), priority);
      return answered(tickets, ctx, number, result, () => say("support.desk.priority_set", { number, priority: priorityName(ctx.locale, priority) }));
    }),

    deskMerge: onTicket(async (ctx, tickets, number, actor) => {
      const into = Number(ctx.data.mergeInto);
      const result = await tickets.merge(ctx.tenant.id, number, into, actorOf(actor));
      if (!result.ok && result.reason === "not_found") {
        // Either number may be the missing one: name the one that is.
        const missing = (await tickets.get(ctx.tenant.id, number)) ? into : number;
        return stop(say("support.refused.not_found", { number: missing }));
      }
      return answered(tickets, ctx, number, result, () => say("support.desk.merged", { number, into }));
    }),

    deskClose: onTicket(async (ctx, tickets, number, actor) =>
      answered(tickets, ctx, number, await tickets.close(ctx.tenant.id, number, actorOf(actor), ctx.data.resolution ?? ""), () => say("support.desk.closed", { number })),
    ),
  };
}

/** The open tickets a list shows: the store's, or the member's own, most urgent first. */
async function listed(services: ResolvedTicketServices, ctx: ActionContext<DeskData>, filter: "all" | "mine") {
  const tickets = services.tickets();
  if (!tickets) return [];
  const found = await tickets.list(ctx.tenant.id, { status: ["open", "answered"], limit: LISTED, ...(filter === "mine" && { assigneeUserId: ctx.user.id }) });
  return found.filter((ticket) => filter === "all" || ticket.assignee?.channel === ctx.channel).sort(byUrgency);
}

async function listHeader(services: ResolvedTicketServices, ctx: ActionContext<DeskData>, filter: "all" | "mine") {
  const count = (await listed(services, ctx, filter)).length;
  if (count === 0) return say("support.desk.empty", { filter: filter === "mine" ? t(ctx.locale, "support.desk.empty_mine") : "" });
  return say("support.desk.header", { filter: t(ctx.locale, filter === "mine" ? "support.desk.filter_mine_name" : "support.desk.filter_all_name"), count });
}
