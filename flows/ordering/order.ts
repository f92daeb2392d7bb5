// An order: what a customer bought, what they owe, and how far it has got.
//
//   pending_payment ──► paid ──► delivered ──► completed
//        │               │            (SNK window: open → confirmed | claimed → closed)
//        ├─► expired     └─► refunded
//        ├─► cancelled
//        └─► rejected
//
// Every transition is one conditional single-document update on `status` (and, for
// delivery, on the claim token), so two processes racing on one order agree on the
// winner without a transaction: the loser's update matches nothing.
import { Schema, model, type InferSchemaType, type Types } from "mongoose";
import { tenantScoped } from "../../storage/tenant-scope.ts";

export const ORDER_STATUSES = ["pending_payment", "paid", "delivered", "completed", "expired", "cancelled", "rejected", "refunded"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Statuses in which the order still holds its stock. */
export const HOLDING_STATUSES: readonly OrderStatus[] = ["pending_payment", "paid"];

export const SNK_STATES = ["open", "confirmed", "claimed", "closed"] as const;
export type SnkState = (typeof SNK_STATES)[number];

/** What the seller should look at: money arrived for a closed order, or the goods would not go out. */
export const ATTENTION_REASONS = ["late_payment", "delivery_failed"] as const;
export type AttentionReason = (typeof ATTENTION_REASONS)[number];

/** A seller (or the platform) acting on an order; the same shape as an audit actor. */
const actorSchema = new Schema(
  {
    channel: { type: String, required: true, maxlength: 32 },
    userId: { type: String, required: true, maxlength: 128 },
    name: { type: String, maxlength: 128 },
  },
  { _id: false },
);

const orderItemSchema = new Schema(
  {
    productId: { type: Schema.Types.ObjectId, ref: "Product", required: true },
    code: { type: String, required: true },
    name: { type: String, required: true },
    /** Price at the time of the order, in the currency's smallest unit. */
    unitPrice: { type: Number, required: true, min: 0 },
    quantity: { type: Number, required: true, min: 1 },
  },
  { _id: false },
);

const orderCustomerSchema = new Schema(
  {
    channel: { type: String, required: true },
    channelUserId: { type: String, required: true },
    /** Where messages about the order go (differs from the user id in group chats). */
    chatId: { type: String, required: true },
    locale: { type: String, enum: ["id", "en"], default: "id" },
    name: { type: String, maxlength: 128 },
  },
  { _id: false },
);

const orderSchema = new Schema(
  {
    // Declared for the types; the tenantScoped plugin adds its index and the query wall.
    tenantId: { type: Schema.Types.ObjectId, required: true },
    /** What people say: `INV-000123`, unique in its store. */
    code: { type: String, required: true },
    customer: { type: orderCustomerSchema, required: true },
    items: { type: [orderItemSchema], required: true },
    total: { type: Number, required: true, min: 0 },
    currency: { type: String, required: true },
    status: { type: String, enum: ORDER_STATUSES, required: true, default: "pending_payment" },
    /** Payment deadline; the expiry job and sweep only expire orders past it. */
    expiresAt: { type: Date, required: true },
    /** The stock items held for this order (also findable by `StockItem.orderId`). */
    stockItemIds: { type: [Schema.Types.ObjectId], default: () => [] },
    payment: {
      method: { type: String },
      /** The gateway's reference for this order's payment; one per order. */
      reference: { type: String },
      payUrl: { type: String },
      /** The gateway's own instructions (a virtual account number, say); manual ones come from the store's settings. */
      instructions: { type: String, maxlength: 2000 },
      startedAt: { type: Date },
      proof: {
        /** The sealed proof in `proof_files`; the order never holds the file or its reference in clear. */
        fileId: { type: Schema.Types.ObjectId },
        submittedAt: { type: Date },
        purgeAt: { type: Date },
        purgedAt: { type: Date },
      },
      paidAt: { type: Date },
      /** The seller who approved a manual payment. */
      approvedBy: { type: actorSchema, default: undefined },
      /** Gateway event ids already applied: a replayed webhook finds its id here. */
      gatewayEventIds: { type: [String], default: () => [] },
    },
    delivery: {
      /** A delivery in progress holds this token; only its holder may mark the order delivered. */
      claimToken: { type: String },
      claimedAt: { type: Date },
      /**
       * A paid order may be claimed for delivery from this moment: set to the payment time,
       * pushed forward by a claim (its lease) and by a failed attempt (its back-off).
       */
      nextAttemptAt: { type: Date },
      attempts: { type: Number, default: 0 },
      lastError: { type: String, maxlength: 300 },
      deliveredAt: { type: Date },
    },
    snk: {
      acceptedAt: { type: Date },
      /** sha256 of the SNK text the customer accepted, for disputes after the seller edits it. */
      acceptedTextDigest: { type: String },
      state: { type: String, enum: SNK_STATES },
      windowEndsAt: { type: Date },
      remindAt: { type: Date },
      remindedAt: { type: Date },
      closedAt: { type: Date },
      claim: {
        text: { type: String, maxlength: 2000 },
        /** Screenshot in `proof_files`, sealed. */
        proofFileId: { type: Schema.Types.ObjectId },
        at: { type: Date },
        resolution: {
          outcome: { type: String, enum: ["accepted", "refused"] },
          note: { type: String, maxlength: 500 },
          by: { type: actorSchema, default: undefined },
          at: { type: Date },
        },
      },
    },
    /** Why the order was rejected, cancelled or refunded, and by whom. */
    closing: {
      reason: { type: String, maxlength: 500 },
      by: { type: actorSchema, default: undefined },
      at: { type: Date },
    },
    attention: { type: String, enum: ATTENTION_REASONS },
  },
  { collection: "orders", timestamps: true },
);
orderSchema.plugin(tenantScoped);
orderSchema.index({ tenantId: 1, code: 1 }, { unique: true });
// A customer's own orders, newest first.
orderSchema.index({ tenantId: 1, "customer.channel": 1, "customer.channelUserId": 1, createdAt: -1 });
// The seller's lists by status; open claims.
orderSchema.index({ tenantId: 1, status: 1, createdAt: -1 });
orderSchema.index({ tenantId: 1, "snk.state": 1, "snk.claim.at": -1 });
orderSchema.index({ tenantId: 1, attention: 1 });
// Platform sweeps across stores: overdue unpaid orders, paid-but-undelivered orders, SNK windows.
orderSchema.index({ status: 1, expiresAt: 1 });
orderSchema.index({ status: 1, "delivery.nextAttemptAt": 1 });
orderSchema.index({ "snk.state": 1, "snk.windowEndsAt": 1 });
orderSchema.index({ "snk.state": 1, "snk.remindAt": 1 });

export type OrderFields = InferSchemaType<typeof orderSchema>;
export type OrderRecord = OrderFields & { _id: Types.ObjectId; createdAt: Date; updatedAt: Date };
export const Order = model("Order", orderSchema);

const CODE_PREFIX = "INV-";

/** `123` → `INV-000123`. */
export function orderCodeFor(sequence: number): string {
  return `${CODE_PREFIX}${String(sequence).padStart(6, "0")}`;
}

/**
 * What a person typed as an order code, in the stored form: `inv-000123`, ` INV-000123 `,
 * `#123` and `123` all mean `INV-000123`. `undefined` when it cannot be an order code.
 */
export function normalizeOrderCode(input: string): string | undefined {
  const text = input.trim().toUpperCase().replace(/^#/, "");
  if (text.length > 20) return undefined;
  const digits = /^(?:INV-?)?(\d{1,12})$/.exec(text)?.[1];
  if (!digits) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) && n > 0 ? orderCodeFor(n) : undefined;
}

/** Who a customer is on a channel; how customer-facing queries recognise their own orders. */
export interface CustomerKey {
  channel: string;
  channelUserId: string;
}

/** A customer and where to reach them. */
export interface CustomerRef extends CustomerKey {
  chatId: string;
  locale: "id" | "en";
  name?: string;
}

/** A seller, owner or the platform acting on an order; recorded in the order and the audit log. */
export interface Actor {
  channel: string;
  userId: string;
  name?: string;
  /**
   * The chat they acted from (`telegram:123456`), for the audit log's `where`, as the
   * admin commands write it. Not kept on the order. Without it, the audit log says the channel.
   */
  where?: string;
}

/** The actor as the order and the audit log's `actor` record them: who, not from where. */
export function actorRecord(actor: Actor): Omit<Actor, "where"> {
  return actor.name !== undefined ? { channel: actor.channel, userId: actor.userId, name: actor.name } : { channel: actor.channel, userId: actor.userId };
}

/** The audit log's `where` for an actor's change: their chat when known, else their channel. */
export function actorWhere(actor: Actor): string {
  return (actor.where ?? actor.channel).slice(0, 64);
}

/** An order as callers see it: no claim tokens, no sealed references, no stock item ids. */
export interface OrderView {
  id: string;
  code: string;
  status: OrderStatus;
  customer: CustomerRef;
  items: { productCode: string; name: string; unitPrice: number; quantity: number }[];
  total: number;
  currency: string;
  createdAt: Date;
  expiresAt: Date;
  payment: {
    method?: string;
    reference?: string;
    payUrl?: string;
    proofSubmittedAt?: Date;
    paidAt?: Date;
    approvedBy?: Actor;
  };
  deliveredAt?: Date;
  snk: {
    acceptedAt?: Date;
    state?: SnkState;
    windowEndsAt?: Date;
    claim?: { text: string; at: Date; hasProof: boolean; resolution?: { outcome: "accepted" | "refused"; note?: string; at: Date } };
  };
  closing?: { reason?: string; at?: Date };
  attention?: AttentionReason;
}

export function toOrderView(doc: OrderRecord): OrderView {
  const claim = doc.snk?.claim;
  const resolution = claim?.resolution;
  return {
    id: String(doc._id),
    code: doc.code,
    status: doc.status as OrderStatus,
    customer: {
      channel: doc.customer.channel,
      channelUserId: doc.customer.channelUserId,
      chatId: doc.customer.chatId,
      locale: doc.customer.locale === "en" ? "en" : "id",
      ...(doc.customer.name ? { name: doc.customer.name } : {}),
    },
    items: doc.items.map((i) => ({ productCode: i.code, name: i.name, unitPrice: i.unitPrice, quantity: i.quantity })),
    total: doc.total,
    currency: doc.currency,
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt,
    payment: compact({
      method: doc.payment?.method ?? undefined,
      reference: doc.payment?.reference ?? undefined,
      payUrl: doc.payment?.payUrl ?? undefined,
      proofSubmittedAt: doc.payment?.proof?.submittedAt ?? undefined,
      paidAt: doc.payment?.paidAt ?? undefined,
      approvedBy: doc.payment?.approvedBy ? actorOf(doc.payment.approvedBy) : undefined,
    }),
    ...(doc.delivery?.deliveredAt ? { deliveredAt: doc.delivery.deliveredAt } : {}),
    snk: compact({
      acceptedAt: doc.snk?.acceptedAt ?? undefined,
      state: (doc.snk?.state ?? undefined) as SnkState | undefined,
      windowEndsAt: doc.snk?.windowEndsAt ?? undefined,
      claim:
        claim?.at && claim.text !== undefined && claim.text !== null
          ? {
              text: claim.text,
              at: claim.at,
              hasProof: Boolean(claim.proofFileId),
              ...(resolution?.outcome && resolution.at
                ? { resolution: compact({ outcome: resolution.outcome, note: resolution.note ?? undefined, at: resolution.at }) }
                : {}),
            }
          : undefined,
    }),
    ...(doc.closing?.at ? { closing: compact({ reason: doc.closing.reason ?? undefined, at: doc.closing.at }) } : {}),
    ...(doc.attention ? { attention: doc.attention as AttentionReason } : {}),
  };
}

function actorOf(a: { channel: string; userId: string; name?: string | null }): Actor {
  return a.name ? { channel: a.channel, userId: a.userId, name: a.name } : { channel: a.channel, userId: a.userId };
}

function compact<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}
