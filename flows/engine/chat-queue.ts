/**
 * Runs the work of one chat strictly one after another, in arrival order, while different
 * chats run side by side. A cross-instance lock (Redis) keeps two processes apart, but it
 * does not promise arrival order among waiters in one process; this queue does.
 */
export class ChatQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(chat: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(chat) ?? Promise.resolve();
    const result = previous.then(work);
    // The tail must never reject, or the next message of this chat would skip its turn.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(chat, tail);
    void tail.then(() => {
      if (this.#tails.get(chat) === tail) this.#tails.delete(chat);
    });
    return result;
  }

  /** Chats with work queued or running. */
  get busyChats(): number {
    return this.#tails.size;
  }
}
