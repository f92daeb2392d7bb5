/**
 * The seams of the WhatsApp channel, so its parts can be read (and built) apart:
 *
 * | part | file(s) | what it does |
 * |---|---|---|
 * | session storage | `storage/whatsapp/` | a store's Baileys `AuthenticationState` in MongoDB, sealed with the data key, fenced by the session lease's epoch; inbound de-duplication; sent messages (for resend requests and receipts); customers' LID ↔ phone identities |
 * | messages | `adapters/whatsapp/messages.ts` | a Baileys message → `InboundMessage`; an `Outbound` → Baileys contents (numbered choices, long texts split); a typed number or label → the choice |
 * | pacing | `adapters/whatsapp/pacing.ts` | one send at a time per number, jittered gaps, typing time, a slower pace for new numbers, restriction signs slowing or stopping a number |
 * | sessions | `adapters/whatsapp/store-session.ts`, `store-sessions.ts` | one Baileys socket per linked store, its lifecycle by disconnect code, leases across instances, linking |
 * | the channel | `adapters/whatsapp/whatsapp-channel.ts` | `Channel` over the sessions |
 * | the CLI and the store bot | `bots/cli/whatsapp.ts`, `flows/tenant-admin/…` | `niaga whatsapp link|status|unlink`; linking from the store's Telegram bot |
 * | tests | `tests/support/whatsapp-web/` | a local WhatsApp Web the real Baileys socket talks to |
 *
 * Nothing here imports Baileys at run time.
 */

/** `Inbound.channel`, `Customer.channel`, `Member.channel` for WhatsApp. */
export const WHATSAPP_CHANNEL = "whatsapp";

/** Where a store's WhatsApp number stands; saved on the tenant as `channels.whatsapp.status`. */
export type WhatsAppLinkStatus =
  /** Never linked, or unlinked by the seller or the operator (session wiped). */
  | "unlinked"
  /** Linked and meant to be connected. */
  | "linked"
  /** The phone removed the device (401): session wiped, the seller must link again. */
  | "logged-out"
  /** WhatsApp blocked or restricted the number (403/419), or the restriction watch stopped it: kept, not connected until the operator resumes it. */
  | "restricted";

export type {
  SessionFence,
  StoredAuthState,
  WhatsAppAddresses,
  WhatsAppIdentities,
  WhatsAppMessageLog,
  WhatsAppSessionStore,
} from "../../storage/whatsapp/types.ts";
export { StaleSessionOwner } from "../../storage/whatsapp/types.ts";

// ------------------------------------------------------------------ linking

/** What a link attempt shows and how it ends. */
export type LinkEvent =
  | { type: "qr"; qr: string; /** 1 for the first code of the attempt. */ n: number }
  | { type: "pairing-code"; code: string }
  | { type: "linked"; phone: string; jid: string }
  | { type: "ended"; reason: "expired" | "cancelled" | "refused" | "busy" | "failed"; detail?: string };

export interface LinkOptions {
  /** Link by pairing code with this number (digits, country code first) instead of a QR code. */
  phone?: string;
  onEvent(event: LinkEvent): void;
  signal?: AbortSignal;
}

/** A store's WhatsApp number as the platform sees it (`niaga whatsapp status`, the store bot, `/status`). */
export interface WhatsAppStoreView {
  status: WhatsAppLinkStatus;
  phone?: string;
  /** The socket's state on this instance; `elsewhere` when another instance owns the session. */
  connection: "open" | "connecting" | "closed" | "elsewhere" | "stopped";
  statusReason?: string;
  statusAt?: Date;
  linkedAt?: Date;
  /** Pacing: `warming-up` for newly linked numbers, `slowed` after restriction signs, `stopped` when sends are held. */
  pace: "normal" | "warming-up" | "slowed" | "stopped";
}

/**
 * Linking and unlinking a store's number, as the CLI, the store's Telegram bot and the owner
 * bot use it. `WhatsAppChannel` implements it; the link runs in the process that calls it
 * and holds the session lease while it does, so no other instance opens the same session.
 */
export interface WhatsAppLinking {
  /** Runs one link attempt to its end: resolves with `linked` or `ended`; `onEvent` hears every QR code or pairing code first. */
  link(tenantId: string, options: LinkOptions): Promise<Extract<LinkEvent, { type: "linked" | "ended" }>>;
  /** Logs the device out (when connected), wipes the session, marks the store `unlinked`. `by` is audited. */
  unlink(tenantId: string, by: string): Promise<void>;
  view(tenantId: string): Promise<WhatsAppStoreView>;
}

/** What the sessions tell the platform (owner alerts, the store's owner), by store. */
export interface WhatsAppSessionEvents {
  onLinked?(store: StoreRef, phone: string): void;
  /** The phone removed the device (401): the session is wiped. */
  onLoggedOut?(store: StoreRef): void;
  /** 403/419, or the restriction watch stopped the number. */
  onRestricted?(store: StoreRef, detail: { code?: number; reason: string }): void;
  /** Restriction signs slowed the number down (still sending). */
  onSlowed?(store: StoreRef, detail: { reason: string }): void;
  /** Not connected for a while despite reconnects; `onReconnected` clears it. */
  onUnreachable?(store: StoreRef, detail: { since: Date; lastCode?: number }): void;
  onReconnected?(store: StoreRef): void;
}

export interface StoreRef {
  id: string;
  slug: string;
  name: string;
}

// ------------------------------------------------------------------ messages and pacing

/** How fast one number sends. Every field has a default; `WHATSAPP_*` settings override them. */
export interface PacingOptions {
  /** Gap between two sends of one number, jittered uniformly in [min, max] ms. Default 1500–4000. */
  gapMinMs: number;
  gapMaxMs: number;
  /** Typing shown before a text: per character, capped. Defaults 30 ms/char, 1000–4000 ms. */
  typingMsPerChar: number;
  typingMinMs: number;
  typingMaxMs: number;
  /** A number linked less than `warmupDays` ago sends with gaps × `warmupFactor`. Defaults 7 days, 2×. */
  warmupDays: number;
  warmupFactor: number;
  /** Failed sends within `restrictionWindowMs` that slow a number (gaps × 3), and that stop it. Defaults 3 and 6 in 10 min. */
  slowAfterFailures: number;
  stopAfterFailures: number;
  restrictionWindowMs: number;
  /** How long a number the restriction watch stopped stays stopped unless an operator resumes it first. Default 6 h. */
  stopCoolDownMs: number;
}
