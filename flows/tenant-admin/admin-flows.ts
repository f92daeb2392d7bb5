// Seller administration as engine flows: the /admin menu and every admin command, and the
// bundle the composition root registers. Each flow declares its permission in its guard.
import { action, type ActionRegistry } from "../engine/actions.ts";
import type { FlowBundle } from "../engine/flow-bundle.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { Role } from "../../storage/models/index.ts";
import { ADMIN_GUARD, adminAccess, adminGuard, guardedPermission, say } from "./admin-access.ts";
import { resolveAdminServices, type AdminServices, type ResolvedAdminServices } from "./admin-services.ts";
import { auditActions, auditFlow } from "./audit-flows.ts";
import { orderActions } from "./order-desk.ts";
import { claimsFlow, orderFlows, ordersFlow } from "./order-flows.ts";
import { requirePermission, ROLE_PERMISSIONS } from "./permissions.ts";
import { productActions, productFlows, productValidators } from "./product-flows.ts";
import { reportActions, reportFlow } from "./report-flows.ts";
import { slaSettingsActions, slaSettingsFlow } from "../ticketing/sla-settings-flows.ts";
import { settingsActions, settingsFlow, settingsValidators } from "./settings-flows.ts";
import { staffActions, staffFlows } from "./staff-flows.ts";
import { stockActions, stockFlows } from "./stock-flows.ts";
import { discordActions, discordFlow } from "./discord-flows.ts";
import { whatsappActions, whatsappFlow, whatsappValidators } from "./whatsapp-flows.ts";
import { ChatLinks } from "./whatsapp-linking.ts";

export const adminMenuFlow = defineFlow({
  id: "admin-menu",
  guard: adminGuard(),
  audience: "seller",
  triggers: { commands: ["admin"] },
  help: "admin.help.menu",
  steps: {
    menu: { kind: "choose", text: "admin.menu.title", source: "adminMenuChoices", pageSize: 12 },
  },
});

/** Every flow of seller administration; each declares its permission in its guard. */
export const adminFlows = [adminMenuFlow, ...orderFlows, ...productFlows, ...stockFlows, reportFlow, settingsFlow, slaSettingsFlow, ...staffFlows, auditFlow, whatsappFlow, discordFlow];

const permissionToStart = new Map(adminFlows.map((flow) => [flow.id, guardedPermission(flow.guard)]));

/**
 * Whether a member with `role` may start the flow `flowId` — for menus that list only what
 * the person may use (the Telegram adapter's `sellerMenu` option). Flows outside seller
 * administration (the storefront, a store's own) are open to every member. The flows
 * still check on every use (their guard, `requirePermission`); this only decides what is shown.
 */
export function roleMayStart(role: Role, flowId: string): boolean {
  const permission = permissionToStart.get(flowId);
  return permission === undefined || permission === null || ROLE_PERMISSIONS[role].has(permission);
}

/** The /admin menu's entries, in order: each starts a flow, shown to those its guard lets in. */
const MENU: readonly { id: string; label: string; flow: string }[] = [
  { id: "orders", label: "admin.menu.orders", flow: ordersFlow.id },
  { id: "claims", label: "admin.menu.claims", flow: claimsFlow.id },
  { id: "products", label: "admin.menu.products", flow: "admin-products" },
  { id: "addProduct", label: "admin.menu.add_product", flow: "admin-product-add" },
  { id: "stock", label: "admin.menu.stock", flow: "admin-stock" },
  { id: "addStock", label: "admin.menu.add_stock", flow: "admin-stock-add" },
  { id: "report", label: "admin.menu.report", flow: reportFlow.id },
  { id: "settings", label: "admin.menu.settings", flow: settingsFlow.id },
  { id: "staff", label: "admin.menu.staff", flow: "admin-staff" },
  { id: "invite", label: "admin.menu.invite", flow: "admin-staff-invite" },
  { id: "audit", label: "admin.menu.audit", flow: auditFlow.id },
];

function menuActions(services: ResolvedAdminServices): ActionRegistry {
  return {
    /** Only what this member may use: a staff member is not shown the owner's tools. */
    adminMenuChoices: action({ flows: MENU.map((entry) => entry.flow) }, async (ctx) => {
      const allowed = await Promise.all(
        MENU.map(async (entry) => {
          const permission = permissionToStart.get(entry.flow);
          return !permission || (await requirePermission(ctx, permission, services.platformOwners)).allowed;
        }),
      );
      return { choices: MENU.filter((_, i) => allowed[i]).map((entry) => ({ id: entry.id, label: say(entry.label).text, flow: entry.flow })) };
    }),
  };
}

/**
 * Seller administration for the engine. Everything it needs from outside is optional:
 * without `ordering` the order lists work but changing an order is refused politely, without
 * `files` stock files are refused politely (typed lines still work), without an `outbox`
 * low-stock alerts are only logged, without a `limiter` limits are per process.
 *
 * ```ts
 * const flows = combineFlowBundles(catalogFlows, createAdminFlows({
 *   ordering,                                              // createOrdering({ outbox, gateways, timers })
 *   files: channels,                                       // stock files, from any channel
 *   outbox, limiter: coordination.limiter, platformOwners: config.ownerChatIds,
 * }));
 * ```
 */
export function createAdminFlows(options: AdminServices = {}): FlowBundle {
  const services = resolveAdminServices(options);
  const links = new ChatLinks(() => (typeof options.whatsapp === "function" ? options.whatsapp() : options.whatsapp), options.outbox);
  return {
    flows: adminFlows,
    guards: { [ADMIN_GUARD]: adminAccess(services) },
    actions: {
      ...menuActions(services),
      ...orderActions(services, () => (typeof options.ordering === "function" ? options.ordering() : options.ordering)),
      ...reportActions(services),
      ...productActions(services),
      ...stockActions(services),
      ...settingsActions(services),
      ...slaSettingsActions(services),
      ...staffActions(services),
      ...auditActions(services),
      ...whatsappActions(services, links),
      ...discordActions(services),
    },
    validators: { ...productValidators(), ...settingsValidators(), ...whatsappValidators() },
  };
}
