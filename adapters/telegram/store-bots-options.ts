/** What the Telegram channel (`StoreBots`, `TelegramChannel`) is made from: the engine, keys, addresses, limits and hooks. */
import type { Registry } from "prom-client";
import type { Engine, EngineLog } from "../../flows/engine/index.ts";
import type { Leases } from "../../storage/leases.ts";
import type { SharedPace } from "../../storage/shared-pace.ts";
import type { SellerMenuFilter } from "./member-menus.ts";
import type { BotTrouble, BotTroubleKind } from "./bot-health.ts";
import type { OutgoingLimits } from "./outgoing-pacer.ts";
import type { StoreBotShared } from "./store-bot.ts";
import type { WebhookHealthHooks, WebhookHealthOptions } from "./webhook-health.ts";

export interface StoreBotsOptions {
  engine: Engine;
  /** `ENCRYPTION_KEY`; inline buttons are signed with a key derived from it per store. */
  encryptionKey: Buffer;
  /** `TELEGRAM_API_ROOT`. Default https://api.telegram.org. */
  apiRoot?: string;
  /** `PUBLIC_URL`; webhook mode needs it (Telegram posts to `<publicUrl>/telegram/<slug>`). */
  publicUrl?: string;
  /** The platform's metrics registry (polling-lease gauges). */
  http?: { metrics: Registry };
  /** The platform's log, for what concerns no one store (the polling leases). Default: silent. */
  log?: EngineLog;
  /** One store's log (`tenantLogger`). Default: silent. */
  logFor?: (slug: string) => EngineLog;
  /** Telegram rejected a store's token (401). Tell the owner; the bot is already stopped. */
  onTokenRevoked?: (store: { id: string; slug: string; name: string }) => void;
  /** Telegram accepted a store's token again after it was revoked (`retoken`, or a reconcile after a re-token elsewhere). */
  onTokenAccepted?: (store: { id: string; slug: string; name: string }) => void;
  /** A store's bot cannot reach Telegram, or someone else polls its token (see `BotHealth`). Told once per trouble. */
  onBotTrouble?: (store: { id: string; slug: string; name: string }, trouble: BotTrouble) => void;
  /** The trouble `onBotTrouble` told of is over. */
  onBotRecovered?: (store: { id: string; slug: string; name: string }, kind: BotTroubleKind) => void;
  /** How long every call must fail before a store counts as unable to reach Telegram. Default 60 000 ms. */
  unreachableAfterMs?: number;
  /** After long polling stopped on a 409 Conflict, how long until it tries again. Default 30 000 ms. */
  conflictRetryMs?: number;
  /** Watching webhook-mode stores' `getWebhookInfo`, and falling back to polling (see `WebhookHealth`). */
  webhookHealth?: WebhookHealthOptions & WebhookHealthHooks;
  /** Largest file `downloadFile` accepts. Default 10 MB. */
  maxDownloadBytes?: number;
  /** A webhook request is answered after at most this long, the turn going on. Default 8000 ms. */
  webhookAnswerWithinMs?: number;
  /**
   * Stores started (or reconciled) at once by `startAll` and `reconcileChanged`
   * (`TELEGRAM_START_CONCURRENCY`). Default 16: a store started from what is remembered
   * makes no call to Telegram; one that is not makes at most two in a row (`getMe`,
   * `setWebhook`), so at most 16 calls are in flight — far below any bot's limits, and
   * a few hundred calls a second from one address at most.
   */
  startConcurrency?: number;
  /**
   * How long a webhook request for a store that `startAll` is about to start waits for its
   * bot before it is answered 503 (Telegram retries). Default: half of `webhookAnswerWithinMs`, at most 4000 ms.
   */
  webhookHoldMs?: number;
  /** Bots started from a remembered identity asked `getMe` per second in the background. Default 5. */
  identityChecksPerSecond?: number;
  /** Each bot's flood limits (defaults: 1 message/s per chat for proactive sends, 30/s per bot). */
  outgoingLimits?: Omit<OutgoingLimits, "shared">;
  /** Each bot's budget shared with the other instances (`coordination.pace`), so together they stay within the limits. */
  sharedPace?: SharedPace;
  resilience?: StoreBotShared["resilience"];
  pollingTimeoutSec?: number;
  typingAfterMs?: number;
  /** How long one store's start may wait for Telegram's `getMe`. Default 20 000 ms. */
  startTimeoutMs?: number;
  lookupBudgetMs?: number;
  /**
   * Which seller commands a member's own command menu lists, by role and flow id —
   * `roleMayStart` from flows/tenant-admin/admin-flows.ts, so staff do not see the owner's
   * commands. Default: every seller command for every member.
   */
  sellerMenu?: SellerMenuFilter;
  /** Members read per page when a bot sets its members' menus at start. Default 100. */
  memberMenuPageSize?: number;
  /**
   * Who polls a store when several instances share the stores (`coordination.leases`): a
   * polling-mode store is polled only by the instance holding its lease (see
   * `PollingLeases`). Without it, every registry polls its polling-mode stores: right for
   * one instance only.
   */
  leases?: Leases;
  /** How long a polling lease lasts without renewal (`POLL_LEASE_MS`). Default 15 000 ms. */
  pollLeaseMs?: number;
  /** False while the store the leases live in does not answer: the leases held are kept (see `PollingLeases`). */
  leaseStoreAnswers?: () => boolean;
}
