// Every flow the platform runs, with the actions they call: what the composition root
// (the `niaga` CLI, the demo, the store bots) hands to `createEngine`. A new flow folder
// adds its bundle here.
import type { BroadcastService } from "./broadcast/contract.ts";
import { createBroadcastFlows } from "./broadcast/broadcast-flows.ts";
import { combineFlowBundles } from "./engine/flow-bundle.ts";
import type { FlowBundle } from "./engine/flow-bundle.ts";
import { createOrderingFlows } from "./ordering/catalog-flows.ts";
import type { OrderingFlowServices } from "./ordering/flow-services.ts";
import type { Ordering } from "./ordering/ordering.ts";
import { createAdminFlows } from "./tenant-admin/admin-flows.ts";
import type { AdminServices } from "./tenant-admin/admin-services.ts";
import { createTicketFlows, type TicketFlowServices } from "./ticketing/ticket-flows.ts";

export interface PlatformFlowServices {
  /**
   * The ordering domain (`createOrdering({ outbox, gateways, timers })`), or a getter for one
   * built later. Customers buy through it; sellers approve, reject, cancel and refund
   * through it (unless `admin.ordering` says otherwise).
   */
  ordering?: Ordering | (() => Ordering | undefined);
  /** The customer flows' other services (proof bytes, the demo's pay button). */
  storefront?: Omit<OrderingFlowServices, "ordering">;
  /** Seller administration's services (files, outbox, limiter, platform owners). */
  admin?: AdminServices;
  /** Ticketing (`createTicketing(…)`, or a getter); the platform owner comes from `admin`. */
  tickets?: TicketFlowServices["tickets"];
  /**
   * Broadcasting (`createBroadcasting(…)`, or a getter): `/siaran` for sellers, `/berhenti`
   * and `/langganan` for customers; the seller's image comes from `admin.files`. Without it
   * those commands say broadcasts are not available here.
   */
  broadcasts?: BroadcastService | (() => BroadcastService | undefined);
}

/**
 * The platform's flows with the services their actions use. Without services customers
 * can browse but not buy, and sellers cannot change orders (both are told so politely).
 *
 * ```ts
 * let ordering: Ordering | undefined;
 * const flows = createPlatformFlows({
 *   ordering: () => ordering,                              // set once wireDomain built it
 *   storefront: { files: channels },                        // proof bytes, from any channel
 *   admin: { files: channels, outbox, limiter: coordination.limiter, platformOwners: config.ownerChatIds },
 * });
 * ```
 */
export function createPlatformFlows(services: PlatformFlowServices = {}): Required<FlowBundle> {
  const { ordering } = services;
  return combineFlowBundles(
    createOrderingFlows({ ...services.storefront, ...(ordering && { ordering }) }),
    createAdminFlows({ ...(ordering && { ordering }), ...services.admin }),
    createTicketFlows({
      ...(services.tickets && { tickets: services.tickets }),
      ...(services.admin?.platformOwners && { platformOwners: services.admin.platformOwners }),
      ...(services.admin?.clock && { clock: services.admin.clock }),
    }),
    createBroadcastFlows({
      ...(services.broadcasts && { broadcasts: services.broadcasts }),
      ...(services.admin?.files && { files: services.admin.files }),
      ...(services.admin?.platformOwners && { platformOwners: services.admin.platformOwners }),
      ...(services.admin?.clock && { clock: services.admin.clock }),
    }),
  );
}

/** The flows without domain services: for validating stores' JSON flows, and `niaga chat` browsing. */
export const platformFlows = createPlatformFlows();
