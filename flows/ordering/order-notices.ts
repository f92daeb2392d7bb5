// The messages ordering sends on its own (outside a conversation turn): the goods, and
// notices about an order's fate. Texts are i18n keys; the adapter renders them in the
// customer's language.
import { t } from "../../locales/i18n.ts";
import type { Locale, Outbound } from "../engine/message.ts";

export interface DeliveredLine {
  name: string;
  payloads: string[];
}

/**
 * The goods. Payloads appear here and nowhere else (not in logs, not in errors), and
 * only for as long as it takes to hand the message to the channel.
 */
export function deliveryMessage(p: { code: string; store: string; locale: Locale; lines: DeliveredLine[]; windowEnds: string }): Outbound {
  const items = p.lines
    .map((line) => `${t(p.locale, "ordering.delivery_item", { name: line.name, count: line.payloads.length })}\n${line.payloads.join("\n")}`)
    .join("\n\n");
  return { text: { key: "ordering.delivery", params: { code: p.code, store: p.store, items, windowEnds: p.windowEnds } } };
}

export function expiredNotice(p: { code: string; store: string; minutes: number }): Outbound {
  return { text: { key: "ordering.order_expired", params: p } };
}

export function rejectedNotice(p: { code: string; store: string; reason: string }): Outbound {
  return { text: { key: "ordering.payment_rejected", params: p } };
}

export function cancelledNotice(p: { code: string; store: string; reason: string }): Outbound {
  return { text: { key: "ordering.order_cancelled", params: p } };
}

export function refundedNotice(p: { code: string; store: string; reason: string }): Outbound {
  return { text: { key: "ordering.order_refunded", params: p } };
}

export function snkReminder(p: { code: string; store: string; windowEnds: string }): Outbound {
  return { text: { key: "ordering.snk_reminder", params: p } };
}

export function snkClosedNotice(p: { code: string; store: string }): Outbound {
  return { text: { key: "ordering.snk_closed", params: p } };
}

export function claimResolvedNotice(p: { code: string; store: string; outcome: "accepted" | "refused"; note: string }): Outbound {
  const key = p.outcome === "accepted" ? "ordering.claim_accepted" : "ordering.claim_refused";
  return { text: { key, params: { code: p.code, store: p.store, note: p.note } } };
}

/** A seller's reason as the customer sees it; an empty one reads "no reason given". */
export function reasonText(reason: string | undefined, locale: Locale): string {
  const trimmed = reason?.trim();
  return trimmed ? trimmed : t(locale, "ordering.no_reason");
}
