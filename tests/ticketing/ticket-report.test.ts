// `/laporan` with tickets: known tickets at known times give known figures, in the store's
// calendar; a store without tickets sees no ticket lines; another store's never count.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { t } from "../../locales/i18n.ts";
import { createTicketing, type TicketCustomer } from "../../flows/ticketing/index.ts";
import { durationFigures, ticketReport } from "../../flows/ticketing/ticket-report.ts";
import { useTestDatabase } from "../support/mongo.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { adminEngine, person, seedShop } from "../tenant-admin/admin-fixture.ts";

useTestDatabase("ticketing_report");

let now = new Date();
const at = (iso: string) => {
  now = new Date(iso);
};
const tickets = createTicketing({ outbox: new RecordingOutbox(), clock: () => now });
const staff = { channel: "console", userId: "owner-1" };
let buyers = 0;
const buyer = (): TicketCustomer => ({ channel: "telegram", chatId: `r-${++buyers}`, userId: `r-${buyers}`, locale: "id" });

/** Opens, answers after `answerAfter` minutes, closes after `closeAfter` minutes (from opening), rates. */
async function ticket(tenantId: string, openedAt: string, plan: { answerAfter?: number; closeAfter?: number; rating?: number; priority?: "critical" } = {}) {
  at(openedAt);
  const who = buyer();
  const opened = await tickets.open({ tenantId, customer: who, category: "order", text: "Tolong", ...(plan.priority && { priority: plan.priority }) });
  const later = (minutes: number) => at(new Date(new Date(openedAt).getTime() + minutes * 60_000).toISOString());
  if (plan.answerAfter !== undefined) {
    later(plan.answerAfter);
    assert.ok((await tickets.staffReply(tenantId, opened.number, staff, "Kami cek")).ok);
  }
  if (plan.closeAfter !== undefined) {
    later(plan.closeAfter);
    assert.ok((await tickets.close(tenantId, opened.number, staff, "Beres")).ok);
    if (plan.rating !== undefined) assert.ok((await tickets.rate(tenantId, opened.number, who, plan.rating)).ok);
  }
  return opened;
}

describe("the ticket figures", () => {
  test("median and 90th percentile", () => {
    assert.deepEqual(durationFigures([]), { count: 0 });
    assert.deepEqual(durationFigures([120, 10, 30]), { count: 3, medianMinutes: 30, p90Minutes: 120 });
    assert.deepEqual(durationFigures([10, 20, 30, 40]), { count: 4, medianMinutes: 25, p90Minutes: 40 });
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual(durationFigures(hundred), { count: 100, medianMinutes: 50.5, p90Minutes: 90 });
  });

  test("/laporan counts a day's tickets: opened, closed, response and resolution times, breaches and ratings", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const other = await seedShop({ members: { "owner-9": "owner" } });
    // 08:00 in Jakarta on 10 March: the store's "today" began at 17:00 UTC on 9 March.
    const reportAt = new Date("2026-03-10T01:00:00Z");
    // Yesterday's ticket, answered yesterday, closed today after 10 hours.
    await ticket(shop.id, "2026-03-09T10:00:00Z", { answerAfter: 5, closeAfter: 600 });
    await ticket(shop.id, "2026-03-09T17:30:00Z", { answerAfter: 10, closeAfter: 60, rating: 5 });
    await ticket(shop.id, "2026-03-09T18:00:00Z", { answerAfter: 30, closeAfter: 120, rating: 3 });
    await ticket(shop.id, "2026-03-09T19:00:00Z", { answerAfter: 120 });
    // A critical ticket nobody answers: its 15-minute first response is missed.
    const missed = await ticket(shop.id, "2026-03-09T20:00:00Z", { priority: "critical" });
    at("2026-03-09T20:16:00Z");
    assert.equal(await tickets.checkSla({ tenantId: shop.id, ticketId: missed.id, target: "first-response", stage: 100, round: 0 }), "breached");
    await ticket(other.id, "2026-03-09T18:00:00Z", { answerAfter: 1, closeAfter: 2, rating: 1 });

    const report = await ticketReport(shop.id, new Date("2026-03-09T17:00:00Z"), reportAt);
    assert.deepEqual(
      { ...report, from: undefined, to: undefined },
      {
        from: undefined,
        to: undefined,
        opened: 4,
        closed: 3,
        live: 2,
        firstResponse: { count: 3, medianMinutes: 30, p90Minutes: 120 },
        resolution: { count: 3, medianMinutes: 120, p90Minutes: 600 },
        breaches: { firstResponse: 1, resolution: 0 },
        ratings: { count: 2, average: 4 },
      },
    );

    const { engine } = adminEngine({ clock: () => reportAt });
    const replies = await person(engine, shop, "owner-1").say("/laporan");
    assert.equal(replies.length, 2, "the sales summary, then the tickets");
    assert.equal(
      replies[1],
      t("id", "tickets.report.summary", {
        period: "hari ini",
        opened: 4,
        closed: 3,
        live: 2,
        firstMedian: "30 mnt",
        firstP90: "2 j 0 mnt",
        firstCount: 3,
        resolutionMedian: "2 j 0 mnt",
        resolutionP90: "10 j 0 mnt",
        resolutionCount: 3,
        breaches: 1,
        breachesFirst: 1,
        breachesResolution: 0,
        rating: "4,0/5",
        ratings: 2,
      }),
    );
    const [, english] = await person(engine, shop, "owner-1", { locale: "en" }).say("/report");
    assert.match(english, /^🎫 Tickets today\nOpened: 4 · Closed: 3 · Still open: 2\nFirst response: median 30 min, p90 2 h 0 min \(3 tickets\)\n[\s\S]*Rating: 4\.0\/5 from 2 ratings$/);

    const quiet = await seedShop({ members: { "owner-2": "owner" } });
    assert.equal((await person(engine, quiet, "owner-2").say("/laporan")).length, 1, "a store without tickets sees only its sales");
  });
});
