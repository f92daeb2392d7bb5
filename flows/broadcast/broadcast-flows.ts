// Broadcasting as engine flows: the sellers' `/siaran` (owners and admins, `broadcast.send`)
// and the customers' `/berhenti` and `/langganan`, and the bundle the composition root
// registers. The seller's flow uses seller administration's `admin` guard.
import type { FlowBundle } from "../engine/flow-bundle.ts";
import { resolveBroadcastServices, type BroadcastFlowServices } from "./broadcast-services.ts";
import { composeActions, composeFlow, composeValidators } from "./seller-broadcast-flows.ts";
import { subscriptionActions, subscriptionFlows } from "./subscription-flows.ts";

export type { BroadcastFlowServices } from "./broadcast-services.ts";

/** Every broadcast flow; the seller's declares its permission in its guard. */
export const broadcastFlows = [composeFlow, ...subscriptionFlows];

/**
 * The broadcast flows with the broadcast domain behind their actions. Without `broadcasts`
 * every broadcast command answers that broadcasts are not available here.
 *
 * ```ts
 * const bundle = createBroadcastFlows({ broadcasts: () => commerce.broadcasts, files: channels, platformOwners });
 * ```
 */
export function createBroadcastFlows(services: BroadcastFlowServices = {}): FlowBundle {
  const resolved = resolveBroadcastServices(services);
  return {
    flows: broadcastFlows,
    actions: { ...composeActions(resolved), ...subscriptionActions(resolved) },
    validators: composeValidators(resolved),
  };
}
