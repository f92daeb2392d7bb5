// Application commands: registration (global and per guild, bulk overwrite or one by one),
// checked against Discord's rules, and the `data` of a command or autocomplete interaction a
// user's Discord client would build from a registered command and what they typed.
import { DiscordApiError, invalidForm, missingAccess, unknownCommand } from "./errors.ts";
import type { Route } from "./rest.ts";
import { snowflake } from "./snowflake.ts";
import { LocalChannel, LocalRole, LocalUser } from "./world.ts";
import type { LocalGuild } from "./world.ts";

export type RegisteredCommand = Record<string, any> & { id: string; name: string };

/** What a user typed into an option: text, a number, a yes/no, or a picked user, channel or role. */
export type OptionValue = string | number | boolean | LocalUser | LocalChannel | LocalRole;

const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const OptionType = { Subcommand: 1, Group: 2, String: 3, Integer: 4, Boolean: 5, User: 6, Channel: 7, Role: 8, Mentionable: 9, Number: 10, Attachment: 11 } as const;

export class CommandRegistry {
  readonly global: RegisteredCommand[] = [];
  readonly guilds = new Map<string, RegisteredCommand[]>();

  constructor(
    private readonly applicationId: () => string,
    /** The guild, if the bot is in it (else registering there gets 50001). */
    private readonly guildOfBot: (id: string) => LocalGuild | undefined,
  ) {}

  /** The command a user would pick by name: the guild's own first, then the global one (DMs: global only). */
  find(name: string, guild?: LocalGuild): RegisteredCommand | undefined {
    return (guild ? this.guilds.get(guild.id)?.find((c) => c.name === name) : undefined) ?? this.global.find((c) => c.name === name);
  }

  routes(): Route[] {
    const list = (params: Record<string, string>): RegisteredCommand[] => {
      if (params.app !== this.applicationId()) throw new DiscordApiError(403, 20012, "You are not authorized to perform this action on this application");
      if (!params.guild) return this.global;
      if (!this.guildOfBot(params.guild)) throw missingAccess();
      let commands = this.guilds.get(params.guild);
      if (!commands) this.guilds.set(params.guild, (commands = []));
      return commands;
    };
    const one = (params: Record<string, string>): RegisteredCommand => {
      const found = list(params).find((c) => c.id === params.command);
      if (!found) throw unknownCommand();
      return found;
    };
    const routes: Route[] = [];
    for (const base of ["/applications/:app/commands", "/applications/:app/guilds/:guild/commands"]) {
      routes.push(
        { method: "GET", path: base, auth: true, handle: (r) => ({ json: list(r.params) }) },
        {
          method: "PUT", path: base, auth: true, handle: (r) => {
            const commands = list(r.params);
            if (!Array.isArray(r.body)) throw invalidForm("_errors", "BASE_TYPE_ARRAY", "Must be an array.");
            if (r.body.length > 100) throw new DiscordApiError(400, 30032, "Maximum number of application commands reached (100)");
            const names = new Set<string>();
            const next = r.body.map((body: any, i: number) => {
              const key = `${body.type ?? 1}:${body.name}`;
              if (names.has(key)) throw invalidForm(`${i}.name`, "APPLICATION_COMMANDS_DUPLICATE_NAME", `Application command names must be unique`);
              names.add(key);
              checkCommand(body, `${i}.`);
              const previous = commands.find((c) => (c.type ?? 1) === (body.type ?? 1) && c.name === body.name);
              return this.stored(body, r.params.guild, previous?.id);
            });
            commands.splice(0, commands.length, ...next);
            return { json: commands };
          },
        },
        {
          method: "POST", path: base, auth: true, handle: (r) => {
            const commands = list(r.params);
            checkCommand(r.body, "");
            const index = commands.findIndex((c) => (c.type ?? 1) === (r.body.type ?? 1) && c.name === r.body.name);
            if (index < 0 && commands.length >= 100) throw new DiscordApiError(400, 30032, "Maximum number of application commands reached (100)");
            const command = this.stored(r.body, r.params.guild, commands[index]?.id);
            if (index >= 0) commands[index] = command;
            else commands.push(command);
            return { status: index >= 0 ? 200 : 201, json: command };
          },
        },
        { method: "GET", path: `${base}/:command`, auth: true, handle: (r) => ({ json: one(r.params) }) },
        {
          method: "PATCH", path: `${base}/:command`, auth: true, handle: (r) => {
            const existing = one(r.params);
            const merged = { ...existing, ...r.body };
            checkCommand(merged, "");
            Object.assign(existing, this.stored(merged, r.params.guild, existing.id));
            return { json: existing };
          },
        },
        {
          method: "DELETE", path: `${base}/:command`, auth: true, handle: (r) => {
            const commands = list(r.params);
            const index = commands.findIndex((c) => c.id === r.params.command);
            if (index < 0) throw unknownCommand();
            commands.splice(index, 1);
            return undefined;
          },
        },
      );
    }
    return routes;
  }

  private stored(body: any, guildId: string | undefined, id?: string): RegisteredCommand {
    return {
      id: id ?? snowflake(), application_id: this.applicationId(), version: snowflake(), type: body.type ?? 1, name: body.name,
      name_localizations: body.name_localizations ?? null, description: body.description ?? "",
      description_localizations: body.description_localizations ?? null, options: body.options ?? [],
      default_member_permissions: body.default_member_permissions ?? null, dm_permission: body.dm_permission ?? true,
      contexts: body.contexts ?? null, integration_types: body.integration_types ?? [0], nsfw: body.nsfw ?? false,
      ...(guildId ? { guild_id: guildId } : {}),
    };
  }
}

function checkCommand(body: any, at: string): void {
  const type = body?.type ?? 1;
  if (typeof body?.name !== "string" || !NAME.test(body.name) || (type === 1 && body.name !== body.name.toLowerCase())) {
    throw invalidForm(`${at}name`, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid");
  }
  if (type === 1 && (typeof body.description !== "string" || body.description.length < 1 || body.description.length > 100)) {
    throw invalidForm(`${at}description`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
  }
  checkOptions(body.options ?? [], `${at}options`);
  const size = JSON.stringify([body.name, body.description, body.options ?? []]).length;
  if (size > 8000) throw new DiscordApiError(400, 50035, "Invalid Form Body", { _errors: [{ code: "APPLICATION_COMMAND_TOO_LARGE", message: "Command exceeds maximum size (8000)" }] });
}

function checkOptions(options: any[], at: string): void {
  if (options.length > 25) throw invalidForm(at, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
  let optionalSeen = false;
  const names = new Set<string>();
  for (const [i, o] of options.entries()) {
    if (typeof o.name !== "string" || !NAME.test(o.name) || o.name !== o.name.toLowerCase()) throw invalidForm(`${at}.${i}.name`, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid");
    if (names.has(o.name)) throw invalidForm(`${at}.${i}.name`, "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique");
    names.add(o.name);
    if (typeof o.description !== "string" || o.description.length < 1 || o.description.length > 100) throw invalidForm(`${at}.${i}.description`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
    if (o.required) {
      if (optionalSeen) throw invalidForm(`${at}.${i}.required`, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options");
    } else if (o.type !== OptionType.Subcommand && o.type !== OptionType.Group) optionalSeen = true;
    if ((o.choices?.length ?? 0) > 25) throw invalidForm(`${at}.${i}.choices`, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
    if (o.choices?.length && o.autocomplete) throw invalidForm(`${at}.${i}.autocomplete`, "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES", "Autocomplete cannot be set with choices");
    if (o.type === OptionType.Subcommand || o.type === OptionType.Group) checkOptions(o.options ?? [], `${at}.${i}.options`);
  }
}

/** A command interaction's `data`, as the user's Discord client builds it. */
export function commandData(
  command: RegisteredCommand | undefined,
  name: string,
  input: Record<string, OptionValue>,
  where: { guild?: LocalGuild; subcommand?: string; group?: string; focused?: { name: string; value: string } },
): Record<string, any> {
  const resolved: Record<string, Record<string, unknown>> = {};
  let defs: any[] | undefined = command?.options;
  const path: Array<{ name: string; type: number }> = [];
  for (const [kind, sub] of [[OptionType.Group, where.group], [OptionType.Subcommand, where.subcommand]] as const) {
    if (!sub) continue;
    const def = defs?.find((o) => o.name === sub && o.type === kind);
    if (command && !def) throw new Error(`/${name} has no ${kind === OptionType.Group ? "subcommand group" : "subcommand"} "${sub}"`);
    path.push({ name: sub, type: kind });
    defs = def?.options;
  }
  const leaves: Array<Record<string, unknown>> = [];
  for (const [key, value] of Object.entries(input)) {
    const def = defs?.find((o) => o.name === key);
    if (command && !def) throw new Error(`/${name} has no option "${key}" (it has: ${(defs ?? []).map((o) => o.name).join(", ") || "none"})`);
    const type: number = def?.type ?? inferType(value);
    if (def?.choices?.length && !def.choices.some((c: any) => c.value === value)) {
      throw new Error(`/${name} ${key}: ${String(value)} is not one of its choices (${def.choices.map((c: any) => c.value).join(", ")})`);
    }
    const problem = def ? outOfRange(def, value) : undefined;
    if (problem) throw new Error(`/${name} ${key}: ${problem}; Discord does not let a user send it`);
    leaves.push({ name: key, type, value: resolveValue(value, where.guild, resolved) });
  }
  if (where.focused) {
    const def = defs?.find((o) => o.name === where.focused!.name);
    if (command && !def?.autocomplete) throw new Error(`/${name} ${where.focused.name} is not an autocomplete option`);
    leaves.push({ name: where.focused.name, type: def?.type ?? OptionType.String, value: where.focused.value, focused: true });
  } else if (command) {
    const missing = (defs ?? []).filter((o) => o.required && !(o.name in input)).map((o) => o.name);
    if (missing.length) throw new Error(`/${name} needs ${missing.join(", ")}: Discord does not let a user send it without`);
  }
  let options: Array<Record<string, unknown>> = leaves;
  for (const step of [...path].reverse()) options = [{ name: step.name, type: step.type, options }];
  return {
    id: command?.id ?? snowflake(), name, type: 1, options,
    ...(command?.guild_id ? { guild_id: command.guild_id } : {}),
    ...(Object.keys(resolved).length ? { resolved } : {}),
  };
}

function outOfRange(def: any, value: OptionValue): string | undefined {
  if (typeof value === "string") {
    if (def.max_length !== undefined && value.length > def.max_length) return `longer than ${def.max_length} characters`;
    if (def.min_length !== undefined && value.length < def.min_length) return `shorter than ${def.min_length} characters`;
  }
  if (typeof value === "number") {
    if (def.max_value !== undefined && value > def.max_value) return `above ${def.max_value}`;
    if (def.min_value !== undefined && value < def.min_value) return `below ${def.min_value}`;
    if (def.type === OptionType.Integer && !Number.isInteger(value)) return "not a whole number";
  }
  if (value instanceof LocalChannel && def.channel_types?.length && !def.channel_types.includes(value.kind)) return `a channel of type ${value.kind} is not offered`;
  return undefined;
}

function inferType(value: OptionValue): number {
  if (typeof value === "boolean") return OptionType.Boolean;
  if (typeof value === "number") return Number.isInteger(value) ? OptionType.Integer : OptionType.Number;
  if (value instanceof LocalUser) return OptionType.User;
  if (value instanceof LocalChannel) return OptionType.Channel;
  if (value instanceof LocalRole) return OptionType.Role;
  return OptionType.String;
}

function resolveValue(value: OptionValue, guild: LocalGuild | undefined, resolved: Record<string, Record<string, unknown>>): unknown {
  const add = (kind: string, id: string, data: unknown): string => {
    (resolved[kind] ??= {})[id] = data;
    return id;
  };
  if (value instanceof LocalUser) {
    const member = guild?.members.get(value.id);
    if (member) add("members", value.id, { ...member.partialJson(), permissions: member.permissions().toString() });
    return add("users", value.id, value.json());
  }
  if (value instanceof LocalChannel) return add("channels", value.id, { ...value.json(), permissions: "0" });
  if (value instanceof LocalRole) return add("roles", value.id, value.json());
  return value;
}
