// What seller administration needs from outside the engine, injected by the composition
// root: the files sellers send, the outbox that messages them, the rate limiter, and the
// platform owner's ids. Every part has a safe default, so the demo and tests run without.
import type { ChannelAddress, MembershipChange, Outbox, UserFiles } from "../engine/index.ts";
import { createInProcessRateLimiter, type RateLimiter } from "../../storage/rate-limit.ts";
import type { Ordering } from "../ordering/ordering.ts";
import { NO_PLATFORM_OWNERS, type PlatformOwners } from "./permissions.ts";
import type { StoreNumberLinking } from "./whatsapp-linking.ts";

export type { MembershipChange } from "../engine/index.ts";

/**
 * Where a store's members are told things outside a conversation (alerts): the platform's
 * `Outbox`, and the store's team rooms when it has some.
 */
export interface TeamOutbox extends Pick<Outbox, "send"> {
  /**
   * The chats the whole team reads (a store's Discord staff channel): an alert meant for the
   * room goes there once, and members on a room's channel are not also told one by one.
   * Without it (or with none for the store) every member is told in their own chat.
   */
  teamRooms?(tenantId: string): Promise<ChannelAddress[]>;
}

/** The seller-side verbs of the ordering domain; the composition root passes its `Ordering`. */
export type OrderDesk = Pick<Ordering, "approvePayment" | "rejectPayment" | "cancelOrder" | "refundOrder" | "resolveClaim" | "retryDelivery">;

/** What was edited twice at once (see concurrent-edits.ts), and by whom: `first` saved, `second` was stopped. */
export interface ConcurrentEdit {
  tenantId: string;
  target: { type: "product" | "setting"; id: string; label: string };
  first: string;
  second: string;
}

/** Tells the platform owner (the composition root wires it to the owner's alerts); never awaited by the seller's turn. */
export type OnConcurrentEdit = (edit: ConcurrentEdit) => void | Promise<void>;

export interface AdminServices {
  /**
   * The ordering domain (`createOrdering(…)`): approving, rejecting, cancelling, refunding,
   * claims. A getter works too, for a composition root that builds the engine first.
   */
  ordering?: OrderDesk | (() => OrderDesk | undefined);
  /**
   * The files sellers send (stock `.txt`/`.csv`): `Channels`. A fetch should stop reading
   * past `maxBytes` and throw a `FileFetchError` with `reason: "too-large"`.
   */
  files?: UserFiles;
  outbox?: TeamOutbox;
  /** Shared across instances when Redis is configured (`coordination.limiter`). */
  limiter?: RateLimiter;
  platformOwners?: PlatformOwners;
  /** Admin commands one person may start per window. Default 30 per minute. */
  adminRateLimit?: { limit: number; windowMs: number };
  /**
   * Called after a member is added, changes role or is removed through the admin commands,
   * and after an invite is redeemed — not awaited by the command, and a failure is only
   * logged. Channels with per-member menus show the person the seller's commands (or take
   * them away): `(change) => channels.membershipChanged(change)`.
   */
  onMembershipChanged?: (change: MembershipChange) => void | Promise<void>;
  /**
   * Two members edited the same product or setting at once and the second was stopped
   * (see concurrent-edits.ts): the platform owner's alert. Not awaited.
   */
  onConcurrentEdit?: OnConcurrentEdit;
  /**
   * Linking the store's WhatsApp number (`/whatsapp`): the WhatsApp channel's `WhatsAppLinking`.
   * A getter works too, for a composition root that builds the channels after the flows.
   * Without it (or without an `outbox` for the QR codes) `/whatsapp` says it is not available here.
   */
  whatsapp?: StoreNumberLinking | (() => StoreNumberLinking | undefined);
  /** The store's Discord server (`/discord`): where to invite the platform's bot, and who hears of an unlink made here. */
  discord?: StoreGuildServices;
  /** How long an invite link works. Default 48 hours. */
  inviteTtlMs?: number;
  clock?: () => Date;
}

/** The store's guild link changed from the store bot: the composition root forgets the guild's cached store and tells the platform owner. */
export interface GuildLinkChange {
  kind: "unlinked";
  store: { tenantId: string; slug: string; name: string };
  guildId: string;
  by: string;
}

export interface StoreGuildServices {
  /** The platform bot's invite link (OAuth2, bot + applications.commands), shown with the code. */
  inviteUrl?: string;
  /** Not awaited by the owner's turn; a failure is only logged. */
  onLinkChanged?: (change: GuildLinkChange) => void | Promise<void>;
}

type Optional = "files" | "outbox" | "ordering" | "onMembershipChanged" | "onConcurrentEdit" | "whatsapp" | "discord";
export type ResolvedAdminServices = Required<Omit<AdminServices, Optional>> & Pick<AdminServices, Optional>;

export function resolveAdminServices(services: AdminServices): ResolvedAdminServices {
  return {
    ...services,
    limiter: services.limiter ?? createInProcessRateLimiter(),
    platformOwners: services.platformOwners ?? NO_PLATFORM_OWNERS,
    adminRateLimit: services.adminRateLimit ?? { limit: 30, windowMs: 60_000 },
    inviteTtlMs: services.inviteTtlMs ?? 48 * 3_600_000,
    clock: services.clock ?? (() => new Date()),
  };
}
