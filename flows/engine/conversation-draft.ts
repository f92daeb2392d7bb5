// A turn's working copy of a conversation. It costs the same however much data the
// conversation has gathered: the stored conversation is read through, never copied;
// what the turn changes is kept aside and becomes the write (`SessionWrite`), then is
// applied to the stored object once that write is in the database.
import type { Conversation, SessionData, SessionWrite } from "./session.ts";

export class ConversationDraft {
  readonly #base: Conversation | null;
  readonly #dataChanges = new Map<string, unknown>();
  #current: Conversation | null;
  #replaced = false;

  constructor(base: Conversation | null) {
    this.#base = base;
    this.#current = base ? this.#overlay(base) : null;
  }

  /** The conversation as the turn sees it; `null` when no flow runs. Mutate it freely. */
  get conversation(): Conversation | null {
    return this.#current;
  }

  /** Starts a new conversation (a fresh object) or ends it (`null`). */
  replace(conversation: Conversation | null): void {
    this.#current = conversation;
    this.#replaced = true;
  }

  /** What to write so the stored conversation becomes the turn's. */
  write(): SessionWrite {
    const base = this.#base;
    const current = this.#current;
    if (this.#replaced || !base || !current) return { replace: current };
    return {
      update: {
        ...(current.flowId !== base.flowId && { flowId: current.flowId }),
        ...(current.stepId !== base.stepId && { stepId: current.stepId }),
        ...(current.attempts !== base.attempts && { attempts: current.attempts }),
        ...(current.page !== base.page && { page: current.page }),
        ...(!sameStack(current.stack, base.stack) && { stack: current.stack }),
        data: Object.fromEntries(this.#dataChanges),
      },
    };
  }

  /** After the write succeeded: the stored object brought up to date (in place, for an update). */
  committed(): Conversation | null {
    const base = this.#base;
    const current = this.#current;
    if (this.#replaced || !base || !current) return current;
    base.flowId = current.flowId;
    base.stepId = current.stepId;
    base.attempts = current.attempts;
    base.page = current.page;
    base.stack = current.stack;
    for (const [field, value] of this.#dataChanges) base.data[field] = value;
    return base;
  }

  /** A conversation object whose data reads through to `base.data` and records writes aside. */
  #overlay(base: Conversation): Conversation {
    const changes = this.#dataChanges;
    const changed = (key: string | symbol): key is string => typeof key === "string" && changes.has(key);
    const data = new Proxy(base.data, {
      get: (target, key) => (changed(key) ? changes.get(key) : Reflect.get(target, key)),
      set: (_target, key, value) => typeof key === "string" && (changes.set(key, value), true),
      defineProperty: (_target, key, descriptor) => typeof key === "string" && (changes.set(key, descriptor.value), true),
      deleteProperty: () => false,
      has: (target, key) => changed(key) || Reflect.has(target, key),
      ownKeys: (target) => [...new Set([...Reflect.ownKeys(target), ...changes.keys()])],
      getOwnPropertyDescriptor: (target, key) =>
        changed(key) ? { value: changes.get(key), writable: true, enumerable: true, configurable: true } : Reflect.getOwnPropertyDescriptor(target, key),
    }) as SessionData;
    return { flowId: base.flowId, stepId: base.stepId, attempts: base.attempts, page: base.page, stack: [...base.stack], data };
  }
}

function sameStack(a: Conversation["stack"], b: Conversation["stack"]): boolean {
  return a.length === b.length && a.every((frame, i) => frame.flowId === b[i].flowId && frame.stepId === b[i].stepId);
}

/**
 * Session data as an action sees it: readable, nested values included, but not writable —
 * an action changes the conversation by returning `{ data }`, so the change is saved.
 */
export function readOnlyData(data: SessionData): Readonly<SessionData> {
  return readOnly(data) as SessionData;
}

function readOnly(value: object): object {
  return new Proxy(value, {
    get: (target, key) => {
      const found = Reflect.get(target, key);
      return found !== null && typeof found === "object" && !(found instanceof Date) ? readOnly(found) : found;
    },
    set: () => refuse(),
    defineProperty: () => refuse(),
    deleteProperty: () => refuse(),
  });
}

function refuse(): never {
  throw new TypeError("session data is read-only in an action; return { data: { … } } to change it");
}
