// `/audit [N]`: the latest changes made in the store — who, what, on what, from and to —
// in the store's time zone. Values were redacted when they were recorded.
import { Types } from "mongoose";
import type { ActionRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { t } from "../../locales/i18n.ts";
import { AuditLog } from "../../storage/models/index.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { adminAction, adminGuard, commandArgs, say, stop } from "./admin-access.ts";
import type { ResolvedAdminServices } from "./admin-services.ts";

export const auditFlow = defineFlow({
  id: "admin-audit",
  guard: adminGuard("audit.read"),
  audience: "seller",
  triggers: { commands: ["audit"] },
  help: "admin.help.audit",
  steps: {
    list: { kind: "action", action: "adminAuditLog" },
  },
});

const DEFAULT_ENTRIES = 10;
const MAX_ENTRIES = 50;
const MAX_VALUE_CHARS = 120;

interface StoredEntry {
  actor: { channel: string; userId: string; name?: string };
  action: string;
  target: { type: string; id?: string };
  before?: unknown;
  after?: unknown;
  at: Date;
  where: string;
}

function compact(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

export function auditActions(services: ResolvedAdminServices): ActionRegistry {
  return {
    adminAuditLog: adminAction(services, "audit.read", async (ctx) => {
      const args = commandArgs(ctx);
      if (args !== "" && !/^\d{1,3}$/.test(args)) return stop(say("admin.usage.audit", { max: MAX_ENTRIES }));
      const count = args === "" ? DEFAULT_ENTRIES : Math.min(Math.max(Number(args), 1), MAX_ENTRIES);
      const [entries, store] = await Promise.all([
        AuditLog.find({ tenantId: new Types.ObjectId(ctx.tenant.id) }).sort({ at: -1 }).limit(count).lean<StoredEntry[]>().exec(),
        storeSettings(ctx.tenant.id),
      ]);
      if (entries.length === 0) return stop(say("admin.audit.none"));
      const timeZone = store?.timezone ?? "Asia/Jakarta";
      const lines = entries.map((e) => {
        const change =
          e.before !== undefined || e.after !== undefined
            ? t(ctx.locale, "admin.audit.change", { before: e.before === undefined ? "–" : compact(e.before), after: e.after === undefined ? "–" : compact(e.after) })
            : "";
        return t(ctx.locale, "admin.audit.line", {
          at: formatWhen(e.at, { locale: ctx.locale, timeZone, style: "compact" }),
          who: e.actor.name ? `${e.actor.name} (${e.actor.channel} ${e.actor.userId})` : `${e.actor.channel} ${e.actor.userId}`,
          action: e.action,
          target: e.target.id !== undefined ? `${e.target.type} ${e.target.id}` : e.target.type,
          change,
        });
      });
      return stop(say("admin.audit.list", { count: entries.length, lines: lines.join("\n") }));
    }),
  };
}
