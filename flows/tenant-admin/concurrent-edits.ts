// Two members editing the same product or the store's terms (SNK) at once (seed 004 §8):
// each edit remembers what it started from and saves only if that is still so. When it is
// not, nothing is overwritten: the seller is shown the value now and who changed it (from
// the audit log), and the platform owner hears of it through `onConcurrentEdit`.
import { Types } from "mongoose";
import type { ActionContext } from "../engine/actions.ts";
import { AuditLog } from "../../storage/models/index.ts";
import type { ConcurrentEdit, ResolvedAdminServices } from "./admin-services.ts";
import { recordedActor } from "./admin-access.ts";
import type { Actor } from "./permissions.ts";

export type { ConcurrentEdit, OnConcurrentEdit } from "./admin-services.ts";

/** The member whose change to `target` the audit log holds last; "?" when it holds none. */
async function lastEditorOf(tenantId: string, target: { type: string; id: string }, action?: string): Promise<string> {
  const entry = await AuditLog.findOne({ tenantId: new Types.ObjectId(tenantId), "target.type": target.type, "target.id": target.id, ...(action && { action }) })
    .sort({ at: -1 })
    .lean()
    .exec();
  return entry?.actor ? (entry.actor.name ?? entry.actor.userId) : "?";
}

/**
 * An edit found its target changed since it started: finds who changed it, tells the owner,
 * and returns that member's name for the seller's message.
 */
export async function concurrentEdit(
  services: Pick<ResolvedAdminServices, "onConcurrentEdit">,
  ctx: Pick<ActionContext, "tenant">,
  actor: Actor,
  target: ConcurrentEdit["target"],
  audited: { type: string; id: string; action?: string },
): Promise<string> {
  const first = await lastEditorOf(ctx.tenant.id, audited, audited.action);
  const second = recordedActor(actor).name ?? actor.userId;
  // The wiring logs its own failures; the seller's answer never waits for the owner's.
  void Promise.resolve()
    .then(() => services.onConcurrentEdit?.({ tenantId: ctx.tenant.id, target, first, second }))
    .catch(() => undefined);
  return first;
}
