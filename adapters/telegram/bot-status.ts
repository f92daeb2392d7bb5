/** What the Telegram channel says about its stores' bots: their state, and why one could not run. */

/** How a store's bot receives its updates. */
export type TelegramMode = "polling" | "webhook";

/** Why a store's bot could not be started or used; `message` is for the operator. */
export class StoreBotError extends Error {
  override name = "StoreBotError";
  constructor(
    readonly reason: "unknown-store" | "suspended" | "no-token" | "token-revoked" | "token-rejected" | "no-public-url" | "not-running" | "bad-token" | "shutting-down",
    message: string,
  ) {
    super(message);
  }
}

export interface StoreBotStatus {
  tenantId: string;
  slug: string;
  mode: TelegramMode | "stopped";
  botUsername: string;
  /** In polling mode: whether this instance polls the store now (false while another instance holds its polling lease). */
  pollingHere?: boolean;
}

export interface StartAllReport {
  started: string[];
  failed: Array<{ slug: string; reason: string }>;
}

/** What `reconcileChanged` did, by store slug. */
export interface SweepReport {
  /** Stores read. */
  checked: number;
  /** Stores reconciled: changed since the last sweep, or due for another try. */
  reconciled: number;
  started: string[];
  stopped: string[];
  failed: Array<{ slug: string; reason: string }>;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
