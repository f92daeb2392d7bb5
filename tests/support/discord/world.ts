// The people and places of the local Discord — users, guilds, roles, members, channels,
// threads and DMs — and how each looks on the wire (the JSON Discord sends for it).
import { PermissionFlagsBits } from "discord.js";
import { snowflake } from "./snowflake.ts";

const P = PermissionFlagsBits;

/** What @everyone may do in a new guild (Discord's defaults, text side). */
export const EVERYONE_PERMISSIONS =
  P.CreateInstantInvite | P.AddReactions | P.ViewChannel | P.SendMessages | P.EmbedLinks | P.AttachFiles | P.ReadMessageHistory |
  P.UseExternalEmojis | P.ChangeNickname | P.UseApplicationCommands | P.CreatePublicThreads | P.CreatePrivateThreads |
  P.SendMessagesInThreads | P.Connect | P.Speak;

/** What the platform's bot is granted when invited (its managed role). */
export const BOT_PERMISSIONS =
  EVERYONE_PERMISSIONS | P.ManageMessages | P.ManageThreads | P.MentionEveryone | P.ManageRoles;

const ALL_PERMISSIONS = Object.values(P).reduce((all, bit) => all | bit, 0n);

export class LocalUser {
  /** When set, the bot's messages to this user's DM fail with 50007 (the user closed DMs or blocked the bot). */
  dmsClosed = false;

  constructor(
    readonly id: string,
    readonly username: string,
    readonly globalName: string | null,
    /** The client language Discord reports in interactions (`"id"`, `"en-US"`). */
    readonly locale: string,
    readonly bot = false,
  ) {}

  /** The user closes DMs from server members (or blocks the bot): sending to them gets 50007. */
  closeDms(): void {
    this.dmsClosed = true;
  }

  openDms(): void {
    this.dmsClosed = false;
  }

  json(): Record<string, unknown> {
    return {
      id: this.id, username: this.username, global_name: this.globalName, discriminator: "0", avatar: null,
      public_flags: 0, flags: 0, banner: null, accent_color: null, avatar_decoration_data: null,
      ...(this.bot ? { bot: true } : {}),
    };
  }
}

export class LocalRole {
  constructor(
    readonly id: string,
    readonly guildId: string,
    public name: string,
    public permissions: bigint,
    readonly position: number,
    readonly managed = false,
  ) {}

  json(): Record<string, unknown> {
    return {
      id: this.id, name: this.name, color: 0, colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false, icon: null, unicode_emoji: null, position: this.position, permissions: this.permissions.toString(),
      managed: this.managed, mentionable: false, flags: 0,
    };
  }
}

export class LocalMember {
  readonly joinedAt = new Date();

  constructor(
    readonly guild: LocalGuild,
    readonly user: LocalUser,
    readonly roleIds: string[],
    /** Granted on top of the roles, as a channel overwrite would. */
    public extraPermissions: bigint,
  ) {}

  /** The member's permissions as Discord computes them (owner and Administrator: everything). */
  permissions(): bigint {
    if (this.user.id === this.guild.ownerId) return ALL_PERMISSIONS;
    let bits = this.guild.everyone.permissions | this.extraPermissions;
    for (const id of this.roleIds) bits |= this.guild.roles.find((r) => r.id === id)?.permissions ?? 0n;
    return bits & P.Administrator ? ALL_PERMISSIONS : bits;
  }

  /** The member object without `user`, as in MESSAGE_CREATE's `member`. */
  partialJson(): Record<string, unknown> {
    return {
      roles: [...this.roleIds], joined_at: this.joinedAt.toISOString(), nick: null, avatar: null, banner: null, premium_since: null,
      deaf: false, mute: false, flags: 0, pending: false, communication_disabled_until: null,
    };
  }

  json(): Record<string, unknown> {
    return { ...this.partialJson(), user: this.user.json() };
  }

  /** As in an interaction: with the user and the computed `permissions`. */
  interactionJson(): Record<string, unknown> {
    return { ...this.json(), permissions: this.permissions().toString() };
  }
}

export enum ChannelKind {
  GuildText = 0,
  Dm = 1,
  PublicThread = 11,
  PrivateThread = 12,
}

export class LocalChannel {
  lastMessageId: string | null = null;
  archived = false;
  locked = false;
  messageCount = 0;
  readonly threadMembers = new Set<string>();
  readonly createdAt = Date.now();

  constructor(
    readonly id: string,
    readonly kind: ChannelKind,
    public name: string,
    readonly guild?: LocalGuild,
    readonly parentId?: string,
    /** Who started a thread. */
    readonly ownerId?: string,
    /** The other side of a DM. */
    readonly recipient?: LocalUser,
    public autoArchiveDuration = 1440,
  ) {}

  get isThread(): boolean {
    return this.kind === ChannelKind.PublicThread || this.kind === ChannelKind.PrivateThread;
  }

  json(): Record<string, unknown> {
    if (this.kind === ChannelKind.Dm) {
      return { id: this.id, type: 1, last_message_id: this.lastMessageId, flags: 0, recipients: [this.recipient!.json()] };
    }
    const base = {
      id: this.id, type: this.kind, guild_id: this.guild!.id, name: this.name, last_message_id: this.lastMessageId,
      rate_limit_per_user: 0, flags: 0, nsfw: false,
    };
    if (this.isThread) {
      return {
        ...base, parent_id: this.parentId, owner_id: this.ownerId, message_count: this.messageCount, total_message_sent: this.messageCount,
        member_count: this.threadMembers.size,
        thread_metadata: {
          archived: this.archived, locked: this.locked, auto_archive_duration: this.autoArchiveDuration,
          archive_timestamp: new Date(this.createdAt).toISOString(), create_timestamp: new Date(this.createdAt).toISOString(),
          ...(this.kind === ChannelKind.PrivateThread ? { invitable: true } : {}),
        },
      };
    }
    return { ...base, position: this.guild!.channels.indexOf(this), parent_id: null, topic: null, permission_overwrites: [], default_auto_archive_duration: 1440 };
  }
}

/** What a guild tells the emulator about changes the connected bots must hear of. */
export interface GuildEvents {
  dispatch(guild: LocalGuild, event: string, data: Record<string, unknown>): void;
}

export class LocalGuild {
  readonly roles: LocalRole[] = [];
  readonly channels: LocalChannel[] = [];
  readonly threads: LocalChannel[] = [];
  readonly members = new Map<string, LocalMember>();
  /** Whether the platform's bot is in the guild (see `LocalDiscord.addBot`). */
  botPresent = false;
  botJoinedAt = new Date();
  readonly everyone: LocalRole;
  /** The text channel a new guild comes with ("general"). */
  readonly defaultChannel: LocalChannel;

  constructor(
    readonly id: string,
    public name: string,
    readonly ownerId: string,
    readonly preferredLocale: string,
    private readonly events: GuildEvents,
  ) {
    this.everyone = new LocalRole(id, id, "@everyone", EVERYONE_PERMISSIONS, 0);
    this.roles.push(this.everyone);
    this.defaultChannel = this.textChannel("general");
  }

  /** A role (made on first use of the name), e.g. `guild.role("Staf", { permissions: PermissionFlagsBits.ManageGuild })`. */
  role(name: string, options: { permissions?: bigint } = {}): LocalRole {
    const existing = this.roles.find((r) => r.name === name);
    if (existing) {
      if (options.permissions !== undefined) existing.permissions = options.permissions;
      return existing;
    }
    const role = new LocalRole(snowflake(), this.id, name, options.permissions ?? EVERYONE_PERMISSIONS, this.roles.length);
    this.roles.push(role);
    this.events.dispatch(this, "GUILD_ROLE_CREATE", { guild_id: this.id, role: role.json() });
    return role;
  }

  /** A text channel (made on first use of the name). */
  textChannel(name: string): LocalChannel {
    const existing = this.channels.find((c) => c.name === name);
    if (existing) return existing;
    const channel = new LocalChannel(snowflake(), ChannelKind.GuildText, name, this);
    this.channels.push(channel);
    this.events?.dispatch(this, "CHANNEL_CREATE", channel.json());
    return channel;
  }

  /**
   * Makes `user` a member (or updates their roles): `guild.member(sari, { roles: [staff] })`.
   * `permissions` are granted on top of the roles' (as a channel overwrite would).
   */
  member(user: LocalUser, options: { roles?: Array<LocalRole | string>; permissions?: bigint } = {}): LocalMember {
    const roleIds = (options.roles ?? []).map((r) => (typeof r === "string" ? this.role(r).id : r.id));
    const existing = this.members.get(user.id);
    if (existing) {
      if (options.roles) existing.roleIds.splice(0, existing.roleIds.length, ...roleIds);
      if (options.permissions !== undefined) existing.extraPermissions = options.permissions;
      this.events.dispatch(this, "GUILD_MEMBER_UPDATE", { guild_id: this.id, ...existing.json() });
      return existing;
    }
    const member = new LocalMember(this, user, roleIds, options.permissions ?? 0n);
    this.members.set(user.id, member);
    return member;
  }

  channel(id: string): LocalChannel | undefined {
    return this.channels.find((c) => c.id === id) ?? this.threads.find((c) => c.id === id);
  }

  /** The guild as GET /guilds/:id answers. */
  json(): Record<string, unknown> {
    return {
      id: this.id, name: this.name, icon: null, icon_hash: null, splash: null, discovery_splash: null, banner: null, description: null,
      owner_id: this.ownerId, region: "deprecated", afk_channel_id: null, afk_timeout: 300, widget_enabled: false, widget_channel_id: null,
      verification_level: 0, default_message_notifications: 0, explicit_content_filter: 0, features: [], mfa_level: 0,
      application_id: null, system_channel_id: this.defaultChannel.id, system_channel_flags: 0, rules_channel_id: null,
      public_updates_channel_id: null, safety_alerts_channel_id: null, max_members: 500000, max_presences: null,
      vanity_url_code: null, premium_tier: 0, premium_subscription_count: 0, preferred_locale: this.preferredLocale,
      nsfw_level: 0, nsfw: false, premium_progress_bar_enabled: false, incidents_data: null, max_video_channel_users: 25,
      max_stage_video_channel_users: 50, roles: this.roles.map((r) => r.json()), emojis: [], stickers: [],
    };
  }

  /** GUILD_CREATE's payload as the bot receives it on joining or on connecting. */
  createJson(botMember: LocalMember): Record<string, unknown> {
    return {
      ...this.json(), joined_at: this.botJoinedAt.toISOString(), large: false, unavailable: false, member_count: this.members.size,
      voice_states: [], members: [botMember.json()], presences: [], stage_instances: [], guild_scheduled_events: [],
      soundboard_sounds: [], lazy: true, embedded_activities: [], activity_instances: [], application_command_counts: {},
      channels: this.channels.map((c) => { const { guild_id: _drop, ...rest } = c.json(); return rest; }),
      threads: this.threads.filter((t) => !t.archived).map((t) => t.json()),
    };
  }
}
