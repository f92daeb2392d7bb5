/**
 * Maintenance mode: one switch for the whole platform, saved in `platform_settings` and read
 * by every instance through a short cache, so `/maintenance on` reaches the customers of
 * every instance within `cacheMs`.
 *
 * ```ts
 * const maintenance = new MaintenanceSwitch();            // 3 s cache
 * await maintenance.set({ on: true, text: "Kembali jam 10" }, "owner:42");
 * (await maintenance.current()).on;                        // true, on every instance within 3 s
 * ```
 *
 * A read that fails or does not answer in time keeps the last value known (off at first):
 * a database outage is told to customers by the engine already.
 */
import { PlatformSetting } from "./models/platform-setting.ts";
import { settledWithin } from "./settled-within.ts";

export interface MaintenanceState {
  on: boolean;
  /** What customers are told; unset: the default text. */
  text?: string;
  since?: Date;
  by?: string;
}

const KEY = "maintenance";
const OFF: MaintenanceState = { on: false };

export class MaintenanceSwitch {
  readonly #cacheMs: number;
  readonly #readTimeoutMs: number;
  #known: MaintenanceState = OFF;
  #readAt = Number.NEGATIVE_INFINITY;
  #reading: Promise<MaintenanceState> | undefined;

  constructor(options: { cacheMs?: number; readTimeoutMs?: number } = {}) {
    this.#cacheMs = options.cacheMs ?? 3_000;
    this.#readTimeoutMs = options.readTimeoutMs ?? 2_000;
  }

  /** The state as saved, at most `cacheMs` old. */
  current(): Promise<MaintenanceState> {
    if (performance.now() - this.#readAt < this.#cacheMs) return Promise.resolve(this.#known);
    return (this.#reading ??= this.#read().finally(() => (this.#reading = undefined)));
  }

  /** Saves the switch; this instance sees it at once, the others within `cacheMs`. */
  async set(state: { on: boolean; text?: string }, by: string): Promise<MaintenanceState> {
    const value: MaintenanceState = { on: state.on, ...(state.text && { text: state.text }), since: new Date(), by };
    await PlatformSetting.updateOne({ _id: KEY }, { $set: { value, updatedAt: value.since, updatedBy: by } }, { upsert: true }).exec();
    this.#known = value;
    this.#readAt = performance.now();
    return value;
  }

  async #read(): Promise<MaintenanceState> {
    const read = await settledWithin(PlatformSetting.findById(KEY).lean<{ value?: MaintenanceState }>().exec(), this.#readTimeoutMs);
    if (read.state === "fulfilled") {
      this.#known = read.value?.value?.on ? read.value.value : OFF;
      this.#readAt = performance.now();
    }
    return this.#known;
  }
}
