/**
 * What the WhatsApp channel keeps in MongoDB, as interfaces: a store's Baileys auth state
 * fenced by its session lease, inbound de-duplication, sent messages with their receipts,
 * and customers' LID ↔ phone-number identities. `adapters/whatsapp/contract.ts` maps the
 * whole channel.
 */
import type { AuthenticationState } from "baileys";

/**
 * The right to act for a store's session, from the session lease (`whatsapp-session:<tenantId>`).
 * Every write of the session's state carries `epoch`; a write by a holder whose epoch is no
 * longer the newest is refused with `StaleSessionOwner`.
 */
export interface SessionFence {
  readonly tenantId: string;
  readonly epoch: number;
}

/** A write for a session by an instance that no longer owns it. Nothing was written. */
export class StaleSessionOwner extends Error {
  override name = "StaleSessionOwner";
  constructor(
    readonly tenantId: string,
    readonly epoch: number,
  ) {
    super(`the WhatsApp session of store ${tenantId} is owned by a newer holder than epoch ${epoch}`);
  }
}

/** A store's Baileys auth state backed by MongoDB. */
export interface StoredAuthState {
  /** For `makeWASocket({ auth })` (wrap `keys` with `makeCacheableSignalKeyStore`). */
  readonly state: AuthenticationState;
  /** Saves the whole `creds` (call on every `creds.update`). Coalesces overlapping calls, never drops one; throws on failure. */
  saveCreds(): Promise<void>;
  /** Resolves when every write started so far is stored (or rejects with the first failure), and rejects while the last creds save failed and none has succeeded since. */
  settled(): Promise<void>;
}

export interface WhatsAppSessionStore {
  /** Whether the store has saved, registered credentials (a linked device). */
  isRegistered(tenantId: string): Promise<boolean>;
  /** The auth state for the holder of `fence`: saved creds, or fresh ones for a new link. */
  open(fence: SessionFence): Promise<StoredAuthState>;
  /** Deletes the store's creds and keys (unlink, logged out). Fenced like every write. */
  wipe(fence: SessionFence): Promise<void>;
}

/** What was received and sent, per store, for de-duplication, resend requests and receipts. */
export interface WhatsAppMessageLog {
  /** True the first time `messageId` is claimed for the store (also across restarts and instances); false after. */
  claimInbound(tenantId: string, messageId: string): Promise<boolean>;
  /** Keeps a sent message (sealed) for resend requests, for some days. */
  rememberSent(tenantId: string, messageId: string, to: string, message: unknown): Promise<void>;
  /** The sent message with this id, for Baileys' `getMessage`. */
  sentMessage(tenantId: string, messageId: string): Promise<unknown | undefined>;
  /** Records a delivery receipt of a sent message. */
  recordReceipt(tenantId: string, messageId: string, status: "delivered" | "read", at: Date): Promise<void>;
  /** A sent message's receipts, as recorded. */
  receipts(tenantId: string, messageId: string): Promise<{ deliveredAt?: Date; readAt?: Date } | undefined>;
}

/** A customer's two WhatsApp addresses: the LID (`…@lid`) and the phone number (`…@s.whatsapp.net`). */
export interface WhatsAppAddresses {
  lid?: string;
  pn?: string;
}

export interface WhatsAppIdentities {
  /**
   * The customer's stable id in the store (the engine's `chatId` and `user.id`): the same for
   * either address, once either was seen with the other. Remembers `replyTo` as where to
   * answer (the `remoteJid` last received).
   */
  resolve(tenantId: string, addresses: WhatsAppAddresses, replyTo: string): Promise<string>;
  /** Records that `lid` and `pn` are the same person (Baileys' `lid-mapping.update`). */
  link(tenantId: string, lid: string, pn: string): Promise<void>;
  /** Where to send to a customer by their stable id; undefined when never seen. */
  replyJid(tenantId: string, customerId: string): Promise<string | undefined>;
}

