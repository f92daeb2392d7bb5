/**
 * Whether the systems the platform depends on (MongoDB, Redis) answer right now, found out by
 * probing each one every `intervalMs` with a short timeout — not by waiting for a customer's
 * turn to hang. A frozen server (a paused process, a dead network path) keeps its sockets
 * open and sends no error, so only a probe that gives up on time notices it.
 *
 * ```ts
 * const health = new DependencyHealth({ log });
 * health.watch("mongodb", () => mongoose.connection.db!.admin().ping());
 * health.onChange((name, up) => …);          // one call when it goes, one when it is back
 * if (!health.isUp("mongodb")) …;            // /readyz, the engine, the chat lock
 * ```
 *
 * A dependency is down after `failuresToDown` probes in a row failed or took longer than
 * `timeoutMs`, and up again at its first answer. While a probe is still pending, the next
 * tick counts as one more failure instead of piling up another request behind it. Each change
 * is logged once, as a warning, with how long the outage lasted.
 */
import type winston from "winston";
import { settledWithin } from "./settled-within.ts";

export type Probe = () => Promise<unknown>;

export interface DependencyHealthOptions {
  log: Pick<winston.Logger, "warn">;
  /** Default 1000 ms. */
  intervalMs?: number;
  /** How long one probe may take before it counts as failed. Default 1500 ms. */
  timeoutMs?: number;
  /** Default 2: one slow answer under load is not an outage. */
  failuresToDown?: number;
}

interface Watched {
  probe: Probe;
  up: boolean;
  failures: number;
  pending: Promise<unknown> | undefined;
  downSince: number;
  lastError: string;
}

type Listener = (name: string, up: boolean) => void;

export class DependencyHealth {
  readonly #watched = new Map<string, Watched>();
  readonly #listeners = new Set<Listener>();
  readonly #log: DependencyHealthOptions["log"];
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #failuresToDown: number;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(options: DependencyHealthOptions) {
    this.#log = options.log;
    this.#intervalMs = options.intervalMs ?? 1_000;
    this.#timeoutMs = options.timeoutMs ?? 1_500;
    this.#failuresToDown = options.failuresToDown ?? 2;
  }

  /** Starts probing `name` (and the timer, on the first call). A dependency starts out up. */
  watch(name: string, probe: Probe): void {
    this.#watched.set(name, { probe, up: true, failures: 0, pending: undefined, downSince: 0, lastError: "" });
    if (!this.#timer) this.#schedule();
  }

  isUp(name: string): boolean {
    return this.#watched.get(name)?.up ?? true;
  }

  /** Why `name` was last found not answering (the last failed probe's error), while it is down. */
  reason(name: string): string | undefined {
    const watched = this.#watched.get(name);
    return watched && !watched.up ? watched.lastError : undefined;
  }

  /** The names of the dependencies that are down, in the order they were watched. */
  down(): string[] {
    return [...this.#watched].filter(([, w]) => !w.up).map(([name]) => name);
  }

  /** Calls `listener(name, up)` on every change; returns the unsubscribe. */
  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once `name` is up (at once if it is). */
  whenUp(name: string): Promise<void> {
    if (this.isUp(name)) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onChange((changed, up) => {
        if (changed === name && up) {
          off();
          resolve();
        }
      });
    });
  }

  /** Probes everything once now; for tests and for the start, which wants an answer before the first tick. */
  async check(): Promise<void> {
    await Promise.all([...this.#watched].map(([name, watched]) => this.#probe(name, watched)));
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#ticking = this.check().finally(() => {
        this.#ticking = undefined;
        if (this.#timer) this.#schedule();
      });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async #probe(name: string, watched: Watched): Promise<void> {
    if (watched.pending) {
      // The last probe has not come back: that is this tick's answer.
      this.#failed(name, watched, `no answer within ${this.#timeoutMs} ms`);
      return;
    }
    const attempt = Promise.resolve().then(watched.probe);
    watched.pending = attempt;
    void attempt.then(
      () => (watched.pending = undefined),
      () => (watched.pending = undefined),
    );
    const outcome = await settledWithin(attempt, this.#timeoutMs);
    if (outcome.state === "fulfilled") this.#answered(name, watched);
    else if (outcome.state === "pending") this.#failed(name, watched, `no answer within ${this.#timeoutMs} ms`);
    else this.#failed(name, watched, outcome.error instanceof Error ? outcome.error.message : String(outcome.error));
  }

  #failed(name: string, watched: Watched, reason: string): void {
    watched.failures++;
    watched.lastError = reason;
    if (!watched.up || watched.failures < this.#failuresToDown) return;
    watched.up = false;
    watched.downSince = Date.now();
    this.#log.warn(`${name} is not answering`, { dependency: name, reason });
    this.#emit(name, false);
  }

  #answered(name: string, watched: Watched): void {
    watched.failures = 0;
    if (watched.up) return;
    watched.up = true;
    this.#log.warn(`${name} answers again`, { dependency: name, downForMs: Date.now() - watched.downSince });
    this.#emit(name, true);
  }

  #emit(name: string, up: boolean): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(name, up);
      } catch (error) {
        this.#log.warn("a dependency health listener failed", { dependency: name, error: (error as Error).message });
      }
    }
  }
}
