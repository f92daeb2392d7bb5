// A customer's say over a store's broadcasts: `/berhenti` (`/unsubscribe`, also the button
// under every broadcast message) stops them from the next message on; `/langganan`
// (`/subscribe`) brings them back. Both are safe to repeat and say which state the customer
// is in. A WhatsApp customer typing just "STOP" or "BERHENTI" is heard too.
import type { ActionRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import { say, stop } from "../tenant-admin/admin-access.ts";
import { BROADCAST_COMMANDS } from "./contract.ts";
import { subscriberOf, type ResolvedBroadcastServices } from "./broadcast-services.ts";

export const optOutFlow = defineFlow({
  id: "broadcast-opt-out",
  triggers: { commands: [BROADCAST_COMMANDS.stop, "unsubscribe"], keywords: { id: ["berhenti", "stop"], en: ["stop", "unsubscribe"] } },
  help: "broadcast.help.stop",
  steps: { optOut: { kind: "action", action: "broadcastOptOut" } },
});

export const optInFlow = defineFlow({
  id: "broadcast-opt-in",
  triggers: { commands: [BROADCAST_COMMANDS.subscribe, "subscribe"] },
  help: "broadcast.help.subscribe",
  steps: { optIn: { kind: "action", action: "broadcastOptIn" } },
});

export const subscriptionFlows = [optOutFlow, optInFlow];

export function subscriptionActions(services: ResolvedBroadcastServices): ActionRegistry {
  return {
    broadcastOptOut: async (ctx) => {
      const broadcasts = services.broadcasts();
      if (!broadcasts) return stop(say("broadcast.unavailable"));
      const changed = await broadcasts.optOut(ctx.tenant.id, subscriberOf(ctx));
      return stop(say(changed ? "broadcast.subscription.stopped" : "broadcast.subscription.already_stopped", { store: ctx.tenant.name, command: BROADCAST_COMMANDS.subscribe }));
    },
    broadcastOptIn: async (ctx) => {
      const broadcasts = services.broadcasts();
      if (!broadcasts) return stop(say("broadcast.unavailable"));
      const changed = await broadcasts.optIn(ctx.tenant.id, subscriberOf(ctx));
      return stop(say(changed ? "broadcast.subscription.subscribed" : "broadcast.subscription.already_subscribed", { store: ctx.tenant.name, command: BROADCAST_COMMANDS.stop }));
    },
  };
}
