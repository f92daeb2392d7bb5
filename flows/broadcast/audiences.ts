// Who a broadcast reaches: customers of the store, read from `customers` and `orders` as
// streams (a cursor, and lookups in slices), so 20,000 of them never sit in memory at once.
// Every kind leaves out customers who opted out or whom the channel reported unreachable.
import { Types } from "mongoose";
import { Customer } from "../../storage/models/index.ts";
import type { Channel } from "../../storage/models/index.ts";
import { Order } from "../ordering/order.ts";
import { startOfStoreDay } from "../tenant-admin/sales-report.ts";
import type { BroadcastAudience } from "./contract.ts";

/** Orders whose customer paid (and kept what they bought). */
const PAID = ["paid", "delivered", "completed"];
const SLICE = 500;

/** One recipient as the ledger records them. */
export interface AudienceMember {
  customerId: Types.ObjectId;
  channel: string;
  chatId: string;
  locale?: "id" | "en";
}

interface CustomerFields {
  _id: Types.ObjectId;
  channel: string;
  channelUserId: string;
  locale?: string | null;
}

/**
 * Where a customer is reached outside a conversation: on every channel a store's customer
 * talks to the bot in a private chat, whose id is the user's own (Telegram's private chat
 * id is the user id; WhatsApp's customer id is the engine's chat id; Discord sends to a
 * user id as a DM; the console's chat is its user).
 */
export function chatAddressOf(customer: { channel: string; channelUserId: string }): { channel: string; chatId: string } {
  return { channel: customer.channel, chatId: customer.channelUserId };
}

function memberOf(customer: CustomerFields): AudienceMember {
  const locale = customer.locale === "id" || customer.locale === "en" ? customer.locale : undefined;
  return { customerId: customer._id, ...chatAddressOf(customer), ...(locale && { locale }) };
}

const REACHABLE = { broadcastOptOut: { $ne: true }, blocked: { $ne: true } };
const FIELDS = { _id: 1, channel: 1, channelUserId: 1, locale: 1 };

/** Checks an audience as a seller (or a flow) gave it; `undefined` when it is fine. */
export function audienceProblem(audience: BroadcastAudience): string | undefined {
  if (!audience || typeof audience !== "object") return "no audience";
  if (audience.channel !== undefined && (typeof audience.channel !== "string" || audience.channel === "")) return "bad channel";
  switch (audience.kind) {
    case "all":
      return undefined;
    case "buyers":
      return typeof audience.productCode === "string" && audience.productCode.trim() !== "" ? undefined : "no product";
    case "period": {
      const from = new Date(audience.from).getTime();
      const to = new Date(audience.to).getTime();
      return Number.isFinite(from) && Number.isFinite(to) && from <= to ? undefined : "bad period";
    }
    case "lapsed":
      return Number.isInteger(audience.days) && audience.days >= 1 && audience.days <= 3650 ? undefined : "bad days";
    default:
      return "unknown kind";
  }
}

/** The customers (channel, user id) with paid orders the audience asks for, as a stream of groups. */
function buyerGroups(tenantId: Types.ObjectId, audience: Exclude<BroadcastAudience, { kind: "all" }>, timeZone: string, now: Date) {
  const match: Record<string, unknown> = { tenantId, status: { $in: PAID } };
  if (audience.channel) match["customer.channel"] = audience.channel;
  if (audience.kind === "buyers") match["items.code"] = audience.productCode;
  if (audience.kind === "period") {
    // The store's days, inclusive: from the start of `from`'s day to the start of the day after `to`.
    match.createdAt = { $gte: startOfStoreDay(new Date(audience.from), timeZone), $lt: startOfStoreDay(new Date(audience.to), timeZone, -1) };
  }
  const pipeline: Record<string, unknown>[] = [
    { $match: match },
    { $group: { _id: { channel: "$customer.channel", userId: "$customer.channelUserId" }, last: { $max: "$createdAt" } } },
  ];
  if (audience.kind === "lapsed") pipeline.push({ $match: { last: { $lt: new Date(now.getTime() - audience.days * 86_400_000) } } });
  return Order.aggregate<{ _id: { channel: string; userId: string } }>(pipeline as never[]).cursor({ batchSize: SLICE });
}

async function* reachableOf(tenantId: Types.ObjectId, keys: { channel: string; userId: string }[]): AsyncGenerator<AudienceMember> {
  const byChannel = new Map<string, string[]>();
  for (const key of keys) byChannel.set(key.channel, [...(byChannel.get(key.channel) ?? []), key.userId]);
  for (const [channel, userIds] of byChannel) {
    const found = await Customer.find({ tenantId, channel: channel as Channel, channelUserId: { $in: userIds }, ...REACHABLE }, FIELDS).lean<CustomerFields[]>().exec();
    for (const customer of found) yield memberOf(customer);
  }
}

/**
 * The audience's reachable customers, one at a time. Buyers without a customer record (none
 * should exist: every channel records who writes) cannot be checked for opt-out and are left out.
 */
export async function* audienceMembers(tenantId: string, audience: BroadcastAudience, timeZone: string, now: Date): AsyncGenerator<AudienceMember> {
  const tenant = new Types.ObjectId(tenantId);
  if (audience.kind === "all") {
    const cursor = Customer.find({ tenantId: tenant, ...REACHABLE, ...(audience.channel && { channel: audience.channel as Channel }) }, FIELDS)
      .sort({ _id: 1 })
      .lean<CustomerFields[]>()
      .cursor({ batchSize: SLICE });
    for await (const customer of cursor) yield memberOf(customer as unknown as CustomerFields);
    return;
  }
  let slice: { channel: string; userId: string }[] = [];
  for await (const group of buyerGroups(tenant, audience, timeZone, now)) {
    slice.push(group._id);
    if (slice.length >= SLICE) {
      yield* reachableOf(tenant, slice);
      slice = [];
    }
  }
  if (slice.length > 0) yield* reachableOf(tenant, slice);
}

/** How many the audience reaches now, by channel. */
export async function audienceSize(tenantId: string, audience: BroadcastAudience, timeZone: string, now: Date): Promise<{ total: number; byChannel: Record<string, number> }> {
  const byChannel: Record<string, number> = {};
  if (audience.kind === "all") {
    const groups = await Customer.aggregate<{ _id: string; n: number }>([
      { $match: { tenantId: new Types.ObjectId(tenantId), ...REACHABLE, ...(audience.channel && { channel: audience.channel }) } },
      { $group: { _id: "$channel", n: { $sum: 1 } } },
    ]).exec();
    for (const group of groups) byChannel[group._id] = group.n;
  } else {
    for await (const member of audienceMembers(tenantId, audience, timeZone, now)) byChannel[member.channel] = (byChannel[member.channel] ?? 0) + 1;
  }
  return { total: Object.values(byChannel).reduce((sum, n) => sum + n, 0), byChannel };
}
