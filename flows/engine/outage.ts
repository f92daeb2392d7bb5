// What the engine does while a system its turns need (the database) does not answer: the
// customer hears at once that something is wrong, and the message is held and handled by
// itself once the system is back — never silently dropped, never handled twice.
import type { Inbound, Outbound } from "./message.ts";

/** The engine's view of the platform's dependency probes. */
export interface OutageWatch {
  /** The dependencies turns need that are not answering now; empty when all answer. */
  down(): readonly string[];
  /** Calls `listener` on each change of one of them; returns the unsubscribe. */
  onChange(listener: (name: string, up: boolean) => void): () => void;
  /** Whether `error` means a dependency did not answer (a timeout, a lost connection). */
  isOutageError(error: unknown): boolean;
}

/** A turn stopped because a dependency did not answer; nothing of it was saved. */
export class DependencyOutage extends Error {
  override name = "DependencyOutage";
  constructor(override readonly cause: unknown) {
    super(`a dependency did not answer: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export const OUTAGE_NOTICE: Outbound = { text: { key: "engine.outage.held" } };
export const OUTAGE_RESEND: Outbound = { text: { key: "engine.outage.resend" } };
export const OUTAGE_TOO_OLD: Outbound = { text: { key: "engine.outage.too_old" } };

export type Deliver = (replies: Outbound[]) => Promise<void>;

export interface HeldTurn {
  inbound: Inbound;
  deliver: Deliver | undefined;
  heldAt: number;
}

export interface HeldTurnsOptions {
  /** Across all chats; beyond it a customer is asked to send again later. Default 10,000. */
  maxHeld?: number;
  /** Per chat: a customer typing on into an outage does not fill the process. Default 20. */
  maxPerChat?: number;
}

/** Messages waiting for a dependency, in arrival order, bounded per chat and in all. */
export class HeldTurns {
  readonly #turns: HeldTurn[] = [];
  readonly #perChat = new Map<string, number>();
  readonly #maxHeld: number;
  readonly #maxPerChat: number;

  constructor(options: HeldTurnsOptions = {}) {
    this.#maxHeld = options.maxHeld ?? 10_000;
    this.#maxPerChat = options.maxPerChat ?? 20;
  }

  get size(): number {
    return this.#turns.length;
  }

  /** How many messages of this chat are held. */
  inChat(chatKey: string): number {
    return this.#perChat.get(chatKey) ?? 0;
  }

  /** False when there is no room: the caller tells the customer to send again. */
  hold(chatKey: string, turn: HeldTurn): boolean {
    const inChat = this.#perChat.get(chatKey) ?? 0;
    if (this.#turns.length >= this.#maxHeld || inChat >= this.#maxPerChat) return false;
    this.#perChat.set(chatKey, inChat + 1);
    this.#turns.push(turn);
    return true;
  }

  /** Everything held, oldest first, and forgets it. */
  takeAll(): HeldTurn[] {
    this.#perChat.clear();
    return this.#turns.splice(0);
  }
}
