/**
 * What a webhook request for a store whose bot is not running here learns. Checked against
 * the store's saved webhook secret, so a request carrying it learns the store is suspended
 * (410) or its bot runs elsewhere (503, Telegram retries), and any other learns nothing, not
 * even whether the store exists (401). Remembered for 10 s per store: a flood of requests
 * for a stopped store costs one read.
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
