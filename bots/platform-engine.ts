/**
 * The conversation engine and the outbox as the platform builds them, for `niaga start`
 * and `niaga chat` alike, so a conversation behaves the same in both: sessions and store
 * flows in MongoDB, the coordination's chat lock, members as sellers (and the platform's
 * owners everywhere), one log line per store.
 *
 * ```ts
 * const channels = new Channels();
 * const outbox = platformOutbox(channels);             // every send outside a turn
 * const engine = createPlatformEngine({ flows, config, coordination });
 * ```
 */
import { Outbox, createEngine, memberAudience, MongoSessionStore, MongoStoreFlows, withTimeout } from "../flows/engine/index.ts";
import type { Audience, Channels, Engine, EngineOptions, FlowBundle } from "../flows/engine/index.ts";
import { withPlatformOwners } from "../flows/tenant-admin/permissions.ts";
import type { Coordination } from "../storage/coordination.ts";
import { MaintenanceSwitch } from "../storage/maintenance.ts";
import type { Config } from "./config.ts";
import { platformOwners } from "./channels.ts";
import { tenantLogger } from "./logger.ts";

/** A send the channel has not answered within this long counts as failed (a delivery keeps its claim until it answers). */
export const SEND_TIMEOUT_MS = 60_000;

/** The one outbox: every message outside a turn goes through it, to the address's channel. */
export function platformOutbox(channels: Channels): Outbox {
  return new Outbox(channels).use(withTimeout(SEND_TIMEOUT_MS));
}

export interface PlatformEngineOptions {
  flows: FlowBundle;
  config: Pick<Config, "ownerChatIds">;
  coordination: Coordination;
  /** Everyone is this audience (`niaga chat --as`); by default members are sellers, the rest customers. */
  audience?: Audience;
  /** The channels of this process, for what each can show (`ctx.requireCapability`). */
  channels?: Pick<Channels, "get">;
  /** What the engine watches to hold messages while the database is down (`niaga start`). */
  outages?: EngineOptions["outages"];
  /** Hears each failure a user got an error id for (`niaga start` tells the owner). */
  onFailure?: EngineOptions["onFailure"];
  /** Maintenance mode (`/maintenance` in the owner bot); default: the saved switch, read every 3 s. */
  maintenance?: Pick<MaintenanceSwitch, "current">;
}

export function createPlatformEngine(opts: PlatformEngineOptions): Engine {
  const { audience } = opts;
  return createEngine({
    ...opts.flows,
    sessions: new MongoSessionStore(),
    lock: opts.coordination.lock,
    // The platform owner acts in every store as a seller (the admin flows check what they may do).
    audienceOf: audience ? () => audience : withPlatformOwners(memberAudience(), platformOwners(opts.config)),
    storeFlows: new MongoStoreFlows(),
    logFor: tenantLogger,
    ...(opts.outages && { outages: opts.outages }),
    ...(opts.onFailure && { onFailure: opts.onFailure }),
    pause: maintenancePause(opts.maintenance ?? new MaintenanceSwitch()),
    ...(opts.channels && { capabilitiesOf: (name: string) => opts.channels!.get(name)?.capabilities }),
  });
}

/**
 * While maintenance mode is on, customers get its text instead of a turn (no new orders);
 * members and the platform's owners go on as usual, and paid orders still deliver (the
 * outbox, not a turn, sends them).
 */
export function maintenancePause(maintenance: Pick<MaintenanceSwitch, "current">): NonNullable<EngineOptions["pause"]> {
  return async (_inbound, audience) => {
    if (audience !== "customer") return undefined;
    const state = await maintenance.current();
    if (!state.on) return undefined;
    return [{ text: state.text ? { inline: { id: state.text, en: state.text } } : { key: "ownerbot.maintenance.customer_default" } }];
  };
}
