// A moment as a person reads it in a message: in the store's time zone and the reader's
// language. Customers read the friendly form ("2 Des 2026, 15.06"); sellers' lists and
// the audit log the compact one ("02/12/2026 15.06"), so the columns line up.
import type { Locale } from "./i18n.ts";

export interface WhenFormat {
  locale: Locale;
  /** An IANA zone (`Asia/Jakarta`); an unknown one falls back to UTC, said so. */
  timeZone: string;
  style?: "friendly" | "compact";
}

export function formatWhen(at: Date, { locale, timeZone, style = "friendly" }: WhenFormat): string {
  const options: Intl.DateTimeFormatOptions =
    style === "friendly"
      ? { dateStyle: "medium", timeStyle: "short" }
      : { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" };
  try {
    return new Intl.DateTimeFormat(locale === "en" ? "en-GB" : "id-ID", { ...options, timeZone }).format(at);
  } catch {
    return at.toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }
}
