// A store's sellers and customers talking to the platform's flows with the broadcast domain
// behind them: members at the console (their progress messages land on a recording console
// channel), customers on a recording Telegram channel, the broadcast runner run by hand.
import assert from "node:assert/strict";
import { Types } from "mongoose";
import { Broadcast, BroadcastRecipient, createBroadcasting, type Broadcasting } from "../../flows/broadcast/index.ts";
import { broadcastProgress, type ProgressOptions } from "../../flows/broadcast/progress-notices.ts";
import type { EngineLog } from "../../flows/engine/actions.ts";
import type { Engine } from "../../flows/engine/engine.ts";
import type { ChannelAddress, ChannelCapabilities, Outbound, Outbox, SendOptions, SendReport } from "../../flows/engine/index.ts";
import type { InboundTenant } from "../../flows/engine/message.ts";
import { Tenant, type Role } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { seedCustomers, type SeededCustomer } from "../support/broadcast-audience.ts";
import { RecordingChannel, recordingOutbox } from "../support/recording-outbox.ts";
import { adminEngine, person, seedShop, type ChatUser } from "../tenant-admin/admin-fixture.ts";

/** The moment the tests live in: 3 December 2026, noon in Jakarta. */
export const NOW = new Date("2026-12-03T05:00:00Z");

/** A channel whose messages can be edited in place, counting the edits (as Telegram's editMessageText). */
export class EditingChannel extends RecordingChannel {
  readonly edits: { to: ChannelAddress; messageId: string; outbound: Outbound }[] = [];

  edit(to: ChannelAddress, messageId: string, outbound: Outbound, _options?: Pick<SendOptions, "locale">): Promise<SendReport> {
    this.edits.push({ to, messageId, outbound });
    return Promise.resolve({ ok: true, sent: 1, messages: [{ status: "sent", messageIds: [messageId] }] });
  }
}

export interface BroadcastWorld {
  shop: InboundTenant & { tenant: Types.ObjectId };
  engine: Engine;
  broadcasting: Broadcasting;
  outbox: Outbox;
  /** Where customers are messaged. */
  telegram: RecordingChannel;
  /** Where the sellers follow their broadcasts. */
  console: RecordingChannel;
  customers: SeededCustomer[];
  clock: { now: Date };
  member(userId: string): ChatUser;
  customer(customer: SeededCustomer): ChatUser;
  /** Runs the broadcast runner once every broadcast sent "now" has fixed its recipients (that starts in the background). */
  deliver(): Promise<void>;
  /** The texts customers received from broadcasts, by their user id. */
  received(): Map<string, string[]>;
  logs: string[];
}

export async function broadcastWorld(opts: {
  members?: Record<string, Role>;
  customers?: number;
  timezone?: string;
  limits?: { perDay?: number; maxRecipients?: number };
  sellerChannel?: Partial<ChannelCapabilities> & { edits?: boolean };
  progress?: ProgressOptions;
} = {}): Promise<BroadcastWorld> {
  // The runner works every store's broadcasts: an earlier test's must not reach this one's outbox.
  await Broadcast.deleteMany({}).setOptions({ crossTenant: true }).exec();
  await BroadcastRecipient.deleteMany({}).setOptions({ crossTenant: true }).exec();
  const shop = await seedShop({ name: "Toko Siaran", members: opts.members ?? { "owner-1": "owner" } });
  const tenant = new Types.ObjectId(shop.id);
  await Tenant.updateOne(
    { _id: tenant },
    { $set: { timezone: opts.timezone ?? "Asia/Jakarta", ...(opts.limits && { "limits.broadcast": opts.limits }) } },
  ).exec();
  const customers = await seedCustomers({ ...shop, tenantId: shop.id, tenant, products: {} }, opts.customers ?? 3, { channel: "telegram" });
  const { outbox, channels, channel: telegram } = recordingOutbox({ channel: "telegram" });
  const { edits = true, ...capabilities } = opts.sellerChannel ?? {};
  const console = edits ? new EditingChannel("console", capabilities) : new RecordingChannel("console", { ...capabilities, messageEdits: false });
  channels.add(console);
  const clock = { now: NOW };
  const logs: string[] = [];
  const log: EngineLog = { info: () => undefined, warn: (m) => logs.push(m), error: (m) => logs.push(m) };
  const progress = broadcastProgress(outbox, () => broadcasting, log, { minEditIntervalMs: 0, capabilitiesOf: (name) => channels.get(name)?.capabilities, ...opts.progress });
  const broadcasting = createBroadcasting({ outbox, clock: () => clock.now, onEvent: progress, progressEveryMs: 0 });
  const { engine } = adminEngine({ files: channels, clock: () => clock.now, adminRateLimit: { limit: 10_000, windowMs: 60_000 } }, undefined, broadcasting);
  return {
    shop: { ...shop, tenant },
    engine,
    broadcasting,
    outbox,
    telegram,
    console,
    customers,
    clock,
    logs,
    member: (userId) => person(engine, shop, userId),
    customer: (c) => person(engine, shop, c.channelUserId, { channel: c.channel }),
    deliver: async () => {
      await eventually(async () => !(await Broadcast.exists({ status: "preparing" }).setOptions({ crossTenant: true }).exec()), "the broadcast's recipients to be fixed");
      await broadcasting.runOnce();
    },
    received: () => {
      const byUser = new Map<string, string[]>();
      for (const { to, outbound } of telegram.delivered()) {
        const text = "inline" in outbound.text ? Object.values(outbound.text.inline).join("") : String(outbound.text.params?.body ?? outbound.text.key);
        byUser.set(to.chatId, [...(byUser.get(to.chatId) ?? []), text]);
      }
      return byUser;
    },
  };
}

/** Writes a text-only broadcast to everyone, up to the send/schedule/keep/drop question. */
export async function composeToAll(owner: ChatUser, text: string): Promise<void> {
  await owner.say("/siaran");
  await owner.press("new");
  await owner.say(text);
  await owner.press("skip");
  await owner.press("done");
  await owner.press("all");
  assert.deepEqual(owner.choiceIds, ["now", "schedule", "draft", "drop"], owner.keys.join(", "));
}
