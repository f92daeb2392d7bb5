/**
 * The ordering domain's `DeliverySink` (goods, expiry notices, SNK reminders) over
 * `CustomerMessages`, so ordering reaches a customer on whatever channel they ordered
 * through without knowing any adapter.
 *
 * ```ts
 * const ordering = createOrdering({ sink: customerDeliverySink(messages), … });
 * ```
 *
 * `send` resolves once the channel took the message and rejects with a
 * `CustomerMessageNotSent` naming why not (`blocked`, `rate-limited`, …); the error's
 * message carries the channel's answer, never the message itself (it may hold goods).
 */
import type { CustomerChat, DeliverySink } from "../flows/ordering/ordering-deps.ts";
import type { CustomerMessages, SendFailureReason, SendReport } from "./customer-messages.ts";

export class CustomerMessageNotSent extends Error {
  override name = "CustomerMessageNotSent";
  readonly reason: SendFailureReason;
  readonly retryAfterSec: number | undefined;
  constructor(report: SendReport) {
    const reason = report.reason ?? "failed";
    super(report.detail ? `${reason}: ${report.detail}` : reason);
    this.reason = reason;
    this.retryAfterSec = report.retryAfterSec;
  }
}

export function customerDeliverySink(messages: CustomerMessages): DeliverySink {
  return {
    async send(to: CustomerChat, message) {
      const report = await messages.send({ tenantId: to.tenantId, channel: to.channel, chatId: to.chatId }, [message], { locale: to.locale });
      if (!report.ok) throw new CustomerMessageNotSent(report);
    },
  };
}
