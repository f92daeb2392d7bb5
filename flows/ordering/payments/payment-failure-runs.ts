/**
 * Runs of failed payments ("pembayaran gagal beruntun"), per store and gateway: each
 * payment's outcome is counted in one MongoDB document per (store, method), updated
 * atomically, so several instances count together. A run starts when `inRow` payments in a
 * row failed, or when at least `ratePercent` of at least `minPayments` payments within
 * `windowMs` failed; it ends at the next successful payment.
 *
 * ```ts
 * const change = await recordPaymentOutcome({ tenantId, method: "simulator", ok: false });
 * if (change?.change === "failing") alert(change);   // told once per run, whichever instance saw it
 * if (change?.change === "recovered") resolve();
 * ```
 *
 * Only the instance whose update flipped `failing` hears the change, so a run is told once.
 * After a run ends, the rate counts payments since then only: one more failure right after
 * a recovery is not a new run.
 */
import { Schema, model, type Types } from "mongoose";
import { tenantScoped } from "../../../storage/tenant-scope.ts";

/** Outcomes remembered per store and gateway, for the rate. */
const REMEMBERED = 200;

const paymentRunSchema = new Schema(
  {
    tenantId: { type: Schema.Types.ObjectId, required: true },
    method: { type: String, required: true },
    inRow: { type: Number, default: 0 },
    recent: [{ _id: false, at: { type: Date, required: true }, ok: { type: Boolean, required: true } }],
    failing: { type: Boolean, default: false },
    /** When the last run ended: the rate counts from then on. */
    since: { type: Date },
  },
  { collection: "payment_runs" },
);
paymentRunSchema.plugin(tenantScoped);
paymentRunSchema.index({ tenantId: 1, method: 1 }, { unique: true });

export const PaymentRun = model("PaymentRun", paymentRunSchema);

export interface PaymentRunThresholds {
  /** Failed payments in a row that make a run. Default 3 (`ALERT_PAYMENT_FAILURES_IN_ROW`). */
  inRow?: number;
  /** Percentage of failed payments within the window that makes a run. Default 50. */
  ratePercent?: number;
  /** Payments within the window needed before the rate counts. Default 4. */
  minPayments?: number;
  /** Default 10 minutes. */
  windowMs?: number;
}

export type PaymentRunChange =
  | { change: "failing"; method: string; inRow: number; failed: number; total: number }
  | { change: "recovered"; method: string };

/** Counts one payment's outcome; says when a run of failures starts or ends. */
export async function recordPaymentOutcome(
  outcome: { tenantId: string | Types.ObjectId; method: string; ok: boolean; at?: Date },
  thresholds: PaymentRunThresholds = {},
): Promise<PaymentRunChange | undefined> {
  const { tenantId, method, ok } = outcome;
  const at = outcome.at ?? new Date();
  const push = { $push: { recent: { $each: [{ at, ok }], $slice: -REMEMBERED } } };
  const counted = await PaymentRun.findOneAndUpdate({ tenantId, method }, ok ? { $set: { inRow: 0 }, ...push } : { $inc: { inRow: 1 }, ...push }, {
    upsert: true,
    returnDocument: "after",
    setDefaultsOnInsert: true,
  })
    .lean()
    .exec();
  if (ok) {
    const ended = await PaymentRun.findOneAndUpdate({ tenantId, method, failing: true }, { $set: { failing: false, since: at } }).lean().exec();
    return ended ? { change: "recovered", method } : undefined;
  }
  if (!counted || counted.failing) return undefined;
  const windowMs = thresholds.windowMs ?? 10 * 60_000;
  const from = Math.max(at.getTime() - windowMs, counted.since?.getTime() ?? 0);
  const recent = counted.recent.filter((o) => o.at.getTime() >= from);
  const failed = recent.filter((o) => !o.ok).length;
  const byRate = recent.length >= (thresholds.minPayments ?? 4) && failed * 100 >= (thresholds.ratePercent ?? 50) * recent.length;
  if (counted.inRow < (thresholds.inRow ?? 3) && !byRate) return undefined;
  const started = await PaymentRun.findOneAndUpdate({ tenantId, method, failing: { $ne: true } }, { $set: { failing: true } }).lean().exec();
  return started ? { change: "failing", method, inRow: counted.inRow, failed, total: recent.length } : undefined;
}
