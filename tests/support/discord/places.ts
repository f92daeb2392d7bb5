// REST routes for the bot's own view of Discord: the gateway's address, itself and its
// application, users and DMs, guilds (members, roles, channels), channels, messages and threads.
import { DiscordApiError, invalidForm, missingAccess, unknownChannel, unknownGuild, unknownMember, unknownMessage, unknownRole, unknownUser, threadAlreadyCreated } from "./errors.ts";
import type { LocalDiscord } from "./index.ts";
import type { LocalMessage } from "./messages.ts";
import type { Route } from "./rest.ts";
import type { LocalChannel, LocalGuild } from "./world.ts";

const MANAGE_MESSAGES = 1n << 13n;

export function placeRoutes(discord: LocalDiscord): Route[] {
  const guildOf = (id: string): LocalGuild => {
    const guild = discord.guilds.get(id);
    if (!guild) throw unknownGuild();
    if (!guild.botPresent) throw missingAccess();
    return guild;
  };
  const channelOf = (id: string): LocalChannel => {
    const channel = discord.channel(id);
    if (!channel) throw unknownChannel();
    if (channel.guild && !channel.guild.botPresent) throw missingAccess();
    return channel;
  };
  const messageOf = (channel: LocalChannel, id: string): LocalMessage => {
    const message = discord.message(id);
    if (!message || message.deleted || message.channel !== channel || message.ephemeral) throw unknownMessage();
    return message;
  };
  const botMayManage = (channel: LocalChannel): boolean => {
    const member = channel.guild?.members.get(discord.bot.id);
    return Boolean(member && member.permissions() & MANAGE_MESSAGES);
  };
  const gateway = { url: () => discord.gatewayUrl };

  return [
    { method: "GET", path: "/gateway", auth: false, handle: () => ({ json: { url: gateway.url() } }) },
    {
      method: "GET", path: "/gateway/bot", auth: true, handle: () => ({
        json: { url: gateway.url(), shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 } },
      }),
    },
    { method: "GET", path: "/users/@me", auth: true, handle: () => ({ json: { ...discord.bot.json(), verified: true, mfa_enabled: false, locale: "en-US" } }) },
    {
      method: "GET", path: "/applications/@me", auth: true, handle: () => ({
        json: {
          id: discord.application.id, name: discord.bot.username, icon: null, description: "", summary: "", type: null, bot: discord.bot.json(),
          bot_public: true, bot_require_code_grant: false, verify_key: "0".repeat(64), flags: 0, hook: true, is_monetized: false,
          owner: { id: discord.application.id, username: "team", discriminator: "0", avatar: null, flags: 0 }, team: null,
          approximate_guild_count: [...discord.guilds.values()].filter((g) => g.botPresent).length, tags: [], redirect_uris: [],
          interactions_endpoint_url: null, integration_types_config: { "0": {} }, install_params: { scopes: ["bot", "applications.commands"], permissions: "0" },
        },
      }),
    },
    {
      method: "GET", path: "/users/:user", auth: true, handle: (r) => {
        const user = discord.users.get(r.params.user!);
        if (!user) throw unknownUser();
        return { json: user.json() };
      },
    },
    {
      method: "POST", path: "/users/@me/channels", auth: true, handle: (r) => {
        const user = discord.users.get(String(r.body?.recipient_id));
        if (!user || user.bot) throw unknownUser();
        return { json: discord.dmChannel(user).json() };
      },
    },
    {
      method: "DELETE", path: "/users/@me/guilds/:guild", auth: true, handle: (r) => {
        discord.removeBot(guildOf(r.params.guild!));
        return undefined;
      },
    },

    { method: "GET", path: "/guilds/:guild", auth: true, handle: (r) => ({ json: withCounts(guildOf(r.params.guild!), r.query.get("with_counts") === "true") }) },
    { method: "GET", path: "/guilds/:guild/roles", auth: true, handle: (r) => ({ json: guildOf(r.params.guild!).roles.map((role) => role.json()) }) },
    {
      method: "GET", path: "/guilds/:guild/roles/:role", auth: true, handle: (r) => {
        const role = guildOf(r.params.guild!).roles.find((x) => x.id === r.params.role);
        if (!role) throw unknownRole();
        return { json: role.json() };
      },
    },
    {
      method: "GET", path: "/guilds/:guild/channels", auth: true, handle: (r) => ({ json: guildOf(r.params.guild!).channels.map((c) => c.json()) }),
    },
    {
      method: "GET", path: "/guilds/:guild/threads/active", auth: true, handle: (r) => {
        const threads = guildOf(r.params.guild!).threads.filter((t) => !t.archived);
        return { json: { threads: threads.map((t) => t.json()), members: [] } };
      },
    },
    {
      method: "GET", path: "/guilds/:guild/members/:user", auth: true, handle: (r) => {
        const member = guildOf(r.params.guild!).members.get(r.params.user!);
        if (!member) throw unknownMember();
        return { json: member.json() };
      },
    },
    {
      method: "GET", path: "/guilds/:guild/members", auth: true, handle: (r) => {
        const limit = Math.min(Number(r.query.get("limit") ?? 1), 1000);
        const after = BigInt(r.query.get("after") ?? "0");
        const members = [...guildOf(r.params.guild!).members.values()].filter((m) => BigInt(m.user.id) > after);
        members.sort((a, b) => (BigInt(a.user.id) < BigInt(b.user.id) ? -1 : 1));
        return { json: members.slice(0, limit).map((m) => m.json()) };
      },
    },
    ...(["PUT", "DELETE"] as const).map((method): Route => ({
      method, path: "/guilds/:guild/members/:user/roles/:role", auth: true, handle: (r) => {
        const guild = guildOf(r.params.guild!);
        const member = guild.members.get(r.params.user!);
        if (!member) throw unknownMember();
        if (!guild.roles.some((role) => role.id === r.params.role)) throw unknownRole();
        const ids = member.roleIds.filter((id) => id !== r.params.role);
        if (method === "PUT") ids.push(r.params.role!);
        member.roleIds.splice(0, member.roleIds.length, ...ids);
        return undefined;
      },
    })),

    { method: "GET", path: "/channels/:channel", auth: true, handle: (r) => ({ json: channelOf(r.params.channel!).json() }) },
    {
      method: "PATCH", path: "/channels/:channel", auth: true, handle: (r) => {
        const channel = channelOf(r.params.channel!);
        if (!channel.guild) throw new DiscordApiError(400, 50003, "Cannot execute action on a DM channel");
        if (typeof r.body.name === "string") {
          if (r.body.name.length < 1 || r.body.name.length > 100) throw invalidForm("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
          channel.name = r.body.name;
        }
        if (channel.isThread) {
          if (typeof r.body.archived === "boolean") channel.archived = r.body.archived;
          if (typeof r.body.locked === "boolean") channel.locked = r.body.locked;
          if (typeof r.body.auto_archive_duration === "number") channel.autoArchiveDuration = r.body.auto_archive_duration;
          discord.dispatchThread("THREAD_UPDATE", channel);
        } else {
          discord.gateway.dispatch("CHANNEL_UPDATE", channel.json(), { guildId: channel.guild.id, intent: 1 });
        }
        return { json: channel.json() };
      },
    },
    {
      method: "DELETE", path: "/channels/:channel", auth: true, handle: (r) => {
        const channel = channelOf(r.params.channel!);
        if (!channel.isThread) throw new DiscordApiError(403, 50013, "Missing Permissions");
        const threads = channel.guild!.threads;
        threads.splice(threads.indexOf(channel), 1);
        discord.channels.delete(channel.id);
        discord.gateway.dispatch("THREAD_DELETE", { id: channel.id, guild_id: channel.guild!.id, parent_id: channel.parentId, type: channel.kind }, { guildId: channel.guild!.id, intent: 1 });
        return { json: channel.json() };
      },
    },
    {
      method: "GET", path: "/channels/:channel/messages", auth: true, handle: (r) => {
        const channel = channelOf(r.params.channel!);
        const limit = Math.min(Math.max(Number(r.query.get("limit") ?? 50), 1), 100);
        const before = r.query.get("before");
        const after = r.query.get("after");
        let list = discord.messagesIn(channel).reverse();
        if (before) list = list.filter((m) => BigInt(m.id) < BigInt(before));
        if (after) list = list.filter((m) => BigInt(m.id) > BigInt(after)).reverse().slice(0, limit).reverse();
        return { json: list.slice(0, limit).map((m) => m.json()) };
      },
    },
    {
      method: "POST", path: "/channels/:channel/messages", auth: true, handle: (r) => ({
        json: discord.post(channelOf(r.params.channel!), discord.bot, r.body, r.files, { type: r.body.message_reference ? 19 : 0 }).json(),
      }),
    },
    { method: "GET", path: "/channels/:channel/messages/:message", auth: true, handle: (r) => ({ json: messageOf(channelOf(r.params.channel!), r.params.message!).json() }) },
    {
      method: "PATCH", path: "/channels/:channel/messages/:message", auth: true, handle: (r) => {
        const message = messageOf(channelOf(r.params.channel!), r.params.message!);
        if (message.author.id !== discord.bot.id) throw new DiscordApiError(403, 50005, "Cannot edit a message authored by another user");
        discord.edit(message, r.body, r.files);
        return { json: message.json() };
      },
    },
    {
      method: "DELETE", path: "/channels/:channel/messages/:message", auth: true, handle: (r) => {
        const channel = channelOf(r.params.channel!);
        const message = messageOf(channel, r.params.message!);
        if (message.author.id !== discord.bot.id && !botMayManage(channel)) throw new DiscordApiError(403, 50013, "Missing Permissions");
        discord.remove(message);
        return undefined;
      },
    },
    { method: "POST", path: "/channels/:channel/typing", auth: true, handle: (r) => void channelOf(r.params.channel!) },
    {
      method: "POST", path: "/channels/:channel/threads", auth: true, handle: (r) => {
        const parent = channelOf(r.params.channel!);
        if (!parent.guild || parent.isThread) throw new DiscordApiError(400, 50024, "Cannot execute action on this channel type");
        checkThreadName(r.body?.name);
        return { status: 201, json: { ...discord.createThread(parent, discord.bot, r.body).json(), member: selfMember() } };
      },
    },
    {
      method: "POST", path: "/channels/:channel/messages/:message/threads", auth: true, handle: (r) => {
        const parent = channelOf(r.params.channel!);
        if (!parent.guild || parent.isThread) throw new DiscordApiError(400, 50024, "Cannot execute action on this channel type");
        const message = messageOf(parent, r.params.message!);
        if (message.thread) throw threadAlreadyCreated();
        checkThreadName(r.body?.name);
        return { status: 201, json: { ...discord.createThread(parent, discord.bot, r.body, message).json(), member: selfMember() } };
      },
    },
    {
      method: "GET", path: "/channels/:channel/thread-members", auth: true, handle: (r) => {
        const thread = threadOf(channelOf(r.params.channel!));
        return { json: [...thread.threadMembers].map((id) => ({ id: thread.id, user_id: id, join_timestamp: new Date(thread.createdAt).toISOString(), flags: 0 })) };
      },
    },
    ...(["PUT", "DELETE"] as const).map((method): Route => ({
      method, path: "/channels/:channel/thread-members/:user", auth: true, handle: (r) => {
        const thread = threadOf(channelOf(r.params.channel!));
        const userId = r.params.user === "@me" ? discord.bot.id : r.params.user!;
        if (!discord.users.has(userId)) throw unknownUser();
        if (method === "PUT") {
          if (thread.archived) throw new DiscordApiError(400, 50083, "Thread is archived");
          thread.threadMembers.add(userId);
        } else thread.threadMembers.delete(userId);
        return undefined;
      },
    })),
  ];

  function selfMember(): Record<string, unknown> {
    return { user_id: discord.bot.id, join_timestamp: new Date().toISOString(), flags: 1 };
  }
}

function threadOf(channel: LocalChannel): LocalChannel {
  if (!channel.isThread) throw new DiscordApiError(400, 50024, "Cannot execute action on this channel type");
  return channel;
}

function checkThreadName(name: unknown): void {
  if (typeof name !== "string" || name.length < 1 || name.length > 100) throw invalidForm("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
}

function withCounts(guild: LocalGuild, counts: boolean): Record<string, unknown> {
  return counts ? { ...guild.json(), approximate_member_count: guild.members.size, approximate_presence_count: 0 } : guild.json();
}
