/**
 * Owner alerts: what goes wrong on the platform, told to the platform owner through the owner
 * bot — never to a store's members. Each alert names the store it is about (its slug and its
 * name, the `bot_store_name` of seed 004) or "Platform".
 *
 * ```ts
 * const alerts = new OwnerAlerts({ log, outbox, ownerChatIds: [42], locale: "id", limiter });
 * alerts.start();                                           // delivers what is pending
 * await alerts.raise({ kind: "token-revoked", store });     // stored, de-duplicated, delivered once
 * await alerts.resolve(alertKey("dependency-down", undefined, "mongodb"));
 * await alerts.stop();
 * ```
 *
 * - **Stored** in `owner_alerts`: raising a key that is open counts on the same alert
 *   (`count`, `lastAt`) instead of opening another; after `windowMs` without a message the
 *   owner gets one reminder with the count. Resolving it sends one "recovered" message.
 * - **Delivered exactly once per owner chat**: each message is an `owner_notices` document,
 *   claimed atomically before it is sent, so two instances never both send it, and one that
 *   could not be sent (Telegram or the owner bot unreachable) stays pending and is retried
 *   with back-off until it goes out.
 * - **Rate limited** per owner chat (`maxPerMinute`); what is over waits its turn.
 * - **Muted** kinds (`/alerts`) are stored and counted, not sent.
 * - **While MongoDB does not answer** an alert cannot be stored: it is sent at once from
 *   memory (so the owner hears about the outage during it) and stored, marked as sent,
 *   when MongoDB is back.
 * - **Without an owner bot** (`outbox` unset or no `ownerChatIds`) every message goes to the
 *   log instead (`heard` is false; `/readyz` says so).
 *
 * `raise` and `resolve` never reject: an alert is never a reason for the caller to fail.
 */
import { hostname } from "node:os";
import type { ChannelAddress, Outbound, Outbox, SendReport } from "../flows/engine/index.ts";
import { formatWhen } from "../locales/format-when.ts";
import { t, type Locale } from "../locales/i18n.ts";
import { OwnerAlertRecord, OwnerMuteRecord, OwnerNoticeRecord, redactForAudit } from "../storage/models/index.ts";
import type { OwnerAlertDoc } from "../storage/models/index.ts";
import type { RateLimiter } from "../storage/rate-limit.ts";
import { settledWithin } from "../storage/settled-within.ts";

export type AlertSeverity = "critical" | "warning" | "info";

/** Every kind of alert, with its default severity. Texts: `owner.kind.<kind>.title` and `.text`. */
export const ALERT_KINDS = {
  "token-revoked": "critical",
  "telegram-unreachable": "critical",
  "polling-conflict": "critical",
  "webhook-failing": "warning",
  "webhook-fallback": "warning",
  "delivery-failed": "critical",
  "payments-failing": "critical",
  "job-failing": "warning",
  "job-overdue": "warning",
  "dependency-down": "critical",
  resource: "warning",
  "unhandled-error": "warning",
  "concurrent-edit": "info",
  "stranger-access": "info",
  "backup-failed": "critical",
  "backup-corrupt": "critical",
  "backup-missing": "critical",
  "whatsapp-linked": "info",
  "whatsapp-logged-out": "critical",
  "whatsapp-restricted": "critical",
  "whatsapp-slowed": "warning",
  "whatsapp-unreachable": "critical",
  "discord-linked": "info",
  "discord-unlinked": "warning",
  "broadcast-restricted": "critical",
} as const satisfies Record<string, AlertSeverity>;

export type AlertKind = keyof typeof ALERT_KINDS;

export function isAlertKind(value: string): value is AlertKind {
  return Object.hasOwn(ALERT_KINDS, value);
}

/** The store an alert is about. */
export interface AlertStore {
  tenantId?: string;
  slug: string;
  name: string;
}

export interface OwnerAlertInput {
  kind: AlertKind;
  /** Default: the kind's (`ALERT_KINDS`). */
  severity?: AlertSeverity;
  /** Absent: the platform itself. */
  store?: AlertStore;
  /** Parameters of the kind's text (`owner.kind.<kind>.text`). */
  params?: Record<string, unknown>;
  /** Shown under the text, key by key; keys that name secrets are redacted. */
  details?: Record<string, unknown>;
  /** The de-duplication key; default `alertKey(kind, store?.slug)`. */
  key?: string;
}

/** Where the rest of the platform raises alerts; `OwnerAlerts` is the one implementation. */
export interface AlertSink {
  raise(alert: OwnerAlertInput): Promise<void>;
  /** The condition behind the open alert `key` cleared: the owner hears it recovered. */
  resolve(key: string, resolution?: Record<string, unknown>): Promise<void>;
}

/** `kind:slug[:what]`, the key an alert is de-duplicated on; "platform" stands for no store. */
export function alertKey(kind: AlertKind, slug?: string, what?: string): string {
  return [kind, slug ?? "platform", ...(what === undefined ? [] : [what])].join(":");
}

/** An alert sink that drops everything: for tests and tools that run without an owner. */
export const NO_ALERTS: AlertSink = { raise: async () => undefined, resolve: async () => undefined };

export interface AlertLog {
  info(message: string, meta?: object): unknown;
  warn(message: string, meta?: object): unknown;
  error(message: string, meta?: object): unknown;
}

export interface OwnerAlertsOptions {
  log: AlertLog;
  /** Sends to the owner bot's channel; unset: every alert goes to the log. */
  outbox?: Pick<Outbox, "send">;
  /** `OWNER_CHAT_IDS`. */
  ownerChatIds: readonly (number | string)[];
  /** The owner bot's channel name. Default "owner". */
  channel?: string;
  /** The owner's language (`DEFAULT_LOCALE`). */
  locale: Locale;
  /** Shared across instances (`coordination.limiter`); default: no rate limit. */
  limiter?: RateLimiter;
  /** Messages per owner chat per minute. Default 20. */
  maxPerMinute?: number;
  /** Raising an open key again within this long only counts; after it, one reminder. Default 1 h. */
  windowMs?: number;
  /** How often pending messages are looked for. Default 2 s. */
  dispatchEveryMs?: number;
  /** How long one MongoDB call of the alerts may take. Default 3 s. */
  storeTimeoutMs?: number;
  /** This instance's name, stored with the alerts it raises. */
  instance?: string;
  /** The time zone times are shown in. Default Asia/Jakarta. */
  timeZone?: string;
  now?: () => Date;
}

/** The owner bot's channel name on the outbox. */
export const OWNER_CHANNEL = "owner";
/** The tenant id owner messages carry on the outbox: they belong to no store. */
export const PLATFORM_TENANT = "platform";
/** The chat id of notices that go to the log (no owner bot). */
const LOG_CHAT = "log";
const CLAIM_MS = 60_000;
const MAX_BACKOFF_MS = 60_000;
/** Refusals that will not change by retrying (the owner blocked the bot, the chat does not exist). */
const PERMANENT: ReadonlySet<string> = new Set(["blocked", "rejected", "not-supported", "no-channel"]);
const MAX_PERMANENT_ATTEMPTS = 10;

/** `storing`: a store that got no answer in time and may still land; it must not be done twice. */
type Op =
  | { type: "raise"; input: OwnerAlertInput; at: Date; sentTo: Set<string>; storing?: Promise<void> }
  | { type: "resolve"; key: string; resolution: Record<string, unknown> | undefined; at: Date; sentTo: Set<string>; storing?: Promise<void> };

export class OwnerAlerts implements AlertSink {
  readonly #o: Required<Omit<OwnerAlertsOptions, "outbox" | "limiter">> & Pick<OwnerAlertsOptions, "outbox" | "limiter">;
  /** Raises and resolves that could not be stored yet (MongoDB down), in order. */
  readonly #unsaved: Op[] = [];
  readonly #applying = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(options: OwnerAlertsOptions) {
    this.#o = {
      channel: OWNER_CHANNEL,
      maxPerMinute: 20,
      windowMs: 60 * 60_000,
      dispatchEveryMs: 2_000,
      storeTimeoutMs: 3_000,
      instance: `${hostname()}:${process.pid}`,
      timeZone: "Asia/Jakarta",
      now: () => new Date(),
      ...options,
    };
  }

  /** Whether anyone hears the alerts (an owner bot and at least one owner chat). */
  get heard(): boolean {
    return this.#o.outbox !== undefined && this.#o.ownerChatIds.length > 0;
  }

  /** Alerts raised or resolved while MongoDB did not answer, not stored yet. */
  get unsaved(): number {
    return this.#unsaved.length;
  }

  async raise(input: OwnerAlertInput): Promise<void> {
    await this.#track({ type: "raise", input, at: this.#o.now(), sentTo: new Set() });
  }

  async resolve(key: string, resolution?: Record<string, unknown>): Promise<void> {
    await this.#track({ type: "resolve", key, resolution, at: this.#o.now(), sentTo: new Set() });
  }

  /** Applies an op, remembered until stored so that `flush` sees every alert raised before it. */
  async #track(op: Op): Promise<void> {
    const applying = this.#apply(op);
    this.#applying.add(applying);
    try {
      await applying;
    } finally {
      this.#applying.delete(applying);
    }
  }

  /** Starts delivering pending messages (and storing what waited for MongoDB). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops delivering; resolves once the pass under way finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** Runs one delivery pass now; resolves when it is done (for tests and `/alerts`). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#applying]);
    while (this.#running) await this.#running;
    await this.#pass();
  }

  /** The newest alerts, open ones first. */
  async recent(limit = 10): Promise<OwnerAlertDoc[]> {
    return OwnerAlertRecord.find({}).sort({ lastAt: -1 }).limit(limit).exec();
  }

  /** Stops sending alerts of `kind` until `until` (they are still stored and counted). */
  async mute(kind: AlertKind, until: Date, by: string): Promise<void> {
    await OwnerMuteRecord.updateOne({ kind }, { $set: { until, by } }, { upsert: true }).exec();
  }

  async unmute(kind: AlertKind): Promise<void> {
    await OwnerMuteRecord.deleteOne({ kind }).exec();
  }

  /** The kinds muted now, with until when. */
  async mutes(): Promise<Array<{ kind: string; until: Date }>> {
    const rows = await OwnerMuteRecord.find({ until: { $gt: this.#o.now() } }).lean().exec();
    return rows.map((r) => ({ kind: r.kind, until: r.until }));
  }

  /** The message of an alert as the owner reads it: header naming the store, the text, count and details. */
  render(alert: Pick<OwnerAlertDoc, "kind" | "severity" | "store" | "message" | "details" | "count" | "firstAt" | "state"> & { resolution?: unknown }, type: "raised" | "reminder" | "resolved"): Outbound {
    const inline: Partial<Record<Locale, string>> = {};
    for (const locale of ["id", "en"] as const) inline[locale] = renderText(alert, type, locale, this.#o.timeZone);
    return { text: { inline } };
  }

  // ---------------------------------------------------------------- storing

  async #apply(op: Op): Promise<void> {
    try {
      if (this.#unsaved.length > 0) {
        // Keep the order: this one waits behind those that could not be stored yet.
        this.#unsaved.push(op);
        await this.#sendFromMemory(op);
        return;
      }
      const storing = this.#store(op);
      const stored = await settledWithin(storing, this.#o.storeTimeoutMs);
      if (stored.state === "fulfilled") {
        this.#kick();
        return;
      }
      // A frozen MongoDB answers the late write once it thaws: counting it again would double it.
      if (stored.state === "pending") op.storing = storing;
      this.#o.log.warn("an owner alert could not be stored; sending it from memory and storing it later", {
        alert: op.type === "raise" ? op.input.kind : op.key,
        error: stored.state === "rejected" ? errorText(stored.error) : `no answer within ${this.#o.storeTimeoutMs} ms`,
      });
      this.#unsaved.push(op);
      await this.#sendFromMemory(op);
    } catch (error) {
      this.#o.log.error("an owner alert failed", { error: errorText(error) });
    }
  }

  /** Stores one raise or resolve and the messages it causes; true when it did anything. */
  async #store(op: Op): Promise<void> {
    if (op.type === "raise") await this.#storeRaise(op);
    else await this.#storeResolve(op);
  }

  async #storeRaise(op: Extract<Op, { type: "raise" }>): Promise<void> {
    const { input, at } = op;
    const key = keyOf(input);
    const insert = {
      key,
      ...alertFields(input),
      firstAt: at,
      state: "open",
      instance: this.#o.instance,
      notifiedAt: at,
      reminders: 0,
    };
    let alert: OwnerAlertDoc | null = null;
    for (let attempt = 0; attempt < 2 && !alert; attempt++) {
      try {
        alert = await OwnerAlertRecord.findOneAndUpdate(
          { openKey: key },
          {
            $setOnInsert: insert,
            $set: { lastAt: at, ...(input.details && { details: redactForAudit(input.details) }) },
            $inc: { count: 1 },
          },
          { upsert: true, returnDocument: "after" },
        ).exec();
      } catch (error) {
        // Two instances opened the same key at once: the unique index let one in; count on it.
        if ((error as { code?: number }).code !== 11000 || attempt > 0) throw error;
      }
    }
    if (!alert) return;
    if (alert.count === 1) {
      await this.#queue(alert, "raised", 0, op.sentTo);
      return;
    }
    // Still open after the window without a message: one reminder, taken by one instance.
    const reminded = await OwnerAlertRecord.findOneAndUpdate(
      { _id: alert._id, openKey: key, notifiedAt: { $lte: new Date(at.getTime() - this.#o.windowMs) } },
      { $set: { notifiedAt: at }, $inc: { reminders: 1 } },
      { returnDocument: "after" },
    )
      .lean<{ reminders: number }>()
      .exec();
    if (reminded) await this.#queue(alert, "reminder", reminded.reminders, op.sentTo);
  }

  async #storeResolve(op: Extract<Op, { type: "resolve" }>): Promise<void> {
    const alert = await OwnerAlertRecord.findOneAndUpdate(
      { openKey: op.key },
      { $unset: { openKey: 1 }, $set: { state: "resolved", resolvedAt: op.at, ...(op.resolution && { resolution: redactForAudit(op.resolution) }) } },
      { returnDocument: "after" },
    ).exec();
    if (alert) await this.#queue(alert, "resolved", 0, op.sentTo);
  }

  async #queue(alert: OwnerAlertDoc, type: "raised" | "reminder" | "resolved", seq: number, alreadySent: ReadonlySet<string>): Promise<void> {
    const muted = await OwnerMuteRecord.exists({ kind: alert.kind, until: { $gt: this.#o.now() } }).exec();
    const now = this.#o.now();
    for (const chatId of this.#targets()) {
      const state = alreadySent.has(chatId) ? "sent" : muted ? "muted" : "pending";
      await OwnerNoticeRecord.updateOne(
        { alertId: alert._id, type, seq, chatId },
        { $setOnInsert: { state, createdAt: now, nextAttemptAt: now, ...(state === "sent" && { sentAt: now }) } },
        { upsert: true },
      ).exec();
    }
  }

  #targets(): string[] {
    return this.heard ? this.#o.ownerChatIds.map(String) : [LOG_CHAT];
  }

  /** MongoDB did not answer: tell the owner now, from memory. */
  async #sendFromMemory(op: Op): Promise<void> {
    const view =
      op.type === "raise"
        ? { ...alertFields(op.input), details: op.input.details && redactForAudit(op.input.details), count: 1, firstAt: op.at, state: "open" }
        : this.#memoryResolveView(op);
    if (!view) return;
    for (const chatId of this.#targets()) {
      const report = await this.#deliver(chatId, view as never, op.type === "raise" ? "raised" : "resolved");
      if (report.ok) op.sentTo.add(chatId);
    }
  }

  /** A resolve while MongoDB is down can be shown only for an alert raised from memory too. */
  #memoryResolveView(op: Extract<Op, { type: "resolve" }>) {
    const raised = [...this.#unsaved].reverse().find((o): o is Extract<Op, { type: "raise" }> => o.type === "raise" && keyOf(o.input) === op.key);
    if (!raised) return undefined;
    return { ...alertFields(raised.input), details: op.resolution && redactForAudit(op.resolution), count: 1, firstAt: raised.at, state: "resolved" };
  }

  // ---------------------------------------------------------------- delivering

  #kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.#pass()
        .catch((error: unknown) => void this.#o.log.warn("delivering owner alerts failed; trying again", { error: errorText(error) }))
        .finally(() => {
          this.#running = undefined;
          if (this.#stopped) return;
          const again = this.#again;
          this.#again = false;
          this.#schedule(again ? 0 : this.#o.dispatchEveryMs);
        });
    }, ms);
    this.#timer.unref();
  }

  async #pass(): Promise<void> {
    while (this.#unsaved.length > 0) {
      const op = this.#unsaved[0]!;
      const storing = op.storing ?? this.#store(op);
      const stored = await settledWithin(storing, this.#o.storeTimeoutMs);
      op.storing = stored.state === "pending" ? storing : undefined;
      if (stored.state !== "fulfilled") return;
      this.#unsaved.shift();
    }
    // Bounded, so one pass cannot run forever while new alerts keep coming.
    for (let i = 0; i < 50; i++) {
      if (!(await this.#deliverNext())) return;
    }
  }

  /** Claims and sends the oldest due message; false when there is none. */
  async #deliverNext(): Promise<boolean> {
    const now = this.#o.now();
    const notice = await OwnerNoticeRecord.findOneAndUpdate(
      { state: "pending", nextAttemptAt: { $lte: now }, $or: [{ claimUntil: { $exists: false } }, { claimUntil: null }, { claimUntil: { $lt: now } }] },
      { $set: { claimUntil: new Date(now.getTime() + CLAIM_MS), claimedBy: this.#o.instance }, $inc: { attempts: 1 } },
      { sort: { nextAttemptAt: 1, createdAt: 1 }, returnDocument: "after" },
    ).exec();
    if (!notice) return false;
    const mine = { _id: notice._id, claimedBy: this.#o.instance };
    const alert = await OwnerAlertRecord.findById(notice.alertId).exec();
    if (!alert) {
      await OwnerNoticeRecord.updateOne(mine, { $set: { state: "dropped", lastError: "alert not found" }, $unset: { claimUntil: 1 } }).exec();
      return true;
    }
    if (notice.chatId !== LOG_CHAT && this.#o.limiter) {
      const verdict = await this.#o.limiter.consume(`owner-alerts:${notice.chatId}`, this.#o.maxPerMinute, 60_000).catch(() => ({ allowed: true, retryAfterMs: 0 }));
      if (!verdict.allowed) {
        await OwnerNoticeRecord.updateOne(mine, { $set: { nextAttemptAt: new Date(now.getTime() + Math.max(verdict.retryAfterMs, 1000)) }, $unset: { claimUntil: 1 }, $inc: { attempts: -1 } }).exec();
        return true;
      }
    }
    const report = await this.#deliver(notice.chatId, alert, notice.type);
    if (report.ok) {
      await OwnerNoticeRecord.updateOne(mine, { $set: { state: "sent", sentAt: this.#o.now() }, $unset: { claimUntil: 1 } }).exec();
      return true;
    }
    const reason = report.reason ?? "failed";
    const give_up = PERMANENT.has(reason) && notice.attempts >= MAX_PERMANENT_ATTEMPTS;
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(notice.attempts - 1, 6));
    await OwnerNoticeRecord.updateOne(mine, {
      $set: { ...(give_up ? { state: "dropped" } : { nextAttemptAt: new Date(this.#o.now().getTime() + backoff) }), lastError: report.detail ? `${reason}: ${report.detail}`.slice(0, 500) : reason },
      $unset: { claimUntil: 1 },
    }).exec();
    this.#o.log.warn(give_up ? "an owner alert could not be delivered; giving up on that chat" : "an owner alert could not be delivered yet; retrying", {
      alert: alert.kind,
      tenant: alert.store?.slug,
      reason,
      attempts: notice.attempts,
    });
    // Nothing else is likely to get through right now; the next pass tries again.
    return false;
  }

  async #deliver(chatId: string, alert: Parameters<OwnerAlerts["render"]>[0], type: "raised" | "reminder" | "resolved"): Promise<SendReport> {
    if (chatId === LOG_CHAT || !this.#o.outbox) {
      const line = renderText(alert, type, "en", this.#o.timeZone);
      const meta = { alert: alert.kind, severity: alert.severity, tenant: alert.store?.slug, store: alert.store?.name, count: alert.count, notice: type, heardBy: "nobody: OWNER_BOT_TOKEN or OWNER_CHAT_IDS is not set" };
      if (type === "resolved") this.#o.log.info(`owner alert: ${line}`, meta);
      else if (alert.severity === "critical") this.#o.log.error(`owner alert: ${line}`, meta);
      else this.#o.log.warn(`owner alert: ${line}`, meta);
      return { ok: true, sent: 1, messages: [] };
    }
    const to: ChannelAddress = { tenantId: PLATFORM_TENANT, channel: this.#o.channel, chatId };
    return this.#o.outbox.send(to, [this.render(alert, type)], { locale: this.#o.locale });
  }
}

/** The de-duplication key of a raise. */
function keyOf(input: OwnerAlertInput): string {
  return input.key ?? alertKey(input.kind, input.store?.slug);
}

/** What an alert stores and shows of a raise, whether it is saved or sent from memory. */
function alertFields(input: OwnerAlertInput) {
  return {
    kind: input.kind,
    severity: input.severity ?? ALERT_KINDS[input.kind],
    ...(input.store && { store: input.store }),
    message: { key: `owner.kind.${input.kind}.text`, params: input.params ?? {} },
  };
}

const ICONS: Record<string, string> = { critical: "🔴", warning: "🟠", info: "🔵" };

function renderText(
  alert: Pick<OwnerAlertDoc, "kind" | "severity" | "store" | "message" | "details" | "count" | "firstAt"> & { resolution?: unknown },
  type: "raised" | "reminder" | "resolved",
  locale: Locale,
  timeZone: string,
): string {
  const store = alert.store?.slug ? t(locale, "owner.alert.store", { name: alert.store.name || alert.store.slug, slug: alert.store.slug }) : t(locale, "owner.alert.platform");
  const params = (alert.message?.params ?? {}) as Record<string, unknown>;
  const title = t(locale, `owner.kind.${alert.kind}.title`, params);
  const header = t(locale, `owner.alert.header_${type}`, { icon: ICONS[alert.severity] ?? "🔵", store, title });
  const lines = [header, t(locale, alert.message?.key ?? `owner.kind.${alert.kind}.text`, params)];
  if (alert.count > 1) lines.push(t(locale, "owner.alert.count", { count: alert.count, since: formatWhen(alert.firstAt, { locale, timeZone, style: "compact" }) }));
  const details = alert.details && typeof alert.details === "object" ? Object.entries(alert.details as Record<string, unknown>) : [];
  // How it cleared (e.g. how long a dependency was down) belongs to the "recovered" message.
  const resolution = type === "resolved" && alert.resolution && typeof alert.resolution === "object" ? Object.entries(alert.resolution as Record<string, unknown>) : [];
  for (const [name, value] of [...details, ...resolution].slice(0, 8)) lines.push(`• ${name}: ${shortValue(value)}`);
  return lines.join("\n");
}

function shortValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
