/**
 * How the domain plugs into the platform process (`startPlatform`): what it is given before
 * the engine and the channels exist, and what it hands back. `wireCommerce` (commerce.ts)
 * is the platform's; tests pass their own.
 */
import type { AlertSink } from "../admin-bot/owner-alerts.ts";
import type { Channels, Engine, FlowBundle, Outbox } from "../flows/engine/index.ts";
import type { TicketService } from "../flows/ticketing/contract.ts";
import type { Coordination } from "../storage/coordination.ts";
import type { Config } from "./config.ts";
import type { PlatformHttp } from "./http-server.ts";
import type { PlatformScheduler } from "./scheduler.ts";

/** What the domain's wiring gets: the services that exist before the engine and the channels. */
export interface DomainServices {
  readonly config: Config;
  readonly coordination: Coordination;
  /** Not listening yet: mount routes (payment webhooks, pay pages). */
  readonly http: PlatformHttp;
  /**
   * The channels of this process (users' files, membership changes). Empty until the
   * engine exists; they join and start after the wiring ran.
   */
  readonly channels: Channels;
  /** Every send outside a turn (deliveries, alerts, reminders); sends once `started` ran. */
  readonly outbox: Outbox;
  /** Not started yet: define jobs now; they run once the platform is up. */
  readonly scheduler: PlatformScheduler;
  /** Tells the platform owner (the owner bot) what went wrong; never a store's members. */
  readonly alerts: AlertSink;
}

/** Everything the running platform is made of. */
export interface PlatformServices extends DomainServices {
  readonly engine: Engine;
}

/** What a wiring hands back. */
export interface DomainAttachment {
  /** Every flow the engine runs, with the domain behind their actions (instead of the service-less `platformFlows`). */
  flows?: FlowBundle;
  /** Customers' tickets, for channels that show them outside the engine (staff answering in a Discord ticket thread). */
  tickets?: TicketService;
  /** After the channels and the scheduler started: schedule recurring jobs, recover undelivered orders. */
  started?(services: PlatformServices): Promise<void>;
  /** First thing on shutdown, before the channels stop: what is under way finishes within `graceMs`. */
  stop?(graceMs: number): Promise<void>;
}

/**
 * The one place the domain plugs into the platform: ordering (`createOrdering` with the
 * `outbox` and `orderJobTimers(scheduler.agenda)`), its jobs (`defineOrderJobs`), its payment
 * routes, the owner bot. Runs before the engine is made and before anything takes work.
 */
export type DomainWiring = (services: DomainServices) => Promise<DomainAttachment | void> | DomainAttachment | void;
