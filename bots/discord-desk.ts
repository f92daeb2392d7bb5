/**
 * The store's Discord staff channel as the team's desk, wired: tickets as threads
 * (`DiscordTicketDesk`, fed the ticketing domain's events), staff answers written in a
 * ticket's thread passed to the customer (`DiscordServices.staffWroteInThread`), and the
 * staff channel as the store's team room for sellers' alerts (`TeamOutbox.teamRooms`).
 *
 * ```ts
 * commerce.onTicketEvent(discordTicketDesk(channels, () => commerce.tickets, logger)); // idle while no Discord channel runs
 * new DiscordChannel({ …, services: { staffWroteInThread: staffThreadReplies(() => tickets) } });
 * createCommerce({ …, teamRooms: discordTeamRooms(channels) });
 * ```
 */
import { channelChatId, DISCORD_CHANNEL } from "../adapters/discord/contract.ts";
import type { DiscordServices } from "../adapters/discord/contract.ts";
import { DiscordChannel } from "../adapters/discord/discord-channel.ts";
import { DiscordTicketDesk, staffRoomOf } from "../adapters/discord/ticket-desk.ts";
import type { Channel, ChannelAddress, EngineLog } from "../flows/engine/index.ts";
import { TICKET_COMMANDS, type TicketActor, type TicketService } from "../flows/ticketing/contract.ts";
import { ROLE_PERMISSIONS, TICKETS_HANDLE } from "../flows/tenant-admin/permissions.ts";
import { Member, type Role } from "../storage/models/index.ts";

type Tickets = () => TicketService | undefined;

function discordChannelOf(channels: Iterable<Channel>): DiscordChannel | undefined {
  return [...channels].find((channel): channel is DiscordChannel => channel instanceof DiscordChannel);
}

/**
 * The desk on the Discord channel running among `channels` (looked up at each event: the
 * channels start after the domain is wired); its events do nothing while none runs.
 */
export function discordTicketDesk(channels: Iterable<Channel>, tickets: Tickets, log: EngineLog): DiscordTicketDesk {
  return new DiscordTicketDesk({
    tickets: {
      get: async (tenantId, number) => tickets()?.get(tenantId, number),
      setDeskRef: async (tenantId, number, desk) => tickets()?.setDeskRef(tenantId, number, desk),
    },
    channel: { send: (to, outbounds, options) => (discordChannelOf(channels) ?? absent).send(to, outbounds, options) },
    rest: () => discordChannelOf(channels)?.client.rest,
    roomOf: async (tenantId) => (discordChannelOf(channels) ? staffRoomOf(tenantId) : undefined),
    ticketCommand: TICKET_COMMANDS.desk,
    log,
  });
}

const absent: Pick<Channel, "send"> = {
  send: async (_to, outbounds) => ({ ok: outbounds.length === 0, sent: 0, reason: "no-channel", messages: outbounds.map(() => ({ status: "failed" as const, messageIds: [], reason: "no-channel" as const })) }),
};

/**
 * A store's team rooms while a Discord channel runs: its staff channel, where sellers'
 * alerts then go once (members on Discord are not messaged one by one; see seller-alerts.ts).
 */
export function discordTeamRooms(channels: Iterable<Channel>): (tenantId: string) => Promise<ChannelAddress[]> {
  return async (tenantId) => {
    if (!discordChannelOf(channels)) return [];
    const room = await staffRoomOf(tenantId);
    return room ? [{ tenantId, channel: DISCORD_CHANNEL, chatId: channelChatId(room.channelId) }] : [];
  };
}

/**
 * Someone wrote in a thread of a store's guild: if it is a ticket's thread and they are a
 * member who may handle tickets (staff-role holders are members by then), their words go to
 * the customer through the ticketing domain, as a staff reply from Discord.
 */
export function staffThreadReplies(tickets: Tickets): NonNullable<DiscordServices["staffWroteInThread"]> {
  return async ({ tenantId, threadId, user, text }) => {
    const service = tickets();
    if (!service) return "no-ticket";
    const ticket = await service.byDeskRef(tenantId, { channel: DISCORD_CHANNEL, ref: threadId });
    if (!ticket) return "no-ticket";
    // The tenant wall adds `tenantId` outside Member's inferred type.
    const member = await Member.findOne({ tenantId, channel: DISCORD_CHANNEL, channelUserId: user.id } as never, { role: 1, displayName: 1 })
      .lean<{ role: Role; displayName?: string | null }>()
      .exec();
    if (!member || !ROLE_PERMISSIONS[member.role]?.has(TICKETS_HANDLE)) return "not-allowed";
    if (ticket.status === "closed" || ticket.status === "merged") return "closed";
    const name = user.name ?? member.displayName ?? undefined;
    const actor: TicketActor = { channel: DISCORD_CHANNEL, userId: user.id, ...(name && { name }) };
    const result = await service.staffReply(tenantId, ticket.number, actor, text);
    if (result.ok) return "sent";
    if (result.reason === "closed" || result.reason === "merged") return "closed";
    return result.reason === "not_found" ? "no-ticket" : "not-allowed";
  };
}
