// What the customer's ordering conversation needs from outside the engine, injected by the
// composition root (`createOrderingFlows(services)`), and the small helpers its actions
// share. Only `ordering` matters for buying; the rest is optional.
import type { ActionContext, ActionResult } from "../engine/actions.ts";
import type { Outbound, TextParams } from "../engine/message.ts";
import type { UserFiles } from "../engine/index.ts";
import type { CustomerRef } from "./order.ts";
import type { Ordering } from "./ordering.ts";

/** Pays a simulator order the way a person pressing "Pay" on its pay page would. Demo and tests only. */
export type SimulatedPayment = (payment: { tenantId: string; orderCode: string; payUrl: string }) => Promise<boolean>;

export interface OrderingFlowServices {
  /**
   * The ordering domain (`createOrdering({ outbox, gateways, timers })`), or a getter for one
   * built after the flows (the platform builds its engine's flows before its domain).
   * Without it customers can browse and read their orders, but buying is refused politely.
   */
  ordering?: Ordering | (() => Ordering | undefined);
  /**
   * The files customers send (`Channels`): a proof's bytes are kept too (sealed, with the
   * channel's reference). Without it only the reference is stored, and a seller opens the
   * photo through the channel.
   */
  files?: UserFiles;
  /**
   * Demo only: adds "⚡ Pay now (simulation)" to the simulator's payment step, which calls
   * this instead of making the customer open the pay link in a browser.
   */
  simulatePayment?: SimulatedPayment;
}

export interface ResolvedFlowServices {
  ordering(): Ordering | undefined;
  files?: UserFiles;
  simulatePayment?: SimulatedPayment;
}

export function resolveFlowServices(services: OrderingFlowServices = {}): ResolvedFlowServices {
  const { ordering } = services;
  return {
    ordering: () => (typeof ordering === "function" ? ordering() : ordering),
    ...(services.files && { files: services.files }),
    ...(services.simulatePayment && { simulatePayment: services.simulatePayment }),
  };
}

/** The writer as the ordering domain knows a customer. */
export function customerOf(ctx: Pick<ActionContext, "channel" | "user" | "chatId" | "locale">): CustomerRef {
  return {
    channel: ctx.channel,
    channelUserId: ctx.user.id,
    chatId: ctx.chatId,
    locale: ctx.locale,
    ...(ctx.user.name ? { name: ctx.user.name } : {}),
  };
}

export function say(key: string, params?: TextParams): Outbound {
  return { text: params ? { key, params } : { key } };
}

/** Says something and takes the named outcome (`"end"` ends the flow). */
export function saying<const Outcome extends string>(outcome: Outcome, ...messages: Outbound[]): ActionResult<Outcome, never> {
  return { say: messages, outcome };
}

/** The outcome every buying step takes when the platform runs without an ordering domain. */
export function unavailable(): ActionResult<"unavailable", never> {
  return saying("unavailable", say("ordering.unavailable"));
}
