// What the ordering domain needs from the platform, plugged in by the composition root:
// a way to reach a customer's chat (no adapter is imported here), the payment gateways,
// the job scheduler's timers, and a log.
import type { Outbound } from "../engine/message.ts";
import { logger } from "../../bots/logger.ts";
import type { CustomerRef } from "./order.ts";
import type { PaymentGateway } from "./payments/gateway.ts";
import { settledWithin } from "../../storage/settled-within.ts";

/** A customer's chat in one store: where goods and notices about an order go. */
export interface CustomerChat extends CustomerRef {
  tenantId: string;
}

/**
 * Sends messages to customers outside a conversation turn: the goods after payment,
 * "your order expired", the SNK reminder. The composition root implements it over the
 * channel adapters (Telegram, console, …); tests implement it with an array.
 *
 * `send` resolves once the channel accepted the message and rejects when it could not
 * (blocked bot, network). It must not retry on its own for long: delivery has its own
 * retry with back-off, and a send that hangs holds the order's delivery claim.
 * The message may carry stock payloads: never log it.
 */
export interface DeliverySink {
  send(to: CustomerChat, message: Outbound): Promise<void>;
}

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
  type: "order_placed" | "proof_submitted" | "order_paid" | "order_delivered" | "delivery_failed" | "late_payment" | "claim_opened";
  tenantId: string;
  orderCode: string;
  /** With `order_placed`: the products whose stock the order reserved. */
  productIds?: string[];
}

export interface OrderingLog {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface OrderingDeps {
  sink: DeliverySink;
  /** By method name (`manual`, `simulator`, a real provider). */
  gateways?: ReadonlyMap<string, PaymentGateway>;
  timers?: OrderTimers;
  log?: OrderingLog;
  onEvent?: (event: OrderingEvent) => void;
  /** A send slower than this counts as failed and is retried later. Default 60 s. */
  sendTimeoutMs?: number;
}

export function logOf(deps: OrderingDeps): OrderingLog {
  return deps.log ?? logger;
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
  try {
    await sendWithTimeout(deps, to, message);
    return true;
  } catch (error) {
    logOf(deps).warn("customer notice not sent", { notice: what, channel: to.channel, error: errorName(error) });
    return false;
  }
}

export async function sendWithTimeout(deps: OrderingDeps, to: CustomerChat, message: Outbound): Promise<void> {
  const ms = deps.sendTimeoutMs ?? 60_000;
  const sent = await settledWithin(deps.sink.send(to, message), ms);
  if (sent.state === "rejected") throw sent.error;
  if (sent.state === "pending") throw new SendTimeoutError(`the channel did not accept the message within ${ms} ms`);
}

export class SendTimeoutError extends Error {
  override name = "SendTimeoutError";
}

/** An error's name only: a channel error's message might quote what was being sent. */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
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
