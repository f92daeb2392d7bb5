import { Schema, Types, model } from "mongoose";
import { tenantScoped } from "../tenant-scope.ts";

/**
 * Who changed what, when and from where. Written for every admin mutation; values pass
 * through `redactForAudit` first so secrets (tokens, stock payloads) never land here.
 */
/** Who acted: a member on a channel, a CLI user, or the platform owner in the owner bot. */
export const AUDIT_ACTOR = {
  channel: { type: String, required: true },
  userId: { type: String, required: true },
  name: { type: String },
} as const;

const auditLogSchema = new Schema({
  actor: AUDIT_ACTOR,
  action: { type: String, required: true, maxlength: 64 },
  target: {
    type: { type: String, required: true, maxlength: 64 },
    id: { type: String, maxlength: 128 },
  },
  before: { type: Schema.Types.Mixed },
  after: { type: Schema.Types.Mixed },
  at: { type: Date, required: true, default: () => new Date() },
  where: { type: String, required: true, maxlength: 64 },
});
auditLogSchema.plugin(tenantScoped);
auditLogSchema.index({ tenantId: 1, at: -1 });

export const AuditLog = model("AuditLog", auditLogSchema);

const SECRET_KEY = /token|secret|password|passwd|credential|creds|payload|proof|apikey|api_key|encryptionkey/i;

export function redactForAudit(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactForAudit);
  if (value instanceof Date || value instanceof Types.ObjectId) return value;
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) ? "[REDACTED]" : redactForAudit(v)]),
    );
  }
  return value;
}

export interface AuditEntry {
  tenantId: Types.ObjectId;
  actor: { channel: string; userId: string; name?: string };
  action: string;
  target: { type: string; id?: string };
  before?: unknown;
  after?: unknown;
  where: string;
}

export async function recordAudit(entry: AuditEntry): Promise<void> {
  await AuditLog.create({
    ...entry,
    before: redactForAudit(entry.before),
    after: redactForAudit(entry.after),
    at: new Date(),
  });
}
