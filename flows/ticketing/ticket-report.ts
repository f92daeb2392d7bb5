// Tickets for a period, for `/laporan`: how many were opened and closed, how fast the store
// answered and resolved them (median and 90th percentile), how many targets it missed, and
// what customers rated. Each figure counts what happened in the period: a first response
// given in it, a ticket closed in it, a breach recorded in it, a rating given in it.
import { t } from "../../locales/i18n.ts";
import type { Locale, Outbound } from "../engine/message.ts";
import { Ticket, type TicketRecord } from "./ticket-model.ts";
import { tenantObjectId } from "./ticket-records.ts";

export interface DurationFigures {
  /** How many tickets the figures are over. */
  count: number;
  /** Minutes; undefined without tickets. */
  medianMinutes?: number;
  p90Minutes?: number;
}

export interface TicketReport {
  from: Date;
  to: Date;
  opened: number;
  closed: number;
  /** Opened in the period and still waiting for the store or the customer. */
  live: number;
  firstResponse: DurationFigures;
  resolution: DurationFigures;
  breaches: { firstResponse: number; resolution: number };
  ratings: { count: number; average?: number };
}

/** The median (the mean of the middle two for an even count) and the nearest-rank 90th percentile, in minutes. */
export function durationFigures(minutes: number[]): DurationFigures {
  if (minutes.length === 0) return { count: 0 };
  const sorted = [...minutes].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const p90 = sorted[Math.ceil(0.9 * sorted.length) - 1]!;
  return { count: sorted.length, medianMinutes: median, p90Minutes: p90 };
}

const minutesBetween = (a: Date, b: Date) => (b.getTime() - a.getTime()) / 60_000;

/** The store's tickets between `from` (inclusive) and `to` (exclusive). */
export async function ticketReport(tenantId: string, from: Date, to: Date): Promise<TicketReport> {
  const tenant = tenantObjectId(tenantId);
  const empty: TicketReport = { from, to, opened: 0, closed: 0, live: 0, firstResponse: { count: 0 }, resolution: { count: 0 }, breaches: { firstResponse: 0, resolution: 0 }, ratings: { count: 0 } };
  if (!tenant) return empty;
  const within = { $gte: from, $lt: to };
  const fields = { status: 1, openedAt: 1, firstResponseAt: 1, closedAt: 1, breaches: 1, rating: 1, ratedAt: 1 };
  const tickets = await Ticket.find(
    { tenantId: tenant, $or: [{ openedAt: within }, { firstResponseAt: within }, { closedAt: within }, { "breaches.at": within }, { ratedAt: within }] },
    fields,
  )
    .lean<Pick<TicketRecord, "status" | "openedAt" | "firstResponseAt" | "closedAt" | "breaches" | "rating" | "ratedAt">[]>()
    .exec();
  const inPeriod = (at: Date | null | undefined): at is Date => !!at && at >= from && at < to;
  const openedHere = tickets.filter((x) => inPeriod(x.openedAt));
  const closedHere = tickets.filter((x) => x.status === "closed" && inPeriod(x.closedAt));
  const breaches = tickets.flatMap((x) => (x.breaches ?? []).filter((b) => inPeriod(b.at)));
  const rated = tickets.filter((x) => x.rating != null && inPeriod(x.ratedAt));
  return {
    from,
    to,
    opened: openedHere.length,
    closed: closedHere.length,
    live: openedHere.filter((x) => x.status === "open" || x.status === "answered").length,
    firstResponse: durationFigures(tickets.filter((x) => inPeriod(x.firstResponseAt)).map((x) => minutesBetween(x.openedAt, x.firstResponseAt!))),
    resolution: durationFigures(closedHere.map((x) => minutesBetween(x.openedAt, x.closedAt!))),
    breaches: { firstResponse: breaches.filter((b) => b.target === "first-response").length, resolution: breaches.filter((b) => b.target === "resolution").length },
    ratings: rated.length === 0 ? { count: 0 } : { count: rated.length, average: rated.reduce((sum, x) => sum + x.rating!, 0) / rated.length },
  };
}

/** True when the period saw any ticket at all (a store without tickets gets no ticket lines). */
export function hasTicketActivity(report: TicketReport): boolean {
  return report.opened + report.closed + report.firstResponse.count + report.breaches.firstResponse + report.breaches.resolution + report.ratings.count > 0;
}

/** `42 mnt`, `3 j 5 mnt`, `2 h 4 j`. */
export function formatMinutes(locale: Locale, minutes: number | undefined): string {
  if (minutes === undefined) return t(locale, "tickets.report.none");
  const whole = Math.round(minutes);
  if (whole < 60) return t(locale, "tickets.report.minutes", { count: whole });
  if (whole < 24 * 60) return t(locale, "tickets.report.hours", { hours: Math.floor(whole / 60), minutes: whole % 60 });
  return t(locale, "tickets.report.days", { days: Math.floor(whole / 1440), hours: Math.floor((whole % 1440) / 60) });
}

/** The report's lines, for the period named `period` (already in the reader's language). */
export function ticketReportMessage(report: TicketReport, locale: Locale, period: string): Outbound {
  const average = report.ratings.average;
  return {
    text: {
      key: "tickets.report.summary",
      params: {
        period,
        opened: report.opened,
        closed: report.closed,
        live: report.live,
        firstMedian: formatMinutes(locale, report.firstResponse.medianMinutes),
        firstP90: formatMinutes(locale, report.firstResponse.p90Minutes),
        firstCount: report.firstResponse.count,
        resolutionMedian: formatMinutes(locale, report.resolution.medianMinutes),
        resolutionP90: formatMinutes(locale, report.resolution.p90Minutes),
        resolutionCount: report.resolution.count,
        breaches: report.breaches.firstResponse + report.breaches.resolution,
        breachesFirst: report.breaches.firstResponse,
        breachesResolution: report.breaches.resolution,
        rating: average === undefined ? t(locale, "tickets.report.none") : t(locale, "tickets.report.rating", { average: average.toFixed(1).replace(".", locale === "id" ? "," : ".") }),
        ratings: report.ratings.count,
      },
    },
  };
}
