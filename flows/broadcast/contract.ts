/**
 * The seams of broadcasting, so its parts can be read (and built) apart:
 *
 * | part | file(s) | what it does |
 * |---|---|---|
 * | the domain | `flows/broadcast/broadcasts.ts`, `broadcast-model.ts`, `audiences.ts` | broadcasts (`broadcasts`) numbered per store: drafts, scheduling, cancel, pause, resume; audiences resolved from customers and orders; the per-store limits; every action audited |
 * | the ledger and sender | `flows/broadcast/ledger.ts`, `sender.ts`, `broadcast-jobs.ts` | at start the recipients are fixed, one document each (`broadcast_recipients`); every instance's runner claims recipients atomically, sends through the outbox as bulk, paced per channel and shared with the other instances, and records each outcome |
 * | the flows | `flows/broadcast/broadcast-flows.ts` | sellers: `/siaran` (compose, audience, preview, send now or schedule, drafts, list, cancel, pause, resume); customers: `/berhenti`, `/langganan`; the seller's progress message and final report |
 * | the channels | `SendOptions.committing`, `Channel.edit` (flows/engine/channel.ts) | a channel asks the sender's last word right before a message goes on the wire, and edits a message sent outside a turn (the progress message) |
 *
 * Statuses: `draft` → `scheduled` (a time is set; Agenda starts it) → `preparing` (the
 * ledger is being fixed) → `sending` ⇄ `paused` (by a seller, or by the channel's
 * restriction) → `done`; `cancelled` from any of draft, scheduled, preparing, sending,
 * paused. Every status change is one conditional update, so two sellers (or a seller and
 * the runner) cannot both move a broadcast.
 *
 * A recipient's ledger states: `queued` → `claimed` (an instance holds it under a lease,
 * waiting for its turn to send) → `sending` (written right before the message went on the
 * wire: `SendOptions.committing`) → `sent` | `failed` (with a reason); `skipped` when, at
 * its turn, the customer had opted out or was unreachable, or the broadcast was cancelled.
 * After a crash, `claimed` recipients whose lease ran out are queued again (nothing was
 * sent to them); `sending` ones are in doubt — the message most likely went out — and are
 * recorded `sent` with `inDoubt: true`, never sent twice.
 */
import type { Locale, Outbound } from "../engine/message.ts";

export const BROADCAST_STATUSES = ["draft", "scheduled", "preparing", "sending", "paused", "done", "cancelled"] as const;
export type BroadcastStatus = (typeof BROADCAST_STATUSES)[number];

export const RECIPIENT_STATES = ["queued", "claimed", "sending", "sent", "failed", "skipped"] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

/** Why a recipient was skipped at their turn. */
export type SkipReason = "opted-out" | "unreachable" | "cancelled";

/**
 * Who receives a broadcast. Every kind leaves out customers who opted out
 * (`broadcastOptOut`) or are unreachable (`blocked`); `channel` narrows any kind to one
 * channel's customers.
 *
 * - `all`: every reachable customer of the store.
 * - `buyers`: customers with a paid order of the product `productCode`.
 * - `period`: customers with a paid order placed between `from` and `to` (store's days, inclusive).
 * - `lapsed`: customers who have bought before but not in the last `days` days.
 */
export type BroadcastAudience =
  | { kind: "all"; channel?: string }
  | { kind: "buyers"; productCode: string; channel?: string }
  | { kind: "period"; from: Date; to: Date; channel?: string }
  | { kind: "lapsed"; days: number; channel?: string };

/** A button under a broadcast: opens one product, or the catalog (command choices, so every channel carries them). */
export type BroadcastButton = { kind: "product"; productCode: string } | { kind: "catalog" };

export interface BroadcastContent {
  /** The seller's text as they wrote it, with the store's formatting (as a product description). Up to 3,500 characters (900 with an image: a caption). */
  text: string;
  /** An image: its bytes are kept with the broadcast (≤ 5 MB), so it reaches every channel. */
  image?: { data: Uint8Array; fileName: string; mime: string };
  buttons: BroadcastButton[];
}

/** Who acted on a broadcast, as the audit log records them. */
export interface BroadcastActor {
  channel: string;
  userId: string;
  name?: string;
}

/** Where a seller follows a broadcast: their chat, and the progress message in it once sent. */
export interface ProgressChat {
  channel: string;
  chatId: string;
  locale?: Locale;
  /** The channel's id of the progress message, to edit; unset until the first progress was sent. */
  messageId?: string;
}

export interface BroadcastCounts {
  total: number;
  queued: number;
  sent: number;
  failed: number;
  skipped: number;
  /** Of `sent`: recorded after a crash while on the wire (most likely delivered). */
  inDoubt: number;
  /** Failed recipients by reason (`SendFailureReason`), skipped by `SkipReason`. */
  failedBy: Record<string, number>;
  skippedBy: Record<string, number>;
}

export interface BroadcastView {
  id: string;
  tenantId: string;
  /** Per store, from 1 (`#3`). */
  number: number;
  status: BroadcastStatus;
  content: { text: string; hasImage: boolean; buttons: BroadcastButton[] };
  audience: BroadcastAudience;
  createdBy: BroadcastActor;
  createdAt: Date;
  /** When it starts (scheduled) or started. */
  scheduledAt?: Date;
  startedAt?: Date;
  finishedAt?: Date;
  /** Why it is paused: a seller, or the channel restricting the store (`restricted`). */
  pausedReason?: "seller" | "restricted";
  /** Nobody sends before this (a channel's `retry_after`), on every instance. */
  holdUntil?: Date;
  /** Messages per second the runner aims at now, per channel (slowed after a 429). */
  pace?: Record<string, number>;
  progressChat?: ProgressChat;
  /** Set once the ledger is fixed: the counts come from it. */
  counts?: BroadcastCounts;
  /** Customers of the audience who opted out since it started. */
  optedOutSince?: number;
}

export type BroadcastRefusal =
  | "not_found"
  /** The status does not allow it (cancel a done one, resume a running one). */
  | "wrong_status"
  /** Too many broadcasts today (the store's time zone) for the store's limit. */
  | "daily_limit"
  /** The audience is larger than the store's limit per broadcast. */
  | "too_many_recipients"
  | "empty_audience"
  /** A time in the past, or beyond 30 days. */
  | "bad_time"
  | "invalid";

export type BroadcastResult<T = BroadcastView> = { ok: true; broadcast: T } | { ok: false; reason: BroadcastRefusal; limit?: number; size?: number };

/** The platform's limits per store; a store's own (`limits.broadcast` on the tenant, set by the platform owner) replace these. */
export interface BroadcastLimits {
  perDay: number;
  maxRecipients: number;
}
export const DEFAULT_BROADCAST_LIMITS: BroadcastLimits = { perDay: 3, maxRecipients: 20_000 };

/** What happened to a broadcast: the seller's progress message and the owner bot hear these. */
export type BroadcastEvent =
  | { type: "started" | "paused" | "resumed" | "cancelled"; tenantId: string; broadcast: BroadcastView; by?: BroadcastActor }
  | { type: "progress"; tenantId: string; broadcast: BroadcastView; counts: BroadcastCounts; etaSec?: number }
  | { type: "finished"; tenantId: string; broadcast: BroadcastView; counts: BroadcastCounts }
  /** The channel restricted the store (a long flood wait, a restricted number): paused; the platform owner is alerted. */
  | { type: "restricted"; tenantId: string; broadcast: BroadcastView; channel: string; detail: string };

/**
 * The broadcast domain. Never throws for what a user did (the result says why not); throws
 * only when the database does. Safe to call twice where it says so.
 */
export interface BroadcastService {
  /** A new draft, or changes to the draft `number`. */
  saveDraft(tenantId: string, actor: BroadcastActor, draft: { content: BroadcastContent; audience: BroadcastAudience }, number?: number): Promise<BroadcastResult>;
  /** How many would receive it now, by channel (opted-out and unreachable customers left out). */
  audienceSize(tenantId: string, audience: BroadcastAudience): Promise<{ total: number; byChannel: Record<string, number> }>;
  /** The message as a recipient on `channel` in `locale` sees it: text, image, buttons, the opt-out line and button. */
  messageFor(tenantId: string, number: number, channel: string, locale: Locale): Promise<Outbound | undefined>;
  /**
   * Sends the draft now (`at` unset) or at `at`; checks the limits (today's count in the
   * store's time zone, the audience size) and refuses with the limit. `progressChat` is
   * where the seller follows it. Safe to call twice: a scheduled one is moved.
   */
  schedule(tenantId: string, number: number, actor: BroadcastActor, options: { at?: Date; progressChat?: ProgressChat }): Promise<BroadcastResult>;
  cancel(tenantId: string, number: number, actor: BroadcastActor): Promise<BroadcastResult>;
  pause(tenantId: string, number: number, actor: BroadcastActor): Promise<BroadcastResult>;
  resume(tenantId: string, number: number, actor: BroadcastActor): Promise<BroadcastResult>;
  get(tenantId: string, number: number): Promise<BroadcastView | undefined>;
  list(tenantId: string, filter?: { status?: BroadcastStatus[]; limit?: number }): Promise<BroadcastView[]>;
  /** Counts from the ledger (empty before the start). */
  counts(tenantId: string, number: number): Promise<BroadcastCounts | undefined>;
  /** Records where the seller's progress message is, once sent. */
  setProgressMessage(tenantId: string, number: number, messageId: string): Promise<void>;
  /** The customer stops receiving broadcasts from the store (takes effect for the next message); `true` when it changed. */
  optOut(tenantId: string, customer: { channel: string; userId: string }): Promise<boolean>;
  optIn(tenantId: string, customer: { channel: string; userId: string }): Promise<boolean>;
  /** Whether the customer receives broadcasts. */
  subscribed(tenantId: string, customer: { channel: string; userId: string }): Promise<boolean>;
}

/** The commands the broadcast flows answer. Sellers: `/siaran`; customers: `/berhenti` (opt out), `/langganan` (opt in again). */
export const BROADCAST_COMMANDS = { compose: "siaran", stop: "berhenti", subscribe: "langganan" } as const;

/** The runner's pace per channel, messages per second, unless configured otherwise (`BROADCAST_RATE_<CHANNEL>`). */
export const DEFAULT_BROADCAST_PACE: Record<string, number> = {
  // A share of Telegram's ~30/s per bot: replies and deliveries keep the rest.
  telegram: 24,
  // The WhatsApp channel's own pacer spaces messages per number; the runner only keeps a few queued.
  whatsapp: 1,
  discord: 4,
  console: 50,
};
