// What the WhatsApp channel's tests share: the local WhatsApp Web, a store whose number is
// linked there (its creds saved in the real session store), and a channel over it.
import type { WASocket } from "baileys";
import { WhatsAppChannel } from "../../adapters/whatsapp/whatsapp-channel.ts";
import type { WhatsAppChannelOptions } from "../../adapters/whatsapp/whatsapp-channel.ts";
import type { StoreRef, WhatsAppSessionEvents } from "../../adapters/whatsapp/contract.ts";
import type { Engine, EngineLog } from "../../flows/engine/index.ts";
import { createMongoLeases } from "../../storage/leases.ts";
import type { Leases } from "../../storage/leases.ts";
import { createMongoWhatsAppSessionStore } from "../../storage/whatsapp/auth-state.ts";
import { createMongoWhatsAppIdentities } from "../../storage/whatsapp/identities.ts";
import { createMongoWhatsAppMessageLog } from "../../storage/whatsapp/message-log.ts";
import type { WhatsAppIdentities, WhatsAppMessageLog } from "../../storage/whatsapp/types.ts";
import { seedStore } from "../support/stores.ts";
import { linkStoreNumber } from "../support/whatsapp-stores.ts";
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
  await linkStoreNumber(wa, store.tenant, phone);
  return store;
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

/** No pauses: the pacing is tested on its own. */
export const FAST_PACING = { gapMinMs: 0, gapMaxMs: 0, typingMsPerChar: 0, typingMinMs: 0, typingMaxMs: 0 };

export interface ChannelSetup {
  channel: WhatsAppChannel;
  leases: Leases;
  messages: WhatsAppMessageLog;
  identities: WhatsAppIdentities;
  events: ReturnType<typeof recordedEvents>;
}

/** A channel on `wa` with fast timings; `overrides` replace any option. */
export function openChannel(wa: LocalWhatsAppWeb, engine: Engine, overrides: Partial<WhatsAppChannelOptions> = {}): ChannelSetup {
  const leases = overrides.leases ?? createMongoLeases();
  const messages = createMongoWhatsAppMessageLog();
  const identities = createMongoWhatsAppIdentities();
  const events = recordedEvents();
  const channel = new WhatsAppChannel({
    engine,
    leases,
    leaseMs: 15_000,
    store: createMongoWhatsAppSessionStore(),
    messages,
    identities,
    pacing: FAST_PACING,
    socket: { webSocketUrl: wa.url, fetchAgent: wa.httpsAgent, connectTimeoutMs: 5000, watchdogMs: 3000, unreachableAfterMs: 2000, lifecycle: { baseMs: 200, maxMs: 1000, replacedRetryMs: 200 } },
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
