// `/laporan [hariini|7h|30h]` (`/report today|7d|30d`): orders, revenue and the best
// sellers of a period, in the store's time zone and currency; and, when the store had
// tickets in it, their counts, response and resolution times, SLA breaches and ratings.
import type { ActionRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { Locale } from "../engine/message.ts";
import { t } from "../../locales/i18n.ts";
import { formatPrice } from "../ordering/catalog.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { hasTicketActivity, ticketReport, ticketReportMessage } from "../ticketing/ticket-report.ts";
import { adminAction, adminGuard, commandArgs, say, stop } from "./admin-access.ts";
import type { ResolvedAdminServices } from "./admin-services.ts";
import { salesReport, type Period } from "./sales-report.ts";

export const reportFlow = defineFlow({
  id: "admin-report",
  guard: adminGuard("reports.read"),
  audience: "seller",
  triggers: { commands: ["laporan", "report"] },
  help: "admin.help.report",
  steps: {
    report: { kind: "action", action: "adminSalesReport" },
  },
});

const PERIOD_WORDS: Record<string, Period> = {
  "": "today",
  today: "today",
  hariini: "today",
  "hari-ini": "today",
  "hari ini": "today",
  "7d": "7d",
  "7h": "7d",
  "7hari": "7d",
  "7 hari": "7d",
  minggu: "7d",
  week: "7d",
  "30d": "30d",
  "30h": "30d",
  "30hari": "30d",
  "30 hari": "30d",
  bulan: "30d",
  month: "30d",
};

function periodName(locale: Locale, period: Period): string {
  switch (period) {
    case "today":
      return t(locale, "admin.report.period.today");
    case "7d":
      return t(locale, "admin.report.period.7d");
    case "30d":
      return t(locale, "admin.report.period.30d");
  }
}

function day(at: Date, timeZone: string, locale: Locale): string {
  return new Intl.DateTimeFormat(locale === "id" ? "id-ID" : "en-GB", { timeZone, day: "numeric", month: "short" }).format(at);
}

export function reportActions(services: ResolvedAdminServices): ActionRegistry {
  return {
    adminSalesReport: adminAction(services, "reports.read", async (ctx) => {
      const word = commandArgs(ctx).toLowerCase().replace(/\s+/g, " ");
      if (!Object.hasOwn(PERIOD_WORDS, word)) return stop(say("admin.usage.report"));
      const period = PERIOD_WORDS[word];
      const store = await storeSettings(ctx.tenant.id);
      const timeZone = store?.timezone ?? "Asia/Jakarta";
      const currency = store?.currency ?? "IDR";
      const report = await salesReport(ctx.tenant.id, period, timeZone, services.clock());
      const tickets = await ticketReport(ctx.tenant.id, report.from, new Date(report.to.getTime() + 1));
      const money = (amount: number) => formatPrice(amount, currency, ctx.locale);
      const count = (...statuses: string[]) => statuses.reduce((sum, s) => sum + (report.byStatus[s] ?? 0), 0);
      const top =
        report.top.length > 0
          ? report.top.map((p, i) => t(ctx.locale, "admin.report.top_line", { rank: i + 1, name: p.name, sku: p.sku, quantity: p.quantity, revenue: money(p.revenue) })).join("\n")
          : t(ctx.locale, "admin.report.no_sales");
      return stop(
        say("admin.report.summary", {
          period: periodName(ctx.locale, period),
          from: day(report.from, timeZone, ctx.locale),
          to: day(report.to, timeZone, ctx.locale),
          timeZone,
          orders: report.orders,
          paid: count("paid", "delivered", "completed"),
          pending: count("pending_payment"),
          closed: count("expired", "cancelled", "rejected"),
          refunded: count("refunded"),
          revenue: money(report.revenue),
          top,
        }),
        ...(hasTicketActivity(tickets) ? [ticketReportMessage(tickets, ctx.locale, periodName(ctx.locale, period))] : []),
      );
    }),
  };
}
