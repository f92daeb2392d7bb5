// A broadcast in words, for the seller: its status, audience, counts, when it starts, and
// the one-message detail `/siaran N` shows. Shared by the flows and the progress notices.
import type { Locale } from "../engine/message.ts";
import { t } from "../../locales/i18n.ts";
import { formatWhen } from "../../locales/format-when.ts";
import type { BroadcastAudience, BroadcastCounts, BroadcastStatus, BroadcastView } from "./contract.ts";

const SHOWN_TEXT = 300;

export function formatCount(locale: Locale, count: number): string {
  return new Intl.NumberFormat(locale === "id" ? "id-ID" : "en-US").format(count);
}

export function statusName(locale: Locale, status: BroadcastStatus): string {
  return t(locale, `broadcast.status.${status}`);
}

/** A channel's name as sellers know it ("Telegram"); an unknown one as it is called. */
export function channelName(locale: Locale, channel: string): string {
  const key = `broadcast.channel.${channel}`;
  const name = t(locale, key);
  return name === key ? channel : name;
}

/** Who receives it: "semua pelanggan · hanya Telegram". */
export function audienceText(locale: Locale, audience: BroadcastAudience, timeZone: string): string {
  const day = (at: Date) => new Intl.DateTimeFormat(locale === "id" ? "id-ID" : "en-GB", { timeZone, day: "numeric", month: "short", year: "numeric" }).format(at);
  const kind =
    audience.kind === "all"
      ? t(locale, "broadcast.audience.all_name")
      : audience.kind === "buyers"
        ? t(locale, "broadcast.audience.buyers_name", { code: audience.productCode })
        : audience.kind === "period"
          ? t(locale, "broadcast.audience.period_name", { from: day(audience.from), to: day(audience.to) })
          : t(locale, "broadcast.audience.lapsed_name", { days: audience.days });
  return audience.channel ? t(locale, "broadcast.audience.only_channel", { audience: kind, channel: channelName(locale, audience.channel) }) : kind;
}

/** "Telegram 120 · WhatsApp 30". */
export function byChannelText(locale: Locale, byChannel: Record<string, number>): string {
  const parts = Object.entries(byChannel)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([channel, count]) => `${channelName(locale, channel)} ${formatCount(locale, count)}`);
  return parts.length > 0 ? parts.join(" · ") : "-";
}

/** Recipients still waiting: queued, or held by a sender and not yet written. */
export function remainingOf(counts: BroadcastCounts): number {
  return Math.max(0, counts.total - counts.sent - counts.failed - counts.skipped);
}

export function countsText(locale: Locale, counts: BroadcastCounts): string {
  return t(locale, "broadcast.counts", {
    sent: formatCount(locale, counts.sent),
    failed: formatCount(locale, counts.failed),
    skipped: formatCount(locale, counts.skipped),
    remaining: formatCount(locale, remainingOf(counts)),
    total: formatCount(locale, counts.total),
  });
}

/** The seller's text, cut for a list or a detail. */
export function shortText(text: string, max = SHOWN_TEXT): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** `/siaran N`: everything about one broadcast in one message. */
export function broadcastDetail(broadcast: BroadcastView, { locale, timeZone }: { locale: Locale; timeZone: string }): string {
  const when = (at: Date) => formatWhen(at, { locale, timeZone, style: "compact" });
  const lines = [
    t(locale, "broadcast.detail.title", { number: broadcast.number, status: statusName(locale, broadcast.status) }),
    t(locale, "broadcast.detail.audience", { audience: audienceText(locale, broadcast.audience, timeZone) }),
  ];
  if (broadcast.status === "scheduled" && broadcast.scheduledAt) lines.push(t(locale, "broadcast.detail.scheduled", { at: when(broadcast.scheduledAt), timeZone }));
  if (broadcast.startedAt) lines.push(t(locale, "broadcast.detail.started", { at: when(broadcast.startedAt) }));
  if (broadcast.finishedAt) lines.push(t(locale, "broadcast.detail.finished", { at: when(broadcast.finishedAt) }));
  if (broadcast.status === "paused") lines.push(t(locale, broadcast.pausedReason === "restricted" ? "broadcast.detail.paused_restricted" : "broadcast.detail.paused_seller"));
  if (broadcast.counts) lines.push(countsText(locale, broadcast.counts));
  lines.push(t(locale, "broadcast.detail.content", { text: shortText(broadcast.content.text), image: broadcast.content.hasImage ? t(locale, "broadcast.detail.with_image") : "", buttons: broadcast.content.buttons.length }));
  return lines.join("\n");
}

/** One line of a list: "#3 · Terjadwal · 24/12/2026 19.00 · Promo Natal…". */
export function listLine(broadcast: BroadcastView, { locale, timeZone }: { locale: Locale; timeZone: string }): string {
  const at = broadcast.status === "scheduled" ? broadcast.scheduledAt : (broadcast.finishedAt ?? broadcast.startedAt ?? broadcast.createdAt);
  return `#${broadcast.number} · ${statusName(locale, broadcast.status)} · ${at ? formatWhen(at, { locale, timeZone, style: "compact" }) : "-"} · ${shortText(broadcast.content.text, 40)}`;
}
