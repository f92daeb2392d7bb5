// Reading orders: a customer's own ("my orders"), and the seller's lists (/pesanan, /klaim).
// Customer queries always pin the customer as well as the store, so a code that
// belongs to someone else — or to another store — finds nothing.
import { asObjectId } from "./object-ids.ts";
import { ORDER_STATUSES, Order, normalizeOrderCode, toOrderView, type CustomerKey, type OrderRecord, type OrderStatus, type OrderView } from "./order.ts";

const MAX_LIST = 50;

/** The customer's orders in this store, newest first. */
export async function listMyOrders(tenantId: string, customer: CustomerKey, opts: { limit?: number } = {}): Promise<OrderView[]> {
  const tenant = asObjectId(tenantId);
  if (!tenant) return [];
  const docs = await Order.find({ tenantId: tenant, "customer.channel": customer.channel, "customer.channelUserId": customer.channelUserId })
    .sort({ createdAt: -1 })
    .limit(clampLimit(opts.limit))
    .lean<OrderRecord[]>()
    .exec();
  return docs.map(toOrderView);
}

/** One of the customer's orders by its code (`INV-000123`, `123`, …), or `undefined`. */
export async function findMyOrder(tenantId: string, customer: CustomerKey, code: string): Promise<OrderView | undefined> {
  const tenant = asObjectId(tenantId);
  const normalized = normalizeOrderCode(code);
  if (!tenant || !normalized) return undefined;
  const doc = await Order.findOne({
    tenantId: tenant,
    code: normalized,
    "customer.channel": customer.channel,
    "customer.channelUserId": customer.channelUserId,
  })
    .lean<OrderRecord>()
    .exec();
  return doc ? toOrderView(doc) : undefined;
}

/** Any order of the store by code, for its sellers. */
export async function findOrder(tenantId: string, code: string): Promise<OrderView | undefined> {
  const doc = await findOrderRecord(tenantId, code);
  return doc ? toOrderView(doc) : undefined;
}

export interface OrderListFilter {
  status?: OrderStatus;
  /** Only orders needing the seller's attention (late payment, failed delivery). */
  needsAttention?: boolean;
  /** Only manual payments with a proof waiting for approval. */
  awaitingApproval?: boolean;
  limit?: number;
}

/** The store's orders, newest first, for the seller's lists. */
export async function listOrders(tenantId: string, filter: OrderListFilter = {}): Promise<OrderView[]> {
  const tenant = asObjectId(tenantId);
  if (!tenant) return [];
  if (filter.status && !ORDER_STATUSES.includes(filter.status)) return [];
  const query: Record<string, unknown> = { tenantId: tenant };
  if (filter.status) query.status = filter.status;
  if (filter.needsAttention) query.attention = { $exists: true };
  if (filter.awaitingApproval) Object.assign(query, { status: "pending_payment", "payment.proof.submittedAt": { $exists: true } });
  const docs = await Order.find(query).sort({ createdAt: -1 }).limit(clampLimit(filter.limit)).lean<OrderRecord[]>().exec();
  return docs.map(toOrderView);
}

/** SNK claims waiting for the seller's answer, newest first (/klaim shows them with their screenshot). */
export async function listClaims(tenantId: string, opts: { limit?: number } = {}): Promise<OrderView[]> {
  const tenant = asObjectId(tenantId);
  if (!tenant) return [];
  const docs = await Order.find({ tenantId: tenant, "snk.state": "claimed" })
    .sort({ "snk.claim.at": -1 })
    .limit(clampLimit(opts.limit))
    .lean<OrderRecord[]>()
    .exec();
  return docs.map(toOrderView);
}

export async function findOrderRecord(tenantId: string, code: string): Promise<OrderRecord | undefined> {
  const tenant = asObjectId(tenantId);
  const normalized = normalizeOrderCode(code);
  if (!tenant || !normalized) return undefined;
  return (await Order.findOne({ tenantId: tenant, code: normalized }).lean<OrderRecord>().exec()) ?? undefined;
}

function clampLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(MAX_LIST, Math.floor(limit ?? 20)));
}
