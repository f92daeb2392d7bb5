/**
 * What the owner bot's commands show, as text in the owner's language: the platform's status,
 * the stores, one store, the alerts and the jobs. Pure functions of what `OwnerControl` and
 * `OwnerAlerts` answered, so each view is one place.
 */
import type { Locale } from "../flows/engine/index.ts";
import { formatWhen } from "../locales/format-when.ts";
import { t } from "../locales/i18n.ts";
import type { OwnerAlertDoc } from "../storage/models/index.ts";
import type { JobSummary, MaintenanceView, OrderSummary, PlatformStatus, StoreSummary, StoreWhatsApp } from "./owner-control.ts";

export interface ViewOptions {
  locale: Locale;
  timeZone: string;
}

export const STORES_PER_PAGE = 25;

export function statusView(status: PlatformStatus, stores: readonly StoreSummary[], maintenance: MaintenanceView, v: ViewOptions): string {
  const word = (w: string) => t(v.locale, `ownerbot.word.${w}`);
  const lines = [
    t(v.locale, "ownerbot.status.header", { version: status.version, instance: status.instance }),
    t(v.locale, "ownerbot.status.uptime", { since: when(status.startedAt, v), uptime: duration(Date.now() - status.startedAt.getTime()) }),
    t(v.locale, "ownerbot.status.dependencies", { mongodb: word(status.mongodb), redis: word(status.redis), scheduler: word(status.scheduler) }),
    t(v.locale, "ownerbot.status.jobs", status.jobs),
    status.resources && Object.keys(status.resources).length > 0
      ? t(v.locale, "ownerbot.status.resources", { resources: Object.entries(status.resources).map(([name, value]) => `${name} ${value}`).join(", ") })
      : t(v.locale, "ownerbot.status.resources_na"),
  ];
  if (maintenance.on) lines.push(t(v.locale, "ownerbot.status.maintenance_on", { since: maintenance.since ? when(maintenance.since, v) : "?" }));
  lines.push("", t(v.locale, "ownerbot.status.stores", { count: stores.length }), ...stores.map((s) => storeLine(s, v)));
  return lines.join("\n");
}

export function storeLine(store: StoreSummary, v: ViewOptions): string {
  const word = (w: string) => t(v.locale, `ownerbot.word.${w}`);
  return (
    t(v.locale, "ownerbot.store_line", {
      slug: store.slug,
      name: store.name,
      status: word(store.status),
      state: word(store.bot.state),
      mode: word(store.telegramMode),
      holder: store.bot.pollingHolder ? t(v.locale, "ownerbot.holder", { holder: store.bot.pollingHolder }) : "",
    }) +
    (store.revoked ? t(v.locale, "ownerbot.revoked") : "") +
    (store.whatsapp ? ` · ${whatsappLine(store.whatsapp, v)}` : "")
  );
}

/** `WhatsApp +62 812-3456-7890: linked (open)`: the store's number, its state and, when known here, its connection. */
function whatsappLine(number: StoreWhatsApp, v: ViewOptions): string {
  return t(v.locale, "ownerbot.whatsapp.line", {
    phone: number.phone ?? "",
    status: t(v.locale, `ownerbot.whatsapp.status.${number.status}`),
    connection: number.connection ? t(v.locale, "ownerbot.whatsapp.connection", { connection: t(v.locale, `ownerbot.whatsapp.connections.${number.connection}`) }) : "",
  });
}

/** One page of `/stores`, 1-based; the line naming the next page when there is one. */
export function storesPage(stores: readonly StoreSummary[], page: number, v: ViewOptions): string {
  if (stores.length === 0) return t(v.locale, "ownerbot.stores.none");
  const pages = Math.ceil(stores.length / STORES_PER_PAGE);
  const at = Math.min(Math.max(page, 1), pages);
  const from = (at - 1) * STORES_PER_PAGE;
  const shown = stores.slice(from, from + STORES_PER_PAGE);
  const lines = [t(v.locale, "ownerbot.stores.header", { from: from + 1, to: from + shown.length, total: stores.length }), ...shown.map((s) => storeLine(s, v))];
  if (at < pages) lines.push(t(v.locale, "ownerbot.stores.next", { page: at + 1 }));
  return lines.join("\n");
}

export function storeView(store: StoreSummary, problems: readonly OwnerAlertDoc[], orders: readonly OrderSummary[], v: ViewOptions): string {
  const word = (w: string) => t(v.locale, `ownerbot.word.${w}`);
  const holder = store.bot.pollingHolder ? t(v.locale, "ownerbot.holder", { holder: store.bot.pollingHolder }) : "";
  const lines = [
    t(v.locale, "ownerbot.store.title", { name: store.name, slug: store.slug }),
    t(v.locale, "ownerbot.store.status", { status: word(store.status), reason: store.suspendedReason ? t(v.locale, "ownerbot.store.reason", { reason: store.suspendedReason }) : "", locale: store.locale }),
    store.bot.botUsername
      ? t(v.locale, "ownerbot.store.bot", { username: store.bot.botUsername, state: word(store.bot.state), mode: word(store.telegramMode), holder })
      : t(v.locale, "ownerbot.store.bot_none", { state: word(store.bot.state), mode: word(store.telegramMode), holder }),
  ];
  if (store.revoked) lines.push(t(v.locale, "ownerbot.store.revoked"));
  if (store.whatsapp) lines.push(whatsappLine(store.whatsapp, v));
  lines.push("", problems.length > 0 ? t(v.locale, "ownerbot.store.errors") : t(v.locale, "ownerbot.store.errors_none"));
  for (const alert of problems) {
    lines.push(t(v.locale, "ownerbot.store.error_line", { when: when(alert.lastAt, v), title: t(v.locale, `owner.kind.${alert.kind}.title`), count: alert.count, state: word(alert.state) }));
  }
  lines.push("", orders.length > 0 ? t(v.locale, "ownerbot.store.orders") : t(v.locale, "ownerbot.store.orders_none"));
  for (const order of orders) {
    lines.push(t(v.locale, "ownerbot.store.order_line", { code: order.code, status: order.status, total: money(order.total, order.currency, v.locale), when: when(order.createdAt, v) }));
  }
  return lines.join("\n");
}

export function alertsView(alerts: readonly OwnerAlertDoc[], mutes: ReadonlyArray<{ kind: string; until: Date }>, v: ViewOptions): string {
  const word = (w: string) => t(v.locale, `ownerbot.word.${w}`);
  const lines = alerts.length === 0 ? [t(v.locale, "ownerbot.alerts.none")] : [t(v.locale, "ownerbot.alerts.header")];
  for (const alert of alerts) {
    const store = alert.store?.slug ? t(v.locale, "owner.alert.store", { name: alert.store.name, slug: alert.store.slug }) : t(v.locale, "owner.alert.platform");
    lines.push(t(v.locale, "ownerbot.alerts.line", { when: when(alert.lastAt, v), store, title: t(v.locale, `owner.kind.${alert.kind}.title`), count: alert.count, state: word(alert.state) }));
  }
  if (mutes.length > 0) {
    lines.push("", t(v.locale, "ownerbot.alerts.mutes"), ...mutes.map((m) => t(v.locale, "ownerbot.alerts.mute_line", { kind: m.kind, until: when(m.until, v) })));
  }
  return lines.join("\n");
}

export function jobsView(jobs: readonly JobSummary[], v: ViewOptions): string {
  if (jobs.length === 0) return t(v.locale, "ownerbot.jobs.none");
  const lines = [t(v.locale, "ownerbot.jobs.header")];
  for (const job of jobs) {
    lines.push(
      job.failed
        ? t(v.locale, "ownerbot.jobs.failed_line", { id: job.id, name: job.name, count: job.failCount ?? 1, when: job.failedAt ? when(job.failedAt, v) : "?", reason: (job.failReason ?? "").slice(0, 200) })
        : t(v.locale, "ownerbot.jobs.overdue_line", { id: job.id, name: job.name, when: job.nextRunAt ? when(job.nextRunAt, v) : "?" }),
    );
  }
  return lines.join("\n");
}

function when(at: Date, v: ViewOptions): string {
  return formatWhen(new Date(at), { locale: v.locale, timeZone: v.timeZone });
}

/** `3d 4h`, `2h 5m`, `45s`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

function money(amount: number, currency: string | undefined, locale: Locale): string {
  return currency ? new Intl.NumberFormat(locale === "id" ? "id-ID" : "en-US", { style: "currency", currency, maximumFractionDigits: 0 }).format(amount) : String(amount);
}
