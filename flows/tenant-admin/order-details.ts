// An order as a seller reads it: its state in words ("awaiting your check" says more
// than "pending"), one line in a list, the full detail with its facts, the proof photo,
// and what a member could do with it now.
import { formatWhen } from "../../locales/format-when.ts";
import { t } from "../../locales/i18n.ts";
import type { Locale, Outbound } from "../engine/message.ts";
import { i18nTexts, renderText } from "../engine/texts.ts";
import { formatPrice } from "../ordering/catalog.ts";
import { methodLabel } from "../ordering/checkout-flows.ts";
import { findOrderRecord } from "../ordering/order-queries.ts";
import type { OrderStatus, OrderView } from "../ordering/order.ts";
import { openProof } from "../ordering/proof-store.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { say } from "./admin-access.ts";
import type { Permission } from "./permissions.ts";

export function statusName(locale: Locale, status: OrderStatus | "awaiting" | "attention" | "all"): string {
  switch (status) {
    case "pending_payment":
      return t(locale, "admin.orders.status.pending_payment");
    case "paid":
      return t(locale, "admin.orders.status.paid");
    case "delivered":
      return t(locale, "admin.orders.status.delivered");
    case "completed":
      return t(locale, "admin.orders.status.completed");
    case "expired":
      return t(locale, "admin.orders.status.expired");
    case "cancelled":
      return t(locale, "admin.orders.status.cancelled");
    case "rejected":
      return t(locale, "admin.orders.status.rejected");
    case "refunded":
      return t(locale, "admin.orders.status.refunded");
    case "awaiting":
      return t(locale, "admin.orders.status.awaiting");
    case "attention":
      return t(locale, "admin.orders.status.attention");
    case "all":
      return t(locale, "admin.orders.status.all");
  }
}

/** The order's state as a seller reads it: "awaiting your check" says more than "pending". */
function stateOf(locale: Locale, order: OrderView): string {
  if (order.snk.state === "claimed") return t(locale, "admin.orders.status.claimed");
  if (order.attention) return `${statusName(locale, order.status)} ⚠️`;
  if (order.status === "pending_payment" && order.payment.proofSubmittedAt) return statusName(locale, "awaiting");
  return statusName(locale, order.status);
}

export interface StoreLook {
  currency: string;
  timezone: string;
}

export async function storeOf(tenantId: string): Promise<StoreLook> {
  const store = await storeSettings(tenantId);
  return { currency: store?.currency ?? "IDR", timezone: store?.timezone ?? "Asia/Jakarta" };
}

export function orderLine(locale: Locale, order: OrderView, store: StoreLook): string {
  return t(locale, "admin.orders.line", {
    code: order.code,
    state: stateOf(locale, order),
    total: formatPrice(order.total, order.currency || store.currency, locale),
    customer: order.customer.name ?? order.customer.channelUserId,
    at: formatWhen(order.createdAt, { locale, timeZone: store.timezone, style: "compact" }),
  });
}

export function orderDetail(locale: Locale, order: OrderView, store: StoreLook): string {
  const when = (at: Date) => formatWhen(at, { locale, timeZone: store.timezone, style: "compact" });
  const price = (amount: number) => formatPrice(amount, order.currency || store.currency, locale);
  const items = order.items.map((i) => t(locale, "admin.orders.item", { quantity: i.quantity, name: i.name, sku: i.productCode, price: price(i.unitPrice) })).join("\n");
  const facts: string[] = [];
  if (order.payment.method) {
    facts.push(t(locale, "admin.orders.fact.method", { method: renderText(methodLabel(order.payment.method), locale, i18nTexts) }));
  }
  if (order.status === "pending_payment") {
    facts.push(
      order.payment.proofSubmittedAt
        ? t(locale, "admin.orders.fact.proof_sent", { at: when(order.payment.proofSubmittedAt) })
        : t(locale, "admin.orders.fact.pay_by", { at: when(order.expiresAt) }),
    );
  }
  if (order.payment.paidAt) facts.push(t(locale, "admin.orders.fact.paid", { at: when(order.payment.paidAt), by: order.payment.approvedBy?.name ?? order.payment.approvedBy?.userId ?? order.payment.method ?? "–" }));
  if (order.deliveredAt) facts.push(t(locale, "admin.orders.fact.delivered", { at: when(order.deliveredAt) }));
  if (order.attention === "delivery_failed") facts.push(t(locale, "admin.orders.fact.delivery_failed"));
  if (order.attention === "late_payment") facts.push(t(locale, "admin.orders.fact.late_payment"));
  if (order.snk.claim) facts.push(t(locale, "admin.orders.fact.claim", { text: order.snk.claim.text }));
  if (order.closing?.reason) facts.push(t(locale, "admin.orders.fact.reason", { reason: order.closing.reason }));
  return t(locale, "admin.orders.detail", {
    code: order.code,
    state: stateOf(locale, order),
    customer: order.customer.name ?? "–",
    channel: order.customer.channel,
    customerId: order.customer.channelUserId,
    items,
    total: price(order.total),
    at: when(order.createdAt),
    facts: facts.join("\n"),
  });
}

/** The proof photo (payment receipt or claim screenshot) as a message, when the channel can show it. */
export async function proofMessage(tenantId: string, code: string, kind: "payment" | "claim"): Promise<Outbound | undefined> {
  const order = await findOrderRecord(tenantId, code);
  const proofId = kind === "payment" ? order?.payment?.proof?.fileId : order?.snk?.claim?.proofFileId;
  if (!order || !proofId) return undefined;
  const proof = await openProof(order.tenantId, proofId);
  const caption = kind === "payment" ? "admin.orders.proof_caption" : "admin.claims.proof_caption";
  if (!proof) return say("admin.orders.proof_purged");
  if (proof.fileRef) return { text: { key: caption, params: { code: order.code } }, media: { type: "photo", ref: proof.fileRef } };
  return say("admin.orders.proof_not_shown", { code: order.code });
}

/** The order actions a member may take on an order in its current state. */
export function possibleActions(order: OrderView): { id: string; label: string; permission: Permission }[] {
  const actions: { id: string; label: string; permission: Permission }[] = [];
  if (order.status === "pending_payment") {
    actions.push({ id: "approve", label: "admin.orders.actions.approve", permission: "orders.approve" });
    actions.push({ id: "reject", label: "admin.orders.actions.reject", permission: "orders.approve" });
    actions.push({ id: "cancel", label: "admin.orders.actions.cancel", permission: "orders.refund" });
  }
  if (order.status === "paid") {
    if (order.attention === "delivery_failed") actions.push({ id: "retry", label: "admin.orders.actions.retry", permission: "orders.approve" });
    actions.push({ id: "refund", label: "admin.orders.actions.refund", permission: "orders.refund" });
  }
  if (order.snk.state === "claimed") actions.push({ id: "claim", label: "admin.orders.actions.claim", permission: "orders.refund" });
  return actions;
}
