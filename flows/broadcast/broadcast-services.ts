// What the broadcast flows need from outside the engine, injected by the composition root:
// the broadcast domain (`createBroadcasting`), the files sellers send (the image), and who
// the platform owner is. Without the domain every broadcast command answers politely that
// broadcasts are not available here.
import type { ActionContext } from "../engine/actions.ts";
import type { Outbound, UserFiles } from "../engine/index.ts";
import type { Actor, PlatformOwners } from "../tenant-admin/permissions.ts";
import { recordedActor, say } from "../tenant-admin/admin-access.ts";
import type { BroadcastActor, BroadcastResult, BroadcastService } from "./contract.ts";

export interface BroadcastFlowServices {
  /** The broadcast domain, or a getter for one built after the flows. */
  broadcasts?: BroadcastService | (() => BroadcastService | undefined);
  /** Where a seller's photo is fetched from (`Channels`); without it the image step is skipped. */
  files?: UserFiles;
  platformOwners?: PlatformOwners;
  clock?: () => Date;
}

export interface ResolvedBroadcastServices {
  broadcasts(): BroadcastService | undefined;
  files?: UserFiles;
  platformOwners?: PlatformOwners;
  now(): Date;
}

export function resolveBroadcastServices(services: BroadcastFlowServices): ResolvedBroadcastServices {
  const { broadcasts } = services;
  return {
    broadcasts: () => (typeof broadcasts === "function" ? broadcasts() : broadcasts),
    ...(services.files && { files: services.files }),
    ...(services.platformOwners && { platformOwners: services.platformOwners }),
    now: services.clock ?? (() => new Date()),
  };
}

/** The member as the broadcast's audit records them. */
export function broadcastActor(actor: Actor): BroadcastActor {
  return recordedActor(actor);
}

/** The customer as opt-out knows them: their user on their channel. */
export function subscriberOf(ctx: Pick<ActionContext, "channel" | "user">): { channel: string; userId: string } {
  return { channel: ctx.channel, userId: ctx.user.id };
}

/** Why the domain refused, as the seller reads it. */
export function refusal(result: Extract<BroadcastResult, { ok: false }>, number?: number): Outbound {
  return say(`broadcast.refused.${result.reason}`, { number: number ?? "", limit: result.limit ?? "", size: result.size ?? "" });
}
