/**
 * Work done in the background after a bot starts (its command menus), `width` at a time
 * across all the stores: a fleet of a thousand starting at once does not send Telegram
 * two thousand menus at once, nor take the processor from the starts still under way.
 */
export class BackgroundLine {
  readonly #width: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(width: number) {
    this.#width = Math.max(1, width);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running < this.#width) this.#running += 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot goes straight to the next in line, if any.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running -= 1;
    }
  }
}
