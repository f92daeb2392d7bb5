// The last session this process wrote for each recently active chat. A turn may start
// from it instead of reading MongoDB, because nothing a turn produces is used until the
// state it ran on is confirmed: by the version-checked write of the turn itself, or by a
// fresh read before any side effect (an action, a validator) and before a reply that
// writes nothing. Another process writing the chat in between therefore costs a re-run,
// never a wrong answer.
import { chatKeyString, type ChatKey } from "./message.ts";
import type { StoredSession } from "./session.ts";

export class SessionCache {
  readonly #entries = new Map<string, StoredSession | null>();

  constructor(readonly capacity: number) {}

  /** The remembered session (`null`: none was stored), or `undefined` when this chat is not remembered. */
  get(key: ChatKey): StoredSession | null | undefined {
    const id = chatKeyString(key);
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    // Most recently used last, so the oldest entry is the first one evicted.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return entry;
  }

  set(key: ChatKey, session: StoredSession | null): void {
    if (this.capacity <= 0) return;
    const id = chatKeyString(key);
    this.#entries.delete(id);
    this.#entries.set(id, session);
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
  }

  forget(key: ChatKey): void {
    this.#entries.delete(chatKeyString(key));
  }

  get size(): number {
    return this.#entries.size;
  }
}
