// `/sla`: the store's SLA targets as they are; `/sla tinggi 60 1440` (`/sla high 60 1440`)
// sets one priority's first-response and resolution minutes, the others kept. For owners
// and admins (`settings.write`), audited like every setting.
import type { ActionRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { Locale } from "../engine/message.ts";
import { t } from "../../locales/i18n.ts";
import { adminAction, adminGuard, auditWhere, commandArgs, recordedActor, say, stop } from "../tenant-admin/admin-access.ts";
import type { ResolvedAdminServices } from "../tenant-admin/admin-services.ts";
import { TICKET_PRIORITIES, type SlaTargets, type TicketPriority } from "./contract.ts";
import { setSlaTargets, storeSlaTargets } from "./sla.ts";
import { priorityName } from "./ticket-notices.ts";
import { formatMinutes } from "./ticket-report.ts";

export const slaSettingsFlow = defineFlow({
  id: "admin-sla",
  guard: adminGuard("settings.write"),
  audience: "seller",
  triggers: { commands: ["sla"] },
  help: "tickets.help.sla",
  steps: {
    sla: { kind: "action", action: "adminSlaTargets" },
  },
});

const PRIORITY_WORDS: Record<string, TicketPriority> = {
  normal: "normal",
  biasa: "normal",
  tinggi: "high",
  high: "high",
  kritis: "critical",
  critical: "critical",
};

function targetLines(locale: Locale, targets: SlaTargets): string {
  return TICKET_PRIORITIES.map((p) =>
    t(locale, "tickets.sla.line", { priority: priorityName(locale, p), firstResponse: formatMinutes(locale, targets[p].firstResponseMinutes), resolution: formatMinutes(locale, targets[p].resolutionMinutes) }),
  ).join("\n");
}

export function slaSettingsActions(services: ResolvedAdminServices): ActionRegistry {
  return {
    adminSlaTargets: adminAction(services, "settings.write", async (ctx, actor) => {
      const current = await storeSlaTargets(ctx.tenant.id);
      const args = commandArgs(ctx).toLowerCase().split(/\s+/).filter(Boolean);
      if (args.length === 0) return stop(say("tickets.sla.current", { targets: targetLines(ctx.locale, current) }));
      const priority = PRIORITY_WORDS[args[0]!];
      const [firstResponse, resolution] = args.slice(1).map(Number);
      if (!priority || args.length !== 3 || !Number.isInteger(firstResponse) || !Number.isInteger(resolution)) return stop(say("tickets.sla.usage"));
      const result = await setSlaTargets(ctx.tenant.id, { ...current, [priority]: { firstResponseMinutes: firstResponse, resolutionMinutes: resolution } }, recordedActor(actor), auditWhere(ctx));
      if (!result.ok) return stop(say("tickets.sla.invalid"));
      return stop(say("tickets.sla.saved", { targets: targetLines(ctx.locale, result.targets) }));
    }),
  };
}
