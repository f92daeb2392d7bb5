// Interactions as Discord runs them: the payload dispatched as INTERACTION_CREATE, then the
// bot's answers — the callback (`POST /interactions/:id/:token/callback`, once, within
// `firstAnswerMs` of the id's timestamp, or 10062/40060), and the interaction webhook
// (`/webhooks/:app/:token/...`: the original response, follow-ups) for 15 minutes.
// Each interaction's `InteractionRecord` keeps what the user saw, with timings.
import { checkComponents } from "./messages.ts";
import type { LocalMessage } from "./messages.ts";
import {
  alreadyAcknowledged, invalidForm, invalidWebhookToken, unknownInteraction, unknownMessage, unknownWebhook,
} from "./errors.ts";
import type { DiscordApiError } from "./errors.ts";
import type { Route } from "./rest.ts";
import type { Site } from "./site.ts";
import { timestampOf } from "./snowflake.ts";
import type { LocalChannel, LocalGuild, LocalUser } from "./world.ts";

export const InteractionKind = { Ping: 1, Command: 2, Component: 3, Autocomplete: 4, ModalSubmit: 5 } as const;

const EPHEMERAL = 64;
const LOADING = 128;
const WEBHOOK_LIFETIME_MS = 15 * 60_000;

/** One acknowledgement the emulator accepted. */
export interface Acknowledgement {
  /** Callback type: 4 reply, 5 defer, 6 defer update, 7 update, 8 choices, 9 modal. */
  readonly type: number;
  readonly ephemeral: boolean;
  /** Time from the interaction's creation (its id's timestamp) to the callback's arrival. */
  readonly afterMs: number;
}

/** An error the emulator answered the bot with for this interaction. */
export interface InteractionError {
  readonly code: number;
  readonly message: string;
  readonly request: string;
  readonly afterMs: number;
}

type Waiter = () => void;

/**
 * What happened to one interaction, as the user saw it.
 *
 * ```ts
 * const r = discord.command(sari, guild.defaultChannel, "toko");
 * const shown = await r.waitForAnswer();           // the reply, or the edit after a defer
 * shown.text(); shown.customIds();                  // what the user reads and can press
 * r.acks[0]?.afterMs; r.errors;                     // timing, and 10062/40060 if any
 * ```
 */
export class InteractionRecord {
  readonly acks: Acknowledgement[] = [];
  readonly errors: InteractionError[] = [];
  /** The response message (for a component's update or deferred update: the component's message). */
  original?: LocalMessage;
  readonly followUps: LocalMessage[] = [];
  /** The modal the bot showed (callback type 9's `data`). */
  modal?: Record<string, any>;
  /** Autocomplete choices the bot answered (callback type 8). */
  choices?: Array<{ name: string; value: string | number; name_localizations?: unknown }>;
  /** Time from creation to the first content the user could see (reply, update, edit after a defer, or a follow-up). */
  contentAfterMs?: number;
  readonly createdAt: number;
  private readonly waiters = new Set<Waiter>();

  constructor(
    readonly id: string,
    readonly token: string,
    readonly type: number,
    readonly user: LocalUser,
    readonly channel: LocalChannel,
    /** The payload dispatched as INTERACTION_CREATE. */
    readonly payload: Record<string, any>,
    /** For a component (or a modal shown from one): the message it was on. */
    readonly sourceMessage?: LocalMessage,
  ) {
    this.createdAt = timestampOf(id);
  }

  get guild(): LocalGuild | undefined {
    return this.channel.guild;
  }

  /** Whether the first answer was a defer (5), so the visible answer comes as an edit or follow-up. */
  get deferred(): boolean {
    return this.acks[0]?.type === 5 || this.acks[0]?.type === 6;
  }

  get ephemeral(): boolean {
    return this.acks[0]?.ephemeral ?? false;
  }

  /** The first acknowledgement. */
  waitForAck(timeoutMs?: number): Promise<Acknowledgement> {
    return this.until("an acknowledgement", () => this.acks[0], timeoutMs);
  }

  /** The first visible content: the reply, the update, the original after a defer was edited, or a first follow-up. */
  waitForAnswer(timeoutMs?: number): Promise<LocalMessage> {
    return this.until("a visible answer", () => (this.contentAfterMs === undefined ? undefined : this.visible()), timeoutMs);
  }

  /** Resolves once `n` follow-ups were sent (a follow-up that replaced a deferred "thinking…" counts). */
  waitForFollowUps(n: number, timeoutMs?: number): Promise<LocalMessage[]> {
    return this.until(`${n} follow-up(s)`, () => (this.followUps.length >= n ? [...this.followUps] : undefined), timeoutMs);
  }

  waitForModal(timeoutMs?: number): Promise<Record<string, any>> {
    return this.until("a modal", () => this.modal, timeoutMs);
  }

  waitForChoices(timeoutMs?: number): Promise<Array<{ name: string; value: string | number }>> {
    return this.until("autocomplete choices", () => this.choices, timeoutMs);
  }

  /** Resolves when `check` holds after some change (an ack, an edit, a follow-up, an error). */
  until<T>(what: string, check: () => T | undefined | false | null, timeoutMs = 10_000): Promise<T> {
    const now = check();
    if (now) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const waiter = (): void => {
        const value = check();
        if (!value) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const errors = this.errors.map((e) => `${e.code} ${e.message} (${e.request})`).join("; ");
        reject(new Error(`interaction ${this.id}: still waiting for ${what} after ${timeoutMs} ms (acks: ${JSON.stringify(this.acks)}${errors ? `; errors: ${errors}` : ""})`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** @internal */
  changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private visible(): LocalMessage | undefined {
    if (this.original && !(this.original.flags & LOADING) && !this.original.deleted) return this.original;
    return this.followUps[0] ?? this.original;
  }
}

/** The interactions in flight, and the REST routes through which the bot answers them. */
export class Interactions {
  private readonly byId = new Map<string, InteractionRecord>();
  private readonly byToken = new Map<string, InteractionRecord>();
  /** Every interaction, oldest first. */
  readonly all: InteractionRecord[] = [];

  constructor(
    private readonly site: Site,
    private readonly firstAnswerMs: () => number,
  ) {}

  add(record: InteractionRecord): void {
    this.byId.set(record.id, record);
    this.byToken.set(record.token, record);
    this.all.push(record);
  }

  routes(): Route[] {
    const { id: app } = this.site.application;
    const webhook = (path: string): string => `/webhooks/:app/:token${path}`;
    return [
      { method: "POST", path: "/interactions/:id/:token/callback", auth: false, handle: (r) => this.callback(r.params.id!, r.params.token!, r.body, r.files, r.query.get("with_response") === "true") },
      { method: "GET", path: webhook("/messages/:message"), auth: false, handle: (r) => ({ json: this.target(this.hook(r.params, app, "GET"), r.params.message!).json() }) },
      { method: "PATCH", path: webhook("/messages/:message"), auth: false, handle: (r) => ({ json: this.editMessage(this.hook(r.params, app, "PATCH"), r.params.message!, r.body, r.files).json() }) },
      {
        method: "DELETE", path: webhook("/messages/:message"), auth: false, handle: (r) => {
          const record = this.hook(r.params, app, "DELETE");
          const message = this.target(record, r.params.message!);
          this.site.remove(message);
          record.changed();
          return undefined;
        },
      },
      {
        method: "POST", path: webhook(""), auth: false, handle: (r) => {
          const message = this.followUp(this.hook(r.params, app, "POST"), r.body, r.files);
          return r.query.get("wait") === "true" ? { json: message.json() } : undefined;
        },
      },
    ];
  }

  private fail(record: InteractionRecord, error: DiscordApiError, request: string): never {
    record.errors.push({ code: error.code, message: error.message, request, afterMs: Date.now() - record.createdAt });
    record.changed();
    throw error;
  }

  private callback(id: string, token: string, body: any, files: Array<{ name: string; data: Buffer }>, withResponse: boolean) {
    const record = this.byId.get(id);
    if (!record || record.token !== token) throw unknownInteraction();
    const afterMs = Date.now() - record.createdAt;
    const request = `callback type ${body?.type}`;
    if (record.acks.length > 0) this.fail(record, alreadyAcknowledged(), request);
    if (afterMs > this.firstAnswerMs()) this.fail(record, unknownInteraction(), request);
    const type = Number(body?.type);
    const data = body?.data ?? {};
    const ephemeral = (Number(data.flags ?? 0) & EPHEMERAL) !== 0;
    const fromComponent = record.type === InteractionKind.Component || (record.type === InteractionKind.ModalSubmit && record.sourceMessage);
    const allowed: Record<number, boolean> = {
      4: record.type !== InteractionKind.Autocomplete,
      5: record.type !== InteractionKind.Autocomplete,
      6: Boolean(fromComponent),
      7: Boolean(fromComponent),
      8: record.type === InteractionKind.Autocomplete,
      9: record.type === InteractionKind.Command || record.type === InteractionKind.Component,
    };
    if (!allowed[type]) this.fail(record, invalidForm("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type"), request);
    const interaction = { id: record.id, type: record.type, name: record.payload.data?.name, user: record.user };
    try {
      switch (type) {
        case 4:
          record.original = this.site.post(record.channel, this.site.bot, data, files, { type: record.type === InteractionKind.Command ? 20 : 19, interaction, flags: ephemeral ? EPHEMERAL : 0 });
          break;
        case 5:
          record.original = this.site.post(record.channel, this.site.bot, {}, [], { type: record.type === InteractionKind.Command ? 20 : 19, interaction, flags: (ephemeral ? EPHEMERAL : 0) | LOADING, allowEmpty: true });
          break;
        case 6:
          record.original = record.sourceMessage;
          break;
        case 7:
          record.original = record.sourceMessage;
          this.site.edit(record.sourceMessage!, data, files);
          break;
        case 8:
          record.choices = checkChoices(data.choices);
          break;
        case 9:
          record.modal = checkModal(data);
          break;
      }
    } catch (error) {
      this.fail(record, error as DiscordApiError, request);
    }
    record.acks.push({ type, ephemeral, afterMs });
    if (type === 4 || type === 7) record.contentAfterMs ??= afterMs;
    record.changed();
    if (!withResponse) return undefined;
    return {
      json: {
        interaction: {
          id: record.id, type: record.type, activity_instance_id: null, response_message_id: record.original?.id ?? null,
          response_message_loading: type === 5, response_message_ephemeral: ephemeral,
        },
        resource: { type, ...(record.original && (type === 4 || type === 5 || type === 7) ? { message: record.original.json() } : {}) },
      },
    };
  }

  private hook(params: Record<string, string>, app: string, method: string): InteractionRecord {
    if (params.app !== app) throw unknownWebhook();
    const record = this.byToken.get(params.token!);
    if (!record) throw invalidWebhookToken();
    if (Date.now() - record.createdAt > WEBHOOK_LIFETIME_MS) this.fail(record, invalidWebhookToken(), `${method} webhook`);
    return record;
  }

  private target(record: InteractionRecord, messageId: string): LocalMessage {
    const message = messageId === "@original" ? record.original : record.followUps.find((m) => m.id === messageId);
    if (!message || message.deleted) this.fail(record, unknownMessage(), `webhook message ${messageId}`);
    return message;
  }

  private editMessage(record: InteractionRecord, messageId: string, body: any, files: Array<{ name: string; data: Buffer }>): LocalMessage {
    const message = this.target(record, messageId);
    const wasLoading = (message.flags & LOADING) !== 0;
    try {
      this.site.edit(message, body, files);
    } catch (error) {
      this.fail(record, error as DiscordApiError, `PATCH webhook message ${messageId}`);
    }
    if (wasLoading) message.flags &= ~LOADING;
    if (message === record.original) record.contentAfterMs ??= Date.now() - record.createdAt;
    record.changed();
    return message;
  }

  private followUp(record: InteractionRecord, body: any, files: Array<{ name: string; data: Buffer }>): LocalMessage {
    const first = record.acks[0]?.type;
    if (first === undefined || first === 8 || first === 9) this.fail(record, unknownWebhook(), "POST follow-up");
    // Discord's first follow-up after a deferred reply replaces the "thinking…" message.
    if (record.original && record.original.flags & LOADING && first === 5) {
      const message = this.editMessage(record, "@original", body, files);
      record.followUps.push(message);
      record.changed();
      return message;
    }
    const flags = Number(body?.flags ?? 0) & EPHEMERAL;
    let message: LocalMessage;
    try {
      message = this.site.post(record.channel, this.site.bot, body, files, { interaction: { id: record.id, type: record.type, user: record.user }, flags });
    } catch (error) {
      this.fail(record, error as DiscordApiError, "POST follow-up");
    }
    record.followUps.push(message);
    record.contentAfterMs ??= Date.now() - record.createdAt;
    record.changed();
    return message;
  }
}

function checkChoices(choices: unknown): Array<{ name: string; value: string | number }> {
  if (!Array.isArray(choices)) throw invalidForm("data.choices", "BASE_TYPE_REQUIRED", "This field is required");
  if (choices.length > 25) throw invalidForm("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
  for (const [i, c] of choices.entries()) {
    if (typeof c?.name !== "string" || c.name.length < 1 || c.name.length > 100) throw invalidForm(`data.choices.${i}.name`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
    if (typeof c.value === "string" && c.value.length > 100) throw invalidForm(`data.choices.${i}.value`, "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.");
  }
  return choices;
}

function checkModal(data: any): Record<string, any> {
  if (typeof data.title !== "string" || data.title.length < 1 || data.title.length > 45) throw invalidForm("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.");
  if (typeof data.custom_id !== "string" || data.custom_id.length < 1 || data.custom_id.length > 100) throw invalidForm("data.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
  const components: any[] = data.components ?? [];
  if (components.length < 1 || components.length > 5) throw invalidForm("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.");
  const problem = checkComponents(components, true, "data.components");
  if (problem) throw problem;
  return data;
}
