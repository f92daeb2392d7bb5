/**
 * What a webhook request for a store whose bot is not running here learns. Checked against
 * the store's saved webhook secret, so a request carrying it learns the store is suspended
 * (410) or its bot runs elsewhere (503, Telegram retries), and any other learns nothing, not
 * even whether the store exists (401). Remembered for 10 s per store: a flood of requests
 * for a stopped store costs one read. A store that is starting right now is waited for
 * (`StartingStores`) before that.
 */
import { openTenantSecret, Tenant } from "../../storage/models/index.ts";
import type { TenantFields } from "../../storage/models/index.ts";
import { carriesSecret, secretDigest } from "./store-bot.ts";

const MEMORY_MS = 10_000;

export class AbsentStores {
  readonly #known = new Map<string, { status: 404 | 410 | 503; secret: Buffer | undefined; until: number }>();

  async statusFor(slug: string, header: string | undefined): Promise<401 | 410 | 503> {
    let known = this.#known.get(slug);
    if (!known || known.until <= Date.now()) {
      const tenant = await Tenant.findOne({ slug }, { status: 1, "channels.telegram.webhookSecret": 1 }).lean<TenantFields & { _id: unknown }>().exec();
      const secret = tenant ? openTenantSecret(tenant, "channels.telegram.webhookSecret") : undefined;
      known = { status: !tenant ? 404 : tenant.status === "suspended" ? 410 : 503, secret: secret ? secretDigest(secret) : undefined, until: Date.now() + MEMORY_MS };
      if (this.#known.size > 10_000) this.#known.clear();
      this.#known.set(slug, known);
    }
    if (known.status === 404 || !carriesSecret(header, known.secret)) return 401;
    return known.status;
  }

  /** The store's bot started, or its state changed: ask again next time. */
  forget(slug: string): void {
    this.#known.delete(slug);
  }

  /** Something about some store changed (a suspension, a new token): ask again for all. */
  forgetAll(): void {
    this.#known.clear();
  }
}

/**
 * Stores this start-up is about to start: a webhook request for one of them that carries
 * the store's saved secret (read with the store before it starts) waits for its bot, up to
 * `withinMs`, and asks for its start to come first; any other request is not held, and
 * learns what `AbsentStores` tells it.
 */
export class StartingStores {
  readonly #stores = new Map<string, { tenantId: string; secret: Buffer; up: Promise<boolean>; settle(up: boolean): void }>();

  /** The stores about to start, with the webhook secret each saved (none: not held). */
  expect(stores: ReadonlyArray<{ tenantId: string; slug: string; secret: string | undefined }>): void {
    for (const { tenantId, slug, secret } of stores) {
      if (!secret || this.#stores.has(slug)) continue;
      let settle!: (up: boolean) => void;
      const up = new Promise<boolean>((resolve) => (settle = resolve));
      this.#stores.set(slug, { tenantId, secret: secretDigest(secret), up, settle });
    }
  }

  /** The store's bot is up (true), or will not be in this start-up (false): whoever waits goes on. */
  settled(slug: string, up: boolean): void {
    const store = this.#stores.get(slug);
    if (!store) return;
    this.#stores.delete(slug);
    store.settle(up);
  }

  /** The start-up is over. */
  settleAll(): void {
    for (const slug of [...this.#stores.keys()]) this.settled(slug, false);
  }

  /**
   * For a request carrying the store's secret while its bot is about to start: resolves true
   * once the bot is up, false when it will not be or after `withinMs`. Undefined (nothing to
   * wait for) for any other request. `hurry` is told the store's id.
   */
  waitFor(slug: string, header: string | undefined, withinMs: number, hurry: (tenantId: string) => void): Promise<boolean> | undefined {
    const store = this.#stores.get(slug);
    if (!store || !carriesSecret(header, store.secret)) return undefined;
    hurry(store.tenantId);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), withinMs)));
    return Promise.race([store.up, late]).finally(() => clearTimeout(timer));
  }
}
