// The backup drill's checks of a restored database, before anything runs on it: every
// collection of the manifest is there with the manifest's count of documents, and what the
// drill recorded before the loss came back as it was (the delivered order with its sold
// stock and its pending SNK jobs, the unpaid order with its expiry job, the stock on sale).
// Each problem is one line naming what is wrong, so a restore that skipped a collection is
// reported by name; `skippingCollection` is the test-only seam that makes such a restore.
import type { Db, ObjectId } from "mongodb";
import { JOBS_COLLECTION } from "../../bots/scheduler.ts";
import { Order } from "../../flows/ordering/order.ts";
import { StockItem } from "../../flows/ordering/stock-item.ts";
import type { Manifest } from "../../storage/backup/manifest.ts";

export interface RecordedJob {
  _id: ObjectId;
  name: string;
  nextRunAt: Date;
}

/** What the drill saw in the store just before the backup. */
export interface DrillRecord {
  delivered: { id: ObjectId; code: string; jobs: RecordedJob[] };
  unpaid: { id: ObjectId; code: string; jobs: RecordedJob[] };
  /** Stock items on sale, of the store's one product. */
  available: number;
  tenant: ObjectId;
}

/** The per-order jobs of an order, as stored by the scheduler. */
export async function jobsOf(db: Db, orderId: ObjectId): Promise<RecordedJob[]> {
  const jobs = await db.collection(JOBS_COLLECTION).find({ "data.orderId": String(orderId) }, { projection: { name: 1, nextRunAt: 1 } }).sort({ name: 1 }).toArray();
  return jobs.map((j) => ({ _id: j._id as ObjectId, name: String(j.name), nextRunAt: j.nextRunAt as Date }));
}

async function countProblems(db: Db, manifest: Manifest): Promise<string[]> {
  const problems: string[] = [];
  const live = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((name) => !name.startsWith("system.")));
  for (const [name, expected] of Object.entries(manifest.collections).sort()) {
    if (!live.has(name)) {
      problems.push(`${name}: missing (the manifest has ${expected} documents)`);
      continue;
    }
    const count = await db.collection(name).countDocuments({});
    if (count !== expected) problems.push(`${name}: ${count} documents, the manifest has ${expected}`);
  }
  for (const name of live) if (!(name in manifest.collections)) problems.push(`${name}: not in the backup`);
  return problems;
}

function jobProblems(what: string, found: RecordedJob[], expected: RecordedJob[]): string[] {
  const problems: string[] = [];
  for (const job of expected) {
    const there = found.find((j) => j._id.equals(job._id));
    if (!there) problems.push(`${JOBS_COLLECTION}: the ${job.name} job of ${what} is missing`);
    else if (there.name !== job.name || there.nextRunAt?.getTime() !== job.nextRunAt.getTime()) {
      problems.push(`${JOBS_COLLECTION}: the ${job.name} job of ${what} changed (${there.name} at ${there.nextRunAt?.toISOString()})`);
    }
  }
  return problems;
}

/** Every way the restored `db` differs from the `manifest` and from the `record`; empty when it is whole. */
export async function restoredDatabaseProblems(db: Db, manifest: Manifest, record: DrillRecord): Promise<string[]> {
  const problems = await countProblems(db, manifest);

  const delivered = await Order.findOne({ tenantId: record.tenant, _id: record.delivered.id }).lean().exec();
  if (!delivered) problems.push(`orders: the delivered order ${record.delivered.code} is missing`);
  else if (delivered.status !== "delivered" || delivered.snk?.state !== "open") {
    problems.push(`orders: ${record.delivered.code} is ${delivered.status} with its SNK window ${delivered.snk?.state ?? "absent"}, not delivered and open`);
  }
  const sold = await StockItem.countDocuments({ tenantId: record.tenant, orderId: record.delivered.id, status: "sold" }).exec();
  if (sold !== 1) problems.push(`stock items: ${sold} sold to ${record.delivered.code}, not 1`);
  problems.push(...jobProblems(record.delivered.code, await jobsOf(db, record.delivered.id), record.delivered.jobs));

  const unpaid = await Order.findOne({ tenantId: record.tenant, _id: record.unpaid.id }).lean().exec();
  if (unpaid?.status !== "pending_payment") problems.push(`orders: the unpaid order ${record.unpaid.code} is ${unpaid?.status ?? "missing"}`);
  const held = await StockItem.countDocuments({ tenantId: record.tenant, orderId: record.unpaid.id, status: "reserved" }).exec();
  if (held !== 1) problems.push(`stock items: ${held} held for ${record.unpaid.code}, not 1`);
  problems.push(...jobProblems(record.unpaid.code, await jobsOf(db, record.unpaid.id), record.unpaid.jobs));

  const available = await StockItem.countDocuments({ tenantId: record.tenant, status: "available" }).exec();
  if (available !== record.available) problems.push(`stock items: ${available} on sale, ${record.available} before the loss`);
  return problems;
}

/**
 * The live `db` as a restore sees it, except that `skipped` is never put in place: its
 * documents are read and written aside like every collection's, then thrown away instead
 * of replacing the live one. A test-only seam for proving the drill notices such a restore.
 */
export function skippingCollection(db: Db, skipped: string): Db {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "renameCollection") {
        return async (from: string, to: string, options?: object) => {
          if (to !== skipped) return target.renameCollection(from, to, options);
          await target.collection(from).drop();
          return target.collection(to);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
