import { Schema, model } from "mongoose";
import { AUDIT_ACTOR, redactForAudit } from "./audit-log.ts";

/**
 * Who changed what on the platform as a whole (`platform_audit`): maintenance mode, muted
 * alerts — what belongs to no one store. A store's own changes go to its `AuditLog`.
 * Values pass through `redactForAudit` like the stores' audit.
 */
const platformAuditSchema = new Schema(
  {
    actor: AUDIT_ACTOR,
    action: { type: String, required: true, maxlength: 64 },
    target: { type: String, maxlength: 128 },
    before: { type: Schema.Types.Mixed },
    after: { type: Schema.Types.Mixed },
    at: { type: Date, required: true, default: () => new Date() },
    where: { type: String, required: true, maxlength: 64 },
  },
  { collection: "platform_audit" },
);
platformAuditSchema.index({ at: -1 });

export const PlatformAudit = model("PlatformAudit", platformAuditSchema);

export interface PlatformAuditEntry {
  actor: { channel: string; userId: string; name?: string };
  action: string;
  target?: string;
  before?: unknown;
  after?: unknown;
  where: string;
}

export async function recordPlatformAudit(entry: PlatformAuditEntry): Promise<void> {
  await PlatformAudit.create({ ...entry, before: redactForAudit(entry.before), after: redactForAudit(entry.after), at: new Date() });
}
