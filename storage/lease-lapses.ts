/**
 * Taking a lease the moment it lapses. An instance waiting for leases held elsewhere reads
 * how long each has left (`Leases.held`); a holder that died leaves them to lapse together
 * (it renewed them in one call), so they are gathered by the moment they lapse — one timer
 * per moment, however many leases — and handed to `onLapse` then.
 *
 * ```ts
 * const lapses = new LeaseLapses<Entry>((entries) => void takeOver(entries));
 * for (const [key, lease] of await leases.held(keys)) lapses.schedule(entryOf(key), lease.remainingMs);
 * lapses.cancel(entry);   // taken some other way, or no longer wanted
 * lapses.clear();         // shutting down
 * ```
 *
 * The catch: `onLapse` learns only that the time has come; the lease may have been renewed
 * meanwhile, so it must try to take it (`acquire`) and not assume it is free.
 */
import { performance } from "node:perf_hooks";

/** Leases lapsing within this of each other are taken in one go. */
const SLOT_MS = 50;

export class LeaseLapses<T> {
  readonly #onLapse: (items: T[]) => void;
  readonly #slots = new Map<number, { timer: NodeJS.Timeout; items: Set<T> }>();
  readonly #slotOf = new Map<T, number>();

  constructor(onLapse: (items: T[]) => void) {
    this.#onLapse = onLapse;
  }

  /** Hands `item` to `onLapse` once `remainingMs` has passed (at the end of its 50 ms slot), replacing an earlier schedule. */
  schedule(item: T, remainingMs: number): void {
    const slot = Math.ceil((performance.now() + Math.max(0, remainingMs)) / SLOT_MS) * SLOT_MS;
    const previous = this.#slotOf.get(item);
    if (previous === slot) return;
    if (previous !== undefined) this.cancel(item);
    let due = this.#slots.get(slot);
    if (!due) {
      const timer = setTimeout(() => this.#fire(slot), Math.max(0, slot - performance.now()));
      timer.unref();
      due = { timer, items: new Set() };
      this.#slots.set(slot, due);
    }
    due.items.add(item);
    this.#slotOf.set(item, slot);
  }

  cancel(item: T): void {
    const slot = this.#slotOf.get(item);
    if (slot === undefined) return;
    this.#slotOf.delete(item);
    const due = this.#slots.get(slot)!;
    due.items.delete(item);
    if (due.items.size === 0) {
      clearTimeout(due.timer);
      this.#slots.delete(slot);
    }
  }

  clear(): void {
    for (const due of this.#slots.values()) clearTimeout(due.timer);
    this.#slots.clear();
    this.#slotOf.clear();
  }

  #fire(slot: number): void {
    const due = this.#slots.get(slot);
    if (!due) return;
    this.#slots.delete(slot);
    for (const item of due.items) this.#slotOf.delete(item);
    this.#onLapse([...due.items]);
  }
}
