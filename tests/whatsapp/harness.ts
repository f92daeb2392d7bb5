// What the WhatsApp channel's tests share: the local WhatsApp Web, a store whose number is
// linked there (its creds saved in the real session store), and a channel over it.
import type { WASocket } from "baileys";
import { WhatsAppChannel } from "../../adapters/whatsapp/whatsapp-channel.ts";
import type { WhatsAppChannelOptions } from "../../adapters/whatsapp/whatsapp-channel.ts";
import type { ChatPace } from "../../adapters/whatsapp/store-chats.ts";
import type { StoreRef, WhatsAppSessionEvents } from "../../adapters/whatsapp/contract.ts";
import type { Engine, EngineLog } from "../../flows/engine/index.ts";
import { createMongoLeases } from "../../storage/leases.ts";
import type { Leases } from "../../storage/leases.ts";
import { Tenant } from "../../storage/models/index.ts";
import { createMongoWhatsAppSessionStore } from "../../storage/whatsapp/auth-state.ts";
import type { WhatsAppAddresses, WhatsAppIdentities, WhatsAppMessageLog } from "../../storage/whatsapp/types.ts";
import { seedStore } from "../support/stores.ts";
import type { SeededStore, SeedStoreOptions } from "../support/stores.ts";
import type { LocalWhatsAppWeb } from "../support/whatsapp-web/index.ts";

export const quiet: EngineLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

let phones = 0;
/** A store number no other test of the run uses. */
export function newPhone(): string {
  phones += 1;
  return `62812${String(process.pid % 10_000).padStart(4, "0")}${String(phones).padStart(4, "0")}`;
}

/** Saves a store whose number `phone` is linked at `wa`: creds in the session store, status `linked`. */
export async function seedLinkedStore(wa: LocalWhatsAppWeb, phone: string, options: SeedStoreOptions = {}): Promise<SeededStore> {
  const store = await seedStore(options);
  const sessions = createMongoWhatsAppSessionStore();
  const auth = await sessions.open({ tenantId: store.id, epoch: 0 });
  Object.assign(auth.state.creds, wa.linkedCreds(phone));
  await auth.saveCreds();
  await auth.settled();
  await Tenant.updateOne({ _id: store.tenant }, { $set: { "channels.whatsapp.status": "linked", "channels.whatsapp.phone": phone, "channels.whatsapp.linkedAt": new Date() } }).exec();
  return store;
}

/** One send at a time per number, no gaps: the pacing itself is tested on its own. */
export function serialPace(): ChatPace {
  let tail: Promise<unknown> = Promise.resolve();
  let inFlight = 0;
  return {
    stopped: false,
    failed: () => undefined,
    paced<T>(_chars: number, typing: (state: "composing" | "paused") => Promise<void>, send: () => Promise<T>): Promise<T> {
      inFlight += 1;
      const run = tail.then(async () => {
        await typing("composing").catch(() => undefined);
        await typing("paused").catch(() => undefined);
        return send();
      });
      tail = run.catch(() => undefined).finally(() => (inFlight -= 1));
      return run;
    },
    drain: () => tail.then(() => undefined),
    get inFlight() {
      return inFlight;
    },
  } as ChatPace;
}

/** The message log, in memory, as the channel uses it. */
export function memoryMessageLog(): WhatsAppMessageLog & { claims: Map<string, number> } {
  const claims = new Map<string, number>();
  const sent = new Map<string, unknown>();
  const receipts = new Map<string, { deliveredAt?: Date; readAt?: Date }>();
  return {
    claims,
    claimInbound(tenantId, messageId) {
      const key = `${tenantId}/${messageId}`;
      const n = (claims.get(key) ?? 0) + 1;
      claims.set(key, n);
      return Promise.resolve(n === 1);
    },
    rememberSent(tenantId, messageId, _to, message) {
      sent.set(`${tenantId}/${messageId}`, message);
      return Promise.resolve();
    },
    sentMessage: (tenantId, messageId) => Promise.resolve(sent.get(`${tenantId}/${messageId}`)),
    recordReceipt(tenantId, messageId, status, at) {
      const key = `${tenantId}/${messageId}`;
      receipts.set(key, { ...receipts.get(key), [status === "read" ? "readAt" : "deliveredAt"]: at });
      return Promise.resolve();
    },
    receipts: (tenantId, messageId) => Promise.resolve(receipts.get(`${tenantId}/${messageId}`)),
  };
}

/** Customers' identities, in memory: the phone-number jid is the stable id once known. */
export function memoryIdentities(): WhatsAppIdentities {
  const byAddress = new Map<string, string>();
  const replyTo = new Map<string, string>();
  const idOf = (tenantId: string, a: WhatsAppAddresses) => (a.pn && byAddress.get(`${tenantId}/${a.pn}`)) || (a.lid && byAddress.get(`${tenantId}/${a.lid}`)) || (a.pn ?? a.lid ?? "").split("@")[0];
  return {
    resolve(tenantId, addresses, jid) {
      const id = idOf(tenantId, addresses);
      for (const address of [addresses.pn, addresses.lid]) if (address) byAddress.set(`${tenantId}/${address}`, id);
      replyTo.set(`${tenantId}/${id}`, jid);
      return Promise.resolve(id);
    },
    link(tenantId, lid, pn) {
      const id = idOf(tenantId, { lid, pn });
      byAddress.set(`${tenantId}/${lid}`, id);
      byAddress.set(`${tenantId}/${pn}`, id);
      return Promise.resolve();
    },
    replyJid: (tenantId, customerId) => Promise.resolve(replyTo.get(`${tenantId}/${customerId}`)),
  };
}

/** Every session event, in order, with the store's slug. */
export function recordedEvents(): WhatsAppSessionEvents & { seen: string[] } {
  const seen: string[] = [];
  const note = (what: string) => (store: StoreRef) => void seen.push(`${what}:${store.slug}`);
  return {
    seen,
    onLinked: note("linked"),
    onLoggedOut: note("logged-out"),
    onRestricted: (store, detail) => void seen.push(`restricted:${store.slug}:${detail.code ?? ""}`),
    onSlowed: note("slowed"),
    onUnreachable: note("unreachable"),
    onReconnected: note("reconnected"),
  };
}

export interface ChannelSetup {
  channel: WhatsAppChannel;
  leases: Leases;
  messages: WhatsAppMessageLog & { claims: Map<string, number> };
  identities: WhatsAppIdentities;
  events: ReturnType<typeof recordedEvents>;
}

/** A channel on `wa` with fast timings; `overrides` replace any option. */
export function openChannel(wa: LocalWhatsAppWeb, engine: Engine, overrides: Partial<WhatsAppChannelOptions> = {}): ChannelSetup {
  const leases = overrides.leases ?? createMongoLeases();
  const messages = memoryMessageLog();
  const identities = memoryIdentities();
  const events = recordedEvents();
  const channel = new WhatsAppChannel({
    engine,
    leases,
    leaseMs: 15_000,
    store: createMongoWhatsAppSessionStore(),
    messages,
    identities,
    paceFor: () => serialPace(),
    socket: { webSocketUrl: wa.url, connectTimeoutMs: 5000, watchdogMs: 3000, unreachableAfterMs: 2000, lifecycle: { baseMs: 200, maxMs: 1000, replacedRetryMs: 200 } },
    events,
    log: quiet,
    ...overrides,
  });
  return { channel, leases, messages, identities, events };
}

/** The open socket of a store's session in `channel`, if any. */
export function socketOf(channel: WhatsAppChannel, tenantId: string): WASocket | undefined {
  return channel.sessions.running(tenantId)?.socket;
}
