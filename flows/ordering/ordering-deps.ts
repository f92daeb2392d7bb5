// What the ordering domain needs from the platform, plugged in by the composition root:
// the outbox that reaches a customer's chat (no adapter is imported here), the payment
// gateways, the job scheduler's timers, and a log.
import type { Outbound, Outbox } from "../engine/index.ts";
import type { CustomerRef } from "./order.ts";
import type { PaymentGateway } from "./payments/gateway.ts";

/** A customer's chat in one store: where goods and notices about an order go. */
export interface CustomerChat extends CustomerRef {
  tenantId: string;
}

/**
 * Where ordering's messages to customers go outside a conversation turn: the goods after
 * payment, "your order expired", the SNK reminder. The composition root passes the
 * platform's `Outbox` (with `withTimeout`: a send that hangs holds the order's delivery
 * claim); tests pass a recording one. It must not retry on its own for long: delivery has
 * its own retry with back-off. The message may carry stock payloads: never log it.
 */
export type CustomerOutbox = Pick<Outbox, "send">;

/**
 * Per-order timers, kept by the scheduler (see order-jobs.ts `orderJobTimers`). Optional:
 * without them the periodic sweeps still expire orders and close SNK windows, only later.
 */
export interface OrderTimers {
  orderPlaced(order: { tenantId: string; orderId: string; expiresAt: Date }): Promise<void>;
  snkWindowOpened(order: { tenantId: string; orderId: string; remindAt: Date; windowEndsAt: Date }): Promise<void>;
}

/** Something a seller or the owner's alerts may want to hear about as it happens. */
export interface OrderingEvent {
  type: "order_placed" | "proof_submitted" | "order_paid" | "payment_failed" | "order_delivered" | "delivery_failed" | "late_payment" | "claim_opened";
  tenantId: string;
  orderCode: string;
  /** With `order_paid` and `payment_failed`: the payment method (`manual`, `simulator`, a provider). */
  gateway?: string;
  /** With `order_delivered`: the order had been given up on (`delivery_failed`) before this delivery. */
  afterFailure?: boolean;
  /** With `order_placed`: the products whose stock the order reserved. */
  productIds?: string[];
}

export interface OrderingLog {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface OrderingDeps {
  outbox: CustomerOutbox;
  /** By method name (`manual`, `simulator`, a real provider). */
  gateways?: ReadonlyMap<string, PaymentGateway>;
  timers?: OrderTimers;
  log?: OrderingLog;
  onEvent?: (event: OrderingEvent) => void;
}

const silent: OrderingLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export function logOf(deps: OrderingDeps): OrderingLog {
  return deps.log ?? silent;
}

export function emit(deps: OrderingDeps, event: OrderingEvent): void {
  try {
    deps.onEvent?.(event);
  } catch (error) {
    logOf(deps).warn("ordering event listener failed", { event: event.type, error: (error as Error).message });
  }
}

/**
 * Tells a customer something about their order. A notice that cannot be sent is logged,
 * not thrown: the state change it reports has already happened and stands.
 */
export async function notifyCustomer(deps: OrderingDeps, to: CustomerChat, message: Outbound, what: string): Promise<boolean> {
  const report = await deps.outbox.send(addressOf(to), [message], { locale: to.locale });
  // The reason only: a channel's detail might quote what was being sent.
  if (!report.ok) logOf(deps).warn("customer notice not sent", { notice: what, channel: to.channel, reason: report.reason ?? "failed" });
  return report.ok;
}

/** Where a customer's chat is, as the outbox knows it. */
export function addressOf(chat: CustomerChat): { tenantId: string; channel: string; chatId: string } {
  return { tenantId: chat.tenantId, channel: chat.channel, chatId: chat.chatId };
}

/** The chat an order's messages go to. */
export function chatOf(order: { tenantId: unknown; customer: { channel: string; channelUserId: string; chatId: string; locale?: string | null; name?: string | null } }): CustomerChat {
  return {
    tenantId: String(order.tenantId),
    channel: order.customer.channel,
    channelUserId: order.customer.channelUserId,
    chatId: order.customer.chatId,
    locale: order.customer.locale === "en" ? "en" : "id",
    ...(order.customer.name ? { name: order.customer.name } : {}),
  };
}
