// Ordering's scheduled work, on the platform's Agenda (bots/scheduler.ts):
//
// - `expire-unpaid-order`   one per order, at its payment deadline
// - `snk-reminder`          one per delivered order, when a quarter of its SNK window is left
// - `snk-close`             one per delivered order, when its SNK window ends
// - `recover-undelivered`   every minute: paid orders nobody is delivering
// - `sweep-overdue-orders`  every 5 minutes: whatever a lost per-order job missed, and
//                           reservations orphaned by a crash
// - `purge-payment-proofs`  every hour: proofs and screenshots past retention
//
// Every job is idempotent (each action is a conditional update that matches only when
// there is work), so a job that runs twice, late, or after a restart changes nothing
// the first run did not.
import type { Agenda, Job } from "agenda";
import type { Ordering } from "./ordering.ts";
import type { OrderTimers } from "./ordering-deps.ts";

export const ORDER_JOBS = {
  expireUnpaidOrder: "expire-unpaid-order",
  snkReminder: "snk-reminder",
  snkClose: "snk-close",
  recoverUndelivered: "recover-undelivered",
  sweepOverdueOrders: "sweep-overdue-orders",
  purgePaymentProofs: "purge-payment-proofs",
} as const;

interface OrderJobData {
  tenantId: string;
  orderId: string;
}

/** Registers the handlers. Call before `scheduler.start()` on every instance that should run them. */
export function defineOrderJobs(agenda: Agenda, ordering: Ordering): void {
  const perOrder = { removeOnComplete: true };
  agenda.define<OrderJobData>(ORDER_JOBS.expireUnpaidOrder, async (job: Job<OrderJobData>) => {
    await ordering.expireUnpaidOrder(job.attrs.data.tenantId, job.attrs.data.orderId);
  }, perOrder);
  agenda.define<OrderJobData>(ORDER_JOBS.snkReminder, async (job: Job<OrderJobData>) => {
    await ordering.remindSnk(job.attrs.data.tenantId, job.attrs.data.orderId);
  }, perOrder);
  agenda.define<OrderJobData>(ORDER_JOBS.snkClose, async (job: Job<OrderJobData>) => {
    await ordering.closeSnkWindow(job.attrs.data.tenantId, job.attrs.data.orderId);
  }, perOrder);
  // One at a time across the platform: two sweeps would only race each other to the same conditional updates.
  agenda.define(ORDER_JOBS.recoverUndelivered, async () => {
    await ordering.recoverUndelivered();
  }, { concurrency: 1, lockLimit: 1 });
  agenda.define(ORDER_JOBS.sweepOverdueOrders, async () => {
    await ordering.sweepOverdue();
  }, { concurrency: 1, lockLimit: 1 });
  agenda.define(ORDER_JOBS.purgePaymentProofs, async () => {
    await ordering.purgeExpiredProofs();
  }, { concurrency: 1, lockLimit: 1 });
}

/** Creates (or keeps) the recurring jobs; one document each however many instances call it. */
export async function scheduleRecurringOrderJobs(agenda: Agenda): Promise<void> {
  await agenda.every("1 minute", ORDER_JOBS.recoverUndelivered);
  await agenda.every("5 minutes", ORDER_JOBS.sweepOverdueOrders);
  await agenda.every("1 hour", ORDER_JOBS.purgePaymentProofs);
}

/**
 * The per-order timers for `OrderingDeps.timers`. Each job is unique per order, so
 * scheduling twice (a retried request) keeps one job.
 */
export function orderJobTimers(agenda: Agenda): OrderTimers {
  const once = async (name: string, when: Date, data: OrderJobData) => {
    await agenda.create(name, data).unique({ "data.orderId": data.orderId }, { insertOnly: true }).schedule(when).save();
  };
  return {
    async orderPlaced({ tenantId, orderId, expiresAt }) {
      await once(ORDER_JOBS.expireUnpaidOrder, expiresAt, { tenantId, orderId });
    },
    async snkWindowOpened({ tenantId, orderId, remindAt, windowEndsAt }) {
      await once(ORDER_JOBS.snkReminder, remindAt, { tenantId, orderId });
      await once(ORDER_JOBS.snkClose, windowEndsAt, { tenantId, orderId });
    },
  };
}
