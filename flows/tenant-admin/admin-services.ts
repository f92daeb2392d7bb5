// What seller administration needs from outside the engine, injected by the composition
// root: a way to fetch uploaded files, a way to message sellers, the rate limiter, and the
// platform owner's ids. Every part has a safe default, so the demo and tests run without.
import type { Locale, Outbound } from "../engine/message.ts";
import { createInProcessRateLimiter, type RateLimiter } from "../../storage/rate-limit.ts";
import type { Ordering } from "../ordering/ordering.ts";
import type { PlatformOwnerIds } from "./permissions.ts";

/**
 * Fetches a file a seller sent (a stock `.txt`/`.csv`) by the channel's reference to it.
 * Should stop reading past `maxBytes` and throw an error with `reason: "too-large"`
 * (the Telegram adapter's `downloadFile` does both).
 *
 * ```ts
 * fileFetcher: (tenantId, fileRef, { maxBytes, channel }) =>
 *   channel === "telegram" ? telegram.downloadFile(tenantId, fileRef, { maxBytes }) : readLocalFile(fileRef, maxBytes),
 * ```
 */
export type FileFetcher = (tenantId: string, fileRef: string, options: { maxBytes: number; channel: string }) => Promise<Buffer>;

/** One member of a store to tell something (a low-stock alert). */
export interface SellerRecipient {
  tenantId: string;
  channel: string;
  /** The member's user id on that channel (their private chat on Telegram). */
  userId: string;
  locale: Locale;
}

/** Sends a message to a store's member outside any conversation. */
export interface SellerNotifier {
  notify(to: SellerRecipient, message: Outbound): Promise<void>;
}

/** Someone joined a store's team, changed role or left it; read the member record for what they are now. */
export interface MembershipChange {
  tenantId: string;
  channel: string;
  /** Their user id on that channel (their private chat on Telegram). */
  userId: string;
}

/** The seller-side verbs of the ordering domain; the composition root passes its `Ordering`. */
export type OrderDesk = Pick<Ordering, "approvePayment" | "rejectPayment" | "cancelOrder" | "refundOrder" | "resolveClaim" | "retryDelivery">;

export interface AdminServices {
  /**
   * The ordering domain (`createOrdering(…)`): approving, rejecting, cancelling, refunding,
   * claims. A getter works too, for a composition root that builds the engine first.
   */
  ordering?: OrderDesk | (() => OrderDesk | undefined);
  fileFetcher?: FileFetcher;
  notifier?: SellerNotifier;
  /** Shared across instances when Redis is configured (`coordination.limiter`). */
  limiter?: RateLimiter;
  ownerChatIds?: PlatformOwnerIds;
  /** Admin commands one person may start per window. Default 30 per minute. */
  adminRateLimit?: { limit: number; windowMs: number };
  /**
   * Called after a member is added, changes role or is removed through the admin commands,
   * and after an invite is redeemed — not awaited by the command, and a failure is only
   * logged. The Telegram adapter uses it to show the person the seller's command menu (or
   * take it away): `(change) => telegram.memberChanged(change)`.
   */
  onMembershipChanged?: (change: MembershipChange) => void | Promise<void>;
  /** How long an invite link works. Default 48 hours. */
  inviteTtlMs?: number;
  clock?: () => Date;
}

type Optional = "fileFetcher" | "notifier" | "ordering" | "onMembershipChanged";
export type ResolvedAdminServices = Required<Omit<AdminServices, Optional>> & Pick<AdminServices, Optional>;

export function resolveAdminServices(services: AdminServices): ResolvedAdminServices {
  return {
    ...services,
    limiter: services.limiter ?? createInProcessRateLimiter(),
    ownerChatIds: services.ownerChatIds ?? [],
    adminRateLimit: services.adminRateLimit ?? { limit: 30, windowMs: 60_000 },
    inviteTtlMs: services.inviteTtlMs ?? 48 * 3_600_000,
    clock: services.clock ?? (() => new Date()),
  };
}
