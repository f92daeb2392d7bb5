// Moments a seller types, read in the store's time zone: "2026-12-24 19:00", "besok 19:00"
// (tomorrow), "hari ini 19:00"; and days, "2026-12-01". Strict: anything else is refused,
// so a typo never schedules a promo for the wrong evening.
import { zoneOffset } from "../tenant-admin/sales-report.ts";

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})\s+(\d{1,2})[:.](\d{2})$/;
const RELATIVE = /^(hari ini|today|besok|tomorrow|lusa)\s+(\d{1,2})[:.](\d{2})$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAYS_AHEAD: Record<string, number> = { "hari ini": 0, today: 0, besok: 1, tomorrow: 1, lusa: 2 };

/** The instant a wall-clock time in `timeZone` names (the offset asked twice: it may change across daylight saving). */
function zonedInstant(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): Date {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  const guess = asUtc - zoneOffset(asUtc, timeZone);
  return new Date(asUtc - zoneOffset(guess, timeZone));
}

/** Whether the numbers name a real calendar day and clock time. */
function real(year: number, month: number, day: number, hour = 0, minute = 0): boolean {
  const at = new Date(Date.UTC(year, month - 1, day));
  return at.getUTCFullYear() === year && at.getUTCMonth() === month - 1 && at.getUTCDate() === day && hour < 24 && minute < 60;
}

/** The store's calendar date at `now`. */
function storeToday(now: Date, timeZone: string): { year: number; month: number; day: number } {
  const local = new Date(now.getTime() + zoneOffset(now.getTime(), timeZone));
  return { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate() };
}

/**
 * The instant a seller meant, or `undefined` when the text is not one of the forms.
 *
 * ```ts
 * parseStoreTime("2026-12-24 19:00", { timeZone: "Asia/Jayapura", now }); // → 2026-12-24T10:00:00Z
 * parseStoreTime("besok 19.00", { timeZone: "Asia/Jakarta", now });       // tomorrow 19:00 WIB
 * ```
 */
export function parseStoreTime(typed: string, { timeZone, now }: { timeZone: string; now: Date }): Date | undefined {
  const text = typed.trim().toLowerCase().replace(/\s+/g, " ");
  const absolute = DATE_TIME.exec(text);
  if (absolute) {
    const [year, month, day, hour, minute] = absolute.slice(1).map(Number) as [number, number, number, number, number];
    return real(year, month, day, hour, minute) ? zonedInstant(year, month, day, hour, minute, timeZone) : undefined;
  }
  const relative = RELATIVE.exec(text);
  if (!relative) return undefined;
  const [hour, minute] = [Number(relative[2]), Number(relative[3])];
  if (hour >= 24 || minute >= 60) return undefined;
  const today = storeToday(now, timeZone);
  // Date.UTC rolls the day over the month's end; the wall clock is then read in the zone.
  const date = new Date(Date.UTC(today.year, today.month - 1, today.day + DAYS_AHEAD[relative[1]!]!));
  return zonedInstant(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), hour, minute, timeZone);
}

/**
 * A store day typed as "2026-12-01": when it begins and the last millisecond of it, in the
 * store's zone; `undefined` when it is not a real day in that form.
 */
export function parseStoreDay(typed: string, timeZone: string): { start: Date; end: Date } | undefined {
  const match = DAY.exec(typed.trim());
  if (!match) return undefined;
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
  if (!real(year, month, day)) return undefined;
  const next = new Date(Date.UTC(year, month - 1, day + 1));
  return {
    start: zonedInstant(year, month, day, 0, 0, timeZone),
    end: new Date(zonedInstant(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, timeZone).getTime() - 1),
  };
}
