// A store bot on the platform's own commerce with an owner and an admin: apart from
// store-fixture.ts so the Telegram tests that do not need the whole platform do not load it.
import { randomBytes } from "node:crypto";
import type { User } from "grammy/types";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import { createCommerce, type CommerceOptions } from "../../bots/commerce.ts";
import { Channels, Outbox } from "../../flows/engine/index.ts";
import { memberAudience } from "../../flows/engine/audience.ts";
import { createEngine } from "../../flows/engine/engine.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { roleMayStart } from "../../flows/tenant-admin/admin-flows.ts";
import { Member } from "../../storage/models/index.ts";
import { startStores, type Store, type Stores } from "./store-fixture.ts";

/**
 * A store bot on the platform's own commerce (every flow, `commerce` options as given) with an
 * owner and an admin, both members in Telegram with their chats open: what the store-bot tests
 * of linking (WhatsApp, Discord) start from.
 */
export async function ownerAndAdminStore(
  name: string,
  commerce: Omit<CommerceOptions, "outbox" | "files" | "encryptionKey" | "payPageUrl">,
): Promise<{ stores: Stores; store: Store; owner: User; admin: User }> {
  const channels = new Channels();
  const { flows } = createCommerce({ outbox: new Outbox(channels), files: channels, encryptionKey: randomBytes(32), payPageUrl: () => "http://127.0.0.1:9", ...commerce });
  const engine = createEngine({ ...flows, sessions: new MongoSessionStore(), audienceOf: memberAudience() });
  const stores = await startStores({ engine, sellerMenu: roleMayStart });
  channels.add(new TelegramChannel(stores.bots));
  const store = await stores.createStore({ name });
  const owner = stores.user({ first_name: "Pemilik" });
  const admin = stores.user({ first_name: "Admin" });
  await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(owner.id), role: "owner", displayName: "Pemilik" } as never);
  await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(admin.id), role: "admin", displayName: "Admin" } as never);
  for (const user of [owner, admin]) stores.tg.openChat(store.token, user);
  await stores.bots.start(store.id);
  return { stores, store, owner, admin };
}
