// Customers and their paid orders for broadcast tests: written straight into the
// collections (thousands at once, with the order dates a test needs).
import { Types } from "mongoose";
import { Order, type OrderStatus } from "../../flows/ordering/order.ts";
import { Customer } from "../../storage/models/index.ts";
import type { SeededStore } from "./stores.ts";

export interface SeededCustomer {
  _id: Types.ObjectId;
  channel: string;
  channelUserId: string;
}

let made = 0;

/** `count` customers of the store on `channel`, ids `<prefix>-<n>`, with what `fields` adds (opted out, blocked, a language). */
export async function seedCustomers(
  store: SeededStore,
  count: number,
  { channel = "telegram", prefix, fields = {} }: { channel?: string; prefix?: string; fields?: Record<string, unknown> } = {},
): Promise<SeededCustomer[]> {
  const batch = ++made;
  const docs = Array.from({ length: count }, (_, i) => ({
    _id: new Types.ObjectId(),
    tenantId: store.tenant,
    channel,
    channelUserId: `${prefix ?? `c${batch}`}-${i + 1}`,
    displayName: `Pelanggan ${i + 1}`,
    broadcastOptOut: false,
    blocked: false,
    createdAt: new Date(),
    updatedAt: new Date(),
    ...fields,
  }));
  for (let i = 0; i < docs.length; i += 1000) await Customer.collection.insertMany(docs.slice(i, i + 1000));
  return docs.map((d) => ({ _id: d._id, channel: d.channel, channelUserId: d.channelUserId }));
}

let orders = 0;

/** An order of `productCode` by the customer, placed at `at`, in `status` (paid unless given). */
export async function seedOrder(store: SeededStore, customer: SeededCustomer, productCode: string, at: Date, status: OrderStatus = "paid"): Promise<void> {
  orders++;
  await Order.collection.insertOne({
    tenantId: store.tenant,
    code: `INV-${String(orders).padStart(6, "0")}-${new Types.ObjectId().toHexString().slice(-4)}`,
    customer: { channel: customer.channel, channelUserId: customer.channelUserId, chatId: customer.channelUserId, locale: "id" },
    items: [{ productId: store.products[productCode] ?? new Types.ObjectId(), code: productCode, name: productCode, unitPrice: 1000, quantity: 1 }],
    total: 1000,
    currency: "IDR",
    status,
    expiresAt: new Date(at.getTime() + 3_600_000),
    stockItemIds: [],
    createdAt: at,
    updatedAt: at,
  });
}
