/**
 * The background `getMe` of bots started from a remembered identity: such a start asks
 * Telegram nothing, so a token revoked while the platform was down would only show at the
 * bot's first call — never, for a store nobody writes to. These checks ask each such bot
 * once, a few per second (`perSecond`), after the fleet is up; a 401 takes the bot's usual
 * revoked-token path (recorded, bot stopped, owner told). At 5 per second, 1,000 stores are
 * checked in under four minutes, and Telegram sees 5 calls a second more.
 */
export interface IdentityChecksOptions {
  /** Checks per second. */
  perSecond: number;
  /** Checks one store's bot, if it still runs. A rejection puts the store back at the end of the line. */
  check(tenantId: string): Promise<void>;
}

export class IdentityChecks {
  readonly #options: IdentityChecksOptions;
  readonly #line = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: IdentityChecksOptions) {
    this.#options = options;
  }

  /** Checks the store's bot once, after those already waiting. */
  add(tenantId: string): void {
    if (this.#closed) return;
    this.#line.add(tenantId);
    this.#schedule();
  }

  /** Forgets a store (its bot stopped, or made a call that proved its token). */
  drop(tenantId: string): void {
    this.#line.delete(tenantId);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#line.clear();
  }

  #schedule(): void {
    if (this.#timer || this.#closed || this.#line.size === 0) return;
    this.#timer = setTimeout(() => void this.#next(), 1000 / Math.max(0.001, this.#options.perSecond));
    this.#timer.unref();
  }

  async #next(): Promise<void> {
    const tenantId = this.#line.values().next().value;
    if (tenantId !== undefined) {
      this.#line.delete(tenantId);
      await this.#options.check(tenantId).catch(() => this.add(tenantId));
    }
    this.#timer = undefined;
    this.#schedule();
  }
}
