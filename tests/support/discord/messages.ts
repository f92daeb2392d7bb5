// Messages in channels, threads and DMs: what the bot posted (with its components, embeds
// and attachments, edits and deletions applied) and what users wrote. A bot's payload is
// checked against Discord's limits and refused with the 50035 Discord would give, so a
// rendering that Discord would reject fails here too.
import type { LocalChannel, LocalUser } from "./world.ts";
import { snowflake } from "./snowflake.ts";
import { emptyMessage, invalidForm } from "./errors.ts";
import type { DiscordApiError } from "./errors.ts";

const EPHEMERAL = 64;
const COMPONENTS_V2 = 1 << 15;

export interface LocalAttachment {
  readonly id: string;
  readonly filename: string;
  readonly contentType: string;
  readonly data: Buffer;
  readonly description?: string;
  /** Where the emulator serves it (plain HTTP on its own port). */
  readonly url: string;
}

/** A file as a test hands it to a user's message, or as it arrived in a multipart part. */
export interface FileInput {
  readonly name: string;
  readonly data: Buffer;
  readonly contentType?: string;
}

/** Which interaction a message answers. */
export interface MessageInteraction {
  readonly id: string;
  readonly type: number;
  readonly name?: string;
  readonly user: LocalUser;
}

/** A button or select menu of a message, as a test looks for it. */
export interface MessageControl {
  readonly type: number;
  readonly customId?: string;
  readonly label?: string;
  readonly url?: string;
  readonly disabled: boolean;
  /** A select menu's options. */
  readonly options?: Array<{ label: string; value: string; description?: string }>;
}

export class LocalMessage {
  content = "";
  embeds: Array<Record<string, any>> = [];
  components: Array<Record<string, any>> = [];
  attachments: LocalAttachment[] = [];
  flags = 0;
  editedAt: Date | null = null;
  /** How many times it was edited. */
  edits = 0;
  deleted = false;
  /** The thread started from this message (same id as the message, as on Discord). */
  thread?: LocalChannel;
  readonly createdAt = new Date();

  constructor(
    readonly id: string,
    readonly channel: LocalChannel,
    readonly author: LocalUser,
    /** 0 default, 19 reply, 20 a slash command's response. */
    readonly type = 0,
    readonly interaction?: MessageInteraction,
    readonly referencedId?: string,
  ) {}

  get ephemeral(): boolean {
    return (this.flags & EPHEMERAL) !== 0;
  }

  /** Content, embed titles/descriptions/fields and text displays, one per line: what a person reads. */
  text(): string {
    const parts = [this.content];
    for (const e of this.embeds) {
      parts.push(e.author?.name, e.title, e.description, ...(e.fields ?? []).flatMap((f: any) => [f.name, f.value]), e.footer?.text);
    }
    const walk = (components: Array<Record<string, any>>): void => {
      for (const c of components) {
        if (c.type === 10) parts.push(c.content);
        if (Array.isArray(c.components)) walk(c.components);
        if (c.accessory) walk([c.accessory]);
      }
    };
    walk(this.components);
    return parts.filter((p) => typeof p === "string" && p.length > 0).join("\n");
  }

  /** Every button and select menu, in order. */
  controls(): MessageControl[] {
    const found: MessageControl[] = [];
    const walk = (components: Array<Record<string, any>>): void => {
      for (const c of components) {
        if (c.type === 2 || (c.type >= 3 && c.type <= 8 && c.type !== 4)) {
          found.push({
            type: c.type, customId: c.custom_id, label: c.label ?? c.placeholder, url: c.url, disabled: c.disabled === true,
            options: c.options?.map((o: any) => ({ label: o.label, value: o.value, description: o.description })),
          });
        }
        if (Array.isArray(c.components)) walk(c.components);
        if (c.accessory) walk([c.accessory]);
      }
    };
    walk(this.components);
    return found;
  }

  /** The custom ids of its buttons and select menus. */
  customIds(): string[] {
    return this.controls().flatMap((c) => (c.customId ? [c.customId] : []));
  }

  /** The message as Discord's REST answers it. */
  json(): Record<string, unknown> {
    const author = this.author.json();
    return {
      id: this.id, channel_id: this.channel.id, type: this.type, content: this.content, author,
      timestamp: this.createdAt.toISOString(), edited_timestamp: this.editedAt?.toISOString() ?? null,
      tts: false, mention_everyone: false, mentions: [], mention_roles: [], mention_channels: [], pinned: false,
      attachments: this.attachments.map((a) => ({
        id: a.id, filename: a.filename, size: a.data.length, url: a.url, proxy_url: a.url, content_type: a.contentType,
        ...(a.description ? { description: a.description } : {}),
      })),
      embeds: this.embeds, components: this.components, flags: this.flags,
      ...(this.interaction
        ? {
            webhook_id: this.author.id, application_id: this.author.id,
            interaction: { id: this.interaction.id, type: this.interaction.type, name: this.interaction.name ?? "", user: this.interaction.user.json() },
            interaction_metadata: {
              id: this.interaction.id, type: this.interaction.type, user: this.interaction.user.json(),
              authorizing_integration_owners: this.channel.guild ? { "0": this.channel.guild.id } : { "0": "0" },
              ...(this.interaction.name ? { name: this.interaction.name } : {}),
            },
          }
        : {}),
      ...(this.referencedId ? { message_reference: { type: 0, message_id: this.referencedId, channel_id: this.channel.id, guild_id: this.channel.guild?.id } } : {}),
      ...(this.thread ? { thread: this.thread.json() } : {}),
    };
  }
}

/** Attachments served over HTTP at `${origin}/attachments/:channel/:id/:filename`. */
export class AttachmentStore {
  origin = "";
  private readonly byId = new Map<string, LocalAttachment>();

  add(channelId: string, file: FileInput, description?: string): LocalAttachment {
    const id = snowflake();
    const filename = file.name.replace(/[^\w.-]+/g, "_") || "file";
    const attachment: LocalAttachment = {
      id, filename, data: file.data, description, contentType: file.contentType ?? contentTypeOf(filename),
      url: `${this.origin}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`,
    };
    this.byId.set(id, attachment);
    return attachment;
  }

  get(id: string): LocalAttachment | undefined {
    return this.byId.get(id);
  }
}

function contentTypeOf(filename: string): string {
  const ext = filename.split(".").pop()?.toLowerCase();
  const types: Record<string, string> = {
    png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", pdf: "application/pdf",
    txt: "text/plain; charset=utf-8", csv: "text/csv; charset=utf-8", json: "application/json", zip: "application/zip",
  };
  return types[ext ?? ""] ?? "application/octet-stream";
}

/**
 * Applies a bot's message payload (create or edit) after checking it as Discord does. On an
 * edit, only the fields present change; `attachments` lists the existing ones to keep.
 */
export function applyPayload(message: LocalMessage, body: Record<string, any>, files: FileInput[], store: AttachmentStore, edit: boolean): void {
  const problem = checkPayload(body, files);
  if (problem) throw problem;
  if (typeof body.content === "string" || body.content === null) message.content = body.content ?? "";
  if (Array.isArray(body.embeds) || body.embeds === null) message.embeds = body.embeds ?? [];
  if (Array.isArray(body.components) || body.components === null) message.components = body.components ?? [];
  if (typeof body.flags === "number") {
    // Ephemerality is set by the first answer and can't change on an edit.
    message.flags = edit ? (body.flags & ~EPHEMERAL) | (message.flags & EPHEMERAL) : body.flags;
  }
  const described = new Map<number, string | undefined>();
  const kept: LocalAttachment[] = [];
  if (Array.isArray(body.attachments)) {
    for (const a of body.attachments) {
      const existing = message.attachments.find((m) => m.id === String(a.id));
      if (existing) kept.push(existing);
      else if (/^\d{1,3}$/.test(String(a.id))) described.set(Number(a.id), a.description);
    }
  }
  const added = files.map((file, i) => store.add(message.channel.id, file, described.get(i)));
  if (!edit) message.attachments = added;
  else if (Array.isArray(body.attachments)) message.attachments = [...kept, ...added];
  else message.attachments = [...message.attachments, ...added];
  if (!edit && !message.content && message.embeds.length === 0 && message.attachments.length === 0 && !(message.flags & COMPONENTS_V2 && message.components.length > 0)) {
    throw emptyMessage();
  }
  if (edit) {
    message.editedAt = new Date();
    message.edits++;
  }
}

/** Discord's limits on a message payload; the first one broken, or undefined. */
export function checkPayload(body: Record<string, any>, _files: FileInput[]): DiscordApiError | undefined {
  if (typeof body.content === "string" && body.content.length > 2000) {
    return invalidForm("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.");
  }
  const embeds: any[] = Array.isArray(body.embeds) ? body.embeds : [];
  if (embeds.length > 10) return invalidForm("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.");
  let embedTotal = 0;
  for (const [i, e] of embeds.entries()) {
    if ((e.title?.length ?? 0) > 256) return invalidForm(`embeds.${i}.title`, "BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer in length.");
    if ((e.description?.length ?? 0) > 4096) return invalidForm(`embeds.${i}.description`, "BASE_TYPE_MAX_LENGTH", "Must be 4096 or fewer in length.");
    const fields: any[] = e.fields ?? [];
    if (fields.length > 25) return invalidForm(`embeds.${i}.fields`, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
    for (const [j, f] of fields.entries()) {
      if (!f.name || f.name.length > 256) return invalidForm(`embeds.${i}.fields.${j}.name`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 256 in length.");
      if (!f.value || f.value.length > 1024) return invalidForm(`embeds.${i}.fields.${j}.value`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 1024 in length.");
    }
    embedTotal += (e.title?.length ?? 0) + (e.description?.length ?? 0) + (e.footer?.text?.length ?? 0) + (e.author?.name?.length ?? 0) +
      fields.reduce((n, f) => n + (f.name?.length ?? 0) + (f.value?.length ?? 0), 0);
  }
  if (embedTotal > 6000) return invalidForm("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000");
  const components: any[] = Array.isArray(body.components) ? body.components : [];
  const v2 = typeof body.flags === "number" && (body.flags & COMPONENTS_V2) !== 0;
  return checkComponents(components, v2, "components");
}

/** Action rows of buttons and select menus (and, with components v2, the layout components). */
export function checkComponents(components: any[], v2: boolean, path: string): DiscordApiError | undefined {
  if (!v2 && components.length > 5) return invalidForm(path, "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.");
  const seen = new Set<string>();
  const checkOne = (c: any, at: string): DiscordApiError | undefined => {
    if (c.custom_id !== undefined) {
      if (typeof c.custom_id !== "string" || c.custom_id.length < 1 || c.custom_id.length > 100) {
        return invalidForm(`${at}.custom_id`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
      }
      if (seen.has(c.custom_id)) return invalidForm(`${at}.custom_id`, "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated");
      seen.add(c.custom_id);
    }
    if (c.type === 2) {
      if ((c.label?.length ?? 0) > 80) return invalidForm(`${at}.label`, "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length.");
      if (c.style === 5 ? !c.url : !c.custom_id && c.style !== 6) return invalidForm(at, "COMPONENT_INVALID", "Invalid component");
    }
    if (c.type === 3) {
      const options: any[] = c.options ?? [];
      if (options.length < 1 || options.length > 25) return invalidForm(`${at}.options`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length.");
      for (const [k, o] of options.entries()) {
        if (!o.label || o.label.length > 100) return invalidForm(`${at}.options.${k}.label`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
        if (!o.value || o.value.length > 100) return invalidForm(`${at}.options.${k}.value`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
      }
      if (new Set(options.map((o) => o.value)).size !== options.length) return invalidForm(`${at}.options`, "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED", "Select component option values must be unique");
    }
    if (Array.isArray(c.components)) {
      if (c.type === 1) {
        const buttons = c.components.filter((x: any) => x.type === 2).length;
        const others = c.components.length - buttons;
        if (c.components.length < 1 || buttons > 5 || (others > 0 && c.components.length > 1)) {
          return invalidForm(`${at}.components`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.");
        }
      }
      for (const [k, child] of c.components.entries()) {
        const problem = checkOne(child, `${at}.components.${k}`);
        if (problem) return problem;
      }
    }
    if (c.accessory) return checkOne(c.accessory, `${at}.accessory`);
    if (c.component) return checkOne(c.component, `${at}.component`);
    return undefined;
  };
  for (const [i, c] of components.entries()) {
    if (!v2 && c.type !== 1) return invalidForm(`${path}.${i}.type`, "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).");
    const problem = checkOne(c, `${path}.${i}`);
    if (problem) return problem;
  }
  return undefined;
}

export function newMessage(channel: LocalChannel, author: LocalUser, type = 0, interaction?: MessageInteraction, referencedId?: string): LocalMessage {
  return new LocalMessage(snowflake(), channel, author, type, interaction, referencedId);
}
