// A conversation's saved state and where it is kept. A session holds the current flow,
// step and data — never the history — so one step costs the same at step 3 and step 300.
import type { ChatKey } from "./message.ts";
import { chatKeyString } from "./message.ts";

export type SessionData = Record<string, unknown>;

/** Where a flow entered with `goto … then` continues when the flow it called ends. */
export interface ReturnPoint {
  flowId: string;
  stepId: string;
}

/** A running conversation: which step is waiting for the user, and what it knows. */
export interface Conversation {
  flowId: string;
  stepId: string;
  data: SessionData;
  stack: ReturnPoint[];
  /** Refused answers at the current step. */
  attempts: number;
  /** Page of the current step's choices. */
  page: number;
}

export interface StoredSession {
  /** Increases by one on every write; a write names the version it read. */
  version: number;
  /** `null` when no flow is running (the chat is idle). */
  conversation: Conversation | null;
  /** After this moment the conversation counts as abandoned. */
  expiresAt: Date;
}

/** The fields of a stored conversation a turn changed (data fields set, top level only). */
export interface ConversationUpdate {
  flowId?: string;
  stepId?: string;
  attempts?: number;
  page?: number;
  stack?: ReturnPoint[];
  data: SessionData;
}

/**
 * What a turn writes: the whole conversation when it starts one or ends it (`null`), or
 * just what changed in the stored one — so a step's write stays the same size however
 * much data the conversation has gathered.
 */
export type SessionWrite = { replace: Conversation | null } | { update: ConversationUpdate };

/**
 * Where sessions live. `save` is an optimistic write: it succeeds only when the stored
 * session is still the `previous` one the turn started from (same version; `null` = there
 * was none), so two processes that read the same version cannot both apply a step.
 * Stores keep their own copies: nothing passed in may be held on to.
 */
export interface SessionStore {
  load(key: ChatKey): Promise<StoredSession | null>;
  save(key: ChatKey, previous: StoredSession | null, write: SessionWrite, expiresAt: Date): Promise<boolean>;
}

/** How long an ended or abandoned session is kept before it is purged. */
export const SESSION_RETENTION_MS = 7 * 24 * 3_600_000;

/**
 * Sessions in process memory: for tests of pure flow logic, benchmarks and single-process
 * tools. Values are copied in and out so callers cannot change stored state by accident,
 * as with a real database.
 */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, StoredSession>();

  async load(key: ChatKey): Promise<StoredSession | null> {
    const stored = this.#sessions.get(chatKeyString(key));
    if (!stored) return null;
    if (stored.expiresAt.getTime() + SESSION_RETENTION_MS < Date.now()) {
      this.#sessions.delete(chatKeyString(key));
      return null;
    }
    return structuredClone(stored);
  }

  async save(key: ChatKey, previous: StoredSession | null, write: SessionWrite, expiresAt: Date): Promise<boolean> {
    const id = chatKeyString(key);
    const stored = this.#sessions.get(id);
    if ((stored?.version ?? 0) !== (previous?.version ?? 0)) return false;
    let conversation: Conversation | null;
    if ("replace" in write) {
      conversation = structuredClone(write.replace);
    } else {
      conversation = stored?.conversation ?? null;
      if (!conversation) return false;
      const { data, ...fields } = write.update;
      Object.assign(conversation, structuredClone(fields));
      for (const [field, value] of Object.entries(data)) conversation.data[field] = structuredClone(value);
    }
    this.#sessions.set(id, { version: (stored?.version ?? 0) + 1, conversation, expiresAt });
    return true;
  }

  get size(): number {
    return this.#sessions.size;
  }
}
