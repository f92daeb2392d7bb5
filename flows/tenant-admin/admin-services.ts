// What seller administration needs from outside the engine, injected by the composition
// root: a way to fetch uploaded files, a way to message sellers, the rate limiter, and the
// platform owner's ids. Every part has a safe default, so the demo and tests run without.
import type { Locale, Outbound } from "../engine/message.ts";
import { createInProcessRateLimiter, type RateLimiter } from "../../storage/rate-limit.ts";
import type { OrderDesk } from "./order-flows.ts";
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
  /** How long an invite link works. Default 48 hours. */
  inviteTtlMs?: number;
  clock?: () => Date;
}

type Optional = "fileFetcher" | "notifier" | "ordering";
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
